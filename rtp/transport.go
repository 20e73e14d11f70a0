package rtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"hotline/audio"
)

// Sender sends 20 ms PCMU packets of one Stream from a UDP socket.
type Sender struct {
	conn   *net.UDPConn
	remote netip.AddrPort
	stream *Stream
	buf    []byte
	sent   atomic.Uint64
}

// NewSender returns a sender of a new PCMU stream to remote. Sending from
// the socket that also receives matters: Asterisk's strict RTP only accepts
// (and answers) the address it learned.
func NewSender(conn *net.UDPConn, remote netip.AddrPort) *Sender {
	return &Sender{conn: conn, remote: remote, stream: NewStream(),
		buf: make([]byte, 0, HeaderSize+audio.FrameSamples)}
}

// SSRC returns the sender's synchronization source.
func (s *Sender) SSRC() uint32 { return s.stream.SSRC() }

// Sent returns the number of packets sent.
func (s *Sender) Sent() uint64 { return s.sent.Load() }

// SendFrame sends one packet carrying frame now. It is not safe to call
// concurrently with itself or Run.
func (s *Sender) SendFrame(frame []int16) error {
	s.buf = s.stream.AppendPCMU(s.buf[:0], frame)
	if _, err := s.conn.WriteToUDPAddrPort(s.buf, s.remote); err != nil {
		return fmt.Errorf("rtp: send to %s: %w", s.remote, err)
	}
	s.sent.Add(1)
	return nil
}

// Run sends one 20 ms frame, filled by next, every 20 ms until ctx is done
// (then it returns nil) or a send fails. Packets are paced on a schedule
// from the start, not from the previous send, so the rate does not drift;
// after a stall it sends what is due at once, but never more than 5 frames
// (100 ms) in a burst.
func (s *Sender) Run(ctx context.Context, next func(frame []int16)) error {
	frame := make([]int16, audio.FrameSamples)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		due := int(time.Since(start)/audio.FrameDuration) + 1
		if due-sent > 5 {
			sent = due - 5
		}
		for ; sent < due; sent++ {
			next(frame)
			if err := s.SendFrame(frame); err != nil {
				return err
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(sent) * audio.FrameDuration)))
	}
}

// ReceiverStats counts what a Receiver has seen.
type ReceiverStats struct {
	Packets uint64 // PCMU packets delivered
	Dropped uint64 // datagrams that were not RTP, or not PCMU
	// Lost is the RFC 3550 A.3 estimate: packets expected from the
	// sequence numbers seen, minus packets received (negative with
	// duplicates).
	Lost     int64
	LastFrom netip.AddrPort
	SSRC     uint32
}

// Receiver reads PCMU RTP from a UDP socket.
type Receiver struct {
	conn *net.UDPConn

	mu       sync.Mutex
	stats    ReceiverStats
	started  bool
	baseSeq  uint32
	maxSeq   uint32 // extended: cycles<<16 | seq
	received uint64
}

// NewReceiver returns a receiver on conn.
func NewReceiver(conn *net.UDPConn) *Receiver { return &Receiver{conn: conn} }

// Stats returns the counters so far.
func (r *Receiver) Stats() ReceiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	if r.started {
		expected := int64(r.maxSeq-r.baseSeq) + 1
		s.Lost = expected - int64(r.received)
	}
	return s
}

// Run reads packets until ctx is done (then it returns nil) or the socket
// fails. For each PCMU packet it calls fn with the packet, its source and
// its decoded samples; all three are valid only during the call. Other
// datagrams are counted as dropped. A restart of the stream (new SSRC)
// restarts the loss count.
func (r *Receiver) Run(ctx context.Context, fn func(p *Packet, from netip.AddrPort, samples []int16)) error {
	// A previous Run may have left a deadline in the past.
	if err := r.conn.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("rtp: receive: %w", err)
	}
	stop := context.AfterFunc(ctx, func() {
		// Unblocks the read below.
		_ = r.conn.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	buf := make([]byte, 1500)
	pcm := make([]int16, 0, 1500)
	var p Packet
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("rtp: receive: %w", err)
		}
		if err := p.Unmarshal(buf[:n]); err != nil || p.PayloadType != PayloadTypePCMU {
			r.mu.Lock()
			r.stats.Dropped++
			r.mu.Unlock()
			continue
		}
		r.account(&p, from)
		pcm = audio.DecodePCMU(pcm[:0], p.Payload)
		if fn != nil {
			fn(&p, from, pcm)
		}
	}
}

func (r *Receiver) account(p *Packet, from netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Packets++
	r.stats.LastFrom = from
	seq := uint32(p.SequenceNumber)
	if !r.started || p.SSRC != r.stats.SSRC {
		r.started = true
		r.stats.SSRC = p.SSRC
		r.baseSeq, r.maxSeq, r.received = seq, seq, 1
		return
	}
	r.received++
	// Extend the 16-bit sequence number with a cycle count: a packet
	// within half the space ahead of the highest seen moves it forward.
	cycles := r.maxSeq &^ 0xffff
	maxLow := r.maxSeq & 0xffff
	delta := uint16(seq - maxLow)
	if delta != 0 && delta < 0x8000 {
		if seq < maxLow {
			cycles += 1 << 16
		}
		r.maxSeq = cycles | seq
	}
}
