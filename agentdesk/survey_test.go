package agentdesk_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/agentdesk"
	"hotline/audit"
	"hotline/cases"
)

// closedCase makes a complaint of caller, registered and closed an hour ago.
func (e *env) closedCase(caller cases.Phone) cases.Case {
	e.t.Helper()
	at := time.Now().Add(-2 * time.Hour)
	c := e.newCase(cases.KindComplaint, caller, "退款", at)
	for _, r := range []cases.Registration{
		{Kind: cases.KindComplaint, Status: cases.StatusRegistered, Event: cases.EventRegistered, Actor: "ivr", At: at},
		{Kind: cases.KindComplaint, Status: cases.StatusClosed, Event: cases.EventClosed, Actor: "alice", At: at.Add(time.Hour)},
	} {
		if err := e.cases.Register(context.Background(), c.ID, r); err != nil {
			e.t.Fatal(err)
		}
	}
	return c
}

func TestSurvey(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	alice, sam, ada := e.signIn("alice"), e.signIn("sam"), e.signIn("ada")
	happy, unhappy, open := e.closedCase("13800000001"), e.closedCase("13800000002"), e.newCase(cases.KindConsult, "13800000003", "问", time.Now())
	path := func(c cases.Case) string { return "/api/cases/" + string(c.Number) + "/survey" }

	for _, tc := range []struct {
		name string
		s    *session
		csrf bool
		path string
		body any
		code int
		want string // in the answer
	}{
		{"no session", nil, false, path(happy), map[string]any{"result": "satisfied"}, 401, ""},
		{"no CSRF token", &alice, false, path(happy), map[string]any{"result": "satisfied"}, 403, "CSRF"},
		{"unknown result", &alice, true, path(happy), map[string]any{"result": "happy"}, 400, `"field":"result","message":"must be one of very_satisfied, satisfied, neutral, dissatisfied, unreachable"`},
		{"no result", &alice, true, path(happy), map[string]any{"note": "x"}, 400, `required: must be one of`},
		{"note too long", &alice, true, path(happy), map[string]any{"result": "neutral", "note": strings.Repeat("长", 1001)}, 400, `"field":"note","message":"at most 1000 characters"`},
		{"unknown field", &alice, true, path(happy), map[string]any{"result": "neutral", "score": 5}, 400, "unknown field"},
		{"unknown case", &alice, true, "/api/cases/620000-20200101-000001/survey", map[string]any{"result": "neutral"}, 404, "not found"},
		{"open case", &alice, true, path(open), map[string]any{"result": "neutral"}, 409, "only a closed case is surveyed"},
		{"agent, satisfied", &alice, true, path(happy), map[string]any{"result": "satisfied", "note": "已退款，满意"}, 201, `"reopened":false`},
		{"admin, unreachable", &ada, true, path(happy), map[string]any{"result": "unreachable"}, 201, `"survey"`},
		{"supervisor, dissatisfied", &sam, true, path(unhappy), map[string]any{"result": "dissatisfied", "note": "商家未退款"}, 201, `"reopened":true`},
		{"reopened case", &alice, true, path(unhappy), map[string]any{"result": "satisfied"}, 409, "the case is reopened"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(tc.s, "POST", tc.path, tc.body, tc.csrf)
			if code != tc.code || !strings.Contains(string(body), tc.want) {
				t.Errorf("%d %s, want %d with %s", code, body, tc.code, tc.want)
			}
		})
	}

	// The satisfied survey is stored and audited; the case stays closed.
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM callback_surveys WHERE case_id = $1 AND result = 'satisfied' AND actor = 'alice' AND note = '已退款，满意'`,
		happy.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d satisfied surveys by alice (%v)", n, err)
	}
	if got := e.auditOf(agentdesk.CaseSurveyed, audit.CaseTarget(string(happy.Number))); len(got) != 2 || got[0].Actor != "alice" && got[1].Actor != "alice" {
		t.Errorf("audit of the happy case %+v", got)
	}
	d, err := e.cases.Get(ctx, happy.ID)
	if err != nil || d.Case.Status != cases.StatusClosed {
		t.Errorf("happy case %s %v", d.Case.Status, err)
	}

	// The dissatisfied one is reopened with a second callback task, audited with the task.
	d, err = e.cases.Get(ctx, unhappy.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.Status != cases.StatusReopened || len(d.Tasks) != 1 || d.Tasks[0].Reason != cases.TaskSurvey || d.Tasks[0].Status != "open" {
		t.Errorf("unhappy case %s, tasks %+v", d.Case.Status, d.Tasks)
	}
	got := e.auditOf(agentdesk.CaseSurveyed, audit.CaseTarget(string(unhappy.Number)))
	if len(got) != 1 || got[0].Actor != "sam" {
		t.Fatalf("audit of the unhappy case %+v", got)
	}
	raw, _ := json.Marshal(got[0].Detail)
	if !strings.Contains(string(raw), `"reopened":true`) || !strings.Contains(string(raw), `"task":`) || strings.Contains(string(raw), "商家未退款") {
		t.Errorf("audit detail %s", raw)
	}
}

// TestSurveyFormOffersEveryResult checks the web app's survey form against the API: one
// option per result, each worded in both languages.
func TestSurveyFormOffersEveryResult(t *testing.T) {
	html, err := os.ReadFile("web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	words, err := os.ReadFile("web/assets/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	zh, en, ok := strings.Cut(string(words), "\n  en: {")
	if !ok {
		t.Fatal("i18n.js: no en section")
	}
	for _, s := range cases.Satisfactions {
		if !strings.Contains(string(html), `<option value="`+string(s)+`" data-i18n="survey.`+string(s)+`">`) {
			t.Errorf("index.html: no survey option for %s", s)
		}
		for lang, text := range map[string]string{"zh": zh, "en": en} {
			if !strings.Contains(text, `"survey.`+string(s)+`":`) {
				t.Errorf("i18n.js %s: no wording of survey.%s", lang, s)
			}
		}
	}
}
