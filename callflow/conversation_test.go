package callflow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/memstore"
	"hotline/pbx"
)

// convLeg is an agent's leg the test drives: it sends the leg's events and reads what the
// call did to it.
type convLeg struct {
	ev chan LegEvent

	mu         sync.Mutex
	id         string
	hungUp     bool
	reconnects int
}

func (l *convLeg) ChannelID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id
}
func (l *convLeg) Events() <-chan LegEvent { return l.ev }
func (l *convLeg) Hangup(context.Context) error {
	l.mu.Lock()
	l.hungUp = true
	l.mu.Unlock()
	return nil
}
func (l *convLeg) Close() {}
func (l *convLeg) Reconnect(context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reconnects++
	l.id = fmt.Sprintf("%s-r%d", l.id, l.reconnects)
	return l.id, nil
}

// convLine rings by handing the test a leg.
type convLine struct {
	rung chan AgentRing
	legs chan *convLeg
}

func (l convLine) Ring(_ context.Context, r AgentRing) (Leg, error) {
	leg := &convLeg{id: r.ChannelID, ev: make(chan LegEvent)}
	l.rung <- r
	l.legs <- leg
	return leg, nil
}

// convBridges records the bridge requests, RemoveFromBridge included.
type convBridges struct{ ops chan string }

func (b convBridges) CreateBridge(_ context.Context, id, _ string) (*pbx.Subscription, error) {
	b.ops <- "create " + id
	return nil, nil
}
func (b convBridges) AddToBridge(_ context.Context, id string, chans ...string) error {
	b.ops <- fmt.Sprint("add ", id, " ", chans)
	return nil
}
func (b convBridges) RemoveFromBridge(_ context.Context, id, ch string) error {
	b.ops <- "remove " + id + " " + ch
	return nil
}
func (b convBridges) DestroyBridge(_ context.Context, id string) error {
	b.ops <- "destroy " + id
	return nil
}
func (b convBridges) RecordBridge(context.Context, string, pbx.RecordOptions) error { return nil }

func (b convBridges) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-b.ops:
		if got != want {
			t.Fatalf("bridge request %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no bridge request %q", want)
	}
}

// command sends a leg command and returns its outcome.
func command(t *testing.T, leg *convLeg, ev LegEvent) error {
	t.Helper()
	reply := make(chan error, 1)
	ev.Reply = reply
	leg.ev <- ev
	select {
	case err := <-reply:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("no reply to %s", ev.Kind)
	}
	return nil
}

// convCall puts a caller in the queue and has agent a1 answer; a2 is logged in not ready.
func convCall(t *testing.T) (*unit, acd.Store, *convLeg, convBridges, convLine) {
	t.Helper()
	u := newUnit(t)
	cfg := testACDConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, u.clock)
	ctx := context.Background()
	skills := map[acd.SkillName]acd.Level{"zh": 3, "english": 3, "complaint": 3, "consult": 3}
	for id, st := range map[acd.AgentID]acd.State{"a1": acd.StateReady, "a2": acd.StateNotReady} {
		if _, err := store.Login(ctx, acd.Agent{ID: id, Groups: []acd.GroupName{"general"}, Skills: skills}, st, "break"); err != nil {
			t.Fatal(err)
		}
	}
	line := convLine{rung: make(chan AgentRing, 4), legs: make(chan *convLeg, 4)}
	br := convBridges{ops: make(chan string, 64)}
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: line, Bridges: br, Clock: u.clock,
		Announce: WaitAnnouncements{Off: true}, Tick: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	qctx, stop := context.WithCancel(ctx)
	go func() { _ = q.Run(qctx) }()
	t.Cleanup(stop)
	u.queue = q
	u.start()
	u.toMainMenu()
	u.key("2")
	c := u.pbx.waitOp(t, "the connecting prompt", isPlay("sound:hotline/connecting"))
	u.finished(c.ID, "done")
	u.pbx.waitOp(t, "the hold tone", isPlay("tone:ring"))
	var r AgentRing
	select {
	case r = <-line.rung:
	case <-time.After(5 * time.Second):
		t.Fatal("no agent rung")
	}
	if r.Agent != "a1" || r.CallID != chanID || r.Queue != "general" || r.Note != "" {
		t.Errorf("ring %+v", r)
	}
	leg := <-line.legs
	leg.ev <- LegEvent{Kind: LegAnswered}
	br.expect(t, "create br-"+chanID)
	br.expect(t, fmt.Sprint("add br-", chanID, " ", []string{chanID, leg.ChannelID()}))
	return u, store, leg, br, line
}

