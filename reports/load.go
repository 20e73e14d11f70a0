package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline/cases"
)

// Querier runs a query: a *pgxpool.Pool, a pgx.Tx or a *pgx.Conn.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// casesSQL reads every case that can count in the period [$1, $2) as of $3: received in
// the period, closed in the period, or overdue and open at AsOf.
const casesSQL = `SELECT number, kind, channel, goods_service_class, region_code, handling_office,
		received_at, due_at, closed_at, coalesce((loss_recovered * 100)::bigint, 0)
	FROM cases
	WHERE (received_at >= $1 AND received_at < $2)
		OR (closed_at >= $1 AND closed_at < $2)
		OR (kind <> 'invalid' AND received_at < $3 AND due_at <= $3 AND (closed_at IS NULL OR closed_at >= $3))
	ORDER BY received_at, id`

// callsSQL reads the inbound calls started in the period. The agent's answer is the call's
// agent_answered_at or, for calls whose answer was not written there, the first
// agent_connected entry of the case's trail for that channel (callflow writes it when the
// caller and the agent are bridged).
const callsSQL = `SELECT k.queue, k.started_at, k.queued_at,
		CASE WHEN k.queued_at IS NULL THEN NULL ELSE coalesce(k.agent_answered_at, (SELECT min(e.at) FROM case_events e
			WHERE e.case_id = k.case_id AND e.kind = 'agent_connected' AND e.detail->>'channel_id' = k.channel_id
				AND e.at >= k.queued_at)) END,
		k.outcome
	FROM calls k
	WHERE k.direction = 'inbound' AND k.started_at >= $1 AND k.started_at < $2
	ORDER BY k.started_at, k.id`

const surveysSQL = `SELECT at, result FROM callback_surveys WHERE at >= $1 AND at < $2 ORDER BY at, id`

// Load reads the rows of period p as of asOf.
func Load(ctx context.Context, q Querier, p Period, asOf time.Time) (Rows, error) {
	if asOf.After(p.End) {
		asOf = p.End
	}
	var out Rows
	rows, err := q.Query(ctx, casesSQL, p.Start, p.End, asOf)
	if err != nil {
		return Rows{}, fmt.Errorf("report %s %s: cases: %w", p.Kind, p.Label, err)
	}
	out.Cases, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseRow, error) {
		var c CaseRow
		err := r.Scan(&c.Number, &c.Kind, &c.Channel, &c.Class, &c.Region, &c.Office, &c.ReceivedAt, &c.DueAt, &c.ClosedAt, &c.LossRecoveredFen)
		return c, err
	})
	if err != nil {
		return Rows{}, fmt.Errorf("report %s %s: cases: %w", p.Kind, p.Label, err)
	}
	rows, err = q.Query(ctx, callsSQL, p.Start, p.End)
	if err != nil {
		return Rows{}, fmt.Errorf("report %s %s: calls: %w", p.Kind, p.Label, err)
	}
	out.Calls, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CallRow, error) {
		var k CallRow
		err := r.Scan(&k.Queue, &k.StartedAt, &k.QueuedAt, &k.AgentAnsweredAt, &k.Outcome)
		return k, err
	})
	if err != nil {
		return Rows{}, fmt.Errorf("report %s %s: calls: %w", p.Kind, p.Label, err)
	}
	rows, err = q.Query(ctx, surveysSQL, p.Start, p.End)
	if err != nil {
		return Rows{}, fmt.Errorf("report %s %s: surveys: %w", p.Kind, p.Label, err)
	}
	out.Surveys, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SurveyRow, error) {
		var s SurveyRow
		var res string
		err := r.Scan(&s.At, &res)
		s.Result = cases.Satisfaction(res)
		return s, err
	})
	if err != nil {
		return Rows{}, fmt.Errorf("report %s %s: surveys: %w", p.Kind, p.Label, err)
	}
	return out, nil
}

// Make loads and computes the report of p as of now.
func Make(ctx context.Context, q Querier, p Period, now time.Time, opt Options) (Report, error) {
	rows, err := Load(ctx, q, p, now)
	if err != nil {
		return Report{}, err
	}
	return Compute(p, now, rows, opt), nil
}
