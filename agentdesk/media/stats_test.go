package media

import (
	"testing"
	"time"
)

func TestInboundStats(t *testing.T) {
	type pkt struct {
		ssrc   uint32
		seq    uint16
		ts     uint32
		arrive time.Duration
	}
	// steady returns n packets 20 ms apart, starting at seq and ts, with
	// jitter(i) added to each arrival.
	steady := func(ssrc uint32, seq uint16, ts uint32, n int, jitter func(i int) time.Duration) []pkt {
		out := make([]pkt, n)
		for i := range out {
			out[i] = pkt{ssrc, seq + uint16(i), ts + uint32(160*i), time.Duration(i)*20*time.Millisecond + jitter(i)}
		}
		return out
	}
	none := func(int) time.Duration { return 0 }
	without := func(ps []pkt, drop ...int) []pkt {
		var out []pkt
		for i, p := range ps {
			keep := true
			for _, d := range drop {
				keep = keep && i != d
			}
			if keep {
				out = append(out, p)
			}
		}
		return out
	}
	tests := []struct {
		name                 string
		pkts                 []pkt
		lost                 int64
		jitterMin, jitterMax time.Duration
	}{
		{"perfect stream", steady(1, 10, 0, 100, none), 0, 0, 0},
		{"two lost", without(steady(1, 10, 0, 100, none), 20, 50), 2, 0, 0},
		{"a duplicate", append(steady(1, 10, 0, 50, none), pkt{1, 59, 160 * 49, time.Second}), -1, 0, 20 * time.Millisecond},
		{"sequence wrap", steady(1, 65500, 0, 100, none), 0, 0, 0},
		{"timestamp wrap", steady(1, 10, 4294967295-800, 100, none), 0, 0, 0},
		{"alternating 5 ms late", steady(1, 10, 0, 400, func(i int) time.Duration {
			return time.Duration(i%2) * 5 * time.Millisecond
		}), 0, 4500 * time.Microsecond, 5 * time.Millisecond},
		{"new SSRC restarts", append(without(steady(1, 10, 0, 10, none), 3, 4, 5),
			steady(2, 500, 0, 10, func(int) time.Duration { return time.Second })...), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s inboundStats
			t0 := time.Unix(5000, 0)
			for _, p := range tt.pkts {
				s.add(p.ssrc, p.seq, p.ts, t0.Add(p.arrive))
			}
			if got := s.lost(); got != tt.lost {
				t.Errorf("lost %d, want %d", got, tt.lost)
			}
			if j := s.jitterDuration(); j < tt.jitterMin || j > tt.jitterMax {
				t.Errorf("jitter %s, want %s..%s", j, tt.jitterMin, tt.jitterMax)
			}
		})
	}
}
