package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"hotline/audit"
)

// MarkQueued records that the menu handed a call to a queue at at: the call counts as
// offered to agents in the reports, and its wait runs from at.
func (s *Store) MarkQueued(ctx context.Context, id CallID, queue string, at time.Time) error {
	if queue == "" || at.IsZero() {
		return fmt.Errorf("mark call %d queued: queue %q or time is empty", id, queue)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE calls SET queue = $2, queued_at = $3 WHERE id = $1 AND queued_at IS NULL`, id, queue, at)
	if err != nil {
		return fmt.Errorf("mark call %d queued in %s: %w", id, queue, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mark call %d queued in %s: %w (or already queued)", id, queue, ErrNotFound)
	}
	return nil
}

// MarkAgentAnswered records when an agent answered a queued call (the first answer only).
func (s *Store) MarkAgentAnswered(ctx context.Context, id CallID, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE calls SET agent_answered_at = $2
		WHERE id = $1 AND agent_answered_at IS NULL AND queued_at IS NOT NULL`, id, at)
	if err != nil {
		return fmt.Errorf("mark call %d answered by an agent: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mark call %d answered by an agent: %w (not queued, or already answered)", id, ErrNotFound)
	}
	return nil
}

// Satisfaction is the result of a callback survey (回访) after a case was closed.
type Satisfaction string

// Survey results. Unreachable is an attempt that reached nobody.
const (
	VerySatisfied Satisfaction = "very_satisfied"
	Satisfied     Satisfaction = "satisfied"
	Neutral       Satisfaction = "neutral"
	Dissatisfied  Satisfaction = "dissatisfied"
	Unreachable   Satisfaction = "unreachable"
)

// Satisfactions lists the survey results.
var Satisfactions = []Satisfaction{VerySatisfied, Satisfied, Neutral, Dissatisfied, Unreachable}

// Survey is one callback survey of a case.
type Survey struct {
	Number Number
	CallID *CallID
	At     time.Time
	Result Satisfaction
	Actor  string // the agent's login
	Note   string
}

// MaxSurveyNoteLen bounds a survey's note, in characters.
const MaxSurveyNoteLen = 1000

// EventCallbackSurvey is the trail entry of a callback survey; its detail carries the result.
const EventCallbackSurvey = EventCalledBack

// TaskSurvey is the reason of the second callback a dissatisfied survey asks for.
const TaskSurvey TaskReason = "survey"

// CaseSurveyed is the audit action of a recorded survey.
const CaseSurveyed audit.Action = "case.surveyed"

// SurveyID is a callback survey's database id.
type SurveyID int64

// SurveyOutcome is what recording a survey did.
type SurveyOutcome struct {
	Survey SurveyID `json:"survey"`
	// Reopened: the result was dissatisfied and the case is open again.
	Reopened bool `json:"reopened"`
	// Task is the second callback asked for (0: none).
	Task TaskID `json:"task,omitempty"`
	// NoTask says why a reopened case got no second callback task (no caller number).
	NoTask string `json:"no_task,omitempty"`
}

func (v Survey) check() error {
	switch {
	case !slices.Contains(Satisfactions, v.Result):
		return fmt.Errorf("survey of case %s: result %q is not one of %v", v.Number, v.Result, Satisfactions)
	case strings.TrimSpace(v.Actor) == "":
		return fmt.Errorf("survey of case %s: the actor is empty", v.Number)
	case v.At.IsZero():
		return fmt.Errorf("survey of case %s: the time is zero", v.Number)
	case !utf8.ValidString(v.Note):
		return fmt.Errorf("survey of case %s: the note is not valid text", v.Number)
	case utf8.RuneCountInString(v.Note) > MaxSurveyNoteLen:
		return fmt.Errorf("survey of case %s: the note is longer than %d characters", v.Number, MaxSurveyNoteLen)
	}
	return nil
}

// RecordSurvey stores a callback survey of a closed case, its called_back trail entry and
// its audit record (CaseSurveyed; never the note) in one transaction, and nothing else: a
// dissatisfied result does not reopen the case (RecordSurveyOutcome does). Only a closed
// case is surveyed (ErrNotFound for none, a *StatusError 409 for one that is not closed);
// a store without an audit log records none (ErrNoAudit).
func (s *Store) RecordSurvey(ctx context.Context, v Survey) error {
	_, err := s.recordSurvey(ctx, v, false)
	return err
}

// RecordSurveyOutcome stores a callback survey of a closed case as RecordSurvey does and
// carries out what the result asks for (12315 practice): a dissatisfied result reopens the
// case (status reopened, a reopened trail entry, which clears closed_at) and opens a second
// callback task (reason survey) to the case's caller number, in the language, queue and
// skills of the case's latest callback task. All of it, and the audit record (with the
// survey, reopened and task), commits together or not at all.
func (s *Store) RecordSurveyOutcome(ctx context.Context, v Survey) (SurveyOutcome, error) {
	return s.recordSurvey(ctx, v, true)
}

