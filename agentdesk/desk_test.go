package agentdesk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/acd"
	"hotline/agentdesk"
	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
	"hotline/audit"
	"hotline/cases"
)

func TestNoSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newCase(cases.KindComplaint, "13800000001", "refund", time.Now())
	alice, ada := e.signIn("alice"), e.signIn("ada")

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		s      *session
		csrf   bool
		want   int
	}{
		{"case by number", "GET", "/api/cases/" + string(c.Number), nil, nil, false, 401},
		{"case search", "GET", "/api/cases?caller=13800000001", nil, nil, false, 401},
		{"case form", "PUT", "/api/cases/" + string(c.Number), map[string]any{"kind": "consult"}, nil, false, 401},
		{"case form without CSRF token", "PUT", "/api/cases/" + string(c.Number), map[string]any{"kind": "consult"}, &alice, false, 403},
		{"an admin manages accounts, not cases", "GET", "/api/cases/" + string(c.Number), nil, &ada, false, 403},
		{"the page itself is public", "GET", "/", nil, nil, false, 200},
		{"its script too", "GET", "/assets/app.js", nil, nil, false, 200},
		{"no directory listing", "GET", "/assets/", nil, nil, false, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.do(tc.s, tc.method, tc.path, tc.body, tc.csrf); code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
		})
	}
	if _, code, err := e.dial(nil); err == nil || code != http.StatusUnauthorized {
		t.Errorf("WebSocket without a session: %d %v, want 401", code, err)
	}
	// A page of another site cannot open the socket with the agent's cookie.
	h := http.Header{"Origin": {"https://evil.example"}, "Cookie": {alice.cookie.String()}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, wsURL(e.srv), &websocket.DialOptions{HTTPHeader: h}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("cross-origin WebSocket: %v, %v", resp, err)
	}
	// Nor does an admin answer calls.
	if _, code, err := e.dial(&ada); err == nil || code != http.StatusForbidden {
		t.Errorf("WebSocket as admin: %d %v, want 403", code, err)
	}
}

func TestPageHeaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", resp.Header)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
}

