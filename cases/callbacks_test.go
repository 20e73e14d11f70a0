package cases_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
)

// TestCallbackTaskLifeCycle: a task is claimed by one agent of many racing, released,
// retried until given up, and another one closed as reached; the trail says each step.
func TestCallbackTaskLifeCycle(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	at := time.Date(2026, 2, 13, 22, 15, 0, 0, shanghai)
	newTask := func(channel string) (cases.CaseID, cases.TaskID) {
		caseID, _, callID, err := s.CreateCaseWithCall(ctx, newCase(at, "13800000019"), cases.NewCall{
			ChannelID: channel, Direction: cases.Inbound, CallerNumber: "13800000019", CalledNumber: "12315", StartedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: caseID, CallID: &callID, Reason: cases.TaskVoicemail,
			CallerNumber: "13800000019", Queue: "complaint", Skills: map[string]int{"zh": 1}, EnqueuedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return caseID, id
	}
	caseID, id := newTask("cb-life-1")

	// Eight agents claim at once: exactly one gets it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	var taken int
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agent := fmt.Sprintf("agent-%d", i)
			c, err := s.ClaimCallbackTask(ctx, id, agent, at)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, agent)
				if c.Task.ID != id || c.CaseNumber == "" || c.Task.CallerNumber != "13800000019" || c.Attempts != 0 {
					t.Errorf("claimed %+v", c)
				}
			case errors.Is(err, cases.ErrTaskTaken):
				taken++
			default:
				t.Errorf("claim by %s: %v", agent, err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || taken != 7 {
		t.Fatalf("claims won by %v, %d refused; want exactly one winner", won, taken)
	}
	agent := won[0]
	if _, err := s.ClaimCallbackTask(ctx, 999999, agent, at); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("claim of a missing task: %v, want ErrNotFound", err)
	}

	// Released untried: open again, no attempt counted.
	if err := s.ReleaseCallbackTask(ctx, id, agent, "rejected", at); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseCallbackTask(ctx, id, agent, "rejected", at); !errors.Is(err, cases.ErrTaskTaken) {
		t.Errorf("release of an open task: %v", err)
	}
	// Three attempts without an answer: open after the first two, given up after the third.
	for want := 1; want <= 3; want++ {
		if want > 1 {
			if _, err := s.ClaimCallbackTaskOfCall(ctx, "cb-life-1", agent, at); !errors.Is(err, cases.ErrTaskTaken) {
				t.Errorf("attempt %d claimed through the call's (first attempt's) item: %v", want, err)
			}
			if _, err := s.ClaimCallbackAttempt(ctx, id, want-2, agent, at); !errors.Is(err, cases.ErrTaskTaken) {
				t.Errorf("attempt %d claimed through a stale item: %v", want, err)
			}
		}
		claim := func() (cases.ClaimedTask, error) { return s.ClaimCallbackAttempt(ctx, id, want-1, agent, at) }
		if want == 1 {
			claim = func() (cases.ClaimedTask, error) { return s.ClaimCallbackTaskOfCall(ctx, "cb-life-1", agent, at) }
		}
		c, err := claim()
		if err != nil {
			t.Fatalf("attempt %d: %v", want, err)
		}
		if c.Attempts != want-1 {
			t.Errorf("claim before attempt %d says %d attempts", want, c.Attempts)
		}
		n, gaveUp, err := s.RetryCallbackTask(ctx, id, agent, "NOANSWER", nil, 3, at.Add(time.Duration(want)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if n != want || gaveUp != (want == 3) {
			t.Errorf("attempt %d: counted %d, given up %v", want, n, gaveUp)
		}
		open, err := s.OpenTaskAttempts(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want < 3 && (len(open) != 1 || open[0].Attempts != want || open[0].LastAttempt == nil || open[0].Channel != "cb-life-1" ||
			!open[0].LastAttempt.Equal(at.Add(time.Duration(want)*time.Minute))) {
			t.Errorf("after attempt %d open tasks %+v", want, open)
		}
		if want == 3 && len(open) != 0 {
			t.Errorf("a given-up task is still open: %+v", open)
		}
	}
	task, err := s.CallbackTask(ctx, id)
	if err != nil || task.Status != "done" {
		t.Errorf("given-up task: %+v %v", task, err)
	}

	// Another task: reached.
	caseID2, id2 := newTask("cb-life-2")
	if _, err := s.ClaimCallbackTask(ctx, id2, "agent-x", at); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseCallbackTask(ctx, id2, cases.OutcomeNoAnswer, "agent-x", nil, at); err == nil {
		t.Error("closed with outcome no_answer")
	}
	if err := s.CloseCallbackTask(ctx, id2, cases.OutcomeReached, "agent-x", nil, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimCallbackTask(ctx, id2, "agent-y", at); !errors.Is(err, cases.ErrTaskTaken) {
		t.Errorf("claim of a done task: %v", err)
	}
	for _, c := range []struct {
		id   cases.CaseID
		want []cases.EventKind
	}{
		{caseID, []cases.EventKind{cases.EventCallbackClaimed, cases.EventCallbackReleased, cases.EventCallbackClaimed,
			cases.EventCallbackAttempt, cases.EventCallbackClaimed, cases.EventCallbackAttempt, cases.EventCallbackClaimed,
			cases.EventCallbackAttempt, cases.EventCallbackGivenUp}},
		{caseID2, []cases.EventKind{cases.EventCallbackClaimed, cases.EventCalledBack}},
	} {
		d, err := s.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		var got []cases.EventKind
		for _, e := range d.Events {
			switch e.Kind {
			case cases.EventRegistered, cases.EventCallStarted, "callback_task_created":
				continue
			}
			got = append(got, e.Kind)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("case %d trail %v, want %v", c.id, got, c.want)
		}
	}
}

// TestCallbackClaimLease: a claim holds while it is renewed; left to run out, the task is
// given back open, the trail names the agent who held it, and it can be claimed again. A
// renewal after that is refused, as is one by another agent.
func TestCallbackClaimLease(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	at := time.Date(2026, 2, 13, 22, 15, 0, 0, shanghai)
	caseID, _, callID, err := s.CreateCaseWithCall(ctx, newCase(at, "13800000021"), cases.NewCall{
		ChannelID: "cb-lease-1", Direction: cases.Inbound, CallerNumber: "13800000021", CalledNumber: "12315", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: caseID, CallID: &callID, Reason: cases.TaskVoicemail,
		CallerNumber: "13800000021", Queue: "complaint", EnqueuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimCallbackTask(ctx, id, "li.na", at); err != nil {
		t.Fatal(err)
	}
	expired := func(when time.Time, want []cases.TaskID) {
		t.Helper()
		got, err := s.ReleaseExpiredClaims(ctx, when)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("released at +%s: %v, %v; want %v", when.Sub(at), got, err, want)
		}
	}
	expired(at.Add(cases.ClaimLease-time.Second), nil)
	if err := s.RenewCallbackClaim(ctx, id, "wang.wei", at.Add(time.Minute)); !errors.Is(err, cases.ErrTaskTaken) {
		t.Errorf("renewal by another agent: %v, want ErrTaskTaken", err)
	}
	renewed := at.Add(time.Minute)
	if err := s.RenewCallbackClaim(ctx, id, "li.na", renewed); err != nil {
		t.Fatal(err)
	}
	expired(at.Add(cases.ClaimLease+time.Second), nil) // renewed: still held
	expired(renewed.Add(cases.ClaimLease+time.Second), []cases.TaskID{id})
	expired(renewed.Add(cases.ClaimLease+2*time.Second), nil) // once only

	if err := s.RenewCallbackClaim(ctx, id, "li.na", renewed.Add(cases.ClaimLease+3*time.Second)); !errors.Is(err, cases.ErrTaskTaken) {
		t.Errorf("renewal after the lease ran out: %v, want ErrTaskTaken", err)
	}
	if err := s.CloseCallbackTask(ctx, id, cases.OutcomeReached, "li.na", nil, renewed.Add(3*time.Minute)); !errors.Is(err, cases.ErrTaskTaken) {
		t.Errorf("closing a task whose claim ran out: %v, want ErrTaskTaken", err)
	}
	c, err := s.ClaimCallbackTask(ctx, id, "wang.wei", renewed.Add(4*time.Minute))
	if err != nil || c.Attempts != 0 {
		t.Fatalf("claim after the lease ran out: %+v, %v (no attempt counted)", c, err)
	}
	d, err := s.FindByNumber(ctx, c.CaseNumber)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []cases.EventKind
	var expiry cases.Event
	for _, e := range d.Events {
		if e.Kind == cases.EventCallbackClaimed || e.Kind == cases.EventCallbackClaimExpired {
			kinds = append(kinds, e.Kind)
		}
		if e.Kind == cases.EventCallbackClaimExpired {
			expiry = e
		}
	}
	want := []cases.EventKind{cases.EventCallbackClaimed, cases.EventCallbackClaimExpired, cases.EventCallbackClaimed}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("trail %v, want %v", kinds, want)
	}
	if expiry.Actor != "li.na" || !expiry.At.Equal(renewed.Add(cases.ClaimLease+time.Second)) {
		t.Errorf("expiry entry %+v: want actor li.na at the sweep's time", expiry)
	}
}
