package agentdesk_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/agentdesk"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
)

// flakyAuditor is the case store's audit log; while fail is set it writes the record
// through the change's transaction and then fails, as an audit log that breaks mid-write.
type flakyAuditor struct {
	log  *audit.Log
	fail atomic.Bool
}

func (a *flakyAuditor) AppendWith(ctx context.Context, q audit.Querier, rec audit.Record) (audit.Entry, error) {
	e, err := a.log.AppendWith(ctx, q, rec)
	if err == nil && a.fail.Load() {
		return audit.Entry{}, errors.New("audit log unavailable")
	}
	return e, err
}

// TestCaseChangesRollBackWithTheirAudit: the case form save and the survey write their audit
// record in the transaction of the change. When the audit write fails the answer is a 500
// saying what was not done and nothing of the change is left; when it works the record is
// there, written by the change's transaction.
func TestCaseChangesRollBackWithTheirAudit(t *testing.T) {
	aud := &flakyAuditor{}
	e := newEnv(t, envOptions{config: func(c *agentdesk.Config) {
		aud.log = c.Audit.(*audit.Log)
		c.Cases = c.Cases.(*cases.Store).WithAudit(aud)
	}})
	ctx := context.Background()
	sam := e.signIn("sam")
	open := e.newCase(cases.KindConsult, "13800000021", "", time.Now())
	closed := e.closedCase("13800000022")

	for _, tc := range []struct {
		name   string
		number cases.Number
		method string
		path   string
		body   any
		failed string // the 500's message
		code   int
		action audit.Action
		// changedXmin is the transaction id of the row the change wrote.
		changedXmin string
	}{
		{"case form", open.Number, "PUT", "/api/cases/" + string(open.Number), completeComplaint(), "could not save the case", 200,
			audit.CaseChanged, `SELECT xmin::text FROM cases WHERE number = $1`},
		{"dissatisfied survey", closed.Number, "POST", "/api/cases/" + string(closed.Number) + "/survey",
			map[string]any{"result": "dissatisfied", "note": "未退款"}, "could not record the survey", 201,
			agentdesk.CaseSurveyed, `SELECT v.xmin::text FROM callback_surveys v JOIN cases c ON c.id = v.case_id WHERE c.number = $1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := casestest.CaseState(e.t, e.pool, tc.number)
			aud.fail.Store(true)
			code, body := e.do(&sam, tc.method, tc.path, tc.body, true)
			if code != 500 || !strings.Contains(string(body), tc.failed) {
				t.Errorf("with the audit failing: %d %s, want 500 %q", code, body, tc.failed)
			}
			if after := casestest.CaseState(e.t, e.pool, tc.number); after != before {
				t.Errorf("the audit failed, yet the change stayed:\n before %s\n after  %s", before, after)
			}

			aud.fail.Store(false)
			if code, body := e.do(&sam, tc.method, tc.path, tc.body, true); code != tc.code {
				t.Fatalf("with the audit working: %d %s, want %d", code, body, tc.code)
			}
			got := e.auditOf(tc.action, audit.CaseTarget(string(tc.number)))
			if len(got) != 1 || got[0].Actor != "sam" {
				t.Fatalf("audit records %+v, want one by sam", got)
			}
			var changed, audited string
			if err := e.pool.QueryRow(ctx, tc.changedXmin, tc.number).Scan(&changed); err != nil {
				t.Fatal(err)
			}
			if err := e.pool.QueryRow(ctx, `SELECT xmin::text FROM audit_log WHERE id = $1`, got[0].ID).Scan(&audited); err != nil {
				t.Fatal(err)
			}
			if changed != audited {
				t.Errorf("the change was written by transaction %s, its audit record by %s", changed, audited)
			}
		})
	}
}