func TestConnectSnapshotAndState(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			e := newEnv(t, envOptions{redis: store == "redis"})
			ctx := context.Background()
			c := e.newCase(cases.KindComplaint, "13900000002", "", time.Now())
			if _, err := e.cases.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: c.ID, Reason: cases.TaskVoicemail,
				CallerNumber: "13900000002", Queue: "callback", EnqueuedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			alice := e.signIn("alice")
			cl, snap := e.connect(alice)

			// The first connection logs the agent in to the distributor, not ready, with the
			// skills of the account.
			a := e.waitState("alice", acd.StateNotReady, acd.ReasonLogin)
			if a.Skills["zh"] != 5 || a.Name != "Alice" {
				t.Errorf("distributor profile %+v", a)
			}
			if snap.obj("agent").str("login") != "alice" || snap.obj("state").str("state") != "not_ready" ||
				snap.obj("state").str("reason") != "login" || snap.obj("seat").str("state") != "none" {
				t.Errorf("snapshot %v", snap)
			}
			tasks := snap.list("callback_tasks")
			if len(tasks) != 1 || msg(tasks[0].(map[string]any)).str("caller") != "139****0002" {
				t.Errorf("callback tasks %v", tasks)
			}
			if reasons := snap.obj("options").list("not_ready_reasons"); len(reasons) == 0 {
				t.Errorf("options %v", snap.obj("options"))
			}

			prev := acd.StateNotReady.String() + "/login"
			for _, step := range []struct {
				send   msg
				code   int // 0: accepted
				state  acd.State
				reason acd.Reason
			}{
				{msg{"state": "ready"}, 0, acd.StateReady, ""},
				{msg{"state": "ready"}, 0, acd.StateReady, ""}, // already there
				{msg{"state": "not_ready", "reason": "meal"}, 0, acd.StateNotReady, "meal"},
				{msg{"state": "not_ready", "reason": "nap"}, 400, acd.StateNotReady, "meal"},
				{msg{"state": "not_ready"}, 400, acd.StateNotReady, "meal"},
				{msg{"state": "ready", "reason": "meal"}, 400, acd.StateNotReady, "meal"},
				{msg{"state": "on_call"}, 400, acd.StateNotReady, "meal"},
				{msg{"state": "logout"}, 0, acd.StateLoggedOut, ""},
				{msg{"state": "ready"}, 0, acd.StateReady, ""}, // logs in again
			} {
				if step.code == 0 {
					if r := cl.ok("state", step.send); r.str("type") != "ack" || r.str("for") != "state" {
						t.Fatalf("%v: %v", step.send, r)
					}
					if now := step.state.String() + "/" + string(step.reason); now != prev {
						pushed := cl.await("state", func(m msg) bool { return m.obj("state").str("state") == step.state.String() })
						if pushed.obj("state").str("reason") != string(step.reason) {
							t.Errorf("%v: pushed %v", step.send, pushed)
						}
						prev = now
					}
				} else {
					cl.refused("state", step.send, step.code)
				}
				if a, err := e.acd.Agent(ctx, "alice"); err != nil || a.State != step.state || a.Reason != step.reason {
					t.Fatalf("after %v: distributor says %s %q (%v), want %s %q", step.send, a.State, a.Reason, err, step.state, step.reason)
				}
			}

			// A change made elsewhere (a supervisor, a timer) is pushed too.
			if _, err := e.acd.SetState(ctx, "alice", acd.StateReady, acd.StateNotReady, "coaching"); err != nil {
				t.Fatal(err)
			}
			cl.await("state", func(m msg) bool { return m.obj("state").str("reason") == "coaching" })

			// A second tab gets the same snapshot and the same pushes.
			cl2, snap2 := e.connect(alice)
			if snap2.obj("state").str("reason") != "coaching" {
				t.Errorf("second tab's snapshot %v", snap2.obj("state"))
			}
			cl.ok("state", msg{"state": "ready"})
			cl2.await("state", func(m msg) bool { return m.obj("state").str("state") == "ready" })
		})
	}
}

// ivrPath is what the call flow records of a caller's way to the queue.
var ivrPath = []agentdesk.PathStep{
	{Node: "welcome", Step: "played", At: time.Now().Add(-90 * time.Second)},
	{Node: "language", Step: "input", Input: "1", At: time.Now().Add(-80 * time.Second)},
	{Node: "main", Step: "input", Input: "2", At: time.Now().Add(-60 * time.Second)},
}

