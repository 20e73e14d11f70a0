package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Working a callback task. A task is open until an agent claims it (status offered: one
// agent at a time, whatever the number of controllers), then done (reached, wrong number,
// or given up after too many attempts) or open again (not answered: the attempt is on the
// trail, the next one comes later by policy; or released untried). The attempts are counted
// from the case's trail (callback_attempt entries naming the task), which the schema keeps
// append-only: no column can disagree with it.

// Trail entries of callback tasks.
const (
	EventCallbackClaimed  EventKind = "callback_claimed"  // an agent took the task
	EventCallbackReleased EventKind = "callback_released" // given back untried
	EventCallbackAttempt  EventKind = "callback_attempt"  // dialled, not reached
	EventCallbackGivenUp  EventKind = "callback_given_up" // too many attempts
	// EventCallbackClaimExpired: the claim's lease ran out (its controller stopped renewing
	// it, e.g. it crashed): the task is open again, no attempt counted.
	EventCallbackClaimExpired EventKind = "callback_claim_expired"
)

// ClaimLease is how long a claim on a callback task holds without being renewed. The
// controller running the callback renews it well within that (RenewCallbackClaim); a claim
// left to run out is given back by ReleaseExpiredClaims.
const ClaimLease = 2 * time.Minute

// TaskOutcome is how a callback attempt ended.
type TaskOutcome string

// Callback outcomes.
const (
	OutcomeReached     TaskOutcome = "reached"      // the caller answered and talked to the agent
	OutcomeWrongNumber TaskOutcome = "wrong_number" // someone else answered: no retry
	OutcomeNoAnswer    TaskOutcome = "no_answer"    // no answer, busy or unreachable: retry later
)

// ErrTaskTaken refuses a claim of a task that is not open: another agent holds it, or it
// is done. It answers HTTP 409.
var ErrTaskTaken = &StatusError{msg: "the callback task is taken or done", status: http.StatusConflict}

// ClaimedTask is a task an agent holds, with what calling back needs.
type ClaimedTask struct {
	Task       CallbackTask
	CaseNumber Number
	Agent      string
	// Attempts is how many earlier attempts did not reach the caller.
	Attempts int
}

// TaskAttempts is an open task with its unsuccessful attempts so far.
type TaskAttempts struct {
	Task       CallbackTask
	CaseNumber Number
	Attempts   int
	// LastAttempt is when the last unsuccessful attempt ended; nil before any.
	LastAttempt *time.Time
	// Channel is the channel id of the task's call, "" when it has none.
	Channel string
}

// taskDetail is the detail of the task entries of the trail.
type taskDetail struct {
	Task    TaskID      `json:"task"`
	Agent   string      `json:"agent,omitempty"`
	Outcome TaskOutcome `json:"outcome,omitempty"`
	Reason  string      `json:"reason,omitempty"`
	Attempt int         `json:"attempt,omitempty"`
}

// attemptsSQL counts a task's unsuccessful attempts (t is the task row).
const attemptsSQL = `(SELECT count(*) FROM case_events e WHERE e.case_id = t.case_id AND e.kind = 'callback_attempt'
	AND (e.detail->>'task')::bigint = t.id)`

const claimedCols = `t.id, t.case_id, t.call_id, t.reason, t.caller_number, t.language, t.queue, t.skills, t.priority,
	t.enqueued_at, t.due_at, t.status`

func scanTask(t *CallbackTask, dest ...any) []any {
	return append([]any{&t.ID, &t.CaseID, &t.CallID, &t.Reason, &t.CallerNumber, &t.Language, &t.Queue, (*[]byte)(&t.Skills),
		&t.Priority, &t.EnqueuedAt, &t.DueAt, &t.Status}, dest...)
}

// ClaimCallbackTask gives the open task id to agent, atomically: of two agents claiming at
// once exactly one gets it; the other gets ErrTaskTaken. A callback_claimed entry goes on
// the trail. ErrNotFound when there is no such task.
func (s *Store) ClaimCallbackTask(ctx context.Context, id TaskID, agent string, at time.Time) (ClaimedTask, error) {
	return s.claim(ctx, `t.id = $1`, id, agent, at, fmt.Sprintf("task %d", id))
}

// ClaimCallbackAttempt claims the open task id for its attempt number attempt (0 for the
// first): a distributor item made for an earlier attempt is stale and gets ErrTaskTaken,
// so that a task is not dialled again before its retry time.
func (s *Store) ClaimCallbackAttempt(ctx context.Context, id TaskID, attempt int, agent string, at time.Time) (ClaimedTask, error) {
	return s.claim(ctx, `t.id = $1 AND `+attemptsSQL+` = `+fmt.Sprint(attempt), id, agent, at, fmt.Sprintf("task %d attempt %d", id, attempt+1))
}

// ClaimCallbackTaskOfCall claims, for its first attempt, the open task made from the call on
// channel channelID (a caller who asked to be called back while waiting keeps their place
// with that call's id).
func (s *Store) ClaimCallbackTaskOfCall(ctx context.Context, channelID, agent string, at time.Time) (ClaimedTask, error) {
	return s.claim(ctx, `t.call_id = (SELECT id FROM calls WHERE channel_id = $1) AND `+attemptsSQL+` = 0`, channelID, agent, at,
		"task of call "+channelID)
}

func (s *Store) claim(ctx context.Context, where string, key any, agent string, at time.Time, what string) (ClaimedTask, error) {
	if agent == "" {
		return ClaimedTask{}, fmt.Errorf("claim callback %s: no agent", what)
	}
	detail := taskDetail{Agent: agent}
	raw, _ := json.Marshal(detail)
	var c ClaimedTask
	err := s.pool.QueryRow(ctx, `WITH t AS (UPDATE callback_tasks SET status = 'offered', lease_until = $2::timestamptz + $5::interval
			WHERE id = (SELECT t.id FROM callback_tasks t WHERE `+where+` AND t.status = 'open' ORDER BY t.id LIMIT 1 FOR UPDATE SKIP LOCKED)
			AND status = 'open' RETURNING *),
		e AS (INSERT INTO case_events (case_id, call_id, at, kind, actor, detail)
			SELECT case_id, NULL, $2, 'callback_claimed', $3, $4::jsonb || jsonb_build_object('task', id) FROM t)
		SELECT `+claimedCols+`, c.number, `+attemptsSQL+` FROM t JOIN cases c ON c.id = t.case_id`,
		key, orNow(at), agent, raw, ClaimLease).Scan(scanTask(&c.Task, &c.CaseNumber, &c.Attempts)...)
	if errors.Is(err, pgx.ErrNoRows) {
		var status string
		err := s.pool.QueryRow(ctx, `SELECT t.status FROM callback_tasks t WHERE `+strings.SplitN(where, " AND ", 2)[0]+` ORDER BY t.id DESC LIMIT 1`, key).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return ClaimedTask{}, fmt.Errorf("claim callback %s: %w", what, ErrNotFound)
		}
		if err != nil {
			return ClaimedTask{}, fmt.Errorf("claim callback %s: %w", what, err)
		}
		return ClaimedTask{}, fmt.Errorf("claim callback %s for %s (it is %s): %w", what, agent, status, ErrTaskTaken)
	}
	if err != nil {
		return ClaimedTask{}, fmt.Errorf("claim callback %s for %s: %w", what, agent, classify(err))
	}
	c.Task.Status = "offered"
	c.Agent = agent
	return c, nil
}

