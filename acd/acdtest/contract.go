package acdtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/acd"
)

// Factory creates a fresh, empty shared state for one test and returns a function that opens
// clients on it. Every client is an independent acd.Store (for Redis, its own connection),
// as several controllers would be; all share r's configuration and the clock.
type Factory func(t *testing.T, r *acd.Router, clock acd.Clock) (open func() acd.Store)

// Epoch is the contract suite's starting time.
var Epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Config is the configuration the contract suite runs with.
func Config() acd.Config {
	return acd.Config{
		Skills:    []acd.SkillName{"quality", "food_drug", "price", "ip", "zh", "en", "emergency"},
		Languages: []acd.SkillName{"zh", "en"},
		Groups:    []acd.GroupName{"general"},
		Queues: []acd.Queue{
			{Name: "general", MaxLength: 3, MaxWait: 10 * time.Minute, ServiceLevel: 20 * time.Second, WrapUp: 30 * time.Second,
				Relax: []acd.RelaxStep{{After: 5 * time.Minute, Offer: acd.FallbackVoicemailOrCallback}}},
			{Name: "price", Skills: []acd.SkillReq{{Skill: "price", Min: 4}}, ServiceLevel: 20 * time.Second,
				OverflowGroup: "general", Relax: []acd.RelaxStep{
					{After: time.Minute, LowerLevels: 2},
					{After: 2 * time.Minute, Overflow: true},
				}},
			{Name: "emergency", Skills: []acd.SkillReq{{Skill: "emergency", Min: 1}}, ServiceLevel: 10 * time.Second},
			{Name: "bulk"},
		},
		Strategy:       acd.LongestIdle,
		RingTimeout:    15 * time.Second,
		ReserveTimeout: 5 * time.Second,
	}
}

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *Clock
	s     acd.Store
	open  func() acd.Store
}

func newEnv(t *testing.T, f Factory) *env {
	t.Helper()
	r, err := acd.NewRouter(Config())
	if err != nil {
		t.Fatal(err)
	}
	clock := NewClock(Epoch)
	open := f(t, r, clock)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, clock: clock, s: open(), open: open}
}

func (e *env) login(id acd.AgentID, skills map[acd.SkillName]acd.Level, groups ...acd.GroupName) acd.Agent {
	e.t.Helper()
	a, err := e.s.Login(e.ctx, acd.Agent{ID: id, Skills: skills, Groups: groups}, acd.StateReady, "")
	if err != nil {
		e.t.Fatalf("login %s: %v", id, err)
	}
	return a
}

func (e *env) enqueue(id acd.ItemID, q acd.QueueName, class acd.Class, extra ...func(*acd.Item)) acd.Item {
	e.t.Helper()
	it := acd.Item{ID: id, Kind: acd.KindCall, Queue: q, Class: class, Language: "zh"}
	for _, f := range extra {
		f(&it)
	}
	got, err := e.s.Enqueue(e.ctx, it)
	if err != nil {
		e.t.Fatalf("enqueue %s: %v", id, err)
	}
	return got
}

func (e *env) reserveOne() acd.Reservation {
	e.t.Helper()
	rs, err := e.s.ReserveBest(e.ctx, 1)
	if err != nil {
		e.t.Fatalf("reserve best: %v", err)
	}
	if len(rs) != 1 {
		e.t.Fatalf("reserve best: got %d reservations, want 1", len(rs))
	}
	return rs[0]
}

func (e *env) agent(id acd.AgentID) acd.Agent {
	e.t.Helper()
	a, err := e.s.Agent(e.ctx, id)
	if err != nil {
		e.t.Fatalf("agent %s: %v", id, err)
	}
	return a
}

func (e *env) item(id acd.ItemID) acd.Item {
	e.t.Helper()
	it, err := e.s.Item(e.ctx, id)
	if err != nil {
		e.t.Fatalf("item %s: %v", id, err)
	}
	return it
}

func (e *env) waitingIDs(q acd.QueueName) []acd.ItemID {
	e.t.Helper()
	its, err := e.s.Waiting(e.ctx, q)
	if err != nil {
		e.t.Fatalf("waiting %s: %v", q, err)
	}
	ids := make([]acd.ItemID, len(its))
	for i, it := range its {
		ids[i] = it.ID
	}
	return ids
}

func (e *env) outcomes(q acd.QueueName) []acd.Outcome {
	e.t.Helper()
	os, err := e.s.Outcomes(e.ctx, q, time.Time{})
	if err != nil {
		e.t.Fatalf("outcomes %s: %v", q, err)
	}
	return os
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

var general = map[acd.SkillName]acd.Level{"zh": 3}

// RunStoreContract runs the contract suite against the store made by f.
func RunStoreContract(t *testing.T, f Factory) {
	tests := []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"AgentStateMachine", testAgentStateMachine},
		{"EnqueueLimitsAndRemove", testEnqueueLimitsAndRemove},
		{"GlobalOrderAcrossQueues", testGlobalOrder},
		{"HeadStartBonus", testHeadStartBonus},
		{"RelaxationOverTime", testRelaxation},
		{"ItemFarDownTheLine", testFarDown},
		{"ReserveGivenPair", testReservePair},
		{"OfferAnswerFinishWrapUp", testFullPath},
		{"RONAGoesBackToFront", testRONA},
		{"ReservationLapses", testLapse},
		{"AbandonWhileRinging", testAbandonWhileRinging},
		{"CallbackKeepsPlace", testCallbackKeepsPlace},
		{"StaleReservationIsConflict", testStaleReservation},
		{"ExpireOnceAcrossClients", testExpireOnce},
		{"WallboardFromStore", testWallboard},
		{"ConcurrentReserveBest", testConcurrentReserveBest},
		{"ConcurrentReservePair", testConcurrentReservePair},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newEnv(t, f)) })
	}
}

