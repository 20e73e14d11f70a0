package callflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/cases"
	"hotline/pbx"
)

// cbFakes is every neighbour of a callback, recording what was asked of it in order.
type cbFakes struct {
	mu       sync.Mutex
	ops      []string
	notify   chan string
	claimErr error
	leg      *cbLeg
	callee   *pbx.Feed
	// hold, when set, keeps Originate from returning until it is closed, so that a script
	// can make the callee's and the agent's events wait together.
	hold chan struct{}
	// renewals counts the claim renewals (not in ops: their number depends on timing).
	renewals int
	expired  []cases.TaskID       // what ReleaseExpiredClaims finds, once
	open     []cases.TaskAttempts // what OpenTaskAttempts lists
}

func newCBFakes() *cbFakes {
	return &cbFakes{notify: make(chan string, 64), leg: &cbLeg{events: make(chan LegEvent, 4)}}
}

func (f *cbFakes) op(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.ops = append(f.ops, s)
	f.mu.Unlock()
	f.notify <- s
}

func (f *cbFakes) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// await reads the operations made until op.
func (f *cbFakes) await(t *testing.T, op string) {
	t.Helper()
	for {
		select {
		case s := <-f.notify:
			if s == op {
				return
			}
		case <-time.After(5 * time.Second):
			t.Errorf("no %s; operations %v", op, f.log())
			return
		}
	}
}

// CallbackACD
func (f *cbFakes) Enqueue(_ context.Context, it acd.Item) (acd.Item, error) {
	f.op("acd.enqueue %s %s", it.ID, it.Queue)
	return it, nil
}
func (f *cbFakes) Remove(_ context.Context, id acd.ItemID, _ acd.RemoveReason) (acd.Item, error) {
	f.op("acd.remove %s", id)
	return acd.Item{}, nil
}
func (f *cbFakes) Item(_ context.Context, id acd.ItemID) (acd.Item, error) {
	f.op("acd.item %s", id)
	return acd.Item{}, acd.ErrUnknownItem
}
func (f *cbFakes) Reserve(_ context.Context, item acd.ItemID, agent acd.AgentID) (acd.Reservation, error) {
	f.op("acd.reserve %s %s", item, agent)
	return acd.Reservation{Agent: agent, Item: acd.Item{ID: item}}, nil
}
func (f *cbFakes) Offer(context.Context, acd.Reservation) (acd.Agent, error) {
	f.op("acd.offer")
	return acd.Agent{}, nil
}
func (f *cbFakes) Answer(context.Context, acd.Reservation) (acd.Agent, error) {
	f.op("acd.answer")
	return acd.Agent{}, nil
}
func (f *cbFakes) Release(context.Context, acd.Reservation, acd.State, acd.Reason) (acd.Agent, error) {
	f.op("acd.release")
	return acd.Agent{}, nil
}
func (f *cbFakes) NoAnswer(context.Context, acd.Reservation) (acd.Agent, error) {
	f.op("acd.no_answer")
	return acd.Agent{}, nil
}
func (f *cbFakes) Finish(context.Context, acd.Reservation) (acd.Agent, error) {
	f.op("acd.finish")
	return acd.Agent{}, nil
}

