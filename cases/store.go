package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
)

// ErrNotFound is returned when a case does not exist.
var ErrNotFound = errors.New("not found")

// ErrAppendOnly is returned when something tries to change a case's trail.
var ErrAppendOnly = errors.New("case events are append-only")

// Store keeps cases, calls and their trails in PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	region string
	loc    *time.Location
	// audit records the changes made by people (case form saves, callback surveys) in
	// their transaction; nil: the store refuses those changes (ErrNoAudit).
	audit CaseAuditor
}

// NewStore returns a store numbering cases with regionCode and dating them in loc. It
// saves case forms and surveys only once given an audit log (WithAudit).
func NewStore(pool *pgxpool.Pool, regionCode string, loc *time.Location) *Store {
	return &Store{pool: pool, region: regionCode, loc: loc}
}

// CaseAuditor writes an audit record inside the caller's transaction: (*audit.Log).
type CaseAuditor interface {
	AppendWith(ctx context.Context, q audit.Querier, rec audit.Record) (audit.Entry, error)
}

// ErrNoAudit is returned for a case form save or a survey on a store without an audit log:
// such a change is not made unaudited.
var ErrNoAudit = errors.New("the case store has no audit log (cases.Store.WithAudit)")

// WithAudit returns a store on the same database whose case form saves and callback
// surveys write their audit record through a, in the transaction that makes the change:
// the change and its record commit or roll back together.
func (s *Store) WithAudit(a CaseAuditor) *Store {
	c := *s
	c.audit = a
	return &c
}

