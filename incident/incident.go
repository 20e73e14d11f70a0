// Package incident is the hotline's incident mode: one switch, kept in PostgreSQL with who
// turned it on or off, when and why, and written to the audit log in the same transaction.
//
// While the switch is on:
//   - every new call hears an announcement (a prompt of the menu, hotline/incident by
//     default) before the menu; calls already past their start keep going as they were;
//   - emergency priority is raised: the ACD's emergency class gets a larger head start
//     (EmergencyHeadStart), so that emergency callers are served before everyone waiting,
//     however long they have waited (the default head start is one hour; incident mode adds
//     Boost, a day by default).
//
// The call flow reads the switch from a Watcher: a cached copy refreshed on NOTIFY (the
// switch notifies channel hotline_incident in its transaction) and by a cheap look-up every
// few seconds in case a notification was missed, so a call never waits on the database to
// learn the mode.
package incident

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
)

// Audit actions of the switch.
const (
	SwitchedOn  audit.Action = "incident.on"
	SwitchedOff audit.Action = "incident.off"
)

// Target is the audit target of the switch.
const Target = "incident:mode"

// NotifyChannel is the PostgreSQL channel a switch notifies.
const NotifyChannel = "hotline_incident"

// DefaultPrompt is the announcement unless the switch names another.
const DefaultPrompt = "hotline/incident"

// PromptPrefix starts the name of every prompt the switch may play: a centre adds its own
// announcements to the menu's prompts under it.
const PromptPrefix = "hotline/incident"

// Limits on what a switch records, in characters.
const (
	MaxReasonLen  = 500
	MaxMessageLen = 500
)

