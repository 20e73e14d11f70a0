package callflow

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
	"hotline/acd/redisstore"
	"hotline/ivr"
	"hotline/pbx"
)

// ringLine is an AgentLine that records when each ring was asked for; its legs never ring
// out (the benchmark takes the call out of the queue itself).
type ringLine struct {
	mu    sync.Mutex
	rings map[string]time.Time // call id -> when Ring was called
	ring  chan string
}

func (l *ringLine) Ring(_ context.Context, r AgentRing) (Leg, error) {
	at := time.Now()
	l.mu.Lock()
	l.rings[r.CallID] = at
	l.mu.Unlock()
	l.ring <- r.CallID
	return benchLeg{id: r.ChannelID}, nil
}

type benchLeg struct{ id string }

func (l benchLeg) ChannelID() string              { return l.id }
func (benchLeg) Events() <-chan LegEvent          { return nil }
func (benchLeg) Hangup(ctx context.Context) error { return nil }
func (benchLeg) Close()                           {}
func (l *ringLine) at(call string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.rings[call]
	return t, ok
}

// BenchmarkEnqueueToRing measures how long a call waits for its ring when agents are idle:
// from ACDQueue.Offer (Store.Enqueue, then the dispatcher's kick) through the dispatcher
// (ACDQueue.Run: ReserveBest, the hand-over to the call's goroutine) and the call's ring
// step (waiter.ring: Store.Offer, then AgentLine.Ring) to the moment Ring is called. Each
// call stands alone: 20 agents idle, one call at a time, then taken out of the queue (its
// agent is ready again) before the next. It reports the median, p99 and maximum in
// milliseconds, for the memory store and for Redis (HOTLINE_REDIS_URL) on loopback, and
// the medians and p99 of the three legs: enqueue (Offer returns), dispatch (to the
// reservation reaching the call) and ring (Store.Offer and Ring). The call's goroutine is
// the waiter's ring step alone: no PBX, no hold music.
//
//	go test -run '^$' -bench EnqueueToRing -benchtime 500x ./callflow/
func BenchmarkEnqueueToRing(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B, r *acd.Router) acd.Store
	}{
		{"memory", func(_ *testing.B, r *acd.Router) acd.Store { return memstore.New(r, acd.SystemClock{}) }},
		{"redis", func(b *testing.B, r *acd.Router) acd.Store {
			rdb, prefix := acdtest.RedisClient(b), acdtest.RedisPrefix(b, "bench-ring")
			return redisstore.New(rdb, prefix, r, acd.SystemClock{})
		}},
	}
	for _, st := range stores {
		b.Run("store="+st.name, func(b *testing.B) {
			cfg := acd.DefaultConfig()
			router, err := acd.NewRouter(cfg)
			if err != nil {
				b.Fatal(err)
			}
			store := st.open(b, router)
			line := &ringLine{rings: map[string]time.Time{}, ring: make(chan string, 1)}
			q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: line, Bridges: &pbx.Client{}, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			m, err := newMetrics(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			runner := &Runner{cfg: Config{RequestTimeout: 5 * time.Second}, log: quiet, m: m}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ran := make(chan error, 1)
			go func() { ran <- q.Run(ctx) }()
			defer func() { cancel(); <-ran }()
			for i := range 20 {
				a := acd.Agent{ID: acd.AgentID(fmt.Sprintf("agent%02d", i)), Skills: map[acd.SkillName]acd.Level{"consult": 3, "zh": 3}}
				if _, err := store.Login(ctx, a, acd.StateReady, ""); err != nil {
					b.Fatal(err)
				}
			}
			var lat, enq, disp, ring []time.Duration
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("bench-%d", i)
				start := time.Now()
				res, err := q.Offer(ctx, Offer{ChannelID: id, Queue: "general", Priority: ivr.PriorityConsult,
					Skills: []ivr.Skill{{Name: "consult", Level: 1}}})
				if err != nil || res.Wait == nil {
					b.Fatalf("offer %s: %+v, %v", id, res, err)
				}
				enqueued := time.Now()
				// The call's goroutine: take the reservation, ring (Store.Offer, Line.Ring).
				c := &call{r: runner, log: quiet, id: id}
				w := &waiter{c: c, t: res.Wait, q: q}
				select {
				case r := <-res.Wait.offers:
					got := time.Now()
					w.ring(r)
					enq, disp = append(enq, enqueued.Sub(start)), append(disp, got.Sub(enqueued))
					ring = append(ring, time.Since(got))
				case <-time.After(10 * time.Second):
					b.Fatalf("call %s: no reservation in 10s", id)
				}
				select {
				case <-line.ring:
				default:
					b.Fatalf("call %s: reserved but not rung", id)
				}
				at, _ := line.at(id)
				lat = append(lat, at.Sub(start))
				// Take the call out: its agent is ready again for the next.
				b.StopTimer()
				res.Wait.done()
				if _, err := store.Remove(ctx, acd.ItemID(id), acd.RemoveAbandoned); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			for _, m := range []struct {
				name string
				d    []time.Duration
			}{{"", lat}, {"enqueue-", enq}, {"dispatch-", disp}, {"ring-", ring}} {
				slices.Sort(m.d)
				b.ReportMetric(ms(m.d[len(m.d)/2]), m.name+"p50-ms")
				b.ReportMetric(ms(m.d[len(m.d)*99/100]), m.name+"p99-ms")
			}
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		})
	}
}
