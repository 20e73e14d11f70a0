package rtp

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"hotline/audio"
)

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// The paced sender delivers 50 packets per second of a 440 Hz tone, in
// sequence, from its own socket; the receiver decodes the tone.
func TestPacedSenderToReceiver(t *testing.T) {
	a, b := listen(t), listen(t)
	const want = 30 // 600 ms of audio
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var (
		mu       sync.Mutex
		arrivals []time.Time
		seqs     []uint16
		pcm      []int16
		froms    = map[netip.AddrPort]bool{}
	)
	rctx, rcancel := context.WithCancel(ctx)
	rx := NewReceiver(b)
	rxDone := make(chan error, 1)
	go func() {
		rxDone <- rx.Run(rctx, func(p *Packet, from netip.AddrPort, s []int16) {
			mu.Lock()
			defer mu.Unlock()
			arrivals = append(arrivals, time.Now())
			seqs = append(seqs, p.SequenceNumber)
			pcm = append(pcm, s...)
			froms[from] = true
			if len(arrivals) == want {
				rcancel()
			}
		})
	}()

	tx := NewSender(a, addrOf(b))
	gen := audio.NewToneGenerator(440, 0.3)
	sctx, scancel := context.WithCancel(ctx)
	txDone := make(chan error, 1)
	go func() { txDone <- tx.Run(sctx, gen.Fill) }()

	if err := <-rxDone; err != nil {
		t.Fatalf("receiver: %v", err)
	}
	scancel()
	if err := <-txDone; err != nil {
		t.Fatalf("sender: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != want {
		t.Fatalf("received %d packets, want %d", len(arrivals), want)
	}
	// 29 intervals of 20 ms: 580 ms; allow scheduling slack either way.
	if span := arrivals[want-1].Sub(arrivals[0]); span < 500*time.Millisecond || span > 1500*time.Millisecond {
		t.Errorf("%d packets arrived over %v, want about 580ms (50 packets/s)", want, span)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence jumps from %d to %d", seqs[i-1], seqs[i])
		}
	}
	if len(froms) != 1 || !froms[addrOf(a)] {
		t.Errorf("packets came from %v, want only %v", froms, addrOf(a))
	}
	if !audio.HasTone(pcm, 440) || audio.HasTone(pcm, 880) {
		t.Errorf("440 share %.2f, 880 share %.2f: want 440 only",
			audio.MedianToneShare(pcm, 440), audio.MedianToneShare(pcm, 880))
	}
	st := rx.Stats()
	if st.Packets != want || st.Lost != 0 || st.Dropped != 0 || st.SSRC != tx.SSRC() || st.LastFrom != addrOf(a) {
		t.Errorf("stats %+v", st)
	}
}

// Loss is counted from sequence numbers, across the 16-bit wrap; non-RTP
// and non-PCMU datagrams are dropped.
func TestReceiverAccounting(t *testing.T) {
	a, b := listen(t), listen(t)
	rx := NewReceiver(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan uint16, 16)
	done := make(chan error, 1)
	go func() {
		done <- rx.Run(ctx, func(p *Packet, _ netip.AddrPort, s []int16) {
			if len(s) != len(p.Payload) {
				t.Errorf("decoded %d samples from %d bytes", len(s), len(p.Payload))
			}
			got <- p.SequenceNumber
		})
	}()

	send := func(b []byte) {
		t.Helper()
		if _, err := a.WriteToUDPAddrPort(b, addrOf(rx.conn)); err != nil {
			t.Fatal(err)
		}
	}
	pkt := func(seq uint16, pt uint8) []byte {
		p := Packet{Header: Header{PayloadType: pt, SequenceNumber: seq, SSRC: 7}, Payload: make([]byte, 160)}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// 65534, 65535, (0 lost), 1, (2, 3 lost), 4; plus junk in between.
	send(pkt(65534, 0))
	send([]byte("not rtp"))
	send(pkt(65535, 0))
	send(pkt(1, 0))
	send(pkt(2, 101)) // telephone-event: not audio
	send(pkt(4, 0))
	for _, want := range []uint16{65534, 65535, 1, 4} {
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("got seq %d, want %d", s, want)
			}
		case <-ctx.Done():
			t.Fatal("timed out waiting for packets")
		}
	}
	// The dropped datagrams were sent before seq 4 on the same path, so
	// they have been read by now.
	st := rx.Stats()
	if st.Packets != 4 || st.Lost != 3 || st.Dropped != 2 {
		t.Errorf("stats %+v, want 4 packets, 3 lost, 2 dropped", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

func TestReceiverClosedSocket(t *testing.T) {
	b := listen(t)
	b.Close()
	if err := NewReceiver(b).Run(context.Background(), nil); err == nil {
		t.Error("Run on a closed socket returned nil")
	}
}