func testAgentStateMachine(t *testing.T, e *env) {
	a := e.login("a1", general)
	if a.State != acd.StateReady || !a.ReadySince.Equal(Epoch) || !a.LoginAt.Equal(Epoch) {
		t.Fatalf("after login: %+v", a)
	}
	_, err := e.s.Login(e.ctx, acd.Agent{ID: "a1"}, acd.StateReady, "")
	wantErr(t, "second login", err, acd.ErrStateConflict)

	e.clock.Advance(time.Minute)
	a, err = e.s.SetState(e.ctx, "a1", acd.StateReady, acd.StateNotReady, "break")
	if err != nil || a.State != acd.StateNotReady || a.Reason != "break" {
		t.Fatalf("ready -> not_ready: %+v, %v", a, err)
	}
	_, err = e.s.SetState(e.ctx, "a1", acd.StateReady, acd.StateNotReady, "lunch")
	wantErr(t, "expected ready, is not_ready", err, acd.ErrStateConflict)
	var ce *acd.ConflictError
	if !errors.As(err, &ce) || ce.Agent != "a1" || ce.Want != "ready" || ce.Got != "not_ready" {
		t.Fatalf("conflict details: %#v", err)
	}
	if got := e.agent("a1"); got.Reason != "break" {
		t.Fatalf("a conflict changed the agent: %+v", got)
	}
	_, err = e.s.SetState(e.ctx, "a1", acd.StateNotReady, acd.StateOnCall, "")
	wantErr(t, "not_ready -> on_call", err, acd.ErrIllegalTransition)
	_, err = e.s.SetState(e.ctx, "a1", acd.StateNotReady, acd.StateNotReady, "")
	wantErr(t, "not_ready without reason", err, acd.ErrInvalid)
	if a, err = e.s.SetState(e.ctx, "a1", acd.StateNotReady, acd.StateNotReady, "training"); err != nil || a.Reason != "training" {
		t.Fatalf("change reason: %+v, %v", a, err)
	}
	e.clock.Advance(time.Minute)
	if a, err = e.s.SetState(e.ctx, "a1", acd.StateNotReady, acd.StateReady, ""); err != nil || !a.ReadySince.Equal(e.clock.Now()) || a.Reason != "" {
		t.Fatalf("not_ready -> ready: %+v, %v", a, err)
	}
	if a, err = e.s.Logout(e.ctx, "a1", acd.StateReady); err != nil || a.State != acd.StateLoggedOut {
		t.Fatalf("logout: %+v, %v", a, err)
	}
	if a, err = e.s.Login(e.ctx, acd.Agent{ID: "a1", Skills: general}, acd.StateNotReady, ""); err != nil || a.Reason != acd.ReasonLogin {
		t.Fatalf("login again as not ready: %+v, %v", a, err)
	}

	_, err = e.s.SetState(e.ctx, "nobody", acd.StateReady, acd.StateNotReady, "x")
	wantErr(t, "unknown agent", err, acd.ErrUnknownAgent)
	_, err = e.s.Agent(e.ctx, "nobody")
	wantErr(t, "unknown agent", err, acd.ErrUnknownAgent)
	_, err = e.s.Login(e.ctx, acd.Agent{ID: "a2", Skills: map[acd.SkillName]acd.Level{"plumbing": 3}}, acd.StateReady, "")
	wantErr(t, "unknown skill", err, acd.ErrUnknownSkill)
	_, err = e.s.Login(e.ctx, acd.Agent{ID: "a2", Skills: map[acd.SkillName]acd.Level{"price": 6}}, acd.StateReady, "")
	wantErr(t, "level 6", err, acd.ErrInvalid)

	// Skills change routing at once, in any state.
	e.login("a3", general)
	e.enqueue("p1", "price", acd.ClassConsult)
	if rs, err := e.s.ReserveBest(e.ctx, 1); err != nil || len(rs) != 0 {
		t.Fatalf("nobody has price yet: %v, %v", rs, err)
	}
	if _, err := e.s.SetSkills(e.ctx, "a3", map[acd.SkillName]acd.Level{"zh": 3, "price": 5}, nil); err != nil {
		t.Fatal(err)
	}
	if r := e.reserveOne(); r.Agent != "a3" || r.Item.ID != "p1" {
		t.Fatalf("after set skills: %+v", r)
	}
	agents, err := e.s.Agents(e.ctx)
	if err != nil || len(agents) != 2 {
		t.Fatalf("agents: %d, %v", len(agents), err)
	}
}

