package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"hotline/acd"
	"hotline/cases"
)

// The agent's verdict on a callback in progress. Registered here, after handlers.go's init
// made the table (files are initialized in name order).
func init() {
	handlers["callback_outcome"] = on(true, (*conn).onCallbackOutcome)
}

// CallbackOutcomes is what a Calls that carries out callbacks may also do: take the
// agent's verdict on the callback in progress (someone else answered: wrong number).
type CallbackOutcomes interface {
	CallbackOutcome(ctx context.Context, agent acd.AgentID, task cases.TaskID, outcome cases.TaskOutcome) error
}

type callbackOutcomeMsg struct {
	envelope
	Task    cases.TaskID      `json:"task"`
	Outcome cases.TaskOutcome `json:"outcome"`
}

func (m callbackOutcomeMsg) check() error {
	if m.Task <= 0 {
		return errors.New("task must name the callback task in progress")
	}
	if m.Outcome != cases.OutcomeWrongNumber && m.Outcome != cases.OutcomeReached {
		return fmt.Errorf("outcome must be %s or %s", cases.OutcomeWrongNumber, cases.OutcomeReached)
	}
	return nil
}

func (c *conn) onCallbackOutcome(ctx context.Context, m callbackOutcomeMsg) (*message, error) {
	co, ok := c.d.cfg.Calls.(CallbackOutcomes)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "this controller does not carry out callbacks")
	}
	if err := co.CallbackOutcome(ctx, c.agent(), m.Task, m.Outcome); err != nil {
		return nil, fmt.Errorf("callback task %d: %w", m.Task, err)
	}
	c.d.log.Info("callback outcome", "agent", c.agent(), "task", m.Task, "outcome", m.Outcome)
	return nil, nil
}