// appendAudit writes rec through tx; ErrNoAudit when the store has no audit log.
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, rec audit.Record) error {
	if s.audit == nil {
		return ErrNoAudit
	}
	if _, err := s.audit.AppendWith(ctx, tx, rec); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// caseDay is the date a case number carries: the day of receipt in the centre's zone.
func (s *Store) caseDay(t time.Time) time.Time {
	y, m, d := t.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// numberSQL builds the case number from the region ($1) and day ($2) in the same statement
// that inserts the case, so that numbering costs no extra round trip.
const numberSQL = `$1 || '-' || to_char($2::date, 'YYYYMMDD') || '-' || lpad(next_case_serial($2::date)::text, 6, '0')`

const insertCaseSQL = `INSERT INTO cases (number, region_code, kind, channel, status, received_at, registered_by,
	caller_number, request, facts, anonymous, amount_involved, loss_recovered)
	VALUES (` + numberSQL + `, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::numeric, $13::numeric)`

func caseArgs(s *Store, n NewCase) []any {
	status := n.Status
	if status == "" {
		status = StatusDraft
	}
	return []any{s.region, s.caseDay(n.ReceivedAt), n.Kind, n.Channel, status, n.ReceivedAt, n.RegisteredBy,
		n.CallerNumber, n.Request, n.Facts, n.Anonymous, moneyArg(n.AmountInvolved), moneyArg(n.LossRecovered)}
}

func moneyArg(m *Money) any {
	if m == nil {
		return nil
	}
	return m.String()
}

// CreateCase registers a case and the first entry of its trail.
func (s *Store) CreateCase(ctx context.Context, n NewCase) (Case, error) {
	if err := n.check(); err != nil {
		return Case{}, fmt.Errorf("create case: %w", err)
	}
	args := caseArgs(s, n)
	args = append(args, EventRegistered, n.RegisteredBy)
	var id CaseID
	err := s.pool.QueryRow(ctx, `WITH c AS (`+insertCaseSQL+` RETURNING id, received_at),
		e AS (INSERT INTO case_events (case_id, at, kind, actor) SELECT id, received_at, $14, $15 FROM c)
		SELECT id FROM c`, args...).Scan(&id)
	if err != nil {
		return Case{}, fmt.Errorf("create case: %w", err)
	}
	return s.caseByID(ctx, s.pool, id)
}

// CreateCaseWithCall registers a case, opens its first call and writes both first trail
// entries in one statement: a call never exists without its case, and a failure leaves
// neither behind.
func (s *Store) CreateCaseWithCall(ctx context.Context, n NewCase, call NewCall) (CaseID, Number, CallID, error) {
	if err := n.check(); err != nil {
		return 0, "", 0, fmt.Errorf("create case with call %s: %w", call.ChannelID, err)
	}
	if err := call.check(); err != nil {
		return 0, "", 0, fmt.Errorf("create case with call %s: %w", call.ChannelID, err)
	}
	args := caseArgs(s, n)
	args = append(args, EventRegistered, n.RegisteredBy,
		call.ChannelID, call.Direction, call.CallerNumber, call.CalledNumber, call.StartedAt, EventCallStarted)
	var (
		caseID CaseID
		number Number
		callID CallID
	)
	err := s.pool.QueryRow(ctx, `WITH c AS (`+insertCaseSQL+` RETURNING id, number, received_at),
		k AS (INSERT INTO calls (case_id, channel_id, direction, caller_number, called_number, started_at)
			SELECT id, $16, $17, $18, $19, $20 FROM c RETURNING id, started_at),
		e AS (INSERT INTO case_events (case_id, call_id, at, kind, actor)
			SELECT c.id, NULL, c.received_at, $14, $15 FROM c
			UNION ALL SELECT c.id, k.id, k.started_at, $21, '' FROM c, k)
		SELECT c.id, c.number, k.id FROM c, k`, args...).Scan(&caseID, &number, &callID)
	if err != nil {
		return 0, "", 0, fmt.Errorf("create case with call %s: %w", call.ChannelID, err)
	}
	return caseID, number, callID, nil
}

func (c NewCall) check() error {
	if c.ChannelID == "" {
		return errors.New("call channel id is empty")
	}
	if c.Direction != Inbound && c.Direction != Outbound {
		return fmt.Errorf("call direction %q is not inbound or outbound", c.Direction)
	}
	if c.StartedAt.IsZero() {
		return errors.New("call start time is zero")
	}
	return nil
}

// OpenCall links a new call to an existing case.
func (s *Store) OpenCall(ctx context.Context, caseID CaseID, call NewCall) (Call, error) {
	if err := call.check(); err != nil {
		return Call{}, fmt.Errorf("open call %s on case %d: %w", call.ChannelID, caseID, err)
	}
	var id CallID
	err := s.pool.QueryRow(ctx, `WITH k AS (INSERT INTO calls (case_id, channel_id, direction, caller_number, called_number, started_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, case_id, started_at),
		e AS (INSERT INTO case_events (case_id, call_id, at, kind) SELECT case_id, id, started_at, $7 FROM k)
		SELECT id FROM k`,
		caseID, call.ChannelID, call.Direction, call.CallerNumber, call.CalledNumber, call.StartedAt, EventCallStarted).Scan(&id)
	if err != nil {
		return Call{}, fmt.Errorf("open call %s on case %d: %w", call.ChannelID, caseID, classify(err))
	}
	calls, err := s.calls(ctx, s.pool, `id = $1`, id)
	if err != nil || len(calls) != 1 {
		return Call{}, fmt.Errorf("open call %s on case %d: read back: %w", call.ChannelID, caseID, err)
	}
	return calls[0], nil
}

// EndCall records how a call ended and adds the matching trail entry.
func (s *Store) EndCall(ctx context.Context, callID CallID, endedAt time.Time, outcome string, ivrPath json.RawMessage) error {
	if ivrPath == nil {
		ivrPath = json.RawMessage("[]")
	}
	detail, _ := json.Marshal(map[string]string{"outcome": outcome})
	tag, err := s.pool.Exec(ctx, `WITH k AS (UPDATE calls SET ended_at = $2, outcome = $3, ivr_path = $4
			WHERE id = $1 AND ended_at IS NULL RETURNING id, case_id)
		INSERT INTO case_events (case_id, call_id, at, kind, detail) SELECT case_id, id, $2, $5, $6 FROM k`,
		callID, endedAt, outcome, ivrPath, EventCallEnded, detail)
	if err != nil {
		return fmt.Errorf("end call %d: %w", callID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("end call %d: %w (or already ended)", callID, ErrNotFound)
	}
	return nil
}

// AppendEvent adds an entry to a case's trail.
func (s *Store) AppendEvent(ctx context.Context, caseID CaseID, e NewEvent) (Event, error) {
	if e.Kind == "" {
		return Event{}, fmt.Errorf("append event to case %d: empty kind", caseID)
	}
	detail := []byte("{}")
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return Event{}, fmt.Errorf("append %s event to case %d: detail: %w", e.Kind, caseID, err)
		}
		detail = b
	}
	var at any
	if !e.At.IsZero() {
		at = e.At
	}
	row := s.pool.QueryRow(ctx, `INSERT INTO case_events (case_id, call_id, at, kind, actor, detail)
		VALUES ($1, $2, coalesce($3, now()), $4, $5, $6) RETURNING `+eventCols,
		caseID, e.CallID, at, e.Kind, e.Actor, detail)
	ev, err := scanEvent(row)
	if err != nil {
		return Event{}, fmt.Errorf("append %s event to case %d: %w", e.Kind, caseID, classify(err))
	}
	return ev, nil
}

// Get returns a case with its calls and trail.
func (s *Store) Get(ctx context.Context, id CaseID) (Detail, error) {
	c, err := s.caseByID(ctx, s.pool, id)
	if err != nil {
		return Detail{}, err
	}
	return s.detail(ctx, c)
}

// FindByNumber returns the case with that number, with its calls and trail.
func (s *Store) FindByNumber(ctx context.Context, number Number) (Detail, error) {
	cs, err := s.cases(ctx, s.pool, `number = $1`, 1, number)
	if err != nil {
		return Detail{}, fmt.Errorf("find case %s: %w", number, err)
	}
	if len(cs) == 0 {
		return Detail{}, fmt.Errorf("find case %s: %w", number, ErrNotFound)
	}
	return s.detail(ctx, cs[0])
}

// FindByCaller returns the newest cases of a caller number, newest first.
func (s *Store) FindByCaller(ctx context.Context, caller Phone, limit int) ([]Case, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	cs, err := s.cases(ctx, s.pool, `caller_number = $1 AND caller_number <> ''`, limit, caller)
	if err != nil {
		return nil, fmt.Errorf("find cases of caller %s: %w", caller.Masked(), err)
	}
	return cs, nil
}

func (s *Store) detail(ctx context.Context, c Case) (Detail, error) {
	calls, err := s.calls(ctx, s.pool, `case_id = $1`, c.ID)
	if err != nil {
		return Detail{}, fmt.Errorf("calls of case %s: %w", c.Number, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM case_events WHERE case_id = $1 ORDER BY id`, c.ID)
	if err != nil {
		return Detail{}, fmt.Errorf("trail of case %s: %w", c.Number, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) { return scanEvent(r) })
	if err != nil {
		return Detail{}, fmt.Errorf("trail of case %s: %w", c.Number, err)
	}
	recs, err := s.recordings(ctx, c.ID)
	if err != nil {
		return Detail{}, fmt.Errorf("recordings of case %s: %w", c.Number, err)
	}
	tasks, err := s.tasks(ctx, `case_id = $1 ORDER BY id`, c.ID)
	if err != nil {
		return Detail{}, fmt.Errorf("callback tasks of case %s: %w", c.Number, err)
	}
	return Detail{Case: c, Calls: calls, Events: events, Recordings: recs, Tasks: tasks}, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const caseCols = `id, number, kind, channel, status, received_at, region_code, handling_office, registered_by,
	caller_number, complainant_name, complainant_address, anonymous, respondent_name, respondent_address,
	respondent_credit_code, respondent_platform, request, facts, goods_service_class, violation_type,
	amount_involved::text, loss_recovered::text, harm_known_on, linked_case_id, due_at, deadline_rule, created_at, updated_at`

func (s *Store) caseByID(ctx context.Context, q querier, id CaseID) (Case, error) {
	cs, err := s.cases(ctx, q, `id = $1`, 1, id)
	if err != nil {
		return Case{}, fmt.Errorf("get case %d: %w", id, err)
	}
	if len(cs) == 0 {
		return Case{}, fmt.Errorf("get case %d: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

func (s *Store) cases(ctx context.Context, q querier, where string, limit int, args ...any) ([]Case, error) {
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT %s FROM cases WHERE %s ORDER BY received_at DESC, id DESC LIMIT %d`, caseCols, where, limit), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Case, error) {
		var (
			c           Case
			amount, rec *string
		)
		err := r.Scan(&c.ID, &c.Number, &c.Kind, &c.Channel, &c.Status, &c.ReceivedAt, &c.RegionCode, &c.HandlingOffice,
			&c.RegisteredBy, &c.CallerNumber, &c.Complainant.Name, &c.Complainant.Address, &c.Anonymous,
			&c.Respondent.Name, &c.Respondent.Address, &c.Respondent.CreditCode, &c.Respondent.Platform,
			&c.Request, &c.Facts, &c.GoodsOrService, &c.ViolationType, &amount, &rec, &c.HarmKnownOn,
			&c.LinkedCaseID, &c.DueAt, &c.DeadlineRule, &c.CreatedAt, &c.UpdatedAt)
		if err != nil {
			return c, err
		}
		if c.AmountInvolved, err = moneyPtr(amount); err != nil {
			return c, err
		}
		c.LossRecovered, err = moneyPtr(rec)
		return c, err
	})
}

