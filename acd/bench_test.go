package acd_test

import (
	"fmt"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdtest"
)

// BenchmarkMatch measures single routing decisions (Match with max 1, what each reservation
// runs) with 1,000 agents over 30 skills and 500 waiting items across 28 queues.
func BenchmarkMatch(b *testing.B) {
	for _, ready := range []int{1000, 100} {
		b.Run(fmt.Sprintf("agents=1000/ready=%d/items=500", ready), func(b *testing.B) {
			r, err := acd.NewRouter(acdtest.BenchConfig())
			if err != nil {
				b.Fatal(err)
			}
			p := r.NewPool()
			for i := range ready {
				a := acdtest.BenchAgent(i * 1000 / ready)
				a.State, a.ReadySince, a.LoginAt = acd.StateReady, t0.Add(-time.Duration(i)*time.Second), t0.Add(-time.Hour)
				p.Put(a)
			}
			var items []acd.Candidate
			for i := range 500 {
				c, err := r.Candidate(acdtest.BenchItem(0, i, t0.Add(time.Duration(i)*100*time.Millisecond)))
				if err != nil {
					b.Fatal(err)
				}
				items = append(items, c)
			}
			sortCandidates(items)
			now := t0.Add(90 * time.Second)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if ds := r.Match(now, items, p, 1); len(ds) != 1 {
					b.Fatalf("no decision")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}
