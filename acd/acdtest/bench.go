package acdtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/acd"
)

// BenchLines is the number of line skills of the benchmark configuration; with the two
// languages it makes 30 skills.
const BenchLines = 28

// BenchConfig is the benchmark configuration: 30 skills (28 lines, zh and en) and one queue
// per line requiring it at level 3, relaxing to level 1 after a minute.
func BenchConfig() acd.Config {
	c := acd.Config{Languages: []acd.SkillName{"zh", "en"}}
	for i := range BenchLines {
		s := acd.SkillName(fmt.Sprintf("line%02d", i))
		c.Skills = append(c.Skills, s)
		c.Queues = append(c.Queues, acd.Queue{Name: acd.QueueName(s), Skills: []acd.SkillReq{{Skill: s, Min: 3}},
			Relax: []acd.RelaxStep{{After: time.Minute, LowerLevels: 2}}})
	}
	c.Skills = append(c.Skills, "zh", "en")
	return c
}

// BenchAgent is agent i of the benchmark population: six consecutive lines at levels 1-5,
// and zh (and every third agent en).
func BenchAgent(i int) acd.Agent {
	sk := map[acd.SkillName]acd.Level{"zh": 3}
	if i%3 == 0 {
		sk["en"] = 2
	}
	for k := range 6 {
		sk[acd.SkillName(fmt.Sprintf("line%02d", (i*7+k)%BenchLines))] = acd.Level(1 + (i+k)%5)
	}
	return acd.Agent{ID: acd.AgentID(fmt.Sprintf("agent%04d", i)), Skills: sk}
}

// BenchItem is item i of round r: a zh call on line i mod 28, of a class by i.
func BenchItem(r, i int, at time.Time) acd.Item {
	return acd.Item{
		ID: acd.ItemID(fmt.Sprintf("r%d-%04d", r, i)), Kind: acd.KindCall,
		Queue: acd.QueueName(fmt.Sprintf("line%02d", (i*11)%BenchLines)),
		Class: acd.Classes[i%3], Language: "zh", EnqueuedAt: at,
	}
}

// BenchmarkReserve measures reservations through stores opened by open. It works in rounds:
// with the timer stopped, n agents are ready and n items waiting; then workers (each with a
// store of its own) reserve with ReserveBest(batch), or, when batch is 0, Reserve the given
// pairs (item i with an agent that fits it), until half the items are reserved (so that
// agents and work stay plentiful, the regime where the rate matters), or b.N reservations
// are made. It reports reservations/s.
func BenchmarkReserve(b *testing.B, open func() acd.Store, clock *Clock, n, workers, batch int) {
	ctx := context.Background()
	s := open()
	stores := make([]acd.Store, workers)
	for w := range stores {
		stores[w] = open()
	}
	agents := make([]acd.Agent, n)
	for i := range n {
		agents[i] = BenchAgent(i)
		if _, err := s.Login(ctx, agents[i], acd.StateReady, ""); err != nil {
			b.Fatal(err)
		}
		clock.Advance(time.Millisecond) // agents become ready one after another
	}
	var (
		total   atomic.Int64
		elapsed time.Duration
		last    []acd.Item
	)
	b.ResetTimer()
	b.StopTimer()
	for round := 0; total.Load() < int64(b.N); round++ {
		// Clear the last round: reserved items free their agents, the rest leave too.
		for _, it := range last {
			if _, err := s.Remove(ctx, it.ID, acd.RemoveCancelled); err != nil {
				b.Fatal(err)
			}
		}
		items := make([]acd.Item, n)
		last = items
		for i := range n {
			items[i] = BenchItem(round, i, clock.Now())
			if _, err := s.Enqueue(ctx, items[i]); err != nil {
				b.Fatal(err)
			}
		}
		clock.Advance(time.Millisecond)
		// For given pairs: the first agent that fits, each used once.
		var pairs [][2]int
		if batch == 0 {
			used := make([]bool, n)
			for i, it := range items {
				q := acd.SkillName(it.Queue)
				for j, a := range agents {
					if !used[j] && a.Skills[q] >= 3 {
						used[j] = true
						pairs = append(pairs, [2]int{i, j})
						break
					}
				}
			}
		}
		var (
			next  atomic.Int64
			wg    sync.WaitGroup
			round atomic.Int64
		)
		start := time.Now()
		b.StartTimer()
		for w := range workers {
			st := stores[w]
			wg.Go(func() {
				for total.Load() < int64(b.N) && round.Load() < int64(n/2) {
					var rs []acd.Reservation
					if batch == 0 {
						k := int(next.Add(1)) - 1
						if k >= len(pairs) {
							return
						}
						r, err := st.Reserve(ctx, items[pairs[k][0]].ID, agents[pairs[k][1]].ID)
						if err != nil {
							b.Error(err)
							return
						}
						rs = []acd.Reservation{r}
					} else {
						var err error
						rs, err = st.ReserveBest(ctx, batch)
						if errors.Is(err, acd.ErrContention) {
							continue
						}
						if err != nil {
							b.Error(err)
							return
						}
						if len(rs) == 0 {
							return
						}
					}
					total.Add(int64(len(rs)))
					round.Add(int64(len(rs)))
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		elapsed += time.Since(start)
		if b.Failed() {
			return
		}
	}
	b.ReportMetric(float64(total.Load())/elapsed.Seconds(), "reservations/s")
}