func moneyPtr(s *string) (*Money, error) {
	if s == nil {
		return nil, nil
	}
	m, err := ParseMoney(*s)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

const callCols = `id, case_id, channel_id, direction, caller_number, called_number, started_at, answered_at, ended_at, outcome, ivr_path`

func (s *Store) calls(ctx context.Context, q querier, where string, args ...any) ([]Call, error) {
	rows, err := q.Query(ctx, `SELECT `+callCols+` FROM calls WHERE `+where+` ORDER BY started_at, id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Call, error) {
		var c Call
		var path []byte
		err := r.Scan(&c.ID, &c.CaseID, &c.ChannelID, &c.Direction, &c.CallerNumber, &c.CalledNumber,
			&c.StartedAt, &c.AnsweredAt, &c.EndedAt, &c.Outcome, &path)
		c.IVRPath = path
		return c, err
	})
}

const eventCols = `id, case_id, call_id, at, kind, actor, detail`

func scanEvent(r pgx.Row) (Event, error) {
	var e Event
	var detail []byte
	err := r.Scan(&e.ID, &e.CaseID, &e.CallID, &e.At, &e.Kind, &e.Actor, &detail)
	e.Detail = detail
	return e, err
}

// classify maps the database's refusals to the package's sentinel errors.
func classify(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %s", ErrNotFound, pg.Detail)
		case "42501": // insufficient_privilege, raised by the append-only trigger
			return fmt.Errorf("%w: %s", ErrAppendOnly, pg.Message)
		}
	}
	return err
}
