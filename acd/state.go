package acd

import (
	"fmt"
	"slices"
	"time"
)

// State is an agent's state.
type State uint8

// Agent states. The zero value is logged out.
const (
	StateLoggedOut State = iota
	StateReady
	StateReserved // picked for an item; the seat does not ring yet
	StateRinging  // the seat rings with an offer
	StateOnCall
	StateWrapUp   // after a conversation, timed per queue
	StateNotReady // with a Reason
)

var stateNames = []string{"logged_out", "ready", "reserved", "ringing", "on_call", "wrap_up", "not_ready"}

// States lists every agent state.
var States = []State{StateLoggedOut, StateReady, StateReserved, StateRinging, StateOnCall, StateWrapUp, StateNotReady}

func (s State) String() string { return enumString(stateNames, uint8(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return enumMarshal(stateNames, uint8(s), "state") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	return enumUnmarshal(stateNames, (*uint8)(s), b, "state")
}

// ParseState parses a state name such as "not_ready".
func ParseState(name string) (State, error) {
	var s State
	if err := s.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, nil
}

// moves is the whole agent state machine. Moves into and out of reserved, ringing and
// on_call carry an item, so only the *Pair transitions make them; ChangeState makes the
// agent's own moves (agentMoves).
var moves = map[State][]State{
	StateLoggedOut: {StateReady, StateNotReady},
	StateReady:     {StateReserved, StateNotReady, StateLoggedOut},
	StateReserved:  {StateRinging, StateReady, StateNotReady},
	StateRinging:   {StateOnCall, StateNotReady, StateReady},
	StateOnCall:    {StateWrapUp, StateReady},
	StateWrapUp:    {StateReady, StateNotReady, StateLoggedOut},
	StateNotReady:  {StateReady, StateNotReady, StateLoggedOut},
}

var agentMoves = map[State][]State{
	StateReady:    {StateNotReady, StateLoggedOut},
	StateWrapUp:   {StateReady, StateNotReady, StateLoggedOut},
	StateNotReady: {StateReady, StateNotReady, StateLoggedOut},
}

// CanMove reports whether the state machine has a move from one state to another.
func CanMove(from, to State) bool { return slices.Contains(moves[from], to) }

// LoginAgent logs an agent in as ready or not ready. prev is the stored record, nil for an
// agent never seen; it must be logged out. The profile (name, skills, groups) comes from p.
func LoginAgent(prev *Agent, p Agent, to State, reason Reason, now time.Time) (Agent, error) {
	if prev != nil && prev.State != StateLoggedOut {
		return Agent{}, agentConflict("login", *prev, StateLoggedOut.String())
	}
	if to != StateReady && to != StateNotReady {
		return Agent{}, fmt.Errorf("login %s as %s: %w", p.ID, to, ErrIllegalTransition)
	}
	a := Agent{ID: p.ID, Name: p.Name, Skills: p.Skills, Groups: p.Groups, State: to, Since: now, LoginAt: now}
	if prev != nil {
		a.LastOfferAt = prev.LastOfferAt
	}
	if to == StateReady {
		a.ReadySince = now
	} else {
		if reason == "" {
			reason = ReasonLogin
		}
		a.Reason = reason
	}
	return a, nil
}

// ChangeState makes one of the agent's own moves (ready <-> not ready, end of wrap-up,
// logout) if the agent is still in state from. Leaving wrap-up completes the conversation
// and returns its OutcomeHandled.
func ChangeState(a Agent, from, to State, reason Reason, now time.Time) (Agent, []Outcome, error) {
	if a.State != from {
		return Agent{}, nil, agentConflict("set state", a, from.String())
	}
	if !slices.Contains(agentMoves[from], to) {
		return Agent{}, nil, fmt.Errorf("set state of %s from %s to %s: %w", a.ID, from, to, ErrIllegalTransition)
	}
	if to == StateNotReady && reason == "" {
		return Agent{}, nil, fmt.Errorf("set state of %s to not_ready without a reason: %w", a.ID, ErrInvalid)
	}
	var out []Outcome
	if from == StateWrapUp {
		out = append(out, a.handled(now))
		a.Busy += now.Sub(a.Work.AnsweredAt)
		a.Work = Work{}
	}
	a.enter(to, reason, now)
	return a, out, nil
}

func (a *Agent) enter(to State, reason Reason, now time.Time) {
	if to == StateReady && a.State != StateReady {
		a.ReadySince = now
	}
	a.State = to
	a.Since = now
	a.Reason = ""
	if to == StateNotReady {
		a.Reason = reason
	}
}

func (a Agent) handled(now time.Time) Outcome {
	w := a.Work
	return Outcome{
		Kind: OutcomeHandled, Queue: w.Queue, Item: w.Item, ItemKind: w.Kind, Class: w.Class, Agent: a.ID,
		At: now, Talk: w.EndedAt.Sub(w.AnsweredAt), WrapUp: now.Sub(w.EndedAt),
	}
}

// holds reports whether the agent is in one of the states, working on reservation rid.
func (a Agent) holds(rid ReservationID, states ...State) bool {
	return a.Work.Reservation == rid && slices.Contains(states, a.State)
}

func reservationConflict(op string, a Agent, it Item, rid ReservationID, want State) error {
	return &ConflictError{Op: op, Agent: a.ID, Item: it.ID,
		Want: fmt.Sprintf("%s on reservation %s", want, rid),
		Got:  fmt.Sprintf("agent %s on reservation %q, item %s on reservation %q", a.State, a.Work.Reservation, it.Status, it.Reservation)}
}

// ReservePair reserves a ready agent for a waiting item: agent ready -> reserved, item
// waiting -> reserved. The reservation lapses at due unless offered. Eligibility is the
// router's business and is checked before.
func ReservePair(a Agent, it Item, rid ReservationID, due, now time.Time) (Agent, Item, error) {
	if a.State != StateReady {
		return Agent{}, Item{}, agentConflict("reserve", a, StateReady.String())
	}
	if it.Status != StatusWaiting {
		return Agent{}, Item{}, itemConflict("reserve", it, StatusWaiting.String())
	}
	if rid == "" {
		return Agent{}, Item{}, fmt.Errorf("reserve %s for %s without a reservation id: %w", a.ID, it.ID, ErrInvalid)
	}
	a.State, a.Since = StateReserved, now
	a.Work = Work{Reservation: rid, Item: it.ID, Queue: it.Queue, Kind: it.Kind, Class: it.Class, Due: due}
	it.Status, it.Agent, it.Reservation = StatusReserved, a.ID, rid
	return a, it, nil
}

// OfferPair rings the reserved agent's seat: agent reserved -> ringing, item reserved ->
// offered. Unanswered at due, the offer rings out (NoAnswerPair).
func OfferPair(a Agent, it Item, rid ReservationID, due, now time.Time) (Agent, Item, error) {
	if !a.holds(rid, StateReserved) || it.Reservation != rid || it.Status != StatusReserved {
		return Agent{}, Item{}, reservationConflict("offer", a, it, rid, StateReserved)
	}
	a.State, a.Since, a.LastOfferAt = StateRinging, now, now
	a.Work.Due = due
	it.Status = StatusOffered
	return a, it, nil
}

// AnswerPair connects the ringing agent: agent ringing -> on_call, item offered ->
// connected, and records the answer with the wait from the original enqueue time.
func AnswerPair(a Agent, it Item, rid ReservationID, now time.Time) (Agent, Item, Outcome, error) {
	if !a.holds(rid, StateRinging) || it.Reservation != rid || it.Status != StatusOffered {
		return Agent{}, Item{}, Outcome{}, reservationConflict("answer", a, it, rid, StateRinging)
	}
	a.State, a.Since = StateOnCall, now
	a.Work.Due, a.Work.AnsweredAt = time.Time{}, now
	it.Status = StatusConnected
	o := Outcome{Kind: OutcomeAnswered, Queue: it.Queue, Item: it.ID, ItemKind: it.Kind, Class: it.Class,
		Agent: a.ID, At: now, Wait: now.Sub(it.EnqueuedAt)}
	return a, it, o, nil
}

// ReleasePair cancels a reservation or an offer without a conversation: the item goes back
// to waiting with its original enqueue time (so, to the front of the line it held), and the
// agent to ready (their idle period continues) or not ready with a reason.
func ReleasePair(a Agent, it Item, rid ReservationID, to State, reason Reason, now time.Time) (Agent, Item, error) {
	if !a.holds(rid, StateReserved, StateRinging) || it.Reservation != rid ||
		(it.Status != StatusReserved && it.Status != StatusOffered) {
		return Agent{}, Item{}, reservationConflict("release", a, it, rid, StateReserved)
	}
	if to != StateReady && to != StateNotReady {
		return Agent{}, Item{}, fmt.Errorf("release %s to %s: %w", a.ID, to, ErrIllegalTransition)
	}
	if to == StateNotReady && reason == "" {
		return Agent{}, Item{}, fmt.Errorf("release %s to not_ready without a reason: %w", a.ID, ErrInvalid)
	}
	if it.Status == StatusOffered {
		it.Attempts++
	}
	it.Status, it.Agent, it.Reservation = StatusWaiting, "", ""
	a.Work = Work{}
	// The agent did no work: keep their idle period when they go back to ready.
	readySince := a.ReadySince
	a.enter(to, reason, now)
	if to == StateReady {
		a.ReadySince = readySince
	}
	return a, it, nil
}

// NoAnswerPair is RONA: the offer rang out. The item goes back to the front of its queue
// (original enqueue time) and the agent becomes not ready with ReasonNoAnswer, visibly.
func NoAnswerPair(a Agent, it Item, rid ReservationID, now time.Time) (Agent, Item, error) {
	if !a.holds(rid, StateRinging) {
		return Agent{}, Item{}, reservationConflict("no answer", a, it, rid, StateRinging)
	}
	return ReleasePair(a, it, rid, StateNotReady, ReasonNoAnswer, now)
}

// FinishPair ends the conversation: the item is done (the caller deletes it) and the agent
// goes to wrap-up until now+wrapUp, or straight to ready when wrapUp is zero.
func FinishPair(a Agent, it Item, rid ReservationID, wrapUp time.Duration, now time.Time) (Agent, []Outcome, error) {
	if !a.holds(rid, StateOnCall) || it.Reservation != rid || it.Status != StatusConnected {
		return Agent{}, nil, reservationConflict("finish", a, it, rid, StateOnCall)
	}
	a.Work.EndedAt = now
	if wrapUp > 0 {
		a.State, a.Since = StateWrapUp, now
		a.Work.Due = now.Add(wrapUp)
		return a, nil, nil
	}
	out := []Outcome{a.handled(now)}
	a.Busy += now.Sub(a.Work.AnsweredAt)
	a.Work = Work{}
	a.enter(StateReady, "", now)
	return a, out, nil
}

// RemoveItem takes an item out of the distributor without a conversation: the caller hung
// up, left for voicemail, or the task was cancelled. holder is the agent reserved or ringing
// for it (nil when the item is waiting); that agent goes back to ready. A connected item
// cannot be removed: its conversation ends with FinishPair.
func RemoveItem(it Item, holder *Agent, why RemoveReason, now time.Time) (*Agent, []Outcome, error) {
	var freed *Agent
	switch it.Status {
	case StatusWaiting:
		if holder != nil {
			return nil, nil, fmt.Errorf("remove waiting item %s with holder %s: %w", it.ID, holder.ID, ErrInvalid)
		}
	case StatusReserved, StatusOffered:
		if holder == nil || !holder.holds(it.Reservation, StateReserved, StateRinging) {
			got := "no agent"
			if holder != nil {
				got = fmt.Sprintf("agent %s %s on reservation %q", holder.ID, holder.State, holder.Work.Reservation)
			}
			return nil, nil, &ConflictError{Op: "remove", Item: it.ID, Want: "its agent holding reservation " + string(it.Reservation), Got: got}
		}
		a := *holder
		readySince := a.ReadySince
		a.Work = Work{}
		a.enter(StateReady, "", now)
		a.ReadySince = readySince
		freed = &a
	default:
		return nil, nil, itemConflict("remove", it, "waiting, reserved or offered")
	}
	var out []Outcome
	kind := OutcomeKind(0)
	switch why {
	case RemoveAbandoned:
		kind = OutcomeAbandoned
	case RemoveDiverted:
		kind = OutcomeDiverted
	case RemoveCancelled:
	default:
		return nil, nil, fmt.Errorf("remove %s: reason %d: %w", it.ID, why, ErrInvalid)
	}
	if kind != 0 {
		out = append(out, Outcome{Kind: kind, Queue: it.Queue, Item: it.ID, ItemKind: it.Kind, Class: it.Class,
			At: now, Wait: now.Sub(it.EnqueuedAt)})
	}
	return freed, out, nil
}

// KeepPlace turns a waiting caller who chose to be called back into a callback task that
// keeps the caller's place: the original enqueue time and priority class. Fields the task
// leaves empty (queue, language, skills, case, number) come from the call. The call itself
// is recorded as diverted.
func KeepPlace(call Item, task Item, now time.Time) (Item, Outcome, error) {
	if call.Kind != KindCall {
		return Item{}, Outcome{}, fmt.Errorf("keep place of %s: a %s, not a call: %w", call.ID, call.Kind, ErrInvalid)
	}
	if call.Status != StatusWaiting {
		return Item{}, Outcome{}, itemConflict("keep place", call, StatusWaiting.String())
	}
	if task.ID == "" || task.ID == call.ID {
		return Item{}, Outcome{}, fmt.Errorf("keep place of %s: the task needs an id of its own: %w", call.ID, ErrInvalid)
	}
	task.Kind, task.Origin = KindCallback, OriginKeptPlace
	task.Class, task.EnqueuedAt = call.Class, call.EnqueuedAt
	if task.Queue == "" {
		task.Queue = call.Queue
	}
	if task.Language == "" {
		task.Language = call.Language
	}
	if task.Skills == nil {
		task.Skills = call.Skills
	}
	if task.CaseID == 0 {
		task.CaseID, task.CaseNumber = call.CaseID, call.CaseNumber
	}
	if task.Number == "" {
		task.Number = call.Number
	}
	task.Status, task.Agent, task.Reservation, task.Attempts = StatusWaiting, "", "", 0
	o := Outcome{Kind: OutcomeDiverted, Queue: call.Queue, Item: call.ID, ItemKind: call.Kind, Class: call.Class,
		At: now, Wait: now.Sub(call.EnqueuedAt)}
	return task, o, nil
}

// Expiry is a timed transition made by a store's Expire sweep.
type Expiry struct {
	Agent       AgentID       `json:"agent"`
	Item        ItemID        `json:"item,omitempty"`
	Reservation ReservationID `json:"reservation,omitempty"`
	From        State         `json:"from"`
	To          State         `json:"to"`
	Reason      Reason        `json:"reason,omitempty"`
}

// Due reports whether the agent's current state has timed out at now: a reservation that
// was never offered, an offer that rang out, or the end of wrap-up.
func Due(a Agent, now time.Time) bool {
	switch a.State {
	case StateReserved, StateRinging, StateWrapUp:
		return !a.Work.Due.IsZero() && !now.Before(a.Work.Due)
	}
	return false
}