// CallbackTasks
func (f *cbFakes) claimed(id cases.TaskID) cases.ClaimedTask {
	return cases.ClaimedTask{Task: cases.CallbackTask{ID: id, CaseID: 3, CallerNumber: "13800000902", Queue: "retired-queue", Status: "offered"},
		CaseNumber: "620000-20261127-000001", Attempts: 1}
}
func (f *cbFakes) ClaimCallbackTask(_ context.Context, id cases.TaskID, agent string, _ time.Time) (cases.ClaimedTask, error) {
	f.op("task.claim %d %s", id, agent)
	return f.claimed(id), f.claimErr
}
func (f *cbFakes) ClaimCallbackAttempt(_ context.Context, id cases.TaskID, attempt int, agent string, _ time.Time) (cases.ClaimedTask, error) {
	f.op("task.claim %d#%d %s", id, attempt, agent)
	return f.claimed(id), f.claimErr
}
func (f *cbFakes) ClaimCallbackTaskOfCall(_ context.Context, ch, agent string, _ time.Time) (cases.ClaimedTask, error) {
	f.op("task.claim_of_call %s %s", ch, agent)
	return f.claimed(8), f.claimErr
}
func (f *cbFakes) ReleaseCallbackTask(_ context.Context, id cases.TaskID, _, reason string, _ time.Time) error {
	f.op("task.release %s", reason)
	return nil
}
func (f *cbFakes) CloseCallbackTask(_ context.Context, id cases.TaskID, o cases.TaskOutcome, _ string, call *cases.CallID, _ time.Time) error {
	f.op("task.close %s call %d", o, *call)
	return nil
}
func (f *cbFakes) RetryCallbackTask(_ context.Context, id cases.TaskID, _, reason string, call *cases.CallID, max int, _ time.Time) (int, bool, error) {
	f.op("task.retry %s max %d", reason, max)
	return 2, false, nil
}
func (f *cbFakes) RenewCallbackClaim(_ context.Context, id cases.TaskID, agent string, _ time.Time) error {
	f.mu.Lock()
	f.renewals++
	f.mu.Unlock()
	return nil
}
func (f *cbFakes) ReleaseExpiredClaims(context.Context, time.Time) ([]cases.TaskID, error) {
	f.mu.Lock()
	ids := f.expired
	f.expired = nil
	f.mu.Unlock()
	if ids != nil {
		f.op("task.release_expired %v", ids)
		c := f.claimed(ids[0])
		c.Task.Status = "open"
		f.open = append(f.open, cases.TaskAttempts{Task: c.Task, CaseNumber: c.CaseNumber, Attempts: c.Attempts})
	}
	return ids, nil
}
func (f *cbFakes) OpenTaskAttempts(context.Context, int) ([]cases.TaskAttempts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open, nil
}
func (f *cbFakes) OpenCall(_ context.Context, caseID cases.CaseID, c cases.NewCall) (cases.Call, error) {
	f.op("db.open_call %d %s to %s", caseID, c.Direction, c.CalledNumber)
	return cases.Call{ID: 9, CaseID: caseID}, nil
}
func (f *cbFakes) MarkAnswered(context.Context, cases.CallID, time.Time) error {
	f.op("db.mark_answered")
	return nil
}
func (f *cbFakes) EndCall(_ context.Context, _ cases.CallID, _ time.Time, outcome string, _ json.RawMessage) error {
	f.op("db.end_call %s", outcome)
	return nil
}
func (f *cbFakes) AppendEvent(_ context.Context, _ cases.CaseID, e cases.NewEvent) (cases.Event, error) {
	f.op("db.event %s", e.Kind)
	return cases.Event{}, nil
}

// CallbackLine, Originator, Bridges
func (f *cbFakes) RingCallback(_ context.Context, r CallbackRing) (Leg, error) {
	f.op("line.ring %s picked=%v", r.Agent, r.Picked)
	f.leg.id = r.ChannelID
	return f.leg, nil
}
func (f *cbFakes) Originate(_ context.Context, req pbx.OriginateRequest) (*pbx.Subscription, error) {
	sub, feed := pbx.NewFeed("channel:" + req.ChannelID)
	f.mu.Lock()
	f.callee = feed
	f.mu.Unlock()
	f.op("pbx.originate %s", req.Endpoint)
	if f.hold != nil {
		<-f.hold
	}
	return sub, nil
}
func (f *cbFakes) feed() *pbx.Feed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.callee
}
func (f *cbFakes) Hangup(context.Context, string, pbx.HangupReason) error {
	f.op("pbx.hangup")
	return nil
}
func (f *cbFakes) CreateBridge(_ context.Context, id, _ string) (*pbx.Subscription, error) {
	f.op("bridge.create")
	sub, _ := pbx.NewFeed("bridge:" + id)
	return sub, nil
}
func (f *cbFakes) AddToBridge(context.Context, string, ...string) error {
	f.op("bridge.add")
	return nil
}
func (f *cbFakes) DestroyBridge(context.Context, string) error {
	f.op("bridge.destroy")
	return nil
}
func (f *cbFakes) RecordBridge(context.Context, string, pbx.RecordOptions) error { return nil }

