package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"hotline/audio"
	"hotline/rtp"
)

// rxCapacity bounds the receive buffer of an ExternalMedia leg: 10 frames
// (200 ms). When the far end's clock runs ahead of ours the oldest audio is
// dropped, so latency never grows past this.
const rxCapacity = 10 * FrameSamples

// external is the RTP side of an ExternalMedia leg.
type external struct {
	conn   *net.UDPConn
	remote netip.AddrPort

	// Sending: written by the tick under e.mu (prepare) and sent after it
	// (send), both under tickMu.
	stream *rtp.Stream
	pkt    []byte

	// Receiving: filled by the receive goroutine, drained by the tick.
	rxMu  sync.Mutex
	rx    [rxCapacity]int16 // ring
	rxOff int
	rxLen int

	sent, received, dropped atomic.Uint64
	readerDone              chan struct{}
	closeOnce               sync.Once
}

func parseHost(h string) (netip.Addr, error) {
	if h == "localhost" {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("host %q is not an IP address: %w", h, err)
	}
	return a, nil
}

func newExternal(remote, bindHost string) (*external, error) {
	host, port, err := net.SplitHostPort(remote)
	if err != nil {
		return nil, fmt.Errorf("remote %q: %w", remote, err)
	}
	ra, err := parseHost(host)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	rport, err := strconv.ParseUint(port, 10, 16)
	if err != nil || rport == 0 {
		return nil, fmt.Errorf("remote %q: bad port", remote)
	}
	rp := netip.AddrPortFrom(ra, uint16(rport))
	ba, err := parseHost(bindHost)
	if err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ba, 0)))
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", bindHost, err)
	}
	return &external{
		conn:       conn,
		remote:     rp,
		stream:     rtp.NewStream(),
		pkt:        make([]byte, 0, rtp.HeaderSize+FrameSamples),
		readerDone: make(chan struct{}),
	}, nil
}

func (x *external) localAddr() *net.UDPAddr {
	a := *x.conn.LocalAddr().(*net.UDPAddr)
	return &a
}

// prepare encodes what the leg hears into the next packet.
func (x *external) prepare(heard *frame) {
	x.pkt = x.stream.AppendPCMU(x.pkt[:0], heard[:])
}

func (x *external) send(log *slog.Logger, id string) {
	if _, err := x.conn.WriteToUDPAddrPort(x.pkt, x.remote); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			log.Debug("external media send failed", "leg", id, "remote", x.remote, "err", err)
		}
		return
	}
	x.sent.Add(1)
}

// receive reads RTP until the socket closes. Packets from any source are
// accepted: the far end is the agent desk's relay, which is trusted.
func (x *external) receive(log *slog.Logger, id string) {
	defer close(x.readerDone)
	buf := make([]byte, 1500)
	var p rtp.Packet
	pcm := make([]int16, 0, 1500)
	for {
		n, _, err := x.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.Warn("external media receive stopped", "leg", id, "err", err)
			}
			return
		}
		if err := p.Unmarshal(buf[:n]); err != nil || p.PayloadType != rtp.PayloadTypePCMU {
			x.dropped.Add(1)
			continue
		}
		pcm = audio.DecodePCMU(pcm[:0], p.Payload)
		if x.push(pcm) {
			x.dropped.Add(1)
		}
		x.received.Add(1)
	}
}

// push appends samples to the ring and reports whether old audio had to be
// dropped to make room.
func (x *external) push(s []int16) (overflow bool) {
	if len(s) > rxCapacity {
		s = s[len(s)-rxCapacity:]
	}
	x.rxMu.Lock()
	defer x.rxMu.Unlock()
	if over := x.rxLen + len(s) - rxCapacity; over > 0 {
		x.rxOff = (x.rxOff + over) % rxCapacity
		x.rxLen -= over
		overflow = true
	}
	w := (x.rxOff + x.rxLen) % rxCapacity
	for _, v := range s {
		x.rx[w] = v
		w++
		if w == rxCapacity {
			w = 0
		}
	}
	x.rxLen += len(s)
	return overflow
}

// mixReceived adds one frame of received audio (or what there is of it) to f.
func (x *external) mixReceived(f *frame) {
	x.rxMu.Lock()
	defer x.rxMu.Unlock()
	n := min(x.rxLen, FrameSamples)
	r := x.rxOff
	for i := 0; i < n; i++ {
		f[i] = audio.Clip(int32(f[i]) + int32(x.rx[r]))
		r++
		if r == rxCapacity {
			r = 0
		}
	}
	x.rxOff = r
	x.rxLen -= n
}

func (x *external) stats() Stats {
	return Stats{
		PacketsSent:     x.sent.Load(),
		PacketsReceived: x.received.Load(),
		PacketsDropped:  x.dropped.Load(),
	}
}

// close closes the socket and waits for the receive goroutine to end.
func (x *external) close() {
	x.closeOnce.Do(func() { x.conn.Close() })
	<-x.readerDone
}
