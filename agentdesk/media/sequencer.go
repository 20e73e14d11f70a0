package media

import (
	"math/rand/v2"
	"time"
)

// Reordering and loss within these bounds keep the current mapping; a
// larger jump in the source's sequence numbers is treated as a new source.
const (
	maxMisorder = 100  // packets (2 s at 20 ms)
	maxDropout  = 3000 // packets (1 min)
	// minTSStep is the timestamp advance across a rebase when almost no
	// time has passed: one 20 ms frame at 8 kHz.
	minTSStep = 160
)

// sequencer re-stamps packets from a series of RTP sources (one per call,
// or a new SSRC mid-call) as one continuous outgoing stream. Within a
// source, sequence and timestamp keep their offsets, so loss and jitter
// stay visible to the far end; across sources, the sequence continues by
// one and the timestamp by the wall time that passed, so the far jitter
// buffer sees a pause rather than a new stream.
type sequencer struct {
	started bool
	lastSeq uint16 // highest sequence number sent
	lastTS  uint32 // its timestamp
	lastAt  time.Time

	// The current source and its mapping.
	haveSrc bool
	srcSSRC uint32
	srcMax  uint16 // highest source sequence number seen
	seqOff  uint16
	tsOff   uint32
}

func newSequencer() *sequencer {
	// Random starting points (RFC 3550 §5.1).
	return &sequencer{lastSeq: uint16(rand.Uint32()), lastTS: rand.Uint32()}
}

// restart makes the next packet start a new source even if its SSRC is the
// same as before (a new call).
func (s *sequencer) restart() { s.haveSrc = false }

// next returns the outgoing sequence number and timestamp for a source
// packet, and whether it starts a new source (the marker bit).
func (s *sequencer) next(ssrc uint32, seq uint16, ts uint32, now time.Time) (uint16, uint32, bool) {
	rebase := !s.haveSrc || ssrc != s.srcSSRC
	if !rebase {
		d := int32(int16(seq - s.srcMax))
		rebase = d > maxDropout || d < -maxMisorder
	}
	if rebase {
		outSeq, outTS := s.lastSeq+1, s.lastTS+minTSStep
		if s.started {
			if el := now.Sub(s.lastAt); el > 0 {
				step := uint32(el * 8000 / time.Second)
				outTS = s.lastTS + max(step, minTSStep)
			}
		}
		s.haveSrc, s.srcSSRC, s.srcMax = true, ssrc, seq
		s.seqOff, s.tsOff = outSeq-seq, outTS-ts
	} else if int16(seq-s.srcMax) > 0 {
		s.srcMax = seq
	}
	outSeq, outTS := seq+s.seqOff, ts+s.tsOff
	if !s.started || int16(outSeq-s.lastSeq) > 0 {
		s.started = true
		s.lastSeq, s.lastTS, s.lastAt = outSeq, outTS, now
	}
	return outSeq, outTS, rebase
}