func TestCallFromRingToWrapUp(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	const caller = "13800000001"
	old1 := e.newCase(cases.KindConsult, caller, "七天无理由退货怎么算?", time.Now().Add(-72*time.Hour))
	old2 := e.newCase(cases.KindComplaint, caller, "冰箱不制冷", time.Now().Add(-48*time.Hour))
	other := e.newCase(cases.KindConsult, "13700000009", "someone else", time.Now().Add(-24*time.Hour))
	cur := e.newCase(cases.KindComplaint, caller, "", time.Now())

	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	e.waitState("alice", acd.StateReady, "")

	// Ring: the offer arrives with the screen pop.
	o, err := e.dist.ring(ctx, "alice", cur.Number, caller, ivrPath)
	if err != nil {
		t.Fatal(err)
	}
	offer := cl.await("offer", nil).obj("offer")
	if offer.str("id") != string(o.ID) || offer.str("case_number") != string(cur.Number) || offer.str("caller") != "138****0001" ||
		offer.str("queue") != "general" || offer.str("call") != string(o.Call) {
		t.Errorf("offer %v", offer)
	}
	if w, _ := offer["wait_seconds"].(float64); w < 40 || w > 100 {
		t.Errorf("wait %v, want about 42 s", offer["wait_seconds"])
	}
	path := offer.list("ivr_path")
	if len(path) != 3 || msg(path[2].(map[string]any)).str("node") != "main" || msg(path[2].(map[string]any)).str("input") != "2" {
		t.Errorf("IVR path %v", path)
	}
	var history []string
	for _, h := range offer.list("history") {
		hm := msg(h.(map[string]any))
		history = append(history, hm.str("number"))
		if hm.str("caller") != "138****0001" {
			t.Errorf("history line %v", hm)
		}
	}
	if !slices.Equal(history, []string{string(old2.Number), string(old1.Number)}) {
		t.Errorf("history %v, want %s then %s (and not %s)", history, old2.Number, old1.Number, other.Number)
	}
	// Every case the screen pop showed is audited as read by alice.
	for _, n := range []cases.Number{cur.Number, old1.Number, old2.Number} {
		got := e.auditOf(audit.CaseRead, audit.CaseTarget(string(n)))
		if len(got) != 1 || got[0].Actor != "alice" || got[0].Detail["via"] != "screen_pop" {
			t.Errorf("audit of %s: %+v", n, got)
		}
	}
	if got := e.auditOf(audit.CaseRead, audit.CaseTarget(string(other.Number))); len(got) != 0 {
		t.Errorf("another caller's case audited as read: %+v", got)
	}
	// A second ring for the agent while the offer is out is refused.
	if _, err := e.dist.ring(ctx, "alice", other.Number, "13700000009", nil); err == nil {
		t.Error("second offer to a ringing agent accepted")
	}

	// Reconnecting (a reload) shows the offer again.
	cl.conn.Close(websocket.StatusNormalClosure, "reload")
	cl, snap := e.connect(alice)
	if snap.obj("offer").str("id") != string(o.ID) {
		t.Fatalf("snapshot after reconnect: offer %v", snap.obj("offer"))
	}

	// Accept: the distribution's Accept is called and it connects the call.
	cl.ok("accept", msg{"offer": string(o.ID)})
	connected := cl.await("call_connected", nil).obj("call")
	if connected.str("id") != string(o.Call) || connected.str("case_number") != string(cur.Number) || connected.str("caller") != "138****0001" ||
		len(connected.list("history")) != 2 {
		t.Errorf("call %v", connected)
	}
	e.waitState("alice", acd.StateOnCall, "")

	// Hold and unhold go to the distribution; mute needs a softphone.
	cl.ok("hold", msg{"call": string(o.Call)})
	if c := cl.await("call_updated", nil).obj("call"); c["held"] != true || c.str("held_since") == "" {
		t.Errorf("held: %v", c)
	}
	cl.ok("unhold", msg{"call": string(o.Call)})
	if c := cl.await("call_updated", nil).obj("call"); c["held"] != false || c["held_since"] != nil || c["held_seconds"] == nil {
		t.Errorf("resumed: %v", c)
	}
	if h := cl.ok("seat_health", nil); h.obj("seat").str("state") != "none" {
		t.Errorf("seat health without a softphone: %v", h)
	}
	cl.refused("mute", msg{"call": string(o.Call)}, 503)

	// Hang up: the call ends and asks for its disposition.
	cl.ok("hangup", msg{"call": string(o.Call)})
	ended := cl.await("call_ended", nil)
	if ended.str("call_id") != string(o.Call) || ended.obj("wrapup").str("case_number") != string(cur.Number) {
		t.Errorf("call_ended %v", ended)
	}
	e.waitState("alice", acd.StateWrapUp, "")
	cl.refused("hangup", msg{"call": string(o.Call)}, 409) // ended already

	// Wrap-up requires the disposition.
	cl.refused("state", msg{"state": "ready"}, 409)
	for _, tc := range []struct {
		name   string
		fields msg
		bad    []string
	}{
		{"no disposition", msg{"call": string(o.Call)}, []string{"disposition"}},
		{"empty summary", msg{"call": string(o.Call), "disposition": msg{"kind": "complaint", "status": "registered", "summary": "  "}},
			[]string{"disposition.summary"}},
		{"unknown kind and status", msg{"call": string(o.Call), "disposition": msg{"kind": "gripe", "status": "mediating", "summary": "x"}},
			[]string{"disposition.kind", "disposition.status"}},
		{"invalid call left open", msg{"call": string(o.Call), "disposition": msg{"kind": "invalid", "status": "registered", "summary": "silent"}},
			[]string{"disposition.status"}},
		{"not ready without a reason", msg{"call": string(o.Call), "next": "not_ready",
			"disposition": msg{"kind": "complaint", "status": "registered", "summary": "x"}}, []string{"reason"}},
	} {
		r := cl.refused("wrapup_done", tc.fields, 400)
		var fields []string
		for _, f := range r.list("fields") {
			fields = append(fields, msg(f.(map[string]any)).str("field"))
		}
		if !slices.Equal(fields, tc.bad) {
			t.Errorf("%s: refused fields %v, want %v (%s)", tc.name, fields, tc.bad, r.str("error"))
		}
	}
	if slices.ContainsFunc(e.dist.log(), func(s string) bool { return strings.HasPrefix(s, "WrapUpDone") }) {
		t.Fatal("the distribution got a wrap-up without a valid disposition")
	}
	cl.ok("wrapup_done", msg{"call": string(o.Call), "disposition": msg{"kind": "complaint", "status": "registered",
		"summary": " 冰箱质量投诉，已登记 "}, "next": "not_ready", "reason": "break"})
	cl.await("wrapup_recorded", func(m msg) bool { return m.str("call_id") == string(o.Call) })
	e.waitState("alice", acd.StateNotReady, "break")
	e.dist.mu.Lock()
	d := e.dist.disps[o.Call]
	e.dist.mu.Unlock()
	if d != (agentdesk.Disposition{CaseNumber: cur.Number, Kind: cases.KindComplaint, Status: cases.StatusRegistered, Summary: "冰箱质量投诉，已登记"}) {
		t.Errorf("disposition %+v", d)
	}
	cl.refused("wrapup_done", msg{"call": string(o.Call), "disposition": msg{"kind": "complaint", "status": "registered", "summary": "again"}}, 409)
	cl.ok("state", msg{"state": "ready"})

	want := []string{"Accept alice " + string(o.ID), "Hold alice " + string(o.Call) + " true", "Hold alice " + string(o.Call) + " false",
		"Hangup alice " + string(o.Call), "WrapUpDone alice " + string(o.Call)}
	if got := e.dist.log(); !slices.Equal(got, want) {
		t.Errorf("distribution calls %v, want %v", got, want)
	}
	for _, raw := range cl.raw {
		if strings.Contains(raw, caller) {
			t.Errorf("a full caller number went to the browser: %s", raw)
		}
	}
}

