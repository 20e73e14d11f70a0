package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"hotline/audio"
	"hotline/rtp"
)

func udpListen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readRTP reads one datagram, giving up after d (used only to show that
// nothing was sent: packets from Tick are already queued when it returns).
func readRTP(t *testing.T, c *net.UDPConn, d time.Duration) (*rtp.Packet, netip.AddrPort, bool) {
	t.Helper()
	buf := make([]byte, 1500)
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, from, false
		}
		t.Fatal(err)
	}
	p := &rtp.Packet{}
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatalf("not RTP: %v", err)
	}
	return p, from, true
}

// Frame by frame with the manual clock: nothing before the bridge, then one
// PCMU packet per tick from the leg's own port, carrying the caller's tone.
func TestExternalMediaSendsOnlyWhenBridged(t *testing.T) {
	e := manualEngine(t)
	far := udpListen(t)
	caller := e.NewLeg("caller")
	caller.SetSource(Tone(callerHz, amp))
	ext, local, err := e.NewExternalLeg("ext", far.LocalAddr().String(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !local.IP.IsLoopback() || local.Port == 0 {
		t.Fatalf("local address %v", local)
	}

	tick(e, 10)
	if s := ext.Stats(); s.PacketsSent != 0 {
		t.Fatalf("%d packets sent before the bridge", s.PacketsSent)
	}
	if _, _, ok := readRTP(t, far, 50*time.Millisecond); ok {
		t.Fatal("a packet arrived before the bridge")
	}

	b := e.NewBridge("b")
	b.Add(caller)
	b.Add(ext)
	const frames = 50
	var pcm []int16
	var prev *rtp.Packet
	for i := 0; i < frames; i++ {
		e.Tick()
		p, from, ok := readRTP(t, far, waitTimeout)
		if !ok {
			t.Fatalf("no packet after tick %d", i)
		}
		if from != local.AddrPort() {
			t.Fatalf("packet from %v, want the leg's own %v", from, local)
		}
		if p.PayloadType != 0 || len(p.Payload) != FrameSamples {
			t.Fatalf("PT %d with %d bytes, want PCMU 160", p.PayloadType, len(p.Payload))
		}
		if prev != nil && (p.SequenceNumber != prev.SequenceNumber+1 ||
			p.Timestamp != prev.Timestamp+FrameSamples || p.SSRC != prev.SSRC) {
			t.Fatalf("packet %d: seq %d ts %d ssrc %x after seq %d ts %d ssrc %x", i,
				p.SequenceNumber, p.Timestamp, p.SSRC, prev.SequenceNumber, prev.Timestamp, prev.SSRC)
		}
		prev = p
		pcm = audio.DecodePCMU(pcm, p.Payload)
	}
	checkTones(t, "far end", pcm, callerHz)
	if s := ext.Stats(); s.PacketsSent != frames {
		t.Errorf("stats say %d sent, want %d", s.PacketsSent, frames)
	}

	b.Remove(ext)
	tick(e, 5)
	if _, _, ok := readRTP(t, far, 50*time.Millisecond); ok {
		t.Error("a packet arrived after the leg left the bridge")
	}
}

// RTP sent into the leg's socket is what the leg sends into its bridge.
func TestExternalMediaReceives(t *testing.T) {
	e := manualEngine(t)
	far := udpListen(t)
	caller := e.NewLeg("caller")
	caller.SetSource(Tone(callerHz, amp))
	r := listenTo(caller)
	ext, local, err := e.NewExternalLeg("ext", far.LocalAddr().String(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBridge("b")
	b.Add(caller)
	b.Add(ext)
	tx := rtp.NewSender(far, local.AddrPort())
	gen := audio.NewToneGenerator(agentHz, amp)
	frame := make([]int16, FrameSamples)
	junk := []byte("not rtp at all")
	for i := 0; i < 50; i++ {
		gen.Fill(frame)
		if err := tx.SendFrame(frame); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			if _, err := far.WriteToUDPAddrPort(junk, local.AddrPort()); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "packet received", func() bool { return ext.Stats().PacketsReceived == uint64(i+1) })
		e.Tick()
	}
	checkTones(t, "caller", r.heard(), agentHz)
	if s := ext.Stats(); s.PacketsDropped != 1 {
		t.Errorf("stats %+v, want 1 dropped", s)
	}
}

// With the real clock: about 50 packets/s each way, and each side hears the
// other's tone.
func TestExternalMediaRealClock(t *testing.T) {
	e := NewEngine()
	defer e.Close()
	far := udpListen(t)
	caller := e.NewLeg("caller")
	caller.SetSource(Tone(callerHz, amp))
	callerEar := listenTo(caller)
	ext, local, err := e.NewExternalLeg("ext", far.LocalAddr().String(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBridge("b")
	b.Add(caller)
	b.Add(ext)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := rtp.NewSender(far, local.AddrPort()).Run(ctx, audio.NewToneGenerator(agentHz, amp).Fill); err != nil {
			t.Errorf("sender: %v", err)
		}
	}()

	var (
		mu       sync.Mutex
		pcm      []int16
		first    time.Time
		received int
	)
	const window = time.Second
	rx := rtp.NewReceiver(far)
	rctx, rcancel := context.WithTimeout(ctx, waitTimeout)
	defer rcancel()
	if err := rx.Run(rctx, func(p *rtp.Packet, from netip.AddrPort, s []int16) {
		mu.Lock()
		defer mu.Unlock()
		if from != local.AddrPort() {
			t.Errorf("packet from %v, want %v", from, local)
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		if now.Sub(first) >= window {
			rcancel()
			return
		}
		received++
		pcm = append(pcm, s...)
	}); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if received < 40 || received > 60 {
		t.Errorf("received %d packets in %v, want about 50", received, window)
	}
	checkTones(t, "far end", pcm, callerHz)
	heard := callerEar.heard()
	checkTones(t, "caller", heard[len(heard)/2:], agentHz)
	if s := ext.Stats(); s.PacketsReceived < 40 {
		t.Errorf("leg received only %d packets", s.PacketsReceived)
	}
}

func TestExternalLegErrors(t *testing.T) {
	e := manualEngine(t)
	tests := []struct{ name, remote, bind string }{
		{"hostname", "example.invalid:4000", "127.0.0.1"},
		{"no port", "127.0.0.1", "127.0.0.1"},
		{"port zero", "127.0.0.1:0", "127.0.0.1"},
		{"bad bind", "127.0.0.1:4000", "not-an-ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := e.NewExternalLeg("x", tc.remote, tc.bind); err == nil {
				t.Error("accepted")
			}
		})
	}
	e.Close()
	if _, _, err := e.NewExternalLeg("x", "127.0.0.1:4000", "127.0.0.1"); !errors.Is(err, ErrClosed) {
		t.Errorf("on a closed engine: %v", err)
	}
}

// Closing the leg closes its socket.
func TestExternalLegCloseReleasesSocket(t *testing.T) {
	e := manualEngine(t)
	ext, local, err := e.NewExternalLeg("x", "127.0.0.1:9", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ext.Close()
	c, err := net.ListenUDP("udp", local)
	if err != nil {
		t.Fatalf("port still taken after Close: %v", err)
	}
	c.Close()
}
