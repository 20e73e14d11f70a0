package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases/casestest"
	"hotline/config"
	"hotline/incident"
	"hotline/reports"
)

func TestReportAndIncidentCommands(t *testing.T) {
	url := casestest.NewDatabase(t)
	t.Setenv("HOTLINE_DATABASE_URL", url)
	t.Setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0") // read by config, never dialled here
	t.Setenv("HOTLINE_CONFIG", "")
	ctx := context.Background()
	if err := runMigrate(ctx, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	run := func(f func(context.Context, io.Writer, []string) error, args ...string) (string, error) {
		var out bytes.Buffer
		err := f(ctx, &out, args)
		return out.String(), err
	}

	out, err := run(runReport, "monthly", "--month", "2026-11", "--format", "csv", "--lang", "en")
	if err != nil || !strings.HasPrefix(out, "\uFEFFSection,Key,Item,Value,Numerator,Denominator\r\n") || !strings.Contains(out, "Calls,answer_rate,Answer rate,-,0,0") {
		t.Errorf("report monthly csv: %v\n%s", err, out)
	}
	out, err = run(runReport, "daily", "--date", "2026-11-27", "--format", "html")
	if err != nil || !strings.Contains(out, "12315热线日情况通报") || !strings.Contains(out, "<svg") {
		t.Errorf("report daily html: %v", err)
	}
	for _, bad := range [][]string{{"weekly"}, {"daily", "--date", "2026-11-31"}, {"monthly", "--month", "2026-11", "--format", "pdf"}, {}} {
		if _, err := run(runReport, bad...); !errors.Is(err, errUsage) {
			t.Errorf("report %q: %v, want a usage error", bad, err)
		}
	}
	entries, err := audit.New(pool).Find(ctx, audit.Query{Action: reports.ReportRead})
	if err != nil || len(entries) != 2 || !strings.HasPrefix(entries[0].Actor, "cli:") || entries[1].Target != "report:monthly:2026-11" {
		t.Errorf("report reads audited: %v %+v", err, entries)
	}

	if _, err := run(runIncident, "on"); err == nil {
		t.Error("incident on without a reason was accepted")
	}
	out, err = run(runIncident, "on", "--reason", "食物中毒", "--message", "某校食堂")
	var st incident.State
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.Active || st.Prompt != "hotline/incident" || !strings.HasPrefix(st.ChangedBy, "cli:") {
		t.Errorf("incident on: %v %s", err, out)
	}
	if _, err := run(runIncident, "on", "--reason", "again"); !errors.Is(err, incident.ErrUnchanged) {
		t.Errorf("incident on twice: %v, want ErrUnchanged", err)
	}
	if _, err := run(runIncident, "on", "--reason", "x", "--prompt", "hotline/welcome"); err == nil {
		t.Error("a prompt that is not an incident prompt was accepted")
	}
	if out, err = run(runIncident, "off", "--reason", "处置完毕"); err != nil || !strings.Contains(out, `"active": false`) {
		t.Errorf("incident off: %v %s", err, out)
	}
	if out, err = run(runIncident, "status"); err != nil || !strings.Contains(out, `"reason": "处置完毕"`) {
		t.Errorf("incident status: %v %s", err, out)
	}
	entries, err = audit.New(pool).Find(ctx, audit.Query{Target: incident.Target})
	if err != nil || len(entries) != 2 || entries[0].Action != incident.SwitchedOff || entries[1].Action != incident.SwitchedOn {
		t.Errorf("incident switches audited: %v %+v", err, entries)
	}

	// What serve mounts: the reports and the switch before the desk's API, which keeps the rest.
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	al := audit.New(pool)
	hasher, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(pool, accounts.NewStore(pool, hasher, al), al, auth.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	inc, err := startIncident(wctx, pool, al, cfg.Incident, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h, err := withReports(api, svc, al, pool, cfg, inc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/reports/monthly?month=2026-11": http.StatusUnauthorized,
		"/api/incident": http.StatusUnauthorized, "/healthz": http.StatusTeapot} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
		if strings.HasPrefix(path, "/reports/") && rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: the report pages may be framed (X-Frame-Options %q)", path, rec.Header().Get("X-Frame-Options"))
		}
	}
}