func TestRejectAndCancel(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	c1 := e.newCase(cases.KindConsult, "13800000001", "", time.Now())
	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})

	o, err := e.dist.ring(ctx, "alice", c1.Number, "13800000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.await("offer", nil)
	cl.ok("reject", msg{"offer": string(o.ID)})
	if m := cl.await("offer_cancelled", nil); m.str("offer_id") != string(o.ID) || m.str("reason") != "rejected" {
		t.Errorf("offer_cancelled %v", m)
	}
	e.waitState("alice", acd.StateReady, "")
	cl.refused("accept", msg{"offer": string(o.ID)}, 409)

	// The distribution withdraws an offer: the caller hung up.
	o2, err := e.dist.ring(ctx, "alice", c1.Number, "13800000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.await("offer", func(m msg) bool { return m.obj("offer").str("id") == string(o2.ID) })
	e.desk.CancelOffer(ctx, "alice", o2.ID, "caller hung up")
	if m := cl.await("offer_cancelled", nil); m.str("offer_id") != string(o2.ID) || m.str("reason") != "caller hung up" {
		t.Errorf("offer_cancelled %v", m)
	}
	if _, snap := e.connect(alice); snap["offer"] != nil {
		t.Errorf("withdrawn offer in the snapshot: %v", snap["offer"])
	}

	// An agent without a desk connection cannot be rung.
	if _, err := e.dist.ring(ctx, "bob", c1.Number, "13800000001", nil); err == nil {
		t.Error("rang bob, who never connected")
	}
	bob := e.signIn("bob")
	bcl, _ := e.connect(bob)
	bcl.ok("state", msg{"state": "ready"})
	bcl.conn.Close(websocket.StatusNormalClosure, "")
	// Closing the last tab of a ready agent makes them not ready: no call rings a closed desk.
	e.waitState("bob", acd.StateNotReady, agentdesk.ReasonDisconnected)
	if err := e.desk.Ring(ctx, "bob", agentdesk.Offer{ID: "r-x", Call: "chan-x", Kind: agentdesk.OfferCall, CaseNumber: c1.Number}); !errors.Is(err, agentdesk.ErrNotConnected) {
		t.Errorf("ring a closed desk: %v", err)
	}
}

func TestActingOnAnotherAgentsWork(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	c := e.newCase(cases.KindComplaint, "13800000001", "", time.Now())
	alice, bob := e.signIn("alice"), e.signIn("bob")
	acl, _ := e.connect(alice)
	bcl, _ := e.connect(bob)
	acl.ok("state", msg{"state": "ready"})
	o, err := e.dist.ring(ctx, "alice", c.Number, "13800000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	acl.await("offer", nil)

	bcl.refused("accept", msg{"offer": string(o.ID)}, 403)
	bcl.refused("reject", msg{"offer": string(o.ID)}, 403)
	bcl.refused("accept", msg{"offer": "no-such-offer"}, 409)
	acl.ok("accept", msg{"offer": string(o.ID)})
	acl.await("call_connected", nil)
	for _, typ := range []string{"hangup", "hold", "mute"} {
		bcl.refused(typ, msg{"call": string(o.Call)}, 403)
	}
	bcl.refused("transfer", msg{"call": string(o.Call), "queue": "price"}, 403)
	// Bob may not save the case either: it is not one he works on.
	if code, body := e.do(&bob, "PUT", "/api/cases/"+string(c.Number), completeComplaint(), true); code != 403 {
		t.Errorf("bob saves alice's case: %d %s", code, body)
	}
	for _, s := range e.dist.log() {
		if strings.Contains(s, "bob") {
			t.Errorf("the distribution was asked to act for bob: %s", s)
		}
	}
	// Alice's call is untouched.
	if _, snap := e.connect(alice); snap.obj("call").str("id") != string(o.Call) {
		t.Errorf("alice's call after bob's attempts: %v", snap["call"])
	}
}

func TestTransferAndCallback(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	c := e.newCase(cases.KindComplaint, "13800000001", "", time.Now())
	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	o, err := e.dist.ring(ctx, "alice", c.Number, "13800000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.await("offer", nil)
	// Callbacks wait until the desk is free.
	cl.refused("callback", msg{"task": 7}, 409)
	cl.ok("accept", msg{"offer": string(o.ID)})
	cl.await("call_connected", nil)

	for _, tc := range []struct {
		fields msg
		code   int
	}{
		{msg{"call": string(o.Call)}, 400},                                   // no target
		{msg{"call": string(o.Call), "queue": "price", "agent": "bob"}, 400}, // two targets
		{msg{"call": string(o.Call), "queue": "bakery"}, 400},
		{msg{"call": string(o.Call), "agent": "alice"}, 400},
		{msg{"call": string(o.Call), "agent": "Not A Login"}, 400},
		{msg{"call": string(o.Call), "queue": "price", "note": strings.Repeat("长", 501)}, 400},
	} {
		cl.refused("transfer", tc.fields, tc.code)
	}
	cl.ok("transfer", msg{"call": string(o.Call), "queue": "price", "note": "价格举报"})
	if m := cl.await("call_ended", nil); m.str("reason") != "transferred" {
		t.Errorf("call_ended %v", m)
	}
	e.dist.mu.Lock()
	to := e.dist.transfers[o.Call]
	e.dist.mu.Unlock()
	if to != (agentdesk.Transfer{Queue: "price", Note: "价格举报"}) {
		t.Errorf("transfer %+v", to)
	}
	cl.ok("wrapup_done", msg{"call": string(o.Call), "disposition": msg{"kind": "report", "status": "dispatched", "summary": "转价格组"}})
	e.waitState("alice", acd.StateReady, "")

	cl.refused("callback", msg{"task": 0}, 400)
	cl.ok("callback", msg{"task": 7})
	e.dist.mu.Lock()
	e.dist.fail["Callback"] = errBoom
	e.dist.mu.Unlock()
	if r := cl.refused("callback", msg{"task": 8}, 500); strings.Contains(r.str("error"), "boom") {
		t.Errorf("an internal error's details went to the browser: %v", r)
	}
	if got := e.dist.log(); !slices.Contains(got, "Callback alice 7") || !slices.Contains(got, "Transfer alice "+string(o.Call)+" queue=price agent=") {
		t.Errorf("distribution calls %v", got)
	}
}

func TestMalformedMessagesKeepTheConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	c := e.newCase(cases.KindComplaint, "13800000001", "", time.Now())
	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	o, err := e.dist.ring(ctx, "alice", c.Number, "13800000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.await("offer", nil)
	cl.ok("accept", msg{"offer": string(o.ID)})
	cl.await("call_connected", nil)

	for _, tc := range []struct {
		name   string
		raw    string
		id     string // the id the error must carry
		substr string
	}{
		{"not JSON", `{"type": "ping", `, "", "malformed"},
		{"an array", `[1, 2]`, "", "malformed"},
		{"a string", `"ping"`, "", "malformed"},
		{"no type", `{"id": "m1"}`, "m1", "unknown message type"},
		{"unknown type", `{"type": "dance", "id": "m2"}`, "m2", "unknown message type"},
		{"unknown field", `{"type": "hangup", "id": "m3", "call": "` + string(o.Call) + `", "force": true}`, "m3", "unknown field"},
		{"wrong field type", `{"type": "accept", "id": "m4", "offer": 12}`, "m4", "malformed"},
		{"missing field", `{"type": "hangup", "id": "m5"}`, "m5", "call must name"},
		{"two values", `{"type": "ping", "id": "m6"} {"type": "ping"}`, "", "malformed"},
		{"bad id", `{"type": "ping", "id": "<script>"}`, "", "id must be"},
		{"bad state", `{"type": "state", "id": "m7", "state": "asleep"}`, "m7", "state must be"},
		{"invalid UTF-8", "{\"type\": \"ping\", \"id\": \"m8\xff\"}", "", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl.sendRaw(tc.raw)
			r := cl.await("error", nil)
			if r.code() != 400 || r.str("id") != tc.id || !strings.Contains(r.str("error"), tc.substr) {
				t.Errorf("answer %v, want a 400 error with id %q mentioning %q", r, tc.id, tc.substr)
			}
		})
	}
	// A binary message is refused the same way.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := cl.conn.Write(wctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if r := cl.await("error", nil); r.code() != 400 {
		t.Errorf("binary message: %v", r)
	}
	// The connection and the call survived all of it.
	if r := cl.ok("ping", nil); r.str("type") != "pong" {
		t.Errorf("ping: %v", r)
	}
	if r := cl.ok("snapshot", nil); r.obj("call").str("id") != string(o.Call) {
		t.Errorf("call after the junk: %v", r["call"])
	}
}

func TestSessionEndClosesTheDesk(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	if code, body := e.do(&alice, "POST", "/api/auth/logout", nil, true); code != 204 {
		t.Fatalf("sign out: %d %s", code, body)
	}
	// The next action finds the session gone: the browser is told and the socket closed.
	cl.sendRaw(`{"type": "state", "id": "x1", "state": "not_ready", "reason": "break"}`)
	if r := cl.next(); r.str("type") != "error" || r.code() != 401 {
		t.Errorf("after sign-out: %v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := cl.conn.Read(ctx)
	if websocket.CloseStatus(err) != 4001 {
		t.Errorf("close: %v, want status 4001", err)
	}
	// And the ready agent, gone, is not ready any more.
	e.waitState("alice", acd.StateNotReady, agentdesk.ReasonDisconnected)
}

func TestDistributorDown(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *agentdesk.Config) { c.Agents = downStore{} }})
	alice := e.signIn("alice")
	cl, code, err := e.dial(&alice)
	if err != nil {
		t.Fatalf("dial: %d %v", code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := cl.conn.Read(ctx); websocket.CloseStatus(err) != 4003 {
		t.Errorf("close: %v, want status 4003 (distributor unavailable)", err)
	}
}

// downStore is a distributor that cannot be reached.
type downStore struct{ agentdesk.AgentStates }

func (downStore) Agent(context.Context, acd.AgentID) (acd.Agent, error) {
	return acd.Agent{}, fmt.Errorf("dial redis: %w", errBoom)
}

func TestSeat(t *testing.T) {
	var desk *agentdesk.Desk
	seats, err := media.New(media.LoopbackOnly(), media.WithEventHandler(func(ev media.Event) {
		if desk != nil {
			desk.SeatEvent(ev)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = seats.Shutdown(ctx)
	})
	e := newEnv(t, envOptions{seats: seats})
	desk = e.desk
	alice := e.signIn("alice")
	cl, snap := e.connect(alice)
	if snap.obj("options")["softphone"] != true {
		t.Errorf("options %v", snap.obj("options"))
	}

	browser, err := mediatest.NewClient(mediatest.OfferOpusFirst())
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer, err := browser.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl.refused("seat_offer", msg{"sdp": "v=0 not an offer"}, 400)
	answer := cl.ok("seat_offer", msg{"sdp": offer})
	if answer.str("type") != "seat_answer" || !strings.Contains(answer.str("sdp"), "PCMU") {
		t.Fatalf("answer %v", answer)
	}
	if err := browser.Accept(answer.str("sdp")); err != nil {
		t.Fatal(err)
	}
	if err := browser.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	cl.await("seat_health", func(m msg) bool { return m.obj("seat").str("state") == "connected" })
	if r := cl.ok("snapshot", nil); r.obj("seat").str("state") != "connected" {
		t.Errorf("seat in the snapshot: %v", r.obj("seat"))
	}
	// Logging out of the distributor closes the seat.
	cl.ok("state", msg{"state": "logout"})
	cl.await("seat_health", func(m msg) bool { return m.obj("seat").str("state") == "closed" })
}

func TestShutdownLeavesAgentsAsTheyAre(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { // a browser reads all the time, and answers the close
		var err error
		for err == nil {
			_, _, err = cl.conn.Read(ctx)
		}
		closed <- err
	}()
	if err := e.desk.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("close: %v, want going away", err)
	}
	// The browser reconnects elsewhere: the agent stays ready meanwhile.
	if a, err := e.acd.Agent(ctx, "alice"); err != nil || a.State != acd.StateReady {
		t.Errorf("after shutdown: %+v, %v", a, err)
	}
	if _, code, err := e.dial(&alice); err == nil || code != http.StatusServiceUnavailable {
		t.Errorf("connecting to a desk that shut down: %d %v, want 503", code, err)
	}
}

func TestRoleCheckedPerMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.signIn("alice")
	cl, _ := e.connect(alice)
	cl.ok("state", msg{"state": "ready"})
	// Alice's role changes while her desk is open: her next action finds out.
	if _, err := e.pool.Exec(context.Background(), `UPDATE agents SET role = 'admin' WHERE login = 'alice'`); err != nil {
		t.Fatal(err)
	}
	cl.sendRaw(`{"type": "state", "id": "r1", "state": "not_ready", "reason": "break"}`)
	if r := cl.next(); r.str("type") != "error" || r.code() != 403 {
		t.Errorf("action after the role change: %v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := cl.conn.Read(ctx); websocket.CloseStatus(err) != 4001 {
		t.Errorf("close: %v, want 4001", err)
	}
	if a, err := e.acd.Agent(ctx, "alice"); err != nil || a.Reason == "break" {
		t.Errorf("the refused action changed the state: %+v, %v", a, err)
	}
}
