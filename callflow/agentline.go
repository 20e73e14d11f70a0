package callflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"hotline/acd"
	"hotline/cases"
	"hotline/pbx"
)

// AgentLine reaches an agent for a reserved call: a SIP phone today (SIPLine), a WebRTC
// seat of the agent desk later. The call goroutine that owns the caller rings the agent
// through it and reads the leg's events in its own select loop.
type AgentLine interface {
	Ring(ctx context.Context, r AgentRing) (Leg, error)
}

// AgentRing is one offer to ring.
type AgentRing struct {
	Agent      acd.AgentID
	ChannelID  string // id of the agent's leg, chosen by the caller's goroutine
	CallID     string // the caller's channel id: the call the leg belongs to
	CaseID     cases.CaseID
	CaseNumber string
	CallerID   string // shown on the agent's phone
	Queue      acd.QueueName
	// Note is what the agent who transferred the call wrote for the next one; "" when the
	// call was not transferred.
	Note    string
	Timeout time.Duration // ring no longer than this (RONA)
}

// LegEventKind is what happened to an agent's leg.
type LegEventKind int

// Leg events.
const (
	LegAnswered LegEventKind = iota + 1 // the agent picked up; the leg can be bridged
	LegFailed                           // never answered: no answer, busy, unreachable
	LegGone                             // an answered leg hung up

	// Commands and notices of a desk seat's leg, while the conversation lasts. Commands
	// (LegHold, LegTransfer) carry Reply: the call goroutine sends the outcome on it once,
	// after carrying the command out; a command while not talking gets an error.
	LegHold     // the agent puts the caller on hold (Held) or takes them off it
	LegTransfer // the agent sends the call on (To), blind
	LegSeatLost // the agent's audio is gone (the seat dropped); Grace is the wait for it
	LegSeatBack // the agent's seat is up again: the leg can be reconnected (Reconnector)
)

func (k LegEventKind) String() string {
	switch k {
	case LegAnswered:
		return "answered"
	case LegFailed:
		return "failed"
	case LegGone:
		return "gone"
	case LegHold:
		return "hold"
	case LegTransfer:
		return "transfer"
	case LegSeatLost:
		return "seat_lost"
	case LegSeatBack:
		return "seat_back"
	}
	return "unknown"
}

// LegEvent is one event of an agent's leg.
type LegEvent struct {
	Kind   LegEventKind
	Reason string // for LegFailed: NOANSWER, BUSY, CHANUNAVAIL, ...; for LegSeatLost: why
	Held   bool   // LegHold: true holds, false resumes
	To     LegTransferTarget
	// Grace is how long a LegSeatLost call waits for the seat before it goes back to the
	// queue; zero takes DefaultSeatGrace.
	Grace time.Duration
	// Reply receives the outcome of a command (nil: done), once; nil for notices. The
	// sender gives it room for one value, so that the call goroutine never waits on it.
	Reply chan<- error
}

// LegTransferTarget is where a transferred call goes: a queue or one agent, exactly one.
type LegTransferTarget struct {
	Queue acd.QueueName
	Agent acd.AgentID
	Note  string // for the next agent's screen pop and the case trail
}

// DefaultSeatGrace is how long a caller whose agent's seat dropped waits for it.
const DefaultSeatGrace = 20 * time.Second

// Reconnector is a leg whose media can be rebuilt after its agent's seat came back: a new
// channel to the seat in place of the old one, which it deletes. ChannelID names the new
// channel afterwards; the caller's goroutine adds it to the bridge.
type Reconnector interface {
	Reconnect(ctx context.Context) (channelID string, err error)
}

// EndNoter is a leg that can tell its agent why the call left them (the desk shows it with
// the wrap-up); the call goroutine notes the reason before it hangs the leg up.
type EndNoter interface {
	NoteEnd(reason string)
}

// Why a call left its agent, besides hang-ups.
const (
	EndTransferred = "transferred"
	EndSeatLost    = "softphone lost: the call went back to the queue"
)

// ErrTargetNotReady refuses a transfer to an agent who cannot take the call now.
var ErrTargetNotReady = fmt.Errorf("the agent is not ready: %w", acd.ErrStateConflict)

