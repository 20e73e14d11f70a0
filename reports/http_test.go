package reports_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/reports"
)

// signedIn is an HTTP client with a session of one role.
type signedIn struct {
	c    *http.Client
	csrf string
}

// newServer serves sign-in and the reports on a fresh database with one account per role
// (agent "ann", supervisor "sue", admin "adam"; password "correct horse").
func newServer(t *testing.T, mount func(mux *http.ServeMux, store *cases.Store, guard func(...accounts.Role) func(http.Handler) http.Handler, log *audit.Log)) (*httptest.Server, *audit.Log) {
	t.Helper()
	store := casestest.NewStore(t)
	pool := store.Pool()
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	al := audit.New(pool)
	acc := accounts.NewStore(pool, h, al)
	for login, role := range map[string]accounts.Role{"ann": accounts.RoleAgent, "sue": accounts.RoleSupervisor, "adam": accounts.RoleAdmin} {
		if _, err := acc.Create(context.Background(), "test", accounts.NewAccount{Login: login, DisplayName: login, Role: role, Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(pool, acc, al, auth.DefaultConfig(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", svc.Login)
	mount(mux, store, svc.RequireRole, al)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, al
}

func signIn(t *testing.T, srv *httptest.Server, login string) signedIn {
	t.Helper()
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
	return signedIn{c: c, csrf: v.CSRF}
}

func TestReportPagesNeedSupervisorOrAdminAndAreAudited(t *testing.T) {
	srv, al := newServer(t, func(mux *http.ServeMux, store *cases.Store, guard func(...accounts.Role) func(http.Handler) http.Handler, log *audit.Log) {
		h, err := reports.Handler(reports.HandlerConfig{DB: store.Pool(), Location: shanghai, Guard: guard, Audit: log,
			Now: func() time.Time { return at("12-05 09:00:00") }})
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("/reports/", h)
	})
	get := func(c *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := get(http.DefaultClient, "/reports/monthly?month=2026-11"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %s, want 401", resp.Status)
	}
	ann := signIn(t, srv, "ann")
	if resp, _ := get(ann.c, "/reports/daily?date=2026-11-27"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent: %s, want 403", resp.Status)
	}
	sue := signIn(t, srv, "sue")
	resp, body := get(sue.c, "/reports/monthly?month=2026-11")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "12315热线月度情况通报") || !strings.Contains(body, "<svg") {
		t.Errorf("supervisor, monthly html: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	adam := signIn(t, srv, "adam")
	resp, body = get(adam.c, "/reports/daily?date=2026-11-27&format=csv&lang=en")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(body, "\uFEFFSection,Key,Item,Value,Numerator,Denominator\r\n") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "hotline-daily-2026-11-27-en.csv") {
		t.Errorf("admin, daily csv: %s %q %q", resp.Status, resp.Header, body[:min(len(body), 80)])
	}
	for _, bad := range []string{"/reports/daily?date=2026-13-01", "/reports/monthly?month=11-2026", "/reports/daily?date=2026-11-27&format=pdf",
		"/reports/daily?date=2026-11-27&lang=fr", "/reports/monthly?month=2027-01"} {
		if resp, body := get(sue.c, bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s %s, want 400", bad, resp.Status, body)
		}
	}
	entries, err := al.Find(context.Background(), audit.Query{Action: reports.ReportRead})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		got[e.Actor] = e.Target + " " + e.Detail["format"].(string)
	}
	if len(entries) != 2 || got["sue"] != "report:monthly:2026-11 html" || got["adam"] != "report:daily:2026-11-27 csv" {
		t.Errorf("audit entries %v, want one per report read (sue monthly html, adam daily csv)", got)
	}
}
