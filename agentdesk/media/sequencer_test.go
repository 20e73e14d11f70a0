package media

import (
	"testing"
	"time"
)

func TestSequencer(t *testing.T) {
	type step struct {
		ssrc    uint32
		seq     uint16
		ts      uint32
		after   time.Duration // since the previous packet
		restart bool          // a new call starts before this packet
		// Expected change from the previous output packet.
		dSeq   int
		dTS    int64
		marker bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"continuous source", []step{
			{ssrc: 1, seq: 100, ts: 1000, marker: true},
			{ssrc: 1, seq: 101, ts: 1160, after: 20 * time.Millisecond, dSeq: 1, dTS: 160},
			{ssrc: 1, seq: 102, ts: 1320, after: 20 * time.Millisecond, dSeq: 1, dTS: 160},
		}},
		{"loss keeps its gap", []step{
			{ssrc: 1, seq: 100, ts: 1000, marker: true},
			{ssrc: 1, seq: 103, ts: 1480, after: 60 * time.Millisecond, dSeq: 3, dTS: 480},
		}},
		{"reordering keeps its order", []step{
			{ssrc: 1, seq: 10, ts: 0, marker: true},
			{ssrc: 1, seq: 12, ts: 320, after: 40 * time.Millisecond, dSeq: 2, dTS: 320},
			{ssrc: 1, seq: 11, ts: 160, dSeq: -1, dTS: -160},
			{ssrc: 1, seq: 13, ts: 480, after: 20 * time.Millisecond, dSeq: 2, dTS: 320},
		}},
		{"sequence wrap in the source", []step{
			{ssrc: 1, seq: 65535, ts: 4294967200, marker: true},
			{ssrc: 1, seq: 0, ts: 64, after: 20 * time.Millisecond, dSeq: 1, dTS: 160},
		}},
		{"new SSRC continues by wall time", []step{
			{ssrc: 1, seq: 100, ts: 1000, marker: true},
			{ssrc: 2, seq: 9000, ts: 777, after: time.Second, dSeq: 1, dTS: 8000, marker: true},
			{ssrc: 2, seq: 9001, ts: 937, after: 20 * time.Millisecond, dSeq: 1, dTS: 160},
		}},
		{"new call with the same SSRC after 5 s", []step{
			{ssrc: 1, seq: 100, ts: 1000, marker: true},
			{ssrc: 1, seq: 101, ts: 1160, after: 5 * time.Second, restart: true, dSeq: 1, dTS: 40000, marker: true},
		}},
		{"new source at once advances one frame", []step{
			{ssrc: 1, seq: 100, ts: 1000, marker: true},
			{ssrc: 2, seq: 5, ts: 5, dSeq: 1, dTS: 160, marker: true},
		}},
		{"jump beyond the dropout limit is a new source", []step{
			{ssrc: 1, seq: 100, ts: 1000, marker: true},
			{ssrc: 1, seq: 100 + maxDropout + 1, ts: 99999, after: 2 * time.Second, dSeq: 1, dTS: 16000, marker: true},
		}},
		{"jump back beyond the misorder limit is a new source", []step{
			{ssrc: 1, seq: 1000, ts: 1000, marker: true},
			{ssrc: 1, seq: 1000 - maxMisorder - 1, ts: 1, after: 20 * time.Millisecond, dSeq: 1, dTS: 160, marker: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSequencer()
			now := time.Unix(1000, 0)
			var prevSeq uint16
			var prevTS uint32
			for i, st := range tt.steps {
				now = now.Add(st.after)
				if st.restart {
					s.restart()
				}
				seq, ts, marker := s.next(st.ssrc, st.seq, st.ts, now)
				if marker != st.marker {
					t.Errorf("step %d: marker %v, want %v", i, marker, st.marker)
				}
				if i > 0 {
					if d := int(int16(seq - prevSeq)); d != st.dSeq {
						t.Errorf("step %d: sequence moved %d, want %d", i, d, st.dSeq)
					}
					if d := int64(int32(ts - prevTS)); d != st.dTS {
						t.Errorf("step %d: timestamp moved %d, want %d", i, d, st.dTS)
					}
				}
				prevSeq, prevTS = seq, ts
			}
		})
	}
}
