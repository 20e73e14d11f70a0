package incident_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases/casestest"
	"hotline/incident"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var menuPrompts = []string{"hotline/welcome", "hotline/incident", "hotline/incident-food"}

func TestEmergencyHeadStart(t *testing.T) {
	base := map[acd.Class]time.Duration{acd.ClassEmergency: time.Hour, acd.ClassComplaint: time.Minute, acd.ClassConsult: 0, acd.ClassCallback: -30 * time.Minute}
	for _, tc := range []struct {
		name   string
		base   map[acd.Class]time.Duration
		active bool
		want   time.Duration
	}{
		{"off: as configured", base, false, time.Hour},
		{"on: a day more", base, true, 25 * time.Hour},
		{"on, no configuration: the ACD's defaults plus a day", nil, true, acd.DefaultHeadStart[acd.ClassEmergency] + 24*time.Hour},
	} {
		got := incident.EmergencyHeadStart(tc.base, tc.active, incident.DefaultBoost)
		if got[acd.ClassEmergency] != tc.want || got[acd.ClassComplaint] != time.Minute || got[acd.ClassCallback] != -30*time.Minute {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if base[acd.ClassEmergency] != time.Hour || acd.DefaultHeadStart[acd.ClassEmergency] != time.Hour {
		t.Error("EmergencyHeadStart changed the map it was given")
	}
}

func newStore(t *testing.T) (*incident.Store, *pgxpool.Pool, *audit.Log) {
	pool := casestest.NewPool(t)
	al := audit.New(pool)
	return incident.NewStore(pool, al, menuPrompts), pool, al
}

func TestSwitchOnAndOffIsAuditedAndWatched(t *testing.T) {
	store, _, al := newStore(t)
	ctx := context.Background()
	w, err := incident.NewWatcher(ctx, store, 10*time.Second, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if p, on := w.Announcement(); on || p != incident.DefaultPrompt {
		t.Fatalf("a new database: %q %v, want off", p, on)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	defer func() { stop(); <-done }()

	// The watcher hears of a switch by NOTIFY, long before its 10 s look-up.
	waitFor := func(on bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if _, got := w.Announcement(); got == on {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("the watcher did not see incident mode %v within 3 s", on)
	}

	for _, bad := range []incident.Change{
		{Active: true, Actor: "adam"},                                           // no reason
		{Active: true, Reason: "x", Actor: "adam", Prompt: "hotline/welcome"},   // not an incident prompt
		{Active: true, Reason: "x", Actor: "adam", Prompt: "hotline/incident2"}, // not in the menu
		{Active: true, Reason: "x"},                                             // no actor
		{Active: true, Reason: strings.Repeat("长", incident.MaxReasonLen+1), Actor: "adam"},
	} {
		var e *incident.Error
		if _, err := store.Switch(ctx, bad); !errors.As(err, &e) || e.HTTPStatus() != http.StatusBadRequest {
			t.Errorf("switch %+v: %v, want 400", bad, err)
		}
	}
	if _, err := store.Switch(ctx, incident.Change{Active: false, Reason: "nothing", Actor: "adam"}); !errors.Is(err, incident.ErrUnchanged) {
		t.Errorf("off while off: %v, want ErrUnchanged", err)
	}
	st, err := store.Switch(ctx, incident.Change{Active: true, Reason: "食物中毒事件", Prompt: "hotline/incident-food", Message: "某校食堂", Actor: "adam"})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Active || st.Prompt != "hotline/incident-food" || st.ChangedBy != "adam" || st.Version != 1 {
		t.Errorf("on: %+v", st)
	}
	waitFor(true)
	if p, _ := w.Announcement(); p != "hotline/incident-food" {
		t.Errorf("announcement %q", p)
	}
	if b := w.EmergencyBonus(); b != incident.DefaultBoost {
		t.Errorf("emergency bonus while on: %v", b)
	}
	if hs := w.HeadStart(acd.DefaultHeadStart); hs[acd.ClassEmergency] != 25*time.Hour {
		t.Errorf("emergency head start while on: %v", hs[acd.ClassEmergency])
	}
	if _, err := store.Switch(ctx, incident.Change{Active: true, Reason: "again", Actor: "adam"}); !errors.Is(err, incident.ErrUnchanged) {
		t.Errorf("on while on: %v, want ErrUnchanged", err)
	}
	if _, err := store.Switch(ctx, incident.Change{Active: false, Reason: "处置完毕", Actor: "eve"}); err != nil {
		t.Fatal(err)
	}
	waitFor(false)
	if b := w.EmergencyBonus(); b != 0 {
		t.Errorf("emergency bonus while off: %v", b)
	}
	if hs := w.HeadStart(acd.DefaultHeadStart); hs[acd.ClassEmergency] != time.Hour {
		t.Errorf("emergency head start while off: %v", hs[acd.ClassEmergency])
	}

	entries, err := al.Find(ctx, audit.Query{Target: incident.Target})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != incident.SwitchedOff || entries[0].Actor != "eve" || entries[0].Detail["reason"] != "处置完毕" ||
		entries[1].Action != incident.SwitchedOn || entries[1].Actor != "adam" || entries[1].Detail["prompt"] != "hotline/incident-food" {
		t.Errorf("audit entries %+v", entries)
	}
	hist, err := store.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Active || hist[0].Reason != "处置完毕" || !hist[1].Active || hist[1].Reason != "食物中毒事件" {
		t.Errorf("history %+v", hist)
	}
}

func TestSwitchAPIIsAdminOnly(t *testing.T) {
	store, pool, al := newStore(t)
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	acc := accounts.NewStore(pool, h, al)
	for login, role := range map[string]accounts.Role{"ann": accounts.RoleAgent, "sue": accounts.RoleSupervisor, "adam": accounts.RoleAdmin} {
		if _, err := acc.Create(context.Background(), "test", accounts.NewAccount{Login: login, DisplayName: login, Role: role, Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := auth.New(pool, acc, al, auth.DefaultConfig(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", svc.Login)
	mux.Handle("/api/incident", incident.Handler(store, svc.RequireRole, quiet))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	type client struct {
		c    *http.Client
		csrf string
	}
	signIn := func(login string) client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"login":"`+login+`","password":"correct horse"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			CSRF string `json:"csrf_token"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
			t.Fatalf("sign in %s: %s", login, resp.Status)
		}
		return client{c, v.CSRF}
	}
	post := func(c client, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/incident", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(auth.CSRFHeader, c.csrf)
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	on := `{"active": true, "reason": "群体性事件"}`
	if code := post(client{c: http.DefaultClient}, on); code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", code)
	}
	ann, sue, adam := signIn("ann"), signIn("sue"), signIn("adam")
	for _, c := range []client{ann, sue} {
		if code := post(c, on); code != http.StatusForbidden {
			t.Errorf("non-admin: %d, want 403", code)
		}
	}
	if code := post(client{c: adam.c}, on); code != http.StatusForbidden {
		t.Errorf("admin without the CSRF token: %d, want 403", code)
	}
	if code := post(adam, `{"reason": "x"}`); code != http.StatusBadRequest {
		t.Errorf("no active field: %d, want 400", code)
	}
	if code := post(adam, on); code != http.StatusOK {
		t.Errorf("admin on: %d, want 200", code)
	}
	if code := post(adam, on); code != http.StatusConflict {
		t.Errorf("admin on again: %d, want 409", code)
	}
	resp, err := sue.c.Get(srv.URL + "/api/incident")
	if err != nil {
		t.Fatal(err)
	}
	var st incident.State
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !st.Active || st.ChangedBy != "adam" || st.Reason != "群体性事件" {
		t.Errorf("supervisor reads %s %+v", resp.Status, st)
	}
	if resp, _ := ann.c.Get(srv.URL + "/api/incident"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent reads: %s, want 403", resp.Status)
	}
	if code := post(adam, `{"active": false, "reason": "处置完毕"}`); code != http.StatusOK {
		t.Errorf("admin off: %d, want 200", code)
	}
}