type cbLeg struct {
	id     string
	events chan LegEvent
}

func (l *cbLeg) ChannelID() string                { return l.id }
func (l *cbLeg) Events() <-chan LegEvent          { return l.events }
func (l *cbLeg) Hangup(ctx context.Context) error { return nil }
func (l *cbLeg) Close()                           {}

// TestCallbackFlow drives one callback's goroutine through each way it can end, with the
// agent's leg and the callee's channel scripted.
func TestCallbackFlow(t *testing.T) {
	reservation := acd.Reservation{Agent: "li.na", Item: acd.Item{ID: "cbt-7-1", Kind: acd.KindCallback, Queue: "general"}}
	for _, c := range []struct {
		name     string
		item     acd.ItemID
		claimErr error
		hold     bool // Originate waits for the script
		script   func(t *testing.T, f *cbFakes, cb *Callbacks)
		want     []string // in this order, among the operations
		absent   []string
	}{
		{name: "task taken meanwhile: the stale item is removed", claimErr: cases.ErrTaskTaken,
			want: []string{"task.claim 7#1 li.na", "acd.remove cbt-7-1"}, absent: []string{"acd.offer"}},
		{name: "kept place: claimed by the call's channel", item: "cb-1795.1",
			script: func(t *testing.T, f *cbFakes, _ *Callbacks) {
				f.leg.events <- LegEvent{Kind: LegFailed, Reason: "REJECTED"}
			},
			want: []string{"task.claim_of_call 1795.1 li.na", "acd.offer", "acd.no_answer"}},
		{name: "agent rejects: task released untried, item back in place (RONA)",
			script: func(t *testing.T, f *cbFakes, _ *Callbacks) {
				f.leg.events <- LegEvent{Kind: LegFailed, Reason: "REJECTED"}
			},
			want:   []string{"task.claim 7#1 li.na", "acd.offer", "line.ring li.na picked=false", "task.release agent: REJECTED", "acd.no_answer"},
			absent: []string{"pbx.originate PJSIP/13800000902@carrier", "acd.finish"}},
		{name: "caller does not answer: attempt counted, agent to wrap-up",
			script: func(t *testing.T, f *cbFakes, _ *Callbacks) {
				f.leg.events <- LegEvent{Kind: LegAnswered}
				f.await(t, "pbx.originate PJSIP/13800000902@carrier")
				f.feed().Send(pbx.Event{Type: pbx.Dial, DialStatus: "NOANSWER"})
			},
			want: []string{"acd.answer", "db.open_call 3 outbound to 13800000902", "pbx.originate PJSIP/13800000902@carrier",
				"db.end_call callback_no_answer", "task.retry NOANSWER max 3", "acd.finish"},
			absent: []string{"bridge.create", "db.mark_answered"}},
		{name: "reached: bridged, the agent hangs up, task closed",
			script: func(t *testing.T, f *cbFakes, _ *Callbacks) {
				f.leg.events <- LegEvent{Kind: LegAnswered}
				f.await(t, "pbx.originate PJSIP/13800000902@carrier")
				f.feed().Send(pbx.Event{Type: pbx.StasisStart})
				f.await(t, "db.event callback_answered")
				f.leg.events <- LegEvent{Kind: LegGone}
			},
			want: []string{"pbx.originate PJSIP/13800000902@carrier", "db.mark_answered", "bridge.create", "bridge.add",
				"db.event callback_answered", "pbx.hangup", "bridge.destroy", "db.end_call callback_reached", "task.close reached call 9", "acd.finish"}},
		{name: "the caller answers as the agent hangs up: reached, not released", hold: true,
			script: func(t *testing.T, f *cbFakes, _ *Callbacks) {
				f.leg.events <- LegEvent{Kind: LegAnswered}
				f.await(t, "pbx.originate PJSIP/13800000902@carrier")
				// Both wait when the callback starts following the call: whichever it reads
				// first, the caller was reached.
				f.feed().Send(pbx.Event{Type: pbx.StasisStart})
				f.leg.events <- LegEvent{Kind: LegGone}
				time.Sleep(20 * time.Millisecond) // the feed's pump hands the event on
				close(f.hold)
			},
			want:   []string{"pbx.originate PJSIP/13800000902@carrier", "db.mark_answered", "db.end_call callback_reached", "task.close reached call 9", "acd.finish"},
			absent: []string{"task.release agent hung up"}},
		{name: "wrong number: marked by the agent, task closed without retry",
			script: func(t *testing.T, f *cbFakes, cb *Callbacks) {
				f.leg.events <- LegEvent{Kind: LegAnswered}
				f.await(t, "pbx.originate PJSIP/13800000902@carrier")
				f.feed().Send(pbx.Event{Type: pbx.StasisStart})
				f.await(t, "db.event callback_answered")
				if err := cb.Mark("someone.else", 7, cases.OutcomeWrongNumber); err == nil {
					t.Error("another agent marked the callback")
				}
				if err := cb.Mark("li.na", 7, cases.OutcomeWrongNumber); err != nil {
					t.Error(err)
				}
				f.feed().Send(pbx.Event{Type: pbx.StasisEnd})
			},
			want: []string{"db.end_call callback_wrong_number", "task.close wrong_number call 9", "acd.finish"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newCBFakes()
			f.claimErr = c.claimErr
			if c.hold {
				f.hold = make(chan struct{})
			}
			cb, err := NewCallbacks(CallbackConfig{ACD: f, Tasks: f, Line: f, PBX: f, Bridges: f, DialString: "PJSIP/{number}@carrier",
				RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			r := reservation
			if c.item != "" {
				r.Item.ID = c.item
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				cb.take(context.Background(), r)
			}()
			if c.script != nil {
				c.script(t, f, cb)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("the callback did not end; operations %v", f.log())
			}
			ops := f.log()
			i := 0
			for _, op := range ops {
				if i < len(c.want) && op == c.want[i] {
					i++
				}
			}
			if i < len(c.want) {
				t.Errorf("operations %v\nwant in order %v (missing from %q)", ops, c.want, c.want[i])
			}
			for _, op := range c.absent {
				if slices.Contains(ops, op) {
					t.Errorf("operations %v include %s", ops, op)
				}
			}
		})
	}
}

// TestCallbackStartAndUnknownQueue: the desk's "call back" claims the task, puts its item in
// the distributor (a queue the distributor lacks becomes the default queue) and reserves the
// agent for it; the callback then connects without ringing.
func TestCallbackStartAndUnknownQueue(t *testing.T) {
	f := newCBFakes()
	cb, err := NewCallbacks(CallbackConfig{ACD: f, Tasks: f, Line: f, PBX: f, Bridges: f, DialString: "PJSIP/{number}@carrier",
		Distributor: acd.DefaultConfig(), RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cb.Start(context.Background(), "li.na", 7); err != nil {
		t.Fatal(err)
	}
	f.await(t, "line.ring li.na picked=true")
	f.leg.events <- LegEvent{Kind: LegFailed, Reason: "CHANUNAVAIL"}
	f.await(t, "acd.no_answer")
	ops := f.log()
	want := []string{"task.claim 7 li.na", "acd.enqueue cbp-7-1 general", "acd.reserve cbp-7-1 li.na", "acd.offer",
		"line.ring li.na picked=true", "task.release agent: CHANUNAVAIL", "acd.no_answer"}
	if fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Errorf("operations %v\nwant %v", ops, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cb.Run(ctx); err != nil { // waits for the callback's goroutine
		t.Fatal(err)
	}
}

// TestCallbackRenewsItsClaim: while a callback runs, its goroutine renews the claim on the
// task (a controller that dies stops renewing, and the claim runs out); once it ends, the
// renewals stop.
func TestCallbackRenewsItsClaim(t *testing.T) {
	f := newCBFakes()
	cb, err := NewCallbacks(CallbackConfig{ACD: f, Tasks: f, Line: f, PBX: f, Bridges: f, DialString: "PJSIP/{number}@carrier",
		LeaseRenew: 10 * time.Millisecond, RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	renewals := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.renewals
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cb.take(context.Background(), acd.Reservation{Agent: "li.na", Item: acd.Item{ID: "cbt-7-1", Kind: acd.KindCallback, Queue: "general"}})
	}()
	f.leg.events <- LegEvent{Kind: LegAnswered}
	f.await(t, "pbx.originate PJSIP/13800000902@carrier")
	f.feed().Send(pbx.Event{Type: pbx.StasisStart})
	f.await(t, "db.event callback_answered")
	deadline := time.Now().Add(5 * time.Second)
	for renewals() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := renewals(); n < 3 {
		t.Fatalf("%d renewals during the call, want at least 3", n)
	}
	f.leg.events <- LegEvent{Kind: LegGone}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the callback did not end")
	}
	after := renewals()
	time.Sleep(50 * time.Millisecond)
	if n := renewals(); n != after {
		t.Errorf("renewals went on after the callback ended: %d -> %d", after, n)
	}
}

// TestScheduleReleasesExpiredClaimsFirst: a task whose claim ran out (its controller died)
// is given back and queued in the same scheduling round.
func TestScheduleReleasesExpiredClaimsFirst(t *testing.T) {
	f := newCBFakes()
	f.expired = []cases.TaskID{7}
	cb, err := NewCallbacks(CallbackConfig{ACD: f, Tasks: f, Line: f, PBX: f, Bridges: f, DialString: "PJSIP/{number}@carrier",
		RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cb.schedule(context.Background())
	want := []string{"task.release_expired [7]", "acd.enqueue cbt-7-1 retired-queue"}
	if ops := f.log(); fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Errorf("operations %v, want %v", ops, want)
	}
}

// TestTakeAfterRunEnded: a reservation that reaches the callbacks after Run ended (the
// controller stopping) is given back, the agent ready, and no callback starts.
func TestTakeAfterRunEnded(t *testing.T) {
	f := newCBFakes()
	cb, err := NewCallbacks(CallbackConfig{ACD: f, Tasks: f, Line: f, PBX: f, Bridges: f, DialString: "PJSIP/{number}@carrier",
		RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cb.Run(ctx); err != nil {
		t.Fatal(err)
	}
	cb.Take(context.Background(), acd.Reservation{Agent: "li.na", Item: acd.Item{ID: "cbt-7-1", Kind: acd.KindCallback, Queue: "general"}})
	if err := cb.Start(context.Background(), "li.na", 8); !errors.Is(err, errStopping) {
		t.Errorf("start after Run ended: %v, want errStopping", err)
	}
	ops := f.log()
	if len(ops) == 0 || ops[0] != "acd.release" {
		t.Errorf("operations %v: want the reservation released first", ops)
	}
	for _, op := range ops {
		if strings.HasPrefix(op, "line.ring") || op == "task.claim 7#1 li.na" {
			t.Errorf("a callback started after Run ended: %v", ops)
		}
	}
	if !slices.Contains(ops, "task.release shutdown") {
		t.Errorf("operations %v: the desk's claim must be given back", ops)
	}
}
