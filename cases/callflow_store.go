package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecordingID is a stored recording's database id.
type RecordingID int64

// Recording is an audio file attached to a case: a voicemail or a call recording.
type Recording struct {
	ID         RecordingID `json:"id"`
	CaseID     CaseID      `json:"case_id"`
	CallID     *CallID     `json:"call_id,omitempty"`
	Name       string      `json:"name"`
	Path       string      `json:"-"`
	Format     string      `json:"format"`
	SHA256     string      `json:"sha256"`
	SizeBytes  int64       `json:"size_bytes"`
	DurationMS int         `json:"duration_ms"`
	CreatedAt  time.Time   `json:"created_at"`
}

// TaskID is a callback task's database id.
type TaskID int64

// TaskReason says why a caller is to be called back.
type TaskReason string

// Callback reasons.
const (
	TaskVoicemail TaskReason = "voicemail"
	TaskAbandoned TaskReason = "abandoned"
	TaskRequested TaskReason = "requested"
	TaskMissed    TaskReason = "missed"
)

// CallbackTask is work for an agent: call a caller back about a case.
type CallbackTask struct {
	ID           TaskID          `json:"id"`
	CaseID       CaseID          `json:"case_id"`
	CallID       *CallID         `json:"call_id,omitempty"`
	Reason       TaskReason      `json:"reason"`
	CallerNumber Phone           `json:"caller_number"`
	Language     string          `json:"language"`
	Queue        string          `json:"queue"`
	Skills       json.RawMessage `json:"skills"`
	Priority     string          `json:"priority"`
	EnqueuedAt   time.Time       `json:"enqueued_at"`
	DueAt        *time.Time      `json:"due_at,omitempty"`
	Status       string          `json:"status"`
}

// NewCallbackTask is what creating a callback task needs.
type NewCallbackTask struct {
	CaseID       CaseID
	CallID       *CallID
	Reason       TaskReason
	CallerNumber Phone
	Language     string
	Queue        string
	Skills       map[string]int
	Priority     string
	EnqueuedAt   time.Time
	DueAt        *time.Time
}

// Registration is what the call flow learned about a case by the end of the IVR: its kind,
// its status, and the due time of its first statutory step.
type Registration struct {
	Kind         Kind
	Status       Status
	DueAt        *time.Time
	DeadlineRule string
	Actor        string
	// Event is the trail entry to add (EventRegistered, EventClosed, ...), with Detail.
	Event  EventKind
	Detail any
	At     time.Time
}