// RenewCallbackClaim extends agent's claim on task id to ClaimLease from at. ErrTaskTaken
// when the task is no longer claimed by agent (its lease ran out and it was given back).
func (s *Store) RenewCallbackClaim(ctx context.Context, id TaskID, agent string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE callback_tasks t SET lease_until = $2::timestamptz + $3::interval
		WHERE t.id = $1 AND t.status = 'offered'
			AND (SELECT e.actor FROM case_events e WHERE e.case_id = t.case_id AND e.kind = 'callback_claimed'
				AND (e.detail->>'task')::bigint = t.id ORDER BY e.id DESC LIMIT 1) = $4`,
		id, orNow(at), ClaimLease, agent)
	if err != nil {
		return fmt.Errorf("renew claim on callback task %d: %w", id, classify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("renew claim on callback task %d for %s: %w", id, agent, ErrTaskTaken)
	}
	return nil
}

// ReleaseExpiredClaims gives back, open and untried, every claimed task whose lease ran out
// before at, each with a callback_claim_expired entry naming the agent who held it, and
// returns them.
func (s *Store) ReleaseExpiredClaims(ctx context.Context, at time.Time) ([]TaskID, error) {
	rows, err := s.pool.Query(ctx, `WITH t AS (UPDATE callback_tasks SET status = 'open', lease_until = NULL
			WHERE status = 'offered' AND lease_until < $1 RETURNING id, case_id),
		e AS (INSERT INTO case_events (case_id, at, kind, actor, detail)
			SELECT t.case_id, $1, 'callback_claim_expired', coalesce(h.actor, ''), jsonb_build_object('task', t.id, 'agent', coalesce(h.actor, ''))
			FROM t LEFT JOIN LATERAL (SELECT e.actor FROM case_events e WHERE e.case_id = t.case_id AND e.kind = 'callback_claimed'
				AND (e.detail->>'task')::bigint = t.id ORDER BY e.id DESC LIMIT 1) h ON true)
		SELECT id FROM t ORDER BY id`, orNow(at))
	if err != nil {
		return nil, fmt.Errorf("release expired callback claims: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[TaskID])
	if err != nil {
		return nil, fmt.Errorf("release expired callback claims: %w", err)
	}
	return ids, nil
}

// ReleaseCallbackTask gives a claimed task back untried (the agent turned the offer down,
// the agent's line failed): it is open again, no attempt counted.
func (s *Store) ReleaseCallbackTask(ctx context.Context, id TaskID, agent, reason string, at time.Time) error {
	return s.moveTask(ctx, id, "open", EventCallbackReleased, taskDetail{Task: id, Agent: agent, Reason: reason}, nil, at)
}

// CloseCallbackTask ends a claimed task: the caller was reached (or the number was wrong).
// The called_back entry names the outcome and the call of the attempt.
func (s *Store) CloseCallbackTask(ctx context.Context, id TaskID, outcome TaskOutcome, agent string, call *CallID, at time.Time) error {
	if outcome != OutcomeReached && outcome != OutcomeWrongNumber {
		return fmt.Errorf("close callback task %d: outcome %q is not %s or %s", id, outcome, OutcomeReached, OutcomeWrongNumber)
	}
	return s.moveTask(ctx, id, "done", EventCalledBack, taskDetail{Task: id, Agent: agent, Outcome: outcome}, call, at)
}

// RetryCallbackTask records an attempt that did not reach the caller (reason: NOANSWER,
// BUSY, ...). The task is open again for a later attempt, or done (given up) when this was
// attempt maxAttempts. It returns the number of unsuccessful attempts now on the trail.
func (s *Store) RetryCallbackTask(ctx context.Context, id TaskID, agent, reason string, call *CallID, maxAttempts int, at time.Time) (int, bool, error) {
	if maxAttempts <= 0 {
		return 0, false, fmt.Errorf("retry callback task %d: maximum attempts %d is not positive", id, maxAttempts)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("retry callback task %d: %w", id, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var caseID CaseID
	var n int
	err = tx.QueryRow(ctx, `SELECT t.case_id, `+attemptsSQL+` FROM callback_tasks t WHERE t.id = $1 AND t.status = 'offered' FOR UPDATE`,
		id).Scan(&caseID, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("retry callback task %d: not claimed: %w", id, ErrTaskTaken)
	}
	if err != nil {
		return 0, false, fmt.Errorf("retry callback task %d: %w", id, err)
	}
	n++
	raw, _ := json.Marshal(taskDetail{Task: id, Agent: agent, Outcome: OutcomeNoAnswer, Reason: reason, Attempt: n})
	if _, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, call_id, at, kind, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		caseID, call, orNow(at), EventCallbackAttempt, agent, raw); err != nil {
		return 0, false, fmt.Errorf("retry callback task %d: trail: %w", id, classify(err))
	}
	gaveUp := n >= maxAttempts
	if gaveUp {
		raw, _ := json.Marshal(taskDetail{Task: id, Attempt: n})
		if _, err := tx.Exec(ctx, `WITH t AS (UPDATE callback_tasks SET status = 'done', done_at = $2 WHERE id = $1 RETURNING case_id)
			INSERT INTO case_events (case_id, at, kind, actor, detail) SELECT case_id, $2, $3, $4, $5 FROM t`,
			id, orNow(at), EventCallbackGivenUp, agent, raw); err != nil {
			return 0, false, fmt.Errorf("retry callback task %d: give up: %w", id, err)
		}
	} else if _, err := tx.Exec(ctx, `UPDATE callback_tasks SET status = 'open' WHERE id = $1`, id); err != nil {
		return 0, false, fmt.Errorf("retry callback task %d: reopen: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, fmt.Errorf("retry callback task %d: %w", id, err)
	}
	return n, gaveUp, nil
}

// moveTask moves a claimed (offered) task to status with a trail entry, in one statement.
func (s *Store) moveTask(ctx context.Context, id TaskID, status string, kind EventKind, d taskDetail, call *CallID, at time.Time) error {
	raw, _ := json.Marshal(d)
	doneAt := any(nil)
	if status == "done" {
		doneAt = orNow(at)
	}
	tag, err := s.pool.Exec(ctx, `WITH t AS (UPDATE callback_tasks SET status = $2, done_at = $3 WHERE id = $1 AND status = 'offered'
			RETURNING case_id)
		INSERT INTO case_events (case_id, call_id, at, kind, actor, detail) SELECT case_id, $4, $5, $6, $7, $8 FROM t`,
		id, status, doneAt, call, orNow(at), kind, d.Agent, raw)
	if err != nil {
		return fmt.Errorf("callback task %d to %s: %w", id, status, classify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("callback task %d to %s: not claimed: %w", id, status, ErrTaskTaken)
	}
	return nil
}

// OpenTaskAttempts lists open tasks, oldest place first, with their unsuccessful attempts:
// what a scheduler needs to decide which are due.
func (s *Store) OpenTaskAttempts(ctx context.Context, limit int) ([]TaskAttempts, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+claimedCols+`, c.number, a.n, a.last, coalesce(k.channel_id, '')
		FROM callback_tasks t JOIN cases c ON c.id = t.case_id LEFT JOIN calls k ON k.id = t.call_id,
		LATERAL (SELECT count(*) AS n, max(e.at) AS last FROM case_events e WHERE e.case_id = t.case_id AND e.kind = 'callback_attempt'
			AND (e.detail->>'task')::bigint = t.id) a
		WHERE t.status = 'open' ORDER BY t.enqueued_at, t.id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("open callback tasks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskAttempts, error) {
		var a TaskAttempts
		err := r.Scan(scanTask(&a.Task, &a.CaseNumber, &a.Attempts, &a.LastAttempt, &a.Channel)...)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("open callback tasks: %w", err)
	}
	return out, nil
}

// CallbackTask reads one task.
func (s *Store) CallbackTask(ctx context.Context, id TaskID) (CallbackTask, error) {
	ts, err := s.tasks(ctx, `id = $1`, id)
	if err != nil {
		return CallbackTask{}, fmt.Errorf("callback task %d: %w", id, err)
	}
	if len(ts) == 0 {
		return CallbackTask{}, fmt.Errorf("callback task %d: %w", id, ErrNotFound)
	}
	return ts[0], nil
}
