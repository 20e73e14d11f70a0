package media

import (
	"net/netip"
	"time"
)

const clockRate = 8000 // PCMU, Hz

// Health is a seat's condition, for the agent's and the supervisors'
// screens.
type Health struct {
	Agent    AgentID
	State    SeatState
	Reason   string    // why State was entered, for Disconnected, Failed and Closed
	Since    time.Time // when State was entered
	ICEState string    // pion's ICE connection state, "" when no peer connection

	Call      CallID         // empty when idle
	RelayAddr netip.AddrPort // the call's socket (the ExternalMedia external_host)
	PBXAddr   netip.AddrPort // where Asterisk's RTP comes from, once known
	Muted     bool
	Held      bool

	// FromAgent is the browser's audio as the controller receives it:
	// loss and jitter are computed from the inbound RTP (RFC 3550 A.3, A.8).
	FromAgent StreamStats
	// ToAgent is the audio sent to the browser: loss and jitter as the
	// browser reports them in RTCP receiver reports.
	ToAgent StreamStats
	// Relay counts packets on the call sockets, over the seat's lifetime.
	Relay RelayCounts
}

// StreamStats describes one direction of a seat's audio over the seat's
// lifetime (packets and bytes) or its current stream (loss and jitter).
type StreamStats struct {
	Packets uint64
	Bytes   uint64 // RTP payload bytes
	Lost    int64  // cumulative; negative with duplicates
	// FractionLost is the share lost since the previous receiver report
	// (ToAgent only).
	FractionLost float64
	Jitter       time.Duration
	Reports      uint64 // receiver reports seen (ToAgent only)
}

// RelayCounts counts packets on the call sockets.
type RelayCounts struct {
	FromPBX uint64 // RTP packets received from Asterisk and accepted
	ToPBX   uint64 // RTP packets sent to Asterisk
	// Dropped counts datagrams not relayed: not PCMU RTP, from an address
	// other than Asterisk's, browser audio before Asterisk's address was
	// known, or audio for a seat that was down.
	Dropped uint64
}

// inboundStats follows one inbound RTP stream: loss from the extended
// highest sequence number (RFC 3550 A.3) and interarrival jitter (A.8).
// A new SSRC restarts it.
type inboundStats struct {
	started  bool
	ssrc     uint32
	baseSeq  uint32
	maxSeq   uint32 // extended with the cycle count
	received uint64

	// Jitter state: arrival in timestamp units since epoch.
	epoch       time.Time
	lastArrival int64
	lastTS      uint32
	jitter      float64 // timestamp units
}

func (s *inboundStats) add(ssrc uint32, seq uint16, ts uint32, at time.Time) {
	if !s.started || ssrc != s.ssrc {
		*s = inboundStats{started: true, ssrc: ssrc, epoch: at, lastTS: ts,
			baseSeq: uint32(seq), maxSeq: uint32(seq), received: 1}
		return
	}
	s.received++
	cycles, low := s.maxSeq&^0xffff, uint16(s.maxSeq)
	if d := seq - low; d != 0 && d < 0x8000 {
		if seq < low {
			cycles += 1 << 16
		}
		s.maxSeq = cycles | uint32(seq)
	}
	// D(i,j) = (Rj - Ri) - (Sj - Si); the timestamp delta through int32 so
	// that the 32-bit wrap does not count as a jump.
	arrival := int64(at.Sub(s.epoch) * clockRate / time.Second)
	d := (arrival - s.lastArrival) - int64(int32(ts-s.lastTS))
	if d < 0 {
		d = -d
	}
	s.lastArrival, s.lastTS = arrival, ts
	s.jitter += (float64(d) - s.jitter) / 16
}

func (s *inboundStats) lost() int64 {
	if !s.started {
		return 0
	}
	return int64(s.maxSeq-s.baseSeq) + 1 - int64(s.received)
}

func (s *inboundStats) jitterDuration() time.Duration {
	return time.Duration(s.jitter * float64(time.Second) / clockRate)
}
