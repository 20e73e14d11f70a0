package media

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets are log-linear in nanoseconds: everything under
// 2^histMinExp ns shares bucket 0, then each power of two is split into
// histSub equal buckets, so a bucket's width is at most 1/8 of its lower
// bound (quantiles are within 12.5 %, rounded up). The top bucket also
// takes everything above 2^49 ns (days).
const (
	histMinExp  = 10 // 1.024 µs
	histSubBits = 3
	histSub     = 1 << histSubBits
	histBuckets = 1 + (49-histMinExp)*histSub
)

// histogram is a lock-free latency histogram: recording is three atomic
// adds, so it can sit on the per-packet path.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	count  atomic.Uint64
	sumNs  atomic.Uint64
}

func histIndex(ns uint64) int {
	if ns < 1<<histMinExp {
		return 0
	}
	e := bits.Len64(ns) - 1
	sub := int(ns>>(e-histSubBits)) & (histSub - 1)
	i := 1 + (e-histMinExp)*histSub + sub
	return min(i, histBuckets-1)
}

// histUpper is the exclusive upper bound of bucket i, in nanoseconds.
func histUpper(i int) uint64 {
	if i == 0 {
		return 1 << histMinExp
	}
	e := (i-1)/histSub + histMinExp
	sub := uint64((i - 1) % histSub)
	return (histSub + sub + 1) << (e - histSubBits)
}

func (h *histogram) observe(d time.Duration) {
	ns := uint64(max(d, 0))
	h.counts[histIndex(ns)].Add(1)
	h.count.Add(1)
	h.sumNs.Add(ns)
}

func (h *histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.count.Store(0)
	h.sumNs.Store(0)
}

// LatencySummary summarises the relay latency of one direction.
type LatencySummary struct {
	Count uint64
	Mean  time.Duration
	// Quantiles are bucket upper bounds: above 1 µs the true value is at
	// most this and more than 8/9 of it.
	P50, P90, P99, P999, Max time.Duration
}

func (h *histogram) summary() LatencySummary {
	var counts [histBuckets]uint64
	var total uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	s := LatencySummary{Count: total}
	if total == 0 {
		return s
	}
	s.Mean = time.Duration(h.sumNs.Load() / max(h.count.Load(), 1))
	q := func(p float64) time.Duration {
		rank := uint64(p*float64(total-1)) + 1
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return time.Duration(histUpper(i))
			}
		}
		return time.Duration(histUpper(histBuckets - 1))
	}
	s.P50, s.P90, s.P99, s.P999, s.Max = q(0.50), q(0.90), q(0.99), q(0.999), q(1)
	return s
}
