package cases_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
)

var errAuditDown = errors.New("audit log unavailable")

// failingAuditor writes the record through the change's transaction, as audit.Log does,
// and then fails: the record and the change must roll back together.
type failingAuditor struct{ log *audit.Log }

func (f failingAuditor) AppendWith(ctx context.Context, q audit.Querier, rec audit.Record) (audit.Entry, error) {
	if _, err := f.log.AppendWith(ctx, q, rec); err != nil {
		return audit.Entry{}, err
	}
	return audit.Entry{}, errAuditDown
}

// TestCaseChangesAreAuditedInTheirTransaction: a case form save and a callback survey write
// their audit record in the transaction of the change. Without an audit log, or when the
// audit write fails, nothing of the change is written; otherwise the record is there and
// was written by the same transaction (same xmin as the changed row).
func TestCaseChangesAreAuditedInTheirTransaction(t *testing.T) {
	s := casestest.NewStore(t)
	pool := s.Pool()
	ctx := context.Background()
	closed := time.Now().Add(-2 * time.Hour)

	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T) cases.Number
		change func(s *cases.Store, n cases.Number) error
		action audit.Action
		// changedXmin is the transaction id of the row the change wrote.
		changedXmin string
		detail      func(t *testing.T, d map[string]any)
	}{
		{
			name: "case form",
			setup: func(t *testing.T) cases.Number {
				c, err := s.CreateCase(ctx, cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone, ReceivedAt: time.Now(), CallerNumber: "13800000011"})
				if err != nil {
					t.Fatal(err)
				}
				return c.Number
			},
			change: func(s *cases.Store, n cases.Number) error {
				_, err := s.UpdateCaseForm(ctx, n, complaintForm(t), "alice")
				return err
			},
			action:      audit.CaseChanged,
			changedXmin: `SELECT xmin::text FROM cases WHERE number = $1`,
			detail: func(t *testing.T, d map[string]any) {
				fields, _ := d["fields"].([]any)
				if d["via"] != "case_form" || !slices.Contains(fields, any("respondent.name")) || !slices.Contains(fields, any("region_code")) {
					t.Errorf("audit detail %v", d)
				}
			},
		},
		{
			name: "dissatisfied survey: reopens the case with a second callback task",
			setup: func(t *testing.T) cases.Number {
				_, n := closedCase(t, s, "13900000011", closed)
				return n
			},
			change: func(s *cases.Store, n cases.Number) error {
				_, err := s.RecordSurveyOutcome(ctx, cases.Survey{Number: n, At: time.Now(), Result: cases.Dissatisfied, Actor: "bob", Note: "未退款"})
				return err
			},
			action:      cases.CaseSurveyed,
			changedXmin: `SELECT v.xmin::text FROM callback_surveys v JOIN cases c ON c.id = v.case_id WHERE c.number = $1`,
			detail: func(t *testing.T, d map[string]any) {
				if d["result"] != "dissatisfied" || d["reopened"] != true || d["task"] == nil || d["survey"] == nil || d["note"] != nil {
					t.Errorf("audit detail %v", d)
				}
			},
		},
		{
			name: "survey without follow-up",
			setup: func(t *testing.T) cases.Number {
				_, n := closedCase(t, s, "13900000012", closed)
				return n
			},
			change: func(s *cases.Store, n cases.Number) error {
				return s.RecordSurvey(ctx, cases.Survey{Number: n, At: time.Now(), Result: cases.Satisfied, Actor: "bob"})
			},
			action:      cases.CaseSurveyed,
			changedXmin: `SELECT v.xmin::text FROM callback_surveys v JOIN cases c ON c.id = v.case_id WHERE c.number = $1`,
			detail: func(t *testing.T, d map[string]any) {
				if d["result"] != "satisfied" || d["reopened"] != false || d["task"] != nil {
					t.Errorf("audit detail %v", d)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.setup(t)
			before := casestest.CaseState(t, pool, n)

			// No audit log: refused, nothing written.
			if err := tc.change(cases.NewStore(pool, "620000", shanghai), n); !errors.Is(err, cases.ErrNoAudit) {
				t.Errorf("without an audit log: %v, want ErrNoAudit", err)
			}
			if after := casestest.CaseState(t, pool, n); after != before {
				t.Errorf("refused without an audit log, yet written:\n before %s\n after  %s", before, after)
			}

			// The audit write fails: the change rolls back with it.
			if err := tc.change(s.WithAudit(failingAuditor{audit.New(pool)}), n); !errors.Is(err, errAuditDown) {
				t.Errorf("with a failing audit log: %v, want %v", err, errAuditDown)
			}
			if after := casestest.CaseState(t, pool, n); after != before {
				t.Errorf("the audit failed, yet the change stayed:\n before %s\n after  %s", before, after)
			}

			// Audited: one record, by the change's own transaction.
			if err := tc.change(s, n); err != nil {
				t.Fatal(err)
			}
			got, err := audit.New(pool).Find(ctx, audit.Query{Action: tc.action, Target: audit.CaseTarget(string(n))})
			if err != nil || len(got) != 1 {
				t.Fatalf("audit records %+v, %v; want 1", got, err)
			}
			tc.detail(t, got[0].Detail)
			var changed, audited string
			if err := pool.QueryRow(ctx, tc.changedXmin, n).Scan(&changed); err != nil {
				t.Fatal(err)
			}
			if err := pool.QueryRow(ctx, `SELECT xmin::text FROM audit_log WHERE id = $1`, got[0].ID).Scan(&audited); err != nil {
				t.Fatal(err)
			}
			if changed != audited {
				t.Errorf("the change was written by transaction %s, its audit record by %s", changed, audited)
			}
		})
	}
}
