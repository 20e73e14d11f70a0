package media

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for _, ns := range []uint64{0, 1, 1023, 1024, 1151, 1152, 1500, 4095, 4096, 999_999, 1_000_000, 123_456_789, 1 << 40} {
		i := histIndex(ns)
		if ns >= histUpper(i) {
			t.Errorf("%d ns in bucket %d whose upper bound is %d", ns, i, histUpper(i))
		}
		if i > 0 && ns < histUpper(i-1) {
			t.Errorf("%d ns in bucket %d but below its lower bound %d", ns, i, histUpper(i-1))
		}
		if i > 0 && float64(histUpper(i)) > float64(histUpper(i-1))*9/8+1 {
			t.Errorf("bucket %d is %d..%d, wider than 1/8", i, histUpper(i-1), histUpper(i))
		}
	}
	for i := 1; i < histBuckets; i++ {
		if histUpper(i) <= histUpper(i-1) {
			t.Fatalf("bucket bounds not increasing at %d", i)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values map[time.Duration]int
		p50    time.Duration
		p99    time.Duration
		max    time.Duration
	}{
		{"one value", map[time.Duration]int{300 * time.Microsecond: 10}, 300 * time.Microsecond, 300 * time.Microsecond, 300 * time.Microsecond},
		{"tail", map[time.Duration]int{100 * time.Microsecond: 990, 5 * time.Millisecond: 10},
			100 * time.Microsecond, 100 * time.Microsecond, 5 * time.Millisecond},
		{"fat tail", map[time.Duration]int{100 * time.Microsecond: 980, 5 * time.Millisecond: 20},
			100 * time.Microsecond, 5 * time.Millisecond, 5 * time.Millisecond},
	}
	within := func(got, want time.Duration) bool { return got > want && got <= want*9/8 }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for v, n := range tt.values {
				for range n {
					h.observe(v)
				}
			}
			s := h.summary()
			if !within(s.P50, tt.p50) || !within(s.P99, tt.p99) || !within(s.Max, tt.max) {
				t.Errorf("p50 %s p99 %s max %s, want just above %s %s %s", s.P50, s.P99, s.Max, tt.p50, tt.p99, tt.max)
			}
			h.reset()
			if s := h.summary(); s.Count != 0 || s.P99 != 0 {
				t.Errorf("after reset: %+v", s)
			}
		})
	}
}
