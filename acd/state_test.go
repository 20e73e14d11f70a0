package acd_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"hotline/acd"
)

func TestCanMove(t *testing.T) {
	// The whole machine, spelled out: every pair not listed is illegal.
	allowed := map[acd.State][]acd.State{
		acd.StateLoggedOut: {acd.StateReady, acd.StateNotReady},
		acd.StateReady:     {acd.StateReserved, acd.StateNotReady, acd.StateLoggedOut},
		acd.StateReserved:  {acd.StateRinging, acd.StateReady, acd.StateNotReady},
		acd.StateRinging:   {acd.StateOnCall, acd.StateNotReady, acd.StateReady},
		acd.StateOnCall:    {acd.StateWrapUp, acd.StateReady},
		acd.StateWrapUp:    {acd.StateReady, acd.StateNotReady, acd.StateLoggedOut},
		acd.StateNotReady:  {acd.StateReady, acd.StateNotReady, acd.StateLoggedOut},
	}
	for _, from := range acd.States {
		for _, to := range acd.States {
			if got, want := acd.CanMove(from, to), slices.Contains(allowed[from], to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestStateText(t *testing.T) {
	for _, s := range acd.States {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back acd.State
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%s: round trip %s -> %s, %v", s, b, back, err)
		}
		if p, err := acd.ParseState(s.String()); err != nil || p != s {
			t.Fatalf("parse %s: %v", s, err)
		}
	}
	if _, err := acd.ParseState("asleep"); !errors.Is(err, acd.ErrInvalid) {
		t.Fatalf("parse asleep: %v", err)
	}
	if got := acd.State(42).String(); got != "unknown(42)" {
		t.Fatalf("unknown state prints %q", got)
	}
}

func TestChangeState(t *testing.T) {
	now := t0.Add(time.Hour)
	wrap := acd.Agent{ID: "a", State: acd.StateWrapUp, Busy: time.Minute, Work: acd.Work{
		Item: "c1", Queue: "general", Kind: acd.KindCall, Class: acd.ClassConsult,
		AnsweredAt: now.Add(-5 * time.Minute), EndedAt: now.Add(-time.Minute), Due: now,
	}}
	tests := []struct {
		name     string
		a        acd.Agent
		from, to acd.State
		reason   acd.Reason
		err      error
		check    func(*testing.T, acd.Agent, []acd.Outcome)
	}{
		{name: "ready to not ready", a: acd.Agent{ID: "a", State: acd.StateReady}, from: acd.StateReady, to: acd.StateNotReady, reason: "break",
			check: func(t *testing.T, a acd.Agent, _ []acd.Outcome) {
				if a.State != acd.StateNotReady || a.Reason != "break" || !a.Since.Equal(now) {
					t.Fatalf("%+v", a)
				}
			}},
		{name: "not ready needs a reason", a: acd.Agent{ID: "a", State: acd.StateReady}, from: acd.StateReady, to: acd.StateNotReady, err: acd.ErrInvalid},
		{name: "expected state differs", a: acd.Agent{ID: "a", State: acd.StateOnCall}, from: acd.StateReady, to: acd.StateNotReady, reason: "x", err: acd.ErrStateConflict},
		{name: "the agent cannot reserve themselves", a: acd.Agent{ID: "a", State: acd.StateReady}, from: acd.StateReady, to: acd.StateReserved, err: acd.ErrIllegalTransition},
		{name: "nor hang up by state", a: acd.Agent{ID: "a", State: acd.StateOnCall}, from: acd.StateOnCall, to: acd.StateReady, err: acd.ErrIllegalTransition},
		{name: "end of wrap-up records the conversation", a: wrap, from: acd.StateWrapUp, to: acd.StateReady,
			check: func(t *testing.T, a acd.Agent, os []acd.Outcome) {
				if a.State != acd.StateReady || !a.ReadySince.Equal(now) || a.Busy != 6*time.Minute || a.Work != (acd.Work{}) {
					t.Fatalf("%+v", a)
				}
				want := acd.Outcome{Kind: acd.OutcomeHandled, Queue: "general", Item: "c1", ItemKind: acd.KindCall, Class: acd.ClassConsult,
					Agent: "a", At: now, Talk: 4 * time.Minute, WrapUp: time.Minute}
				if len(os) != 1 || os[0] != want {
					t.Fatalf("outcomes %+v", os)
				}
			}},
		{name: "a break right after wrap-up", a: wrap, from: acd.StateWrapUp, to: acd.StateNotReady, reason: "lunch",
			check: func(t *testing.T, a acd.Agent, os []acd.Outcome) {
				if a.State != acd.StateNotReady || a.Reason != "lunch" || len(os) != 1 {
					t.Fatalf("%+v %+v", a, os)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, os, err := acd.ChangeState(tc.a, tc.from, tc.to, tc.reason, now)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a, os)
		})
	}
}

// TestOfferLifecycle walks the pure transitions of one offer: reserve, offer, RONA, offer
// again, answer, finish, and the conflicts on the way.
func TestOfferLifecycle(t *testing.T) {
	now := t0
	a := acd.Agent{ID: "a", State: acd.StateReady, ReadySince: t0.Add(-time.Hour)}
	it := acd.Item{ID: "c", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, EnqueuedAt: t0.Add(-time.Minute), Status: acd.StatusWaiting}

	a1, it1, err := acd.ReservePair(a, it, "r1", now.Add(5*time.Second), now)
	if err != nil || a1.State != acd.StateReserved || it1.Status != acd.StatusReserved || it1.Agent != "a" || a1.Work.Reservation != "r1" {
		t.Fatalf("reserve: %+v %+v %v", a1, it1, err)
	}
	if _, _, err := acd.ReservePair(a1, it, "r2", now, now); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("reserve a reserved agent: %v", err)
	}
	if _, _, err := acd.ReservePair(a, it1, "r2", now, now); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("reserve a reserved item: %v", err)
	}
	if _, _, err := acd.OfferPair(a1, it1, "r2", now, now); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("offer another reservation: %v", err)
	}
	now = now.Add(time.Second)
	a2, it2, err := acd.OfferPair(a1, it1, "r1", now.Add(15*time.Second), now)
	if err != nil || a2.State != acd.StateRinging || it2.Status != acd.StatusOffered || !a2.LastOfferAt.Equal(now) {
		t.Fatalf("offer: %+v %+v %v", a2, it2, err)
	}
	now = now.Add(15 * time.Second)
	if !acd.Due(a2, now) || acd.Due(a2, now.Add(-time.Nanosecond)) {
		t.Fatal("the offer is due exactly at its deadline")
	}
	a3, it3, err := acd.NoAnswerPair(a2, it2, "r1", now)
	if err != nil || a3.State != acd.StateNotReady || a3.Reason != acd.ReasonNoAnswer ||
		it3.Status != acd.StatusWaiting || it3.Attempts != 1 || !it3.EnqueuedAt.Equal(it.EnqueuedAt) || it3.Agent != "" {
		t.Fatalf("RONA: %+v %+v %v", a3, it3, err)
	}
	if _, _, err := acd.NoAnswerPair(a1, it1, "r1", now); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("RONA of a reservation not ringing: %v", err)
	}

	b := acd.Agent{ID: "b", State: acd.StateReady, ReadySince: t0}
	b1, it4, _ := acd.ReservePair(b, it3, "r3", now, now)
	b2, it5, _ := acd.OfferPair(b1, it4, "r3", now.Add(15*time.Second), now)
	now = now.Add(3 * time.Second)
	b3, it6, o, err := acd.AnswerPair(b2, it5, "r3", now)
	if err != nil || b3.State != acd.StateOnCall || it6.Status != acd.StatusConnected || !b3.Work.Due.IsZero() {
		t.Fatalf("answer: %+v %+v %v", b3, it6, err)
	}
	if o.Kind != acd.OutcomeAnswered || o.Wait != now.Sub(it.EnqueuedAt) || o.Agent != "b" {
		t.Fatalf("answered outcome: %+v", o)
	}
	if _, _, err := acd.ReleasePair(b3, it6, "r3", acd.StateReady, "", now); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("release a connected call: %v", err)
	}
	if _, _, err := acd.RemoveItem(it6, &b3, acd.RemoveAbandoned, now); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("remove a connected call: %v", err)
	}
	now = now.Add(2 * time.Minute)
	b4, os, err := acd.FinishPair(b3, it6, "r3", 30*time.Second, now)
	if err != nil || b4.State != acd.StateWrapUp || !b4.Work.Due.Equal(now.Add(30*time.Second)) || len(os) != 0 {
		t.Fatalf("finish: %+v %+v %v", b4, os, err)
	}
	b5, os, err := acd.FinishPair(b3, it6, "r3", 0, now)
	if err != nil || b5.State != acd.StateReady || len(os) != 1 || os[0].Talk != 2*time.Minute || b5.Busy != 2*time.Minute {
		t.Fatalf("finish without wrap-up: %+v %+v %v", b5, os, err)
	}
}

