package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/internal/engine"
)

// TestPrefetchedViewIsChecked: a batch of reservations brings back the next snapshot, and
// the next call plans on it (here however late it comes) only if nothing moved since. A
// better item enqueued by another controller, or an agent made ready there, is seen.
func TestPrefetchedViewIsChecked(t *testing.T) {
	ctx := context.Background()
	zh := map[acd.SkillName]acd.Level{"zh": 3}
	consult := func(id acd.ItemID) acd.Item {
		return acd.Item{ID: id, Kind: acd.KindCall, Queue: "bulk", Class: acd.ClassConsult, Language: "zh"}
	}
	tests := []struct {
		name string
		// meanwhile runs on another controller between the two ReserveBest calls.
		meanwhile      func(t *testing.T, other acd.Store)
		wantItem       acd.ItemID
		wantAgent      acd.AgentID
		wantRoundTrips int64
		secondSkills   map[acd.SkillName]acd.Level
	}{
		{
			name:           "nothing moved: one round trip",
			meanwhile:      func(*testing.T, acd.Store) {},
			wantItem:       "c2",
			wantAgent:      "a2",
			wantRoundTrips: 1,
			secondSkills:   zh,
		},
		{
			name: "a complaint arrived: it goes first",
			meanwhile: func(t *testing.T, other acd.Store) {
				it := consult("k1")
				it.Class = acd.ClassComplaint
				if _, err := other.Enqueue(ctx, it); err != nil {
					t.Fatal(err)
				}
			},
			wantItem:       "k1",
			wantAgent:      "a2",
			wantRoundTrips: 2, // the guarded commit fails and brings the present back
			secondSkills:   zh,
		},
		{
			name: "an agent was made ready: the view without one is not trusted",
			meanwhile: func(t *testing.T, other acd.Store) {
				if _, err := other.Login(ctx, acd.Agent{ID: "a3", Skills: zh}, acd.StateReady, ""); err != nil {
					t.Fatal(err)
				}
			},
			wantItem:       "c2",
			wantAgent:      "a3",
			wantRoundTrips: 2,                                    // the view's plan is empty: a fresh snapshot, then the commit
			secondSkills:   map[acd.SkillName]acd.Level{"en": 3}, // a2 cannot take c2
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newRoutingRig(t)
			s, other, clock, rts := g.s, g.other, g.clock, g.rts
			for _, a := range []acd.Agent{{ID: "a1", Skills: zh}, {ID: "a2", Skills: tc.secondSkills}} {
				if _, err := other.Login(ctx, a, acd.StateReady, ""); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Second)
			}
			for _, id := range []acd.ItemID{"c1", "c2"} {
				if _, err := other.Enqueue(ctx, consult(id)); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Second)
			}
			rs, err := s.ReserveBest(ctx, 1)
			if err != nil || len(rs) != 1 || rs[0].Item.ID != "c1" || rs[0].Agent != "a1" {
				t.Fatalf("first: %+v, %v", rs, err)
			}
			tc.meanwhile(t, other)
			n := rts.Load()
			rs, err = s.ReserveBest(ctx, 1)
			if err != nil || len(rs) != 1 || rs[0].Item.ID != tc.wantItem || rs[0].Agent != tc.wantAgent {
				t.Fatalf("second: %+v, %v; want %s for %s", rs, err, tc.wantItem, tc.wantAgent)
			}
			if got := rts.Load() - n; got != tc.wantRoundTrips {
				t.Errorf("second took %d round trips, want %d", got, tc.wantRoundTrips)
			}
		})
	}
}

// routingRig is a store under test whose backend is at hand, and another controller's
// store on the same prefix.
type routingRig struct {
	b     *backend
	s     *engine.Engine
	other acd.Store
	clock *acdtest.Clock
	rts   *atomic.Int64 // the store's round trips to Redis
}

// newRoutingRig makes a rig on a prefix of its own; the store's prefetched views do not
// go stale with time (b.fresh), so tests decide what moves between two calls.
func newRoutingRig(t *testing.T) routingRig {
	t.Helper()
	prefix := newTestPrefix(t)
	clock := acdtest.NewClock(acdtest.Epoch)
	r, err := acd.NewRouter(acdtest.Config())
	if err != nil {
		t.Fatal(err)
	}
	rdb, rts := countingClient(t)
	b := newBackend(rdb, prefix, r)
	b.fresh = time.Hour
	return routingRig{b: b, s: engine.New(b, r, clock), other: New(acdtest.RedisClient(t), prefix, r, clock), clock: clock, rts: rts}
}

