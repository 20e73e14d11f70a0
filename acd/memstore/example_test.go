package memstore_test

import (
	"context"
	"fmt"
	"time"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
)

// The life of one call through the distributor, as the call flow drives it.
func Example() {
	ctx := context.Background()
	router, err := acd.NewRouter(acd.DefaultConfig())
	if err != nil {
		panic(err)
	}
	clock := acdtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var store acd.Store = memstore.New(router, clock)

	// An agent's seat logs in; a caller chose "price" in the menu.
	store.Login(ctx, acd.Agent{ID: "wang", Skills: map[acd.SkillName]acd.Level{"price": 4, "complaint": 3, "zh": 5}}, acd.StateReady, "")
	store.Enqueue(ctx, acd.Item{ID: "call-1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint,
		Language: "zh", Skills: []acd.SkillReq{{Skill: "price", Min: 1}}, CaseNumber: "620000-20260302-000001"})

	// The dispatch loop reserves; the call flow rings the seat and bridges on answer.
	clock.Advance(8 * time.Second)
	rs, _ := store.ReserveBest(ctx, 10)
	r := rs[0]
	fmt.Println(r.Trace)
	store.Offer(ctx, r)
	clock.Advance(3 * time.Second)
	store.Answer(ctx, r)

	// Hang-up: wrap-up for the queue's wrap-up time, then the sweep makes the agent ready.
	clock.Advance(4 * time.Minute)
	a, _ := store.Finish(ctx, r)
	fmt.Println(a.State, "until", a.Work.Due.Format("15:04:05"))
	clock.Advance(time.Minute)
	xs, _ := store.Expire(ctx)
	fmt.Println(xs[0].Agent, xs[0].From, "->", xs[0].To)

	// Output:
	// call call-1 (general, complaint_report) waited 8s, standing 1m8s -> wang: full fit, longest_idle among 1 (idle 8s)
	// wrap_up until 09:05:11
	// wang wrap_up -> ready
}
