// Package audit keeps the append-only record of who did what to whom: sign-ins, case reads
// and changes, account changes. PIPL asks for least privilege and an audit trail of who read
// what; the table refuses updates and deletes by trigger, so this package only appends and
// reads.
package audit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EntryID identifies one audit log entry.
type EntryID int64

// Action names what was done, as "noun.verb" in lower case.
type Action string

func (a Action) String() string { return string(a) }

// Actions written by this codebase. Other packages may add their own; keep them "noun.verb".
const (
	LoginSucceeded Action = "login.succeeded"
	// LoginFailed is a checked attempt with a wrong login or password, or a disabled account.
	LoginFailed Action = "login.failed"
	// LoginRefused is an attempt turned away before the password was checked: locked or
	// slowed down after failures.
	LoginRefused Action = "login.refused"
	Logout       Action = "session.logout"

	CaseRead    Action = "case.read"
	CaseChanged Action = "case.changed"

	AccountCreated     Action = "account.created"
	AccountPasswordSet Action = "account.password_set"
	AccountDisabled    Action = "account.disabled"
	AccountEnabled     Action = "account.enabled"
)

// AgentTarget is the target string of an agent account.
func AgentTarget(login string) string { return "agent:" + login }

// CaseTarget is the target string of a case, by its number.
func CaseTarget(number string) string { return "case:" + number }

// Record is one thing to write down. Detail must never hold secrets (passwords, tokens).
type Record struct {
	// Actor is who did it: an agent's login, "cli:<os user>" for the command line, or for a
	// failed sign-in the login that was tried.
	Actor  string
	Action Action
	// Target is what it was done to, e.g. AgentTarget("alice") or CaseTarget("620000-...").
	Target string
	Detail map[string]any
}

// Entry is a stored record.
type Entry struct {
	ID     EntryID        `json:"id"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"`
	Action Action         `json:"action"`
	Target string         `json:"target"`
	Detail map[string]any `json:"detail"`
}

// ErrInvalid is returned for a record or query that cannot be written or run.
var ErrInvalid = errors.New("invalid audit record")

var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

func (r Record) check() error {
	if r.Actor == "" {
		return fmt.Errorf("%w: actor is empty", ErrInvalid)
	}
	if !actionPattern.MatchString(string(r.Action)) {
		return fmt.Errorf("%w: action %q is not noun.verb in lower case", ErrInvalid, r.Action)
	}
	return nil
}

// Querier runs one statement: a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Log appends to and reads the audit_log table.
type Log struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// Option configures a Log.
type Option func(*Log)

// WithClock sets where entry times come from (tests drive time; the default is time.Now).
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// New returns a Log writing through pool.
func New(pool *pgxpool.Pool, opts ...Option) *Log {
	l := &Log{pool: pool, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Append writes rec in its own statement.
func (l *Log) Append(ctx context.Context, rec Record) (Entry, error) {
	return l.AppendWith(ctx, l.pool, rec)
}

// AppendWith writes rec through q, typically the transaction that makes the change being
// recorded, so that the change and its record commit or roll back together.
func (l *Log) AppendWith(ctx context.Context, q Querier, rec Record) (Entry, error) {
	if err := rec.check(); err != nil {
		return Entry{}, fmt.Errorf("audit %s: %w", rec.Action, err)
	}
	detail := rec.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	e := Entry{Actor: rec.Actor, Action: rec.Action, Target: rec.Target}
	err := q.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)
		RETURNING id, at, detail`, l.now(), rec.Actor, string(rec.Action), rec.Target, detail).Scan(&e.ID, &e.At, &e.Detail)
	if err != nil {
		return Entry{}, fmt.Errorf("audit %s by %s: %w", rec.Action, rec.Actor, err)
	}
	return e, nil
}

// Query selects entries. Empty fields do not filter; Since is inclusive and Until exclusive.
type Query struct {
	Actor  string
	Target string
	Action Action
	Since  time.Time
	Until  time.Time
	// Limit caps the entries returned: default 100, at most MaxLimit.
	Limit int
}

// MaxLimit is the most entries one Find returns.
const MaxLimit = 1000

// Find returns the entries matching q, newest first.
func (l *Log) Find(ctx context.Context, q Query) ([]Entry, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > MaxLimit:
		return nil, fmt.Errorf("find audit entries: %w: limit %d is not between 1 and %d", ErrInvalid, q.Limit, MaxLimit)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, fmt.Errorf("find audit entries: %w: since %s is not before until %s", ErrInvalid,
			q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	// Only the conditions asked for go into the statement, so that the planner can use the
	// (actor, at) and (target, at) indexes; "$1 IS NULL OR actor = $1" would defeat them.
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Actor != "" {
		add("actor = $%d", q.Actor)
	}
	if q.Target != "" {
		add("target = $%d", q.Target)
	}
	if q.Action != "" {
		add("action = $%d", string(q.Action))
	}
	if !q.Since.IsZero() {
		add("at >= $%d", q.Since)
	}
	if !q.Until.IsZero() {
		add("at < $%d", q.Until)
	}
	sql := "SELECT id, at, actor, action, target, detail FROM audit_log"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	sql += fmt.Sprintf(" ORDER BY at DESC, id DESC LIMIT $%d", len(args))
	rows, err := l.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("find audit entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("find audit entries: %w", err)
	}
	return out, nil
}