func TestReleaseKeepsIdlePeriod(t *testing.T) {
	a := acd.Agent{ID: "a", State: acd.StateReady, ReadySince: t0}
	it := acd.Item{ID: "c", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, EnqueuedAt: t0, Status: acd.StatusWaiting}
	a1, it1, _ := acd.ReservePair(a, it, "r", t0.Add(time.Hour), t0.Add(time.Hour))
	a2, it2, err := acd.ReleasePair(a1, it1, "r", acd.StateReady, "", t0.Add(2*time.Hour))
	if err != nil || a2.State != acd.StateReady || !a2.ReadySince.Equal(t0) || it2.Attempts != 0 {
		t.Fatalf("release: %+v %+v %v", a2, it2, err)
	}
	freed, os, err := acd.RemoveItem(it1, &a1, acd.RemoveAbandoned, t0.Add(2*time.Hour))
	if err != nil || freed.State != acd.StateReady || !freed.ReadySince.Equal(t0) || len(os) != 1 || os[0].Wait != 2*time.Hour {
		t.Fatalf("remove: %+v %+v %v", freed, os, err)
	}
	if _, _, err := acd.RemoveItem(it1, nil, acd.RemoveAbandoned, t0); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("remove a reserved item without its agent: %v", err)
	}
}

func TestLoginAgent(t *testing.T) {
	a, err := acd.LoginAgent(nil, acd.Agent{ID: "a"}, acd.StateNotReady, "", t0)
	if err != nil || a.Reason != acd.ReasonLogin || !a.ReadySince.IsZero() {
		t.Fatalf("login not ready: %+v %v", a, err)
	}
	if _, err := acd.LoginAgent(&a, acd.Agent{ID: "a"}, acd.StateReady, "", t0); !errors.Is(err, acd.ErrStateConflict) {
		t.Fatalf("login twice: %v", err)
	}
	if _, err := acd.LoginAgent(nil, acd.Agent{ID: "a"}, acd.StateOnCall, "", t0); !errors.Is(err, acd.ErrIllegalTransition) {
		t.Fatalf("login on call: %v", err)
	}
}