// State is the switch as it stands.
type State struct {
	Active    bool      `json:"active"`
	Prompt    string    `json:"prompt"`
	Message   string    `json:"message"`
	Reason    string    `json:"reason"`
	ChangedBy string    `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
	Version   int64     `json:"version"`
}

// Change is a request to turn the switch on or off.
type Change struct {
	Active bool
	// Reason is required: why the mode changes (kept with the switch and in the audit log).
	Reason string
	// Prompt is the announcement while on: DefaultPrompt when empty. Ignored when off.
	Prompt string
	// Message says what the incident is, for people (desk, reports). Optional.
	Message string
	// Actor is who switches: an agent's login or "cli:<user>".
	Actor string
}

// Error is a refused change that knows its HTTP status.
type Error struct {
	msg    string
	status int
}

func (e *Error) Error() string { return e.msg }

// HTTPStatus is the status a handler answers with.
func (e *Error) HTTPStatus() int { return e.status }

// ErrUnchanged refuses turning on what is on, or off what is off: the same way back only.
var ErrUnchanged = &Error{"incident mode is already in that state", http.StatusConflict}

func invalid(format string, args ...any) error {
	return &Error{fmt.Sprintf(format, args...), http.StatusBadRequest}
}

// Auditor writes an audit record inside the switch's transaction (audit.Log).
type Auditor interface {
	AppendWith(ctx context.Context, q audit.Querier, rec audit.Record) (audit.Entry, error)
}

// Store keeps the switch.
type Store struct {
	pool    *pgxpool.Pool
	audit   Auditor
	prompts map[string]bool
	now     func() time.Time
}

// NewStore returns the switch's store. prompts are the menu's prompt names: a switch may
// only name one of them that starts with PromptPrefix.
func NewStore(pool *pgxpool.Pool, auditor Auditor, prompts []string) *Store {
	s := &Store{pool: pool, audit: auditor, prompts: map[string]bool{}, now: time.Now}
	for _, p := range prompts {
		if strings.HasPrefix(p, PromptPrefix) {
			s.prompts[p] = true
		}
	}
	return s
}

// Check validates a change and fills its defaults.
func (s *Store) check(c Change) (Change, error) {
	c.Reason, c.Message, c.Prompt, c.Actor = strings.TrimSpace(c.Reason), strings.TrimSpace(c.Message), strings.TrimSpace(c.Prompt), strings.TrimSpace(c.Actor)
	switch {
	case c.Actor == "":
		return c, invalid("incident switch: the actor is empty")
	case c.Reason == "":
		return c, invalid("incident switch: a reason is required")
	case !utf8.ValidString(c.Reason) || utf8.RuneCountInString(c.Reason) > MaxReasonLen:
		return c, invalid("incident switch: the reason must be text of at most %d characters", MaxReasonLen)
	case !utf8.ValidString(c.Message) || utf8.RuneCountInString(c.Message) > MaxMessageLen:
		return c, invalid("incident switch: the message must be text of at most %d characters", MaxMessageLen)
	}
	if !c.Active {
		c.Prompt, c.Message = "", ""
		return c, nil
	}
	if c.Prompt == "" {
		c.Prompt = DefaultPrompt
	}
	if !s.prompts[c.Prompt] {
		return c, invalid("incident switch: prompt %q is not one of the menu's %s... prompts", c.Prompt, PromptPrefix)
	}
	return c, nil
}

const stateCols = `active, prompt, message, reason, changed_by, changed_at, version`

func scanState(r pgx.Row) (State, error) {
	var st State
	err := r.Scan(&st.Active, &st.Prompt, &st.Message, &st.Reason, &st.ChangedBy, &st.ChangedAt, &st.Version)
	return st, err
}

// Get returns the switch as it stands.
func (s *Store) Get(ctx context.Context) (State, error) {
	st, err := scanState(s.pool.QueryRow(ctx, `SELECT `+stateCols+` FROM incident_mode`))
	if err != nil {
		return State{}, fmt.Errorf("incident mode: %w", err)
	}
	return st, nil
}

// Switch turns incident mode on or off: the switch, its history row, the audit entry and
// the notification commit together. Turning on what is on (or off what is off) is
// ErrUnchanged.
func (s *Store) Switch(ctx context.Context, c Change) (State, error) {
	c, err := s.check(c)
	if err != nil {
		return State{}, err
	}
	now := s.now()
	var st State
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanState(tx.QueryRow(ctx, `SELECT `+stateCols+` FROM incident_mode FOR UPDATE`))
		if err != nil {
			return err
		}
		if cur.Active == c.Active {
			return ErrUnchanged
		}
		prompt := c.Prompt
		if !c.Active {
			prompt = cur.Prompt // kept, so that the next switch on shows what was played
		}
		st, err = scanState(tx.QueryRow(ctx, `UPDATE incident_mode SET active = $1, prompt = $2, message = $3, reason = $4,
			changed_by = $5, changed_at = $6, version = version + 1 RETURNING `+stateCols,
			c.Active, prompt, c.Message, c.Reason, c.Actor, now))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO incident_switches (at, active, prompt, message, reason, actor) VALUES ($1, $2, $3, $4, $5, $6)`,
			now, c.Active, prompt, c.Message, c.Reason, c.Actor); err != nil {
			return err
		}
		action := SwitchedOff
		detail := map[string]any{"reason": c.Reason, "version": st.Version}
		if c.Active {
			action = SwitchedOn
			detail["prompt"], detail["message"] = c.Prompt, c.Message
		}
		if _, err := s.audit.AppendWith(ctx, tx, audit.Record{Actor: c.Actor, Action: action, Target: Target, Detail: detail}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, fmt.Sprint(st.Version))
		return err
	})
	if errors.Is(err, ErrUnchanged) {
		return State{}, ErrUnchanged
	}
	if err != nil {
		return State{}, fmt.Errorf("incident switch by %s: %w", c.Actor, err)
	}
	return st, nil
}

// History returns the latest switches, newest first.
func (s *Store) History(ctx context.Context, limit int) ([]State, error) {
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT active, prompt, message, reason, actor, at, id FROM incident_switches ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("incident history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (State, error) { return scanState(r) })
	if err != nil {
		return nil, fmt.Errorf("incident history: %w", err)
	}
	return out, nil
}