func testEnqueueLimitsAndRemove(t *testing.T, e *env) {
	it := e.enqueue("c1", "general", acd.ClassConsult)
	if it.Status != acd.StatusWaiting || !it.EnqueuedAt.Equal(Epoch) {
		t.Fatalf("enqueued: %+v", it)
	}
	_, err := e.s.Enqueue(e.ctx, acd.Item{ID: "c1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult})
	wantErr(t, "duplicate", err, acd.ErrItemExists)
	_, err = e.s.Enqueue(e.ctx, acd.Item{ID: "x", Kind: acd.KindCall, Queue: "nowhere", Class: acd.ClassConsult})
	wantErr(t, "unknown queue", err, acd.ErrUnknownQueue)
	_, err = e.s.Enqueue(e.ctx, acd.Item{ID: "x", Kind: acd.KindCall, Queue: "general"})
	wantErr(t, "no class", err, acd.ErrInvalid)
	_, err = e.s.Enqueue(e.ctx, acd.Item{ID: "x", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "fr"})
	wantErr(t, "unknown language", err, acd.ErrUnknownSkill)

	e.clock.Advance(time.Second)
	e.enqueue("c2", "general", acd.ClassConsult)
	e.enqueue("c3", "general", acd.ClassConsult)
	_, err = e.s.Enqueue(e.ctx, acd.Item{ID: "c4", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult})
	wantErr(t, "fourth call in a queue of 3", err, acd.ErrQueueFull)
	// Callback tasks do not occupy lines.
	e.enqueue("cb1", "general", acd.ClassCallback, func(i *acd.Item) { i.Kind, i.Origin = acd.KindCallback, acd.OriginVoicemail })

	e.clock.Advance(40 * time.Second)
	removed, err := e.s.Remove(e.ctx, "c2", acd.RemoveAbandoned)
	if err != nil || removed.ID != "c2" {
		t.Fatalf("remove: %+v, %v", removed, err)
	}
	if got, want := e.waitingIDs("general"), []acd.ItemID{"c1", "c3", "cb1"}; !slices.Equal(got, want) {
		t.Fatalf("waiting after abandon: %v, want %v", got, want)
	}
	e.enqueue("c4", "general", acd.ClassConsult) // a line is free again
	_, err = e.s.Remove(e.ctx, "c2", acd.RemoveAbandoned)
	wantErr(t, "remove twice", err, acd.ErrUnknownItem)
	_, err = e.s.Item(e.ctx, "c2")
	wantErr(t, "removed item", err, acd.ErrUnknownItem)

	os := e.outcomes("general")
	if len(os) != 1 || os[0].Kind != acd.OutcomeAbandoned || os[0].Item != "c2" || os[0].Wait != 40*time.Second {
		t.Fatalf("outcomes: %+v", os)
	}
	if _, err := e.s.Remove(e.ctx, "c3", acd.RemoveDiverted); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Remove(e.ctx, "cb1", acd.RemoveCancelled); err != nil {
		t.Fatal(err)
	}
	os = e.outcomes("general")
	if len(os) != 2 || os[1].Kind != acd.OutcomeDiverted {
		t.Fatalf("outcomes after divert and cancel: %+v", os)
	}
	later, err := e.s.Outcomes(e.ctx, "general", Epoch.Add(time.Minute))
	if err != nil || len(later) != 0 {
		t.Fatalf("outcomes since later: %+v, %v", later, err)
	}
}

func testHeadStartBonus(t *testing.T, e *env) {
	// Incident mode: an emergency enqueued with a bonus goes ahead of an older one without,
	// and the bonus is kept with the item.
	e.enqueue("before", "emergency", acd.ClassEmergency)
	e.clock.Advance(time.Minute)
	e.enqueue("during", "emergency", acd.ClassEmergency, func(it *acd.Item) { it.HeadStartBonus = 24 * time.Hour })
	if it := e.item("during"); it.HeadStartBonus != 24*time.Hour {
		t.Fatalf("bonus not kept: %+v", it)
	}
	e.login("duty", map[acd.SkillName]acd.Level{"zh": 2, "emergency": 3})
	if r := e.reserveOne(); r.Item.ID != "during" {
		t.Fatalf("first reserved %s, want the emergency with the incident bonus", r.Item.ID)
	}
}

func testGlobalOrder(t *testing.T, e *env) {
	// Items across three queues; the class head start orders them before waiting time.
	e.enqueue("consult-old", "general", acd.ClassConsult)
	e.clock.Advance(10 * time.Second)
	e.enqueue("complaint", "general", acd.ClassComplaint)
	e.clock.Advance(10 * time.Second)
	e.enqueue("price", "price", acd.ClassComplaint)
	e.enqueue("emergency", "emergency", acd.ClassEmergency)
	e.clock.Advance(time.Second)

	// An emergency agent only: the emergency item, though it is the newest.
	e.login("duty", map[acd.SkillName]acd.Level{"zh": 2, "emergency": 3})
	r := e.reserveOne()
	if r.Item.ID != "emergency" || r.Agent != "duty" {
		t.Fatalf("first: %+v", r)
	}
	if r.Trace.Fit != acd.FitFull || r.Trace.Class != acd.ClassEmergency || r.Trace.Strategy != acd.LongestIdle || r.Trace.String() == "" {
		t.Fatalf("trace: %+v", r.Trace)
	}
	if it := e.item("emergency"); it.Status != acd.StatusReserved || it.Agent != "duty" || it.Reservation != r.ID {
		t.Fatalf("item after reserve: %+v", it)
	}
	if a := e.agent("duty"); a.State != acd.StateReserved || a.Work.Item != "emergency" || a.Work.Reservation != r.ID {
		t.Fatalf("agent after reserve: %+v", a)
	}
	// A general agent: the complaint stands above the older consult (60s head start); the
	// price complaint stands higher still but needs a price skill.
	e.login("gen", general)
	if r := e.reserveOne(); r.Item.ID != "complaint" {
		t.Fatalf("second: %+v", r)
	}
	// A price expert who speaks only English gets nothing: every caller chose zh.
	e.login("pricey", map[acd.SkillName]acd.Level{"price": 5, "en": 3})
	if rs, err := e.s.ReserveBest(e.ctx, 1); err != nil || len(rs) != 0 {
		t.Fatalf("a caller who chose zh never gets an en-only agent: %+v, %v", rs, err)
	}
	if _, err := e.s.SetSkills(e.ctx, "pricey", map[acd.SkillName]acd.Level{"price": 5, "zh": 1}, nil); err != nil {
		t.Fatal(err)
	}
	// Now the price complaint (standing 20s waited + 60s) comes before the consult (21s).
	r = e.reserveOne()
	if r.Item.ID != "price" || r.Agent != "pricey" || r.Trace.Standing != 61*time.Second || r.Trace.Waited != time.Second {
		t.Fatalf("third: %+v", r)
	}
	if rs, err := e.s.ReserveBest(e.ctx, 5); err != nil || len(rs) != 0 {
		t.Fatalf("no agent left: %+v, %v", rs, err)
	}
	if got := e.waitingIDs("general"); !slices.Equal(got, []acd.ItemID{"consult-old"}) {
		t.Fatalf("waiting: %v", got)
	}
}

func testRelaxation(t *testing.T, e *env) {
	e.enqueue("p", "price", acd.ClassConsult)
	e.login("junior", map[acd.SkillName]acd.Level{"zh": 3, "price": 2})
	e.login("generalist", general, "general")
	if rs, err := e.s.ReserveBest(e.ctx, 1); err != nil || len(rs) != 0 {
		t.Fatalf("before T1 nobody fits price 4: %+v, %v", rs, err)
	}
	e.clock.Advance(time.Minute)
	r := e.reserveOne()
	if r.Agent != "junior" || r.Trace.Fit != acd.FitRelaxed || r.Trace.Stage.Steps != 1 {
		t.Fatalf("after T1 a level 2 agent fits: %+v", r)
	}
	if _, err := e.s.Release(e.ctx, r, acd.StateNotReady, "break"); err != nil {
		t.Fatal(err)
	}
	if rs, err := e.s.ReserveBest(e.ctx, 1); err != nil || len(rs) != 0 {
		t.Fatalf("before T2 the overflow group waits: %+v, %v", rs, err)
	}
	e.clock.Advance(time.Minute)
	r = e.reserveOne()
	if r.Agent != "generalist" || r.Trace.Fit != acd.FitOverflow || r.Trace.Stage.Steps != 2 {
		t.Fatalf("after T2 the overflow group: %+v", r)
	}
}

// testFarDown: the only item an agent can take stands behind 100 that nobody free can
// serve (a store that reads the line in pages must read on).
func testFarDown(t *testing.T, e *env) {
	for i := range 100 {
		e.enqueue(acd.ItemID(fmt.Sprintf("p%03d", i)), "price", acd.ClassComplaint)
	}
	e.clock.Advance(time.Second)
	e.enqueue("g", "general", acd.ClassConsult)
	e.login("gen", general)
	r := e.reserveOne()
	if r.Item.ID != "g" || r.Trace.Passed != 100 {
		t.Fatalf("reservation: %+v", r)
	}
	if rs, err := e.s.ReserveBest(e.ctx, 1); err != nil || len(rs) != 0 {
		t.Fatalf("nothing left: %+v, %v", rs, err)
	}
}

func testReservePair(t *testing.T, e *env) {
	e.login("gen", general)
	e.login("gen2", general)
	e.login("en", map[acd.SkillName]acd.Level{"en": 5})
	e.enqueue("c1", "general", acd.ClassConsult)
	_, err := e.s.Reserve(e.ctx, "c1", "en")
	wantErr(t, "zh caller to an en agent", err, acd.ErrNotEligible)
	r, err := e.s.Reserve(e.ctx, "c1", "gen")
	if err != nil || r.Agent != "gen" || r.Item.Status != acd.StatusReserved || r.Trace.Fit != acd.FitFull {
		t.Fatalf("reserve pair: %+v, %v", r, err)
	}
	_, err = e.s.Reserve(e.ctx, "c1", "gen2")
	wantErr(t, "item taken", err, acd.ErrStateConflict)
	e.enqueue("c2", "general", acd.ClassConsult)
	_, err = e.s.Reserve(e.ctx, "c2", "gen")
	wantErr(t, "agent taken", err, acd.ErrStateConflict)
	_, err = e.s.Reserve(e.ctx, "c9", "gen2")
	wantErr(t, "unknown item", err, acd.ErrUnknownItem)
}

func testFullPath(t *testing.T, e *env) {
	e.enqueue("c1", "general", acd.ClassComplaint, func(i *acd.Item) { i.CaseID, i.CaseNumber = 42, "620000-20260302-000042" })
	e.login("a1", general)
	e.clock.Advance(12 * time.Second)
	r := e.reserveOne()
	if r.Item.CaseID != 42 || r.Item.CaseNumber != "620000-20260302-000042" {
		t.Fatalf("reservation lost the case: %+v", r.Item)
	}
	_, err := e.s.Answer(e.ctx, r)
	wantErr(t, "answer before ringing", err, acd.ErrStateConflict)
	e.clock.Advance(time.Second)
	a, err := e.s.Offer(e.ctx, r)
	if err != nil || a.State != acd.StateRinging || !a.Work.Due.Equal(e.clock.Now().Add(15*time.Second)) || !a.LastOfferAt.Equal(e.clock.Now()) {
		t.Fatalf("offer: %+v, %v", a, err)
	}
	e.clock.Advance(4 * time.Second)
	if a, err = e.s.Answer(e.ctx, r); err != nil || a.State != acd.StateOnCall {
		t.Fatalf("answer: %+v, %v", a, err)
	}
	if it := e.item("c1"); it.Status != acd.StatusConnected {
		t.Fatalf("item after answer: %+v", it)
	}
	e.clock.Advance(3 * time.Minute)
	if a, err = e.s.Finish(e.ctx, r); err != nil || a.State != acd.StateWrapUp || !a.Work.Due.Equal(e.clock.Now().Add(30*time.Second)) {
		t.Fatalf("finish: %+v, %v", a, err)
	}
	_, err = e.s.Item(e.ctx, "c1")
	wantErr(t, "finished item", err, acd.ErrUnknownItem)
	e.clock.Advance(29 * time.Second)
	if xs, err := e.s.Expire(e.ctx); err != nil || len(xs) != 0 {
		t.Fatalf("expire before the end of wrap-up: %+v, %v", xs, err)
	}
	e.clock.Advance(time.Second)
	xs, err := e.s.Expire(e.ctx)
	if err != nil || len(xs) != 1 || xs[0].Agent != "a1" || xs[0].From != acd.StateWrapUp || xs[0].To != acd.StateReady {
		t.Fatalf("expire at the end of wrap-up: %+v, %v", xs, err)
	}
	a = e.agent("a1")
	if a.State != acd.StateReady || !a.ReadySince.Equal(e.clock.Now()) || a.Busy != 3*time.Minute+30*time.Second || a.Work != (acd.Work{}) {
		t.Fatalf("agent after wrap-up: %+v", a)
	}
	os := e.outcomes("general")
	if len(os) != 2 {
		t.Fatalf("outcomes: %+v", os)
	}
	if o := os[0]; o.Kind != acd.OutcomeAnswered || o.Wait != 17*time.Second || o.Agent != "a1" {
		t.Fatalf("answered: %+v", o)
	}
	if o := os[1]; o.Kind != acd.OutcomeHandled || o.Talk != 3*time.Minute || o.WrapUp != 30*time.Second {
		t.Fatalf("handled: %+v", o)
	}

	// The agent may end wrap-up early; a queue with no wrap-up goes straight to ready.
	e.enqueue("b1", "bulk", acd.ClassConsult)
	r = e.reserveOne()
	for _, step := range []func(context.Context, acd.Reservation) (acd.Agent, error){e.s.Offer, e.s.Answer} {
		if _, err := step(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if a, err := e.s.Finish(e.ctx, r); err != nil || a.State != acd.StateReady {
		t.Fatalf("finish without wrap-up: %+v, %v", a, err)
	}
	if os := e.outcomes("bulk"); len(os) != 2 || os[1].Kind != acd.OutcomeHandled {
		t.Fatalf("bulk outcomes: %+v", os)
	}
}

func testRONA(t *testing.T, e *env) {
	e.login("a1", general)
	e.clock.Advance(time.Second)
	e.login("a2", general)
	if _, err := e.s.SetState(e.ctx, "a2", acd.StateReady, acd.StateNotReady, "break"); err != nil {
		t.Fatal(err)
	}
	e.enqueue("first", "general", acd.ClassConsult)
	e.clock.Advance(time.Second)
	first := e.item("first")
	r := e.reserveOne()
	if r.Agent != "a1" || r.Item.ID != "first" {
		t.Fatalf("reserve: %+v", r)
	}
	if _, err := e.s.Offer(e.ctx, r); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Second)
	e.enqueue("second", "general", acd.ClassConsult)
	e.clock.Advance(10 * time.Second) // 15s of ringing
	xs, err := e.s.Expire(e.ctx)
	if err != nil || len(xs) != 1 {
		t.Fatalf("expire: %+v, %v", xs, err)
	}
	if x := xs[0]; x.Agent != "a1" || x.Item != "first" || x.From != acd.StateRinging || x.To != acd.StateNotReady || x.Reason != acd.ReasonNoAnswer {
		t.Fatalf("expiry: %+v", x)
	}
	a := e.agent("a1")
	if a.State != acd.StateNotReady || a.Reason != acd.ReasonNoAnswer {
		t.Fatalf("agent after RONA: %+v", a)
	}
	it := e.item("first")
	if it.Status != acd.StatusWaiting || !it.EnqueuedAt.Equal(first.EnqueuedAt) || it.Attempts != 1 || it.Agent != "" {
		t.Fatalf("item after RONA: %+v", it)
	}
	if got := e.waitingIDs("general"); !slices.Equal(got, []acd.ItemID{"first", "second"}) {
		t.Fatalf("RONA item is not at the front: %v", got)
	}
	// The next agent gets the RONA item before the later one.
	if _, err := e.s.SetState(e.ctx, "a2", acd.StateNotReady, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	r2 := e.reserveOne()
	if r2.Item.ID != "first" || r2.Agent != "a2" {
		t.Fatalf("after RONA: %+v", r2)
	}
	// An explicit RONA from the call flow's own timer does the same.
	if _, err := e.s.Offer(e.ctx, r2); err != nil {
		t.Fatal(err)
	}
	if a, err := e.s.NoAnswer(e.ctx, r2); err != nil || a.State != acd.StateNotReady || a.Reason != acd.ReasonNoAnswer {
		t.Fatalf("no answer: %+v, %v", a, err)
	}
	if it := e.item("first"); it.Attempts != 2 || it.Status != acd.StatusWaiting {
		t.Fatalf("after the second RONA: %+v", it)
	}
	if xs, err := e.s.Expire(e.ctx); err != nil || len(xs) != 0 {
		t.Fatalf("nothing left to expire: %+v, %v", xs, err)
	}
}

func testLapse(t *testing.T, e *env) {
	e.login("a1", general)
	e.clock.Advance(time.Minute)
	e.enqueue("c1", "general", acd.ClassConsult)
	r := e.reserveOne()
	e.clock.Advance(4 * time.Second)
	if xs, err := e.s.Expire(e.ctx); err != nil || len(xs) != 0 {
		t.Fatalf("before the reservation lapses: %+v, %v", xs, err)
	}
	e.clock.Advance(time.Second)
	xs, err := e.s.Expire(e.ctx)
	if err != nil || len(xs) != 1 || xs[0].From != acd.StateReserved || xs[0].To != acd.StateReady {
		t.Fatalf("lapse: %+v, %v", xs, err)
	}
	a := e.agent("a1")
	if a.State != acd.StateReady || !a.ReadySince.Equal(Epoch) {
		t.Fatalf("a lapsed reservation keeps the idle period: %+v", a)
	}
	if it := e.item("c1"); it.Status != acd.StatusWaiting || it.Attempts != 0 {
		t.Fatalf("item after lapse: %+v", it)
	}
	_, err = e.s.Offer(e.ctx, r)
	wantErr(t, "offer a lapsed reservation", err, acd.ErrStateConflict)
}

func testAbandonWhileRinging(t *testing.T, e *env) {
	e.login("a1", general)
	e.enqueue("c1", "general", acd.ClassConsult)
	e.clock.Advance(30 * time.Second)
	r := e.reserveOne()
	if _, err := e.s.Offer(e.ctx, r); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := e.s.Remove(e.ctx, "c1", acd.RemoveAbandoned); err != nil {
		t.Fatal(err)
	}
	if a := e.agent("a1"); a.State != acd.StateReady || a.Work.Item != "" {
		t.Fatalf("agent after the caller hung up while ringing: %+v", a)
	}
	if os := e.outcomes("general"); len(os) != 1 || os[0].Kind != acd.OutcomeAbandoned || os[0].Wait != 32*time.Second {
		t.Fatalf("outcomes: %+v", os)
	}
	_, err := e.s.Answer(e.ctx, r)
	wantErr(t, "answer an abandoned call", err, acd.ErrUnknownItem)
	if xs, err := e.s.Expire(e.ctx); err != nil || len(xs) != 0 {
		t.Fatalf("no RONA for an abandoned offer: %+v, %v", xs, err)
	}
}

func testCallbackKeepsPlace(t *testing.T, e *env) {
	// A voicemail callback task from long ago starts 30 minutes behind: callers first.
	e.enqueue("vm", "general", acd.ClassCallback, func(i *acd.Item) {
		i.Kind, i.Origin, i.EnqueuedAt = acd.KindCallback, acd.OriginVoicemail, Epoch.Add(-20*time.Minute)
	})
	e.enqueue("early", "general", acd.ClassConsult)
	e.clock.Advance(10 * time.Second)
	e.enqueue("keeper", "general", acd.ClassConsult, func(i *acd.Item) { i.Number = "13800000000" })
	e.clock.Advance(10 * time.Second)
	// The queue holds 3 calls: keeper leaves the line as a callback task, freeing one.
	task, err := e.s.ConvertToCallback(e.ctx, "keeper", acd.Item{ID: "keeper-cb"})
	if err != nil {
		t.Fatal(err)
	}
	if task.Kind != acd.KindCallback || task.Origin != acd.OriginKeptPlace || !task.EnqueuedAt.Equal(Epoch.Add(10*time.Second)) ||
		task.Class != acd.ClassConsult || task.Number != "13800000000" || task.Queue != "general" {
		t.Fatalf("task: %+v", task)
	}
	e.enqueue("late", "general", acd.ClassConsult)
	e.enqueue("later", "general", acd.ClassConsult)
	if _, err := e.s.ConvertToCallback(e.ctx, "keeper", acd.Item{ID: "keeper-cb2"}); !errors.Is(err, acd.ErrUnknownItem) {
		t.Fatalf("convert twice: %v", err)
	}
	_, err = e.s.ConvertToCallback(e.ctx, "late", acd.Item{ID: "early"})
	wantErr(t, "task id taken", err, acd.ErrItemExists)

	if got, want := e.waitingIDs("general"), []acd.ItemID{"early", "keeper-cb", "late", "later", "vm"}; !slices.Equal(got, want) {
		t.Fatalf("order: %v, want %v", got, want)
	}
	e.login("a1", general)
	var served []acd.ItemID
	for range 5 {
		r := e.reserveOne()
		served = append(served, r.Item.ID)
		if _, err := e.s.Remove(e.ctx, r.Item.ID, acd.RemoveCancelled); err != nil {
			t.Fatal(err)
		}
	}
	if want := []acd.ItemID{"early", "keeper-cb", "late", "later", "vm"}; !slices.Equal(served, want) {
		t.Fatalf("served %v, want %v", served, want)
	}
	if os := e.outcomes("general"); len(os) != 1 || os[0].Kind != acd.OutcomeDiverted || os[0].Item != "keeper" {
		t.Fatalf("outcomes: %+v", os)
	}
}

func testStaleReservation(t *testing.T, e *env) {
	e.login("a1", general)
	e.enqueue("c1", "general", acd.ClassConsult)
	r := e.reserveOne()
	stale := r
	stale.ID = "not-this-one"
	_, err := e.s.Offer(e.ctx, stale)
	wantErr(t, "offer with another reservation id", err, acd.ErrStateConflict)
	if a := e.agent("a1"); a.State != acd.StateReserved {
		t.Fatalf("a conflict changed the agent: %+v", a)
	}
	_, err = e.s.Finish(e.ctx, r)
	wantErr(t, "finish before answer", err, acd.ErrStateConflict)
	_, err = e.s.NoAnswer(e.ctx, r)
	wantErr(t, "RONA before ringing", err, acd.ErrStateConflict)
	_, err = e.s.Release(e.ctx, r, acd.StateOnCall, "")
	wantErr(t, "release to on_call", err, acd.ErrIllegalTransition)
	_, err = e.s.Logout(e.ctx, "a1", acd.StateReserved)
	wantErr(t, "logout while reserved", err, acd.ErrIllegalTransition)
	if _, err := e.s.Release(e.ctx, r, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Release(e.ctx, r, acd.StateReady, "")
	wantErr(t, "release twice", err, acd.ErrStateConflict)
}

func testExpireOnce(t *testing.T, e *env) {
	const n = 20
	var rs []acd.Reservation
	for i := range n {
		e.login(acd.AgentID(fmt.Sprintf("a%02d", i)), general)
		e.enqueue(acd.ItemID(fmt.Sprintf("b%02d", i)), "bulk", acd.ClassConsult)
	}
	got, err := e.s.ReserveBest(e.ctx, n)
	if err != nil || len(got) != n {
		t.Fatalf("reserve %d: got %d, %v", n, len(got), err)
	}
	rs = got
	for _, r := range rs {
		if _, err := e.s.Offer(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(15 * time.Second)
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		s := e.open()
		wg.Go(func() {
			xs, err := s.Expire(e.ctx)
			if err != nil {
				t.Errorf("expire: %v", err)
			}
			total.Add(int64(len(xs)))
		})
	}
	wg.Wait()
	if total.Load() != n {
		t.Fatalf("%d expiries across 4 controllers, want %d", total.Load(), n)
	}
	if got := e.waitingIDs("bulk"); len(got) != n {
		t.Fatalf("%d items back in the queue, want %d", len(got), n)
	}
}

func testWallboard(t *testing.T, e *env) {
	e.login("a1", general)
	e.enqueue("c1", "general", acd.ClassConsult)
	e.clock.Advance(10 * time.Second)
	r := e.reserveOne()
	for _, step := range []func(context.Context, acd.Reservation) (acd.Agent, error){e.s.Offer, e.s.Answer} {
		if _, err := step(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	e.enqueue("c2", "general", acd.ClassConsult)
	e.clock.Advance(30 * time.Second)
	if _, err := e.s.Remove(e.ctx, "c2", acd.RemoveAbandoned); err != nil {
		t.Fatal(err)
	}
	e.enqueue("c3", "general", acd.ClassConsult)
	e.clock.Advance(5 * time.Second)
	w, err := acd.BuildWallboard(e.ctx, e.s, Config(), e.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var g acd.QueueStats
	for _, q := range w.Queues {
		if q.Queue == "general" {
			g = q
		}
	}
	if g.Waiting != 1 || g.LongestWait != 5*time.Second || g.Answered != 1 || g.Abandoned != 1 ||
		g.ServiceLevel.Value != 1 || g.ServiceLevelAbandons.Value != 0.5 || g.ASA != 10*time.Second {
		t.Fatalf("general: %+v", g)
	}
	if w.Agents["on_call"] != 1 || w.Agents["ready"] != 0 {
		t.Fatalf("agents: %v", w.Agents)
	}
}

// testConcurrentReserveBest races 8 clients (controllers) reserving over 50 agents and
// 1,000 items, each taking its reservations through offer, answer and finish (the agent is
// ready again at once). Every item must be reserved exactly once and no agent may hold two
// reservations at a time.
func testConcurrentReserveBest(t *testing.T, e *env) {
	const clients, agents, items = 8, 50, 1000
	for i := range agents {
		e.login(acd.AgentID(fmt.Sprintf("a%02d", i)), general)
	}
	for i := range items {
		e.enqueue(acd.ItemID(fmt.Sprintf("i%04d", i)), "bulk", acd.ClassConsult)
		if i%100 == 0 {
			e.clock.Advance(time.Millisecond)
		}
	}
	var (
		seen    sync.Map // item -> client
		holding [agents]atomic.Int32
		done    atomic.Int64
		wg      sync.WaitGroup
	)
	agentIndex := func(id acd.AgentID) int {
		var n int
		fmt.Sscanf(string(id), "a%02d", &n)
		return n
	}
	for c := range clients {
		s := e.open()
		wg.Go(func() {
			for done.Load() < items && !t.Failed() {
				rs, err := s.ReserveBest(e.ctx, 1+c%3)
				if errors.Is(err, acd.ErrContention) {
					continue
				}
				if err != nil {
					t.Errorf("client %d: reserve best: %v", c, err)
					return
				}
				if len(rs) == 0 {
					runtime.Gosched()
					continue
				}
				for _, r := range rs {
					if prev, dup := seen.LoadOrStore(r.Item.ID, c); dup {
						t.Errorf("item %s reserved twice (clients %v and %d)", r.Item.ID, prev, c)
					}
					if !holding[agentIndex(r.Agent)].CompareAndSwap(0, 1) {
						t.Errorf("agent %s reserved while holding another reservation", r.Agent)
					}
				}
				for _, r := range rs {
					if _, err := s.Offer(e.ctx, r); err != nil {
						t.Errorf("offer %s: %v", r.Item.ID, err)
					}
					if _, err := s.Answer(e.ctx, r); err != nil {
						t.Errorf("answer %s: %v", r.Item.ID, err)
					}
					// Let go before Finish: from then on another client may reserve it.
					holding[agentIndex(r.Agent)].Store(0)
					if _, err := s.Finish(e.ctx, r); err != nil {
						t.Errorf("finish %s: %v", r.Item.ID, err)
					}
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	if n != items || done.Load() != items {
		t.Fatalf("%d items reserved, %d finished, want %d", n, done.Load(), items)
	}
	if got := e.waitingIDs("bulk"); len(got) != 0 {
		t.Fatalf("%d items still waiting", len(got))
	}
	all, err := e.s.Agents(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if a.State != acd.StateReady {
			t.Fatalf("agent %s ends %s", a.ID, a.State)
		}
	}
	if os := e.outcomes("bulk"); len(os) != 2*items {
		t.Fatalf("%d outcomes, want %d", len(os), 2*items)
	}
}

// testConcurrentReservePair has 8 clients race for the same 50 given pairs: each pair is
// reserved by exactly one, the others get a state conflict.
func testConcurrentReservePair(t *testing.T, e *env) {
	const clients, pairs = 8, 50
	for i := range pairs {
		e.login(acd.AgentID(fmt.Sprintf("a%02d", i)), general)
		e.enqueue(acd.ItemID(fmt.Sprintf("i%02d", i)), "bulk", acd.ClassConsult)
	}
	var wins [pairs]atomic.Int32
	var wg sync.WaitGroup
	for range clients {
		s := e.open()
		wg.Go(func() {
			for i := range pairs {
				_, err := s.Reserve(e.ctx, acd.ItemID(fmt.Sprintf("i%02d", i)), acd.AgentID(fmt.Sprintf("a%02d", i)))
				switch {
				case err == nil:
					wins[i].Add(1)
				case errors.Is(err, acd.ErrStateConflict):
				default:
					t.Errorf("reserve pair %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	for i := range pairs {
		if n := wins[i].Load(); n != 1 {
			t.Fatalf("pair %d reserved %d times", i, n)
		}
	}
}
