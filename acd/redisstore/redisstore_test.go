package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/redisstore"
)

func TestContract(t *testing.T) {
	acdtest.RunStoreContract(t, func(t *testing.T, r *acd.Router, clock acd.Clock) func() acd.Store {
		prefix := acdtest.RedisPrefix(t, "acd")
		// Each client has its own connection pool, as another controller would.
		return func() acd.Store { return redisstore.New(acdtest.RedisClient(t), prefix, r, clock) }
	})
}

// TestStateSurvivesRestart: a controller reserves and rings, then dies; a new one (new
// client, new router) finds the state in Redis and expires the offer it never saw.
func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	prefix := acdtest.RedisPrefix(t, "acd")
	clock := acdtest.NewClock(acdtest.Epoch)
	r1, err := acd.NewRouter(acdtest.Config())
	if err != nil {
		t.Fatal(err)
	}
	c1 := acdtest.RedisClient(t)
	s1 := redisstore.New(c1, prefix, r1, clock)
	zh := map[acd.SkillName]acd.Level{"zh": 3}
	for _, id := range []acd.AgentID{"a1", "a2"} {
		if _, err := s1.Login(ctx, acd.Agent{ID: id, Skills: zh}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	for _, id := range []acd.ItemID{"c1", "c2"} {
		if _, err := s1.Enqueue(ctx, acd.Item{ID: id, Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh", CaseID: 7}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	rs, err := s1.ReserveBest(ctx, 1)
	if err != nil || len(rs) != 1 || rs[0].Agent != "a1" || rs[0].Item.ID != "c1" {
		t.Fatalf("reserve: %+v, %v", rs, err)
	}
	if _, err := s1.Offer(ctx, rs[0]); err != nil {
		t.Fatal(err)
	}
	c1.Close() // the controller dies

	r2, err := acd.NewRouter(acdtest.Config())
	if err != nil {
		t.Fatal(err)
	}
	s2 := redisstore.New(acdtest.RedisClient(t), prefix, r2, clock)
	a1, err := s2.Agent(ctx, "a1")
	if err != nil || a1.State != acd.StateRinging || a1.Work.Item != "c1" || a1.Work.Reservation != rs[0].ID {
		t.Fatalf("a1 after restart: %+v, %v", a1, err)
	}
	it, err := s2.Item(ctx, "c1")
	if err != nil || it.Status != acd.StatusOffered || it.CaseID != 7 {
		t.Fatalf("c1 after restart: %+v, %v", it, err)
	}
	waiting, err := s2.Waiting(ctx, "general")
	if err != nil || len(waiting) != 1 || waiting[0].ID != "c2" {
		t.Fatalf("waiting after restart: %+v, %v", waiting, err)
	}
	clock.Advance(15 * time.Second)
	xs, err := s2.Expire(ctx)
	if err != nil || len(xs) != 1 || xs[0].Agent != "a1" || xs[0].To != acd.StateNotReady {
		t.Fatalf("expire after restart: %+v, %v", xs, err)
	}
	rs, err = s2.ReserveBest(ctx, 1)
	if err != nil || len(rs) != 1 || rs[0].Agent != "a2" || rs[0].Item.ID != "c1" {
		t.Fatalf("the new controller routes the RONA item first: %+v, %v", rs, err)
	}
}

// BenchmarkReserve measures reservations on a real Redis over loopback, 1,000 agents over
// 30 skills and rounds of 1,000 waiting items.
func BenchmarkReserve(b *testing.B) {
	cases := []struct {
		name             string
		workers, batches int
	}{
		{"best/batch=1/clients=1", 1, 1},
		{"best/batch=1/clients=4", 4, 1},
		{"best/batch=64/clients=1", 1, 64},
		{"best/batch=64/clients=4", 4, 64},
		{"pair/clients=8", 8, 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r, err := acd.NewRouter(acdtest.BenchConfig())
			if err != nil {
				b.Fatal(err)
			}
			prefix := acdtest.RedisPrefix(b, "acd")
			clock := acdtest.NewClock(acdtest.Epoch)
			acdtest.BenchmarkReserve(b, func() acd.Store { return redisstore.New(acdtest.RedisClient(b), prefix, r, clock) }, clock, 1000, tc.workers, tc.batches)
		})
	}
}

// TestDataLossResetsCache: Redis loses everything (restart without persistence, flush)
// while a controller holds a routing cache; the state rebuilt afterwards, with sequence
// numbers that may run past the old ones, is what the controller routes on.
func TestDataLossResetsCache(t *testing.T) {
	ctx := context.Background()
	prefix := acdtest.RedisPrefix(t, "acd")
	clock := acdtest.NewClock(acdtest.Epoch)
	r, err := acd.NewRouter(acdtest.Config())
	if err != nil {
		t.Fatal(err)
	}
	c := acdtest.RedisClient(t)
	s1 := redisstore.New(c, prefix, r, clock)
	zh := map[acd.SkillName]acd.Level{"zh": 3}
	for i := range 5 {
		if _, err := s1.Login(ctx, acd.Agent{ID: acd.AgentID(fmt.Sprintf("a%d", i)), Skills: zh}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
	}
	if rs, err := s1.ReserveBest(ctx, 1); err != nil || len(rs) != 0 {
		t.Fatalf("nothing waiting yet: %+v, %v", rs, err)
	}
	// Everything is lost. Another controller builds a new state with more changes than the
	// old one had; the one ready agent changed first, at a sequence number s1 has seen.
	keys, err := c.Keys(ctx, "{"+prefix+"}*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v, %v", keys, err)
	}
	if err := c.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	s2 := redisstore.New(acdtest.RedisClient(t), prefix, r, clock)
	if _, err := s2.Login(ctx, acd.Agent{ID: "z", Skills: zh}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		id := acd.AgentID(fmt.Sprintf("y%d", i))
		if _, err := s2.Login(ctx, acd.Agent{ID: id, Skills: zh}, acd.StateNotReady, "break"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s2.Enqueue(ctx, acd.Item{ID: "c1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh"}); err != nil {
		t.Fatal(err)
	}
	rs, err := s1.ReserveBest(ctx, 1)
	if err != nil || len(rs) != 1 || rs[0].Agent != "z" {
		t.Fatalf("after the loss: %+v, %v", rs, err)
	}
}
