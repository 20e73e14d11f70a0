// Package mediatest holds the two far ends of an agent seat for tests, load
// runs and simulations: Client, a Go agent (a pion peer standing in for the
// browser), and PBX, a fake Asterisk ExternalMedia endpoint (a UDP socket
// speaking 20 ms PCMU RTP). Both only ever use loopback.
package mediatest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"hotline/audio"
	"hotline/rtp"
)

// ClientOption configures a Client.
type ClientOption func(*clientConfig)

type clientConfig struct {
	opusFirst  bool
	record     bool
	vanishable bool
}

// OfferOpusFirst makes the client offer Opus before PCMU, as Chromium
// does.
func OfferOpusFirst() ClientOption { return func(c *clientConfig) { c.opusFirst = true } }

// Vanishable runs the client's ICE on a socket that Vanish can silence, to
// play a browser that crashes or loses its network without a goodbye.
func Vanishable() ClientOption { return func(c *clientConfig) { c.vanishable = true } }

// WithoutRecording keeps only counters, not the received audio (for load
// runs).
func WithoutRecording() ClientOption { return func(c *clientConfig) { c.record = false } }

// Received is one RTP packet the client got.
type Received struct {
	Seq    uint16
	TS     uint32
	Marker bool
	SSRC   uint32
	At     time.Time
}

// Client is an agent's browser in Go: one pion peer connection with a PCMU
// track each way, on loopback only.
type Client struct {
	pc        *webrtc.PeerConnection
	track     *webrtc.TrackLocalStaticSample
	connected chan struct{}
	record    bool
	hole      *blackholeConn
	mux       *ice.UDPMuxDefault
	loopMu    sync.Mutex
	closing   bool
	loops     sync.WaitGroup
	sent      atomic.Uint64
	packets   atomic.Uint64

	mu       sync.Mutex
	samples  []int16
	received []Received
}

// NewClient returns a client ready to make its offer.
func NewClient(opts ...ClientOption) (*Client, error) {
	cfg := clientConfig{record: true}
	for _, o := range opts {
		o(&cfg)
	}
	me := &webrtc.MediaEngine{}
	if cfg.opusFirst {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			PayloadType:        111,
		}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("mediatest: register opus: %w", err)
		}
	}
	pcmu := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: pcmu, PayloadType: 0},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("mediatest: register PCMU: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	var hole *blackholeConn
	var mux *ice.UDPMuxDefault
	if cfg.vanishable {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, fmt.Errorf("mediatest: ICE socket: %w", err)
		}
		hole = &blackholeConn{conn: conn}
		mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: hole})
		se.SetICEUDPMux(mux)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		if mux != nil {
			_ = mux.Close()
		}
		return nil, fmt.Errorf("mediatest: new peer connection: %w", err)
	}
	c := &Client{pc: pc, connected: make(chan struct{}), record: cfg.record, hole: hole, mux: mux}
	c.track, err = webrtc.NewTrackLocalStaticSample(pcmu, "mic", "agent")
	if err == nil {
		_, err = pc.AddTrack(c.track)
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("mediatest: add track: %w", err)
	}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(c.connected) })
		}
	})
	pc.OnTrack(c.onTrack)
	return c, nil
}

// Offer returns the client's offer with all its candidates.
func (c *Client) Offer(ctx context.Context) (string, error) {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("mediatest: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("mediatest: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("mediatest: gathering: %w", ctx.Err())
	}
	return c.pc.LocalDescription().SDP, nil
}

// Accept applies the seat's answer.
func (c *Client) Accept(answer string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("mediatest: set answer: %w", err)
	}
	return nil
}

// WaitConnected waits for the peer connection to connect.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mediatest: waiting for connection (state %s): %w", c.pc.ConnectionState(), ctx.Err())
	}
}

