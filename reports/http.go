package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/audit"
)

// ReportRead is the audit action of reading a report.
const ReportRead audit.Action = "report.read"

// Auditor writes to the audit log (audit.Log).
type Auditor interface {
	Append(ctx context.Context, rec audit.Record) (audit.Entry, error)
}

// Guard wraps a handler so that only a signed-in principal with one of roles reaches it
// ((*auth.Service).RequireRole).
type Guard func(roles ...accounts.Role) func(http.Handler) http.Handler

// HandlerConfig wires Handler. DB, Location, Guard and Audit are required.
type HandlerConfig struct {
	DB       Querier
	Location *time.Location
	Guard    Guard
	Audit    Auditor
	Options  Options
	Now      func() time.Time // default time.Now
	Log      *slog.Logger
}

// Readers are the roles that may read reports.
var Readers = []accounts.Role{accounts.RoleSupervisor, accounts.RoleAdmin}

// Handler serves GET /reports/daily?date=2026-11-27 and GET /reports/monthly?month=2026-11
// to supervisors and admins, as HTML (default) or CSV (format=csv), in Chinese (default) or
// English (lang=en). Every read is written to the audit log first: no entry, no report.
func Handler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.DB == nil || cfg.Location == nil || cfg.Guard == nil || cfg.Audit == nil {
		return nil, errors.New("reports handler: DB, Location, Guard and Audit are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	mux := http.NewServeMux()
	guard := cfg.Guard(Readers...)
	mux.Handle("GET /reports/daily", guard(serve(cfg, Daily)))
	mux.Handle("GET /reports/monthly", guard(serve(cfg, Monthly)))
	return mux, nil
}

func serve(cfg HandlerConfig, kind PeriodKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var (
			p   Period
			err error
		)
		if kind == Daily {
			p, err = Day(q.Get("date"), cfg.Location)
		} else {
			p, err = Month(q.Get("month"), cfg.Location)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lang, err := ParseLang(q.Get("lang"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		format := q.Get("format")
		if format == "" {
			format = "html"
		}
		if format != "html" && format != "csv" {
			http.Error(w, fmt.Sprintf("format %q: want html or csv", format), http.StatusBadRequest)
			return
		}
		pr, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		now := cfg.Now()
		if !p.Start.Before(now) {
			http.Error(w, fmt.Sprintf("%s %s has not begun", kind, p.Label), http.StatusBadRequest)
			return
		}
		if _, err := cfg.Audit.Append(r.Context(), audit.Record{Actor: pr.Login, Action: ReportRead, Target: Target(p),
			Detail: map[string]any{"format": format, "lang": string(lang)}}); err != nil {
			cfg.Log.Error("reports: audit failed; report not served", "agent", pr.Login, "err", err)
			http.Error(w, "the read could not be audited", http.StatusInternalServerError)
			return
		}
		rep, err := Make(r.Context(), cfg.DB, p, now, cfg.Options)
		if err != nil {
			cfg.Log.Error("reports: make report", "agent", pr.Login, "period", p.Label, "err", err)
			http.Error(w, "the report could not be made", http.StatusInternalServerError)
			return
		}
		var buf bytes.Buffer
		if format == "csv" {
			err = WriteCSV(&buf, rep, lang)
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hotline-%s-%s-%s.csv"`, kind, p.Label, lang))
		} else {
			err = WriteHTML(&buf, rep, lang, now)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		if err != nil {
			cfg.Log.Error("reports: render", "format", format, "err", err)
			http.Error(w, "the report could not be written", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	}
}

// Target is the audit target of a report: "report:monthly:2026-11".
func Target(p Period) string { return "report:" + string(p.Kind) + ":" + p.Label }
