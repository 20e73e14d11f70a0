package agentdesk_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/acd"
	"hotline/audit"
	"hotline/cases"
)

// completeComplaint is a case form body that validates as a complaint.
func completeComplaint() map[string]any {
	return map[string]any{
		"kind": "complaint", "goods_service_class": "goods.appliances",
		"complainant": map[string]any{"name": "张三", "address": "兰州市城关区庆阳路 1 号"},
		"respondent": map[string]any{"name": "兰州某电器有限公司", "address": "兰州市七里河区西津西路 2 号",
			"credit_code": "914403001922038216", "platform": "某电商平台"},
		"request": "退货退款", "facts": "冰箱三天后不制冷。", "amount_involved": "3999.00", "loss_recovered": "120.5",
		"harm_known_on": "2026-01-20", "region_code": "620102",
	}
}

func TestCaseForm(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	c := e.newCase(cases.KindConsult, "13800000001", "", time.Now())
	other := e.newCase(cases.KindConsult, "13700000002", "", time.Now())
	alice, sam := e.signIn("alice"), e.signIn("sam")
	path := "/api/cases/" + string(c.Number)

	// Before alice has the call, the case is not hers to change.
	if code, body := e.do(&alice, "PUT", path, completeComplaint(), true); code != 403 {
		t.Fatalf("save before the call: %d %s", code, body)
	}
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	o, err := e.dist.ring(ctx, "alice", c.Number, "13800000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.await("offer", nil)
	cl.ok("accept", msg{"offer": string(o.ID)})
	cl.await("call_connected", nil)

	edit := func(f func(m map[string]any)) map[string]any {
		m := completeComplaint()
		f(m)
		return m
	}
	for _, tc := range []struct {
		name   string
		s      *session
		path   string
		body   any
		code   int
		fields []string // refused fields, for 400
	}{
		{"missing business and request", &alice, path, edit(func(m map[string]any) {
			m["respondent"] = map[string]any{}
			delete(m, "request")
		}), 400, []string{"respondent.name", "request"}},
		{"amount and date that do not parse, with a bad credit code", &alice, path, edit(func(m map[string]any) {
			m["amount_involved"], m["harm_known_on"] = "12.345", "20/01/2026"
			m["respondent"].(map[string]any)["credit_code"] = "914403001922038217"
		}), 400, []string{"amount_involved", "harm_known_on", "respondent.credit_code"}},
		{"unknown field", &alice, path, edit(func(m map[string]any) { m["priority"] = "high" }), 400, nil},
		{"another agent's case", &alice, "/api/cases/" + string(other.Number), completeComplaint(), 403, nil},
		{"the agent's case", &alice, path, completeComplaint(), 200, nil},
		{"a supervisor, any case", &sam, "/api/cases/" + string(other.Number), edit(func(m map[string]any) {
			m["kind"], m["goods_service_class"] = "consult", ""
		}), 200, nil},
		{"unknown case", &sam, "/api/cases/620000-20200101-000001", completeComplaint(), 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(tc.s, "PUT", tc.path, tc.body, true)
			if code != tc.code {
				t.Fatalf("status %d %s, want %d", code, body, tc.code)
			}
			if tc.fields == nil {
				return
			}
			var out struct {
				Fields []cases.FieldError `json:"fields"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range out.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("refused fields %v, want %v (%s)", got, tc.fields, body)
			}
		})
	}

	// The saved form is in PostgreSQL, with the trail entry and the audit record.
	d, err := e.cases.FindByNumber(ctx, c.Number)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Case
	if got.Kind != cases.KindComplaint || got.GoodsOrService != "goods.appliances" || got.Complainant.Name != "张三" ||
		got.Respondent.CreditCode != "914403001922038216" || got.Respondent.Platform != "某电商平台" || got.Request != "退货退款" ||
		got.AmountInvolved.String() != "3999.00" || got.LossRecovered.String() != "120.50" || got.RegionCode != "620102" ||
		got.HarmKnownOn.Format(time.DateOnly) != "2026-01-20" {
		t.Errorf("stored case %+v", got)
	}
	// The region (620102) hands the case over: the dispatched entry follows the change.
	last := d.Events[len(d.Events)-2]
	if d.Events[len(d.Events)-1].Kind != cases.EventDispatched || got.HandlingOffice == "" {
		t.Errorf("no hand-over after the change: %+v, office %q", d.Events[len(d.Events)-1], got.HandlingOffice)
	}
	if last.Kind != cases.EventCaseChanged || last.Actor != "alice" {
		t.Errorf("last trail entry %+v", last)
	}
	changes := e.auditOf(audit.CaseChanged, audit.CaseTarget(string(c.Number)))
	if len(changes) != 1 || changes[0].Actor != "alice" {
		t.Errorf("audit %+v", changes)
	}

	// Reading the case through the API is audited, and shows masked numbers only.
	code, body := e.do(&alice, "GET", path, nil, false)
	if code != 200 || strings.Contains(string(body), "13800000001") || !strings.Contains(string(body), "138****0001") {
		t.Errorf("GET case: %d %s", code, body)
	}
	reads := e.auditOf(audit.CaseRead, audit.CaseTarget(string(c.Number)))
	if !slices.ContainsFunc(reads, func(a audit.Entry) bool { return a.Actor == "alice" && a.Detail["via"] == "case_api" }) {
		t.Errorf("case read not audited: %+v", reads)
	}
	code, body = e.do(&sam, "GET", "/api/cases?caller=13800000001", nil, false)
	if code != 200 || strings.Contains(string(body), "13800000001") {
		t.Errorf("search: %d %s", code, body)
	}
	reads = e.auditOf(audit.CaseRead, audit.CaseTarget(string(c.Number)))
	if !slices.ContainsFunc(reads, func(a audit.Entry) bool { return a.Actor == "sam" && a.Detail["via"] == "case_search" }) {
		t.Errorf("search not audited: %+v", reads)
	}

	// After the call and its wrap-up the case stays editable for a while (the agent may
	// correct it), but not once the case is closed.
	cl.ok("hangup", msg{"call": string(o.Call)})
	cl.await("call_ended", nil)
	if code, body := e.do(&alice, "PUT", path, edit(func(m map[string]any) { m["request"] = "换货" }), true); code != 200 {
		t.Errorf("save during wrap-up: %d %s", code, body)
	}
	cl.ok("wrapup_done", msg{"call": string(o.Call), "disposition": msg{"kind": "complaint", "status": "registered", "summary": "登记"}})
	e.waitState("alice", acd.StateReady, "")
	if err := e.cases.Register(ctx, c.ID, cases.Registration{Kind: cases.KindComplaint, Status: cases.StatusClosed, Event: cases.EventClosed, Actor: "sam"}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.do(&alice, "PUT", path, completeComplaint(), true); code != 409 {
		t.Errorf("save a closed case: %d %s", code, body)
	}
}