// SendTone sends a freqHz tone as 20 ms PCMU packets until ctx is done.
func (c *Client) SendTone(ctx context.Context, freqHz float64) error {
	gen := audio.NewToneGenerator(freqHz, 0.5)
	frame := make([]int16, audio.FrameSamples)
	payload := make([]byte, 0, audio.FrameSamples)
	return pace(ctx, func() error {
		gen.Fill(frame)
		payload = audio.EncodePCMU(payload[:0], frame)
		if err := c.track.WriteSample(media.Sample{Data: payload, Duration: audio.FrameDuration}); err != nil {
			return fmt.Errorf("mediatest: write sample: %w", err)
		}
		c.sent.Add(1)
		return nil
	})
}

// Sent returns the number of packets SendTone has sent.
func (c *Client) Sent() uint64 { return c.sent.Load() }

// Packets returns the number of audio packets received.
func (c *Client) Packets() uint64 { return c.packets.Load() }

// Samples returns a copy of the audio received so far.
func (c *Client) Samples() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.samples...)
}

// SampleCount returns how many samples have been received.
func (c *Client) SampleCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// ReceivedPackets returns the headers of the packets received so far.
func (c *Client) ReceivedPackets() []Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Received(nil), c.received...)
}

// Reset forgets the audio and headers received so far.
func (c *Client) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples, c.received = c.samples[:0], c.received[:0]
}

// Close closes the peer connection (the seat sees the browser leave) and
// waits for the client's goroutines.
func (c *Client) Close() error {
	err := c.pc.GracefulClose()
	c.loopMu.Lock()
	c.closing = true
	c.loopMu.Unlock()
	c.loops.Wait()
	if c.mux != nil {
		_ = c.mux.Close()
	}
	return err
}

// Vanish silences a Vanishable client: from now on nothing it sends gets
// out, as when a browser crashes or its network goes. Close it afterwards.
func (c *Client) Vanish() error {
	if c.hole == nil {
		return errors.New("mediatest: client is not Vanishable")
	}
	c.hole.drop.Store(true)
	return nil
}

// blackholeConn is a PacketConn whose writes can be made to vanish. It
// does not embed *net.UDPConn on purpose: pion would find the embedded
// conn's own write methods and go around WriteTo.
type blackholeConn struct {
	conn *net.UDPConn
	drop atomic.Bool
}

func (b *blackholeConn) ReadFrom(p []byte) (int, net.Addr, error) { return b.conn.ReadFrom(p) }

func (b *blackholeConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if b.drop.Load() {
		return len(p), nil
	}
	return b.conn.WriteTo(p, addr)
}

func (b *blackholeConn) Close() error                       { return b.conn.Close() }
func (b *blackholeConn) LocalAddr() net.Addr                { return b.conn.LocalAddr() }
func (b *blackholeConn) SetDeadline(t time.Time) error      { return b.conn.SetDeadline(t) }
func (b *blackholeConn) SetReadDeadline(t time.Time) error  { return b.conn.SetReadDeadline(t) }
func (b *blackholeConn) SetWriteDeadline(t time.Time) error { return b.conn.SetWriteDeadline(t) }

func (c *Client) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	c.loopMu.Lock()
	if c.closing {
		c.loopMu.Unlock()
		return
	}
	c.loops.Add(2)
	c.loopMu.Unlock()
	defer c.loops.Done()
	go func() {
		defer c.loops.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		c.packets.Add(1)
		if !c.record {
			continue
		}
		c.mu.Lock()
		c.samples = audio.DecodePCMU(c.samples, p.Payload)
		c.received = append(c.received, Received{Seq: p.SequenceNumber, TS: p.Timestamp,
			Marker: p.Marker, SSRC: p.SSRC, At: at})
		c.mu.Unlock()
	}
}

// pace calls send every 20 ms on a schedule fixed at the start (so the
// rate does not drift) until ctx is done.
func pace(ctx context.Context, send func() error) error {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := send(); err != nil {
			return err
		}
		timer.Reset(time.Until(start.Add(time.Duration(n) * audio.FrameDuration)))
	}
}
