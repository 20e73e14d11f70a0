package acd

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrStateConflict: an agent or item was not in the state the caller expected (or held
	// another reservation). Nothing was changed. Callers log and count it; the details are
	// in the *ConflictError.
	ErrStateConflict = errors.New("acd: state conflict")
	// ErrIllegalTransition: the state machine has no such move (e.g. ready -> on_call).
	ErrIllegalTransition = errors.New("acd: illegal state transition")
	// ErrInvalid: the input is malformed (missing id, unknown class, level out of range).
	ErrInvalid      = errors.New("acd: invalid input")
	ErrUnknownAgent = errors.New("acd: unknown agent")
	ErrUnknownItem  = errors.New("acd: unknown item")
	ErrUnknownQueue = errors.New("acd: unknown queue")
	ErrUnknownSkill = errors.New("acd: unknown skill")
	ErrUnknownGroup = errors.New("acd: unknown group")
	ErrItemExists   = errors.New("acd: item already exists")
	ErrQueueFull    = errors.New("acd: queue full")
	ErrNotEligible  = errors.New("acd: agent not eligible for item")
	// ErrContention: a store kept losing compare-and-set races and gave up; retry later.
	ErrContention = errors.New("acd: too much contention")
)

// ConflictError details an ErrStateConflict.
type ConflictError struct {
	Op    string  // the operation attempted: "reserve", "offer", "set state", ...
	Agent AgentID // the agent concerned, if any
	Item  ItemID  // the item concerned, if any
	Want  string  // what was expected, e.g. "ready" or "reservation r1"
	Got   string  // what was found
}

func (e *ConflictError) Error() string {
	subject := ""
	switch {
	case e.Agent != "" && e.Item != "":
		subject = fmt.Sprintf("agent %s, item %s", e.Agent, e.Item)
	case e.Agent != "":
		subject = "agent " + string(e.Agent)
	default:
		subject = "item " + string(e.Item)
	}
	return fmt.Sprintf("acd: %s: %s: state conflict: want %s, got %s", e.Op, subject, e.Want, e.Got)
}

// Is makes a *ConflictError match ErrStateConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrStateConflict }

func agentConflict(op string, a Agent, want string) error {
	return &ConflictError{Op: op, Agent: a.ID, Want: want, Got: a.State.String()}
}

func itemConflict(op string, it Item, want string) error {
	return &ConflictError{Op: op, Item: it.ID, Want: want, Got: it.Status.String()}
}