// TestConversationHold: hold takes the caller out of the bridge to the hold prompt and then
// the hold tone; resume puts them back. A transfer to an agent who is not ready changes
// nothing.
func TestConversationHold(t *testing.T) {
	u, _, leg, br, _ := convCall(t)
	if err := command(t, leg, LegEvent{Kind: LegHold, Held: true}); err != nil {
		t.Fatal(err)
	}
	br.expect(t, "remove br-"+chanID+" "+chanID)
	p := u.pbx.waitOp(t, "the hold prompt", isPlay("sound:hotline/agent-hold"))
	u.finished(p.ID, "done")
	tone := u.pbx.waitOp(t, "the hold tone", isPlay("tone:ring"))
	if err := command(t, leg, LegEvent{Kind: LegHold, Held: true}); err != nil {
		t.Errorf("holding a held call: %v", err)
	}
	if err := command(t, leg, LegEvent{Kind: LegHold}); err != nil {
		t.Fatal(err)
	}
	u.pbx.waitOp(t, "the hold tone stopped", func(o op) bool { return o.Name == "stop" && o.ID == tone.ID })
	br.expect(t, fmt.Sprint("add br-", chanID, " ", []string{chanID}))

	err := command(t, leg, LegEvent{Kind: LegTransfer, To: LegTransferTarget{Agent: "a2", Note: "x"}})
	if !errors.Is(err, ErrTargetNotReady) || !errors.Is(err, acd.ErrStateConflict) {
		t.Errorf("transfer to a not-ready agent: %v", err)
	}
	err = command(t, leg, LegEvent{Kind: LegTransfer, To: LegTransferTarget{Agent: "nobody"}})
	if !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("transfer to an unknown agent: %v", err)
	}
	select {
	case op := <-br.ops:
		t.Errorf("a refused transfer made a bridge request: %s", op)
	default:
	}
}

// TestConversationSeat: a dropped seat puts the caller on the reconnecting prompt; a seat
// that comes back gets a new channel in the bridge; one that does not, within the grace
// period, sends the call back to the front of the queue with the agent not ready.
func TestConversationSeat(t *testing.T) {
	u, store, leg, br, _ := convCall(t)
	ctx := context.Background()
	enqueued := mustItem(t, store, chanID).EnqueuedAt

	leg.ev <- LegEvent{Kind: LegSeatLost, Reason: "ice failed", Grace: 7 * time.Second}
	br.expect(t, "remove br-"+chanID+" "+chanID)
	u.pbx.waitOp(t, "the reconnecting prompt", isPlay("sound:hotline/agent-reconnecting"))
	u.clock.waitTimer(t, 7*time.Second)
	leg.ev <- LegEvent{Kind: LegSeatBack}
	br.expect(t, fmt.Sprint("add br-", chanID, " ", []string{chanID + "-a1-r1"}))
	br.expect(t, fmt.Sprint("add br-", chanID, " ", []string{chanID}))

	leg.ev <- LegEvent{Kind: LegSeatLost, Reason: "ice failed", Grace: 7 * time.Second}
	br.expect(t, "remove br-"+chanID+" "+chanID)
	u.clock.waitTimer(t, 7*time.Second)
	u.clock.Advance(7 * time.Second)
	br.expect(t, "destroy br-"+chanID)
	u.pbx.waitOp(t, "the hold tone of the queue", isPlay("tone:ring"))
	leg.mu.Lock()
	hungUp := leg.hungUp
	leg.mu.Unlock()
	if !hungUp {
		t.Error("the lost agent's leg was not hung up")
	}
	a, err := store.Agent(ctx, "a1")
	if err != nil || a.State != acd.StateNotReady || a.Reason != ReasonSeatLost {
		t.Errorf("agent after the grace period: %+v %v", a, err)
	}
	it := mustItem(t, store, chanID)
	if it.Status != acd.StatusWaiting || !it.EnqueuedAt.Equal(enqueued) {
		t.Errorf("item after the grace period: %+v, want waiting since %s", it, enqueued)
	}
}

