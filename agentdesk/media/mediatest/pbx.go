package mediatest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"hotline/audio"
	"hotline/rtp"
)

// PBX stands in for Asterisk's side of an ExternalMedia channel: one UDP
// socket on 127.0.0.1 that sends 20 ms PCMU RTP and records what comes
// back, with the source of every packet.
type PBX struct {
	conn   *net.UDPConn
	recv   *rtp.Receiver
	cancel context.CancelFunc
	done   chan struct{}
	record bool
	sent   atomic.Uint64

	mu      sync.Mutex
	samples []int16
	sources map[netip.AddrPort]int
}

// NewPBX binds the socket and starts receiving.
func NewPBX(opts ...ClientOption) (*PBX, error) {
	cfg := clientConfig{record: true}
	for _, o := range opts {
		o(&cfg)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("mediatest: pbx socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &PBX{conn: conn, recv: rtp.NewReceiver(conn), cancel: cancel, done: make(chan struct{}),
		record: cfg.record, sources: make(map[netip.AddrPort]int)}
	go func() {
		defer close(p.done)
		_ = p.recv.Run(ctx, func(_ *rtp.Packet, from netip.AddrPort, samples []int16) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.sources[from]++
			if p.record {
				p.samples = append(p.samples, samples...)
			}
		})
	}()
	return p, nil
}

// Addr is the socket's address: Asterisk's UNICASTRTP_LOCAL_ADDRESS/PORT.
func (p *PBX) Addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SendTone sends a freqHz tone to "to" from the PBX socket every 20 ms until
// ctx is done. Only one SendTone may run at a time.
func (p *PBX) SendTone(ctx context.Context, to netip.AddrPort, freqHz float64) error {
	gen := audio.NewToneGenerator(freqHz, 0.5)
	return p.send(ctx, to, gen.Fill)
}

func (p *PBX) send(ctx context.Context, to netip.AddrPort, fill func([]int16)) error {
	s := rtp.NewSender(p.conn, to)
	return s.Run(ctx, func(frame []int16) {
		fill(frame)
		p.sent.Add(1)
	})
}

// Sent returns the number of packets SendTone has produced (the last one
// may still be on its way out).
func (p *PBX) Sent() uint64 { return p.sent.Load() }

// Packets returns the number of PCMU packets received.
func (p *PBX) Packets() uint64 { return p.recv.Stats().Packets }

// Samples returns a copy of the audio received so far.
func (p *PBX) Samples() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.samples...)
}

// SampleCount returns how many samples have been received.
func (p *PBX) SampleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.samples)
}

// Sources returns how many packets came from each address.
func (p *PBX) Sources() map[netip.AddrPort]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[netip.AddrPort]int, len(p.sources))
	for k, v := range p.sources {
		out[k] = v
	}
	return out
}

// Reset forgets the audio received so far.
func (p *PBX) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = p.samples[:0]
}

// Close stops receiving and closes the socket. Stop senders first.
func (p *PBX) Close() error {
	p.cancel()
	<-p.done
	return p.conn.Close()
}