// Leg is a ringing or answered agent leg. Events ends (is closed) after LegFailed or LegGone.
type Leg interface {
	ChannelID() string
	Events() <-chan LegEvent
	Hangup(ctx context.Context) error
	// Close releases the leg's resources; the channel is not hung up.
	Close()
}

// Originator is what SIPLine needs from the PBX: (*pbx.Client).
type Originator interface {
	Originate(ctx context.Context, req pbx.OriginateRequest) (*pbx.Subscription, error)
	Hangup(ctx context.Context, channelID string, reason pbx.HangupReason) error
}

// SIPLine rings agents on their SIP phones: an originate to Endpoint(agent) into our app.
type SIPLine struct {
	PBX Originator
	// Endpoint maps an agent to a dial string. Default "PJSIP/agent-" + the agent id.
	Endpoint func(acd.AgentID) string
}

// Ring originates to the agent's phone. The leg is answered when its channel enters the
// app (StasisStart), failed on a final Dial status other than ANSWER or a destroyed channel.
func (l SIPLine) Ring(ctx context.Context, r AgentRing) (Leg, error) {
	ep := "PJSIP/agent-" + string(r.Agent)
	if l.Endpoint != nil {
		ep = l.Endpoint(r.Agent)
	}
	// Originate timeouts are whole seconds: round up so the phone rings at least Timeout.
	timeout := ((r.Timeout + time.Second - 1) / time.Second) * time.Second
	sub, err := l.PBX.Originate(ctx, pbx.OriginateRequest{Endpoint: ep, ChannelID: r.ChannelID, AppArgs: "agent",
		CallerID: r.CallerID, Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("ring agent %s at %s: %w", r.Agent, ep, err)
	}
	leg := &sipLeg{pbx: l.PBX, id: r.ChannelID, sub: sub, out: make(chan LegEvent, 4), stop: make(chan struct{})}
	go leg.translate()
	return leg, nil
}

type sipLeg struct {
	pbx  Originator
	id   string
	sub  *pbx.Subscription
	out  chan LegEvent
	stop chan struct{}
}

func (l *sipLeg) ChannelID() string       { return l.id }
func (l *sipLeg) Events() <-chan LegEvent { return l.out }

func (l *sipLeg) Hangup(ctx context.Context) error {
	err := l.pbx.Hangup(ctx, l.id, pbx.HangupNormal)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("hang up agent leg %s: %w", l.id, err)
	}
	return nil
}

func (l *sipLeg) Close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.sub.Close()
}

// translate turns the channel's ARI events into leg events. It makes no requests: the
// caller's goroutine does everything with them.
func (l *sipLeg) translate() {
	defer close(l.out)
	answered := false
	emit := func(e LegEvent) bool {
		select {
		case l.out <- e:
			return true
		case <-l.stop:
			return false
		}
	}
	for ev := range l.sub.Events() {
		k, reason, ok := legEvent(ev, answered)
		if !ok {
			continue
		}
		if !emit(LegEvent{Kind: k, Reason: reason}) {
			return
		}
		if k != LegAnswered {
			return
		}
		answered = true
	}
	if answered {
		emit(LegEvent{Kind: LegGone, Reason: "stream ended"})
	} else {
		emit(LegEvent{Kind: LegFailed, Reason: "stream ended"})
	}
}

// legEvent classifies an ARI event of an agent's channel: a pure function.
func legEvent(ev pbx.Event, answered bool) (LegEventKind, string, bool) {
	switch ev.Type {
	case pbx.StasisStart:
		if !answered {
			return LegAnswered, "", true
		}
	case pbx.Dial:
		if s := strings.ToUpper(ev.DialStatus); !answered && s != "" && s != "ANSWER" && s != "RINGING" && s != "PROGRESS" && s != "PROCEEDING" {
			return LegFailed, s, true
		}
	case pbx.ChannelDestroyed, pbx.StasisEnd, pbx.Vanished, pbx.ChannelHangupRequest:
		if answered {
			return LegGone, string(ev.Type), true
		}
		return LegFailed, string(ev.Type), true
	}
	return 0, "", false
}

func isNotFound(err error) bool { return errors.Is(err, pbx.ErrNotFound) }
