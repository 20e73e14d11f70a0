package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/config"
	"hotline/incident"
	"hotline/ivr"
	"hotline/reports"
)

func init() {
	commands["incident"] = command{runIncident, "incident mode: incident on|off --reason R, incident status"}
	commands["report"] = command{runReport, "situation reports: report daily --date D | monthly --month M [--format csv|html]"}
}

const incidentUsage = `hotline incident on --reason R [--prompt hotline/incident...] [--message M]
hotline incident off --reason R
hotline incident status`

// incidentMenuPrompts are the prompt names of the menu the controller plays.
func incidentMenuPrompts() ([]string, error) {
	menu, err := ivr.Default()
	if err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	var names []string
	for _, p := range menu.Prompts() {
		names = append(names, p.Name)
	}
	return names, nil
}

func newIncidentStore(pool *pgxpool.Pool, al *audit.Log) (*incident.Store, error) {
	prompts, err := incidentMenuPrompts()
	if err != nil {
		return nil, err
	}
	return incident.NewStore(pool, al, prompts), nil
}

// runIncident switches incident mode from the command line, audited as cli:<os user>.
func runIncident(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w:\n%s", errUsage, incidentUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("incident "+sub, flag.ContinueOnError)
	path := configFlag(fs)
	var reason, prompt, message *string
	switch sub {
	case "on":
		prompt = fs.String("prompt", incident.DefaultPrompt, "the menu's prompt to play before the menu")
		message = fs.String("message", "", "what the incident is, for people")
		fallthrough
	case "off":
		reason = fs.String("reason", "", "why (required; kept in the audit log)")
	case "status":
	default:
		return fmt.Errorf("%w: unknown incident command %q:\n%s", errUsage, sub, incidentUsage)
	}
	if err := parseFlags(fs, args); err != nil {
		return fmt.Errorf("%w\n%s", err, incidentUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := newIncidentStore(pool, audit.New(pool))
	if err != nil {
		return err
	}
	var st incident.State
	if sub == "status" {
		st, err = store.Get(ctx)
	} else {
		ch := incident.Change{Active: sub == "on", Reason: *reason, Actor: cliActor()}
		if prompt != nil {
			ch.Prompt, ch.Message = *prompt, *message
		}
		st, err = store.Switch(ctx, ch)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// incidentMode is the switch as the controller uses it.
type incidentMode struct {
	store   *incident.Store
	watcher *incident.Watcher
}

// startIncident reads the switch and keeps a copy fresh until ctx ends.
func startIncident(ctx context.Context, pool *pgxpool.Pool, al *audit.Log, cfg config.Incident, log *slog.Logger) (*incidentMode, error) {
	store, err := newIncidentStore(pool, al)
	if err != nil {
		return nil, err
	}
	w, err := incident.NewWatcher(ctx, store, cfg.Refresh, cfg.Boost, log.With("component", "incident"))
	if err != nil {
		return nil, err
	}
	go func() { _ = w.Run(ctx) }()
	return &incidentMode{store: store, watcher: w}, nil
}

// withReports serves the reports (/reports/) and the incident switch (/api/incident) in
// front of the desk's API.
func withReports(api http.Handler, svc *auth.Service, al *audit.Log, pool *pgxpool.Pool, cfg *config.Config, inc *incidentMode, log *slog.Logger) (http.Handler, error) {
	if svc == nil || inc == nil {
		return nil, errors.New("reports: sign-in and the incident switch are required")
	}
	loc, err := loadZone(cfg.Cases.TimeZone)
	if err != nil {
		return nil, err
	}
	rh, err := reports.Handler(reports.HandlerConfig{DB: pool, Location: loc, Guard: svc.RequireRole, Audit: al,
		Options: reports.Options{ServiceLevel: cfg.Reports.ServiceLevel}, Log: log.With("component", "reports")})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/reports/", framingDenied(rh))
	mux.Handle("/api/incident", incident.Handler(inc.store, svc.RequireRole, log.With("component", "incident")))
	mux.Handle("/", api)
	return mux, nil
}

// framingDenied sets the headers the desk's own pages carry against framing and sniffing:
// the report pages hold a month of the centre's figures.
func framingDenied(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