func mustItem(t *testing.T, store acd.Store, id string) acd.Item {
	t.Helper()
	it, err := store.Item(context.Background(), acd.ItemID(id))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// TestConversationTransfer: a transfer to a ready agent ends the first agent's conversation
// (wrap-up, leg hung up, bridge gone) and rings the named agent with the note.
func TestConversationTransfer(t *testing.T) {
	u, store, leg, br, line := convCall(t)
	ctx := context.Background()
	if _, err := store.SetState(ctx, "a2", acd.StateNotReady, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := command(t, leg, LegEvent{Kind: LegTransfer, To: LegTransferTarget{Agent: "a2", Note: "退款"}}); err != nil {
		t.Fatal(err)
	}
	br.expect(t, "destroy br-"+chanID)
	u.pbx.waitOp(t, "the hold tone", isPlay("tone:ring"))
	if a, err := store.Agent(ctx, "a1"); err != nil || a.State != acd.StateWrapUp {
		t.Errorf("transferring agent: %+v %v", a, err)
	}
	select {
	case r := <-line.rung:
		if r.Agent != "a2" || r.Note != "退款" || r.CallID != chanID || r.ChannelID != chanID+"-a2" {
			t.Errorf("ring after the transfer: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the named agent was not rung")
	}
	leg.mu.Lock()
	defer leg.mu.Unlock()
	if !leg.hungUp {
		t.Error("the transferring agent's leg was not hung up")
	}
	u.store.mu.Lock()
	defer u.store.mu.Unlock()
	var note any
	for _, evs := range u.store.events {
		for _, e := range evs {
			if e.Kind == eventTransferred {
				if d, ok := e.Detail.(map[string]any); ok {
					note = d["note"]
				}
			}
		}
	}
	if note != "退款" {
		t.Errorf("trail: transfer note %v", note)
	}
}

// TestConversationMarksTheAgentAnswer: the first answer is written on the call for the
// reports (answer rate, service level).
func TestConversationMarksTheAgentAnswer(t *testing.T) {
	u, _, _, _, _ := convCall(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		queueMarks.Lock()
		var answered time.Time
		for _, m := range queueMarks.m[u.store] {
			answered = m.agentAnswered
		}
		queueMarks.Unlock()
		if !answered.IsZero() {
			if !answered.Equal(u.clock.Now()) && answered.After(u.clock.Now()) {
				t.Errorf("answered at %s, after the clock's now %s", answered, u.clock.Now())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent's answer was not written on the call")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// overflowTo is an EmergencyOverflow that starts a chain for the test.
type overflowTo struct{ offers chan Offer }

func (o overflowTo) EscalateWaiting(_ context.Context, off Offer) (*EscalationTicket, error) {
	o.offers <- off
	return &EscalationTicket{esc: NewEscalation(make(chan OfficerLeg)), desk: &EmergencyDesk{}}, nil
}

// TestEmergencyAtMaximumWaitGoesToTheOfficers: an emergency nobody answered within the
// queue's maximum wait is handed to the duty officers, not sent to voicemail.
func TestEmergencyAtMaximumWaitGoesToTheOfficers(t *testing.T) {
	u := newUnit(t)
	cfg := testACDConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, u.clock) // nobody logged in: nobody takes the emergency
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: convLine{}, Bridges: convBridges{ops: make(chan string, 8)},
		Clock: u.clock, Announce: WaitAnnouncements{Off: true}, Tick: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	over := overflowTo{offers: make(chan Offer, 1)}
	q.SetEmergencyOverflow(over)
	qctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = q.Run(qctx) }()
	u.queue = q
	u.start()
	u.toMainMenu()
	u.key("9")
	c := u.pbx.waitOp(t, "the emergency prompt", isPlay("sound:hotline/connecting-emergency"))
	u.finished(c.ID, "done")
	u.pbx.waitOp(t, "the hold tone", isPlay("tone:ring"))
	u.clock.Advance(2*time.Minute + time.Second)
	select {
	case o := <-over.offers:
		if !o.Emergency || o.Queue != "emergency" || o.ChannelID != chanID || o.CaseNumber == "" {
			t.Errorf("escalated offer %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the emergency was not handed to the duty officers at its maximum wait")
	}
	u.pbx.waitOp(t, "the emergency hold", isPlay("sound:hotline/emergency-hold"))
	if its, err := store.Waiting(context.Background(), "emergency"); err != nil || len(its) != 0 {
		t.Errorf("still waiting in the queue: %v %v", its, err)
	}
}
