package deskcalls

import (
	"context"
	"fmt"

	"hotline/acd"
	"hotline/agentdesk"
	"hotline/callflow"
	"hotline/cases"
)

// Callbacks on seats. The call flow's Callbacks (callflow.Callbacks) owns each callback; the
// line offers it on the agent's desk (an offer of kind callback, with the task and the case
// for the screen pop) and connects the agent's seat like an inbound call: the leg answers
// once the ExternalMedia channel to the seat is up, and the callback then dials the caller
// and bridges them with it.

var _ callflow.CallbackLine = (*Line)(nil)

// RingCallback offers a callback task on the agent's desk, or, when the agent picked the
// task on the desk (r.Picked), connects their seat at once.
func (l *Line) RingCallback(ctx context.Context, r callflow.CallbackRing) (callflow.Leg, error) {
	desk := l.getDesk()
	if desk == nil {
		return nil, fmt.Errorf("callback to agent %s: no desk", r.Agent)
	}
	call := CallOf(r.ChannelID)
	desk = callbackDesk{Desk: desk, r: r}
	leg := &seatLeg{l: l, desk: desk, id: r.ChannelID, agent: r.Agent, call: call, offer: agentdesk.OfferID(r.ChannelID),
		caseNumber: cases.Number(r.CaseNumber), out: make(chan callflow.LegEvent, 4),
		answer: make(chan bool, 1), stop: make(chan struct{}), done: make(chan struct{}),
		log: l.log.With("agent", r.Agent, "call", call, "leg", r.ChannelID, "task", r.Task)}
	l.mu.Lock()
	l.rings[leg.offer] = leg
	l.mu.Unlock()
	if r.Picked {
		leg.decide(true)
	} else {
		o := agentdesk.Offer{ID: leg.offer, Call: call, Kind: agentdesk.OfferCallback, CaseNumber: leg.caseNumber,
			Caller: cases.Phone(r.Number), Queue: r.Queue, EnqueuedAt: r.EnqueuedAt, RingUntil: l.cfg.Now().Add(r.Timeout), Task: r.Task}
		if err := desk.Ring(ctx, r.Agent, o); err != nil {
			l.forget(leg)
			return nil, fmt.Errorf("offer callback task %d to %s: %w", r.Task, r.Agent, err)
		}
	}
	go leg.run(r.Timeout)
	return leg, nil
}

// callbackDesk shows the connected callback as what it is: an outbound call of the task,
// to the caller's number.
type callbackDesk struct {
	Desk
	r callflow.CallbackRing
}

func (d callbackDesk) Connected(ctx context.Context, agent acd.AgentID, c agentdesk.Call) error {
	c.Direction, c.Task, c.Caller, c.Queue = cases.Outbound, d.r.Task, cases.Phone(d.r.Number), d.r.Queue
	return d.Desk.Connected(ctx, agent, c)
}

// CallbackStarter starts the callbacks agents pick on the desk: (*callflow.Callbacks).
type CallbackStarter interface {
	Start(ctx context.Context, agent acd.AgentID, task cases.TaskID) error
	Mark(agent acd.AgentID, task cases.TaskID, outcome cases.TaskOutcome) error
}

// Callback is refused by a line that has no callbacks (use WithCallbacks).
func (l *Line) Callback(context.Context, acd.AgentID, cases.TaskID) error {
	return fmt.Errorf("callback: %w", ErrNotSupported)
}

// WithCallbacks is the line as the desk's agentdesk.Calls, with the "call back" button
// carried out by cb.
type WithCallbacks struct {
	*Line
	Callbacks CallbackStarter
}

var _ agentdesk.Calls = WithCallbacks{}

// Callback starts the callback of task by agent: the task is reserved for them (HTTP 409
// when another agent has it), their seat connected, and the caller dialled.
func (w WithCallbacks) Callback(ctx context.Context, agent acd.AgentID, task cases.TaskID) error {
	if err := w.Callbacks.Start(ctx, agent, task); err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	return nil
}

// CallbackOutcome records the agent's verdict on the callback in progress (wrong number).
func (w WithCallbacks) CallbackOutcome(_ context.Context, agent acd.AgentID, task cases.TaskID, outcome cases.TaskOutcome) error {
	if err := w.Callbacks.Mark(agent, task, outcome); err != nil {
		return fmt.Errorf("callback outcome: %w", err)
	}
	return nil
}