// countingClient is a client that counts its round trips (commands and pipelines).
func countingClient(t *testing.T) (*redis.Client, *atomic.Int64) {
	c := acdtest.RedisClient(t)
	h := &countHook{}
	c.AddHook(h)
	return c, &h.n
}

type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// newTestPrefix returns a key prefix of this test's own, deleted when the test ends.
func newTestPrefix(t *testing.T) string {
	prefix := "hotline-test-acd-" + rand.Text()[:12]
	c := acdtest.RedisClient(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ks, err := c.Keys(ctx, "{"+prefix+"}*").Result()
		if err == nil && len(ks) > 0 {
			err = c.Unlink(ctx, ks...).Err()
		}
		if err != nil {
			t.Logf("clean up %s: %v", prefix, err)
		}
	})
	return prefix
}

// TestHeadHeldByUnservableItems: the head of the line is held by items no ready agent can
// take (English callers, no English agent ready). The first routing pages past them; the
// ones after read far enough at once, one round trip each, in order.
func TestHeadHeldByUnservableItems(t *testing.T) {
	ctx := context.Background()
	g := newRoutingRig(t)
	s, other, clock, rts := g.s, g.other, g.clock, g.rts
	for i := range 40 {
		it := acd.Item{ID: acd.ItemID(fmt.Sprintf("en%02d", i)), Kind: acd.KindCall, Queue: "bulk", Class: acd.ClassConsult, Language: "en"}
		if _, err := other.Enqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	for i := range 5 {
		it := acd.Item{ID: acd.ItemID(fmt.Sprintf("zh%d", i)), Kind: acd.KindCall, Queue: "bulk", Class: acd.ClassConsult, Language: "zh"}
		if _, err := other.Enqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Login(ctx, acd.Agent{ID: acd.AgentID(fmt.Sprintf("a%d", i)), Skills: map[acd.SkillName]acd.Level{"zh": 3}}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	for i := range 5 {
		n := rts.Load()
		rs, err := s.ReserveBest(ctx, 1)
		if err != nil || len(rs) != 1 || rs[0].Item.ID != acd.ItemID(fmt.Sprintf("zh%d", i)) {
			t.Fatalf("call %d: %+v, %v", i, rs, err)
		}
		if got := rts.Load() - n; i > 0 && got != 1 {
			t.Errorf("call %d took %d round trips, want 1", i, got)
		}
	}
}

// TestSnapshotLeavesOutHeldData: a snapshot leaves out the data of the items the reader
// holds; a reader that lost them since (here: its item cache emptied) reads the snapshot
// again in full and routes as if nothing happened.
func TestSnapshotLeavesOutHeldData(t *testing.T) {
	ctx := context.Background()
	g := newRoutingRig(t)
	b, s, clock := g.b, g.s, g.clock
	zh := map[acd.SkillName]acd.Level{"zh": 3}
	for i := range 4 {
		it := acd.Item{ID: acd.ItemID(fmt.Sprintf("c%d", i)), Kind: acd.KindCall, Queue: "bulk", Class: acd.ClassConsult, Language: "zh"}
		if _, err := s.Enqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if _, err := s.Login(ctx, acd.Agent{ID: "a0", Skills: zh}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if rs, err := s.ReserveBest(ctx, 1); err != nil || len(rs) != 1 || rs[0].Item.ID != "c0" {
		t.Fatalf("first: %+v, %v", rs, err)
	}
	snap, err := b.snapshot(ctx, b.cache.since, 0, minPage)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.items) != 3 {
		t.Fatalf("snapshot: %d items, want 3", len(snap.items))
	}
	for _, it := range snap.items {
		if it.hasData || it.ver == 0 {
			t.Errorf("item %s: data %v, version %d; want the data left out, the version given", it.id, it.hasData, it.ver)
		}
	}
	b.cache.Lock()
	b.cache.items = map[acd.ItemID]cachedItem{}
	b.cache.next = nil
	b.cache.Unlock()
	if _, err := s.Login(ctx, acd.Agent{ID: "a1", Skills: zh}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if rs, err := s.ReserveBest(ctx, 1); err != nil || len(rs) != 1 || rs[0].Item.ID != "c1" || rs[0].Agent != "a1" {
		t.Fatalf("after the cache lost the items: %+v, %v", rs, err)
	}
}