// Register sets a case's kind, status and due time and adds the trail entry, in one
// statement.
func (s *Store) Register(ctx context.Context, id CaseID, r Registration) error {
	if !r.Kind.Valid() {
		return fmt.Errorf("register case %d: kind %q is not one of %v", id, r.Kind, Kinds)
	}
	detail, err := json.Marshal(orEmpty(r.Detail))
	if err != nil {
		return fmt.Errorf("register case %d: detail: %w", id, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("register case %d: %w", id, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	var office string
	err = tx.QueryRow(ctx, `WITH c AS (UPDATE cases SET kind = $2, status = $3, due_at = $4, deadline_rule = $5, updated_at = now()
			WHERE id = $1 RETURNING id, handling_office),
		e AS (INSERT INTO case_events (case_id, at, kind, actor, detail) SELECT id, $6, $7, $8, $9 FROM c)
		SELECT handling_office FROM c`,
		id, r.Kind, r.Status, r.DueAt, r.DeadlineRule, orNow(r.At), r.Event, r.Actor, detail).Scan(&office)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("register case %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("register case %d: %w", id, err)
	}
	// Registration hands the case over to the office with jurisdiction (once).
	if r.Event == EventRegistered && office == "" {
		if _, err := dispatch(ctx, tx, id, DispatchOnRegistration, r.Actor, orNow(r.At)); err != nil {
			return fmt.Errorf("register case %d: %w", id, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("register case %d: %w", id, err)
	}
	return nil
}

// MarkAnswered records when a call was answered by the hotline.
func (s *Store) MarkAnswered(ctx context.Context, id CallID, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE calls SET answered_at = $2 WHERE id = $1 AND answered_at IS NULL`, id, at); err != nil {
		return fmt.Errorf("mark call %d answered: %w", id, err)
	}
	return nil
}

// AddRecording attaches a stored audio file to a case and notes it on the trail.
func (s *Store) AddRecording(ctx context.Context, r Recording) (RecordingID, error) {
	var id RecordingID
	detail, _ := json.Marshal(map[string]any{"name": r.Name, "duration_ms": r.DurationMS, "sha256": r.SHA256})
	err := s.pool.QueryRow(ctx, `WITH r AS (INSERT INTO recordings (case_id, call_id, name, path, format, sha256, size_bytes, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, case_id, call_id),
		e AS (INSERT INTO case_events (case_id, call_id, kind, detail) SELECT case_id, call_id, 'recording_added', $9 FROM r)
		SELECT id FROM r`,
		r.CaseID, r.CallID, r.Name, r.Path, r.Format, r.SHA256, r.SizeBytes, r.DurationMS, detail).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add recording %s to case %d: %w", r.Name, r.CaseID, classify(err))
	}
	return id, nil
}

// CreateCallbackTask opens a callback task on a case and notes it on the trail.
func (s *Store) CreateCallbackTask(ctx context.Context, t NewCallbackTask) (TaskID, error) {
	skills := t.Skills
	if skills == nil {
		skills = map[string]int{}
	}
	sk, err := json.Marshal(skills)
	if err != nil {
		return 0, fmt.Errorf("create callback task on case %d: %w", t.CaseID, err)
	}
	if t.Priority == "" {
		t.Priority = "callback"
	}
	if t.Language == "" {
		t.Language = "zh"
	}
	detail, _ := json.Marshal(map[string]any{"reason": t.Reason})
	var id TaskID
	err = s.pool.QueryRow(ctx, `WITH t AS (INSERT INTO callback_tasks (case_id, call_id, reason, caller_number, language, queue, skills, priority, enqueued_at, due_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, case_id, call_id),
		e AS (INSERT INTO case_events (case_id, call_id, kind, detail) SELECT case_id, call_id, 'callback_task_created', $11 FROM t)
		SELECT id FROM t`,
		t.CaseID, t.CallID, t.Reason, t.CallerNumber, t.Language, t.Queue, sk, t.Priority, t.EnqueuedAt, t.DueAt, detail).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create callback task on case %d: %w", t.CaseID, classify(err))
	}
	return id, nil
}

// OpenCallbackTasks lists open tasks, oldest enqueue time first.
func (s *Store) OpenCallbackTasks(ctx context.Context, limit int) ([]CallbackTask, error) {
	return s.tasks(ctx, `status = 'open' ORDER BY enqueued_at, id LIMIT $1`, limit)
}

const taskCols = `id, case_id, call_id, reason, caller_number, language, queue, skills, priority, enqueued_at, due_at, status`

func (s *Store) tasks(ctx context.Context, where string, args ...any) ([]CallbackTask, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskCols+` FROM callback_tasks WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list callback tasks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CallbackTask, error) {
		var t CallbackTask
		var sk []byte
		err := r.Scan(&t.ID, &t.CaseID, &t.CallID, &t.Reason, &t.CallerNumber, &t.Language, &t.Queue, &sk, &t.Priority, &t.EnqueuedAt, &t.DueAt, &t.Status)
		t.Skills = sk
		return t, err
	})
}

func (s *Store) recordings(ctx context.Context, caseID CaseID) ([]Recording, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, case_id, call_id, name, path, format, sha256, size_bytes, duration_ms, created_at
		FROM recordings WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recording, error) {
		var x Recording
		err := r.Scan(&x.ID, &x.CaseID, &x.CallID, &x.Name, &x.Path, &x.Format, &x.SHA256, &x.SizeBytes, &x.DurationMS, &x.CreatedAt)
		return x, err
	})
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