func (s *Store) recordSurvey(ctx context.Context, v Survey, followUp bool) (SurveyOutcome, error) {
	if err := v.check(); err != nil {
		return SurveyOutcome{}, err
	}
	if s.audit == nil {
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, ErrNoAudit)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	var (
		id       CaseID
		status   Status
		closedAt *time.Time
		caller   Phone
	)
	err = tx.QueryRow(ctx, `SELECT id, status, closed_at, caller_number FROM cases WHERE number = $1 FOR UPDATE`, v.Number).
		Scan(&id, &status, &closedAt, &caller)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, ErrNotFound)
	case err != nil:
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, classify(err))
	case status != StatusClosed:
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, &StatusError{
			msg: fmt.Sprintf("the case is %s: only a closed case is surveyed", status), status: http.StatusConflict})
	case closedAt != nil && v.At.Before(*closedAt):
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, &StatusError{
			msg:    fmt.Sprintf("the survey time %s is before the case was closed (%s)", v.At.Format(time.RFC3339), closedAt.Format(time.RFC3339)),
			status: http.StatusBadRequest})
	}
	var out SurveyOutcome
	detail, _ := json.Marshal(map[string]any{"survey": v.Result})
	err = tx.QueryRow(ctx, `WITH sv AS (INSERT INTO callback_surveys (case_id, call_id, at, result, actor, note)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, case_id),
		e AS (INSERT INTO case_events (case_id, call_id, at, kind, actor, detail) SELECT case_id, $2, $3, $7, $5, $8 FROM sv)
		SELECT id FROM sv`,
		id, v.CallID, v.At, v.Result, v.Actor, v.Note, EventCallbackSurvey, detail).Scan(&out.Survey)
	if err != nil {
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, classify(err))
	}
	if followUp && v.Result == Dissatisfied {
		if err := reopenForSurvey(ctx, tx, id, caller, v, &out); err != nil {
			return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, err)
		}
	}
	audited := map[string]any{"result": v.Result, "survey": out.Survey, "reopened": out.Reopened}
	if out.Task != 0 {
		audited["task"] = out.Task
	}
	if err := s.appendAudit(ctx, tx, audit.Record{Actor: v.Actor, Action: CaseSurveyed,
		Target: audit.CaseTarget(string(v.Number)), Detail: audited}); err != nil {
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return SurveyOutcome{}, fmt.Errorf("survey of case %s: %w", v.Number, err)
	}
	return out, nil
}

// reopenForSurvey reopens case id after a dissatisfied survey and opens the second callback.
func reopenForSurvey(ctx context.Context, tx pgx.Tx, id CaseID, caller Phone, v Survey, out *SurveyOutcome) error {
	if caller == "" {
		out.NoTask = "the case has no caller number to call back"
	}
	rd := map[string]any{"reason": "dissatisfied callback survey", "survey_id": out.Survey}
	if out.NoTask != "" {
		rd["no_task"] = out.NoTask
	}
	reopened, _ := json.Marshal(rd)
	if _, err := tx.Exec(ctx, `WITH u AS (UPDATE cases SET status = $2, updated_at = greatest(updated_at, $3) WHERE id = $1 RETURNING id)
		INSERT INTO case_events (case_id, at, kind, actor, detail) SELECT id, $3, $4, $5, $6 FROM u`,
		id, StatusReopened, v.At, EventReopened, v.Actor, reopened); err != nil {
		return fmt.Errorf("reopen: %w", classify(err))
	}
	out.Reopened = true
	if caller == "" {
		return nil
	}
	// The second callback speaks the caller's language and goes to the queue of the case's
	// latest callback task, if it had one.
	taskDetail, _ := json.Marshal(map[string]any{"reason": TaskSurvey, "survey_id": out.Survey})
	err := tx.QueryRow(ctx, `WITH prev AS (SELECT language, queue, skills FROM callback_tasks WHERE case_id = $1 ORDER BY id DESC LIMIT 1),
		t AS (INSERT INTO callback_tasks (case_id, reason, caller_number, language, queue, skills, priority, enqueued_at)
			SELECT $1, $2, $3, coalesce((SELECT language FROM prev), 'zh'), coalesce((SELECT queue FROM prev), ''),
				coalesce((SELECT skills FROM prev), '{}'::jsonb), 'callback', $4
			RETURNING id, case_id),
		e AS (INSERT INTO case_events (case_id, at, kind, actor, detail) SELECT case_id, $4, 'callback_task_created', $5, $6 || jsonb_build_object('task', id) FROM t)
		SELECT id FROM t`,
		id, TaskSurvey, caller, v.At, v.Actor, taskDetail).Scan(&out.Task)
	if err != nil {
		return fmt.Errorf("second callback task: %w", classify(err))
	}
	return nil
}
