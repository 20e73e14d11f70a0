package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases"
	"hotline/config"
	"hotline/escalation"
	"hotline/escalation/dutydesk"
	"hotline/pbx"
	"hotline/pbx/sim"
)

// dutyDesk is the after-hours emergency escalation as serve wires it: the duty desk in
// front of the call path's emergency queue, the roster store, and the desk's routes.
// A nil *dutyDesk (escalation disabled) still serves the roster routes.
type dutyDesk struct {
	desk   *dutydesk.Desk // nil when escalation.enabled is false
	roster *cases.RosterStore
	store  *cases.Store
	audit  *audit.Log
}

// startEscalation builds the duty desk from cfg and hands it to the call path's
// emergency desk (callflow.EmergencyDesk), before the call path runs.
func startEscalation(cfg config.Escalation, calls *callPath, client *pbx.Client, store *cases.Store, pool *pgxpool.Pool,
	log *slog.Logger) (*dutyDesk, error) {
	al := audit.New(pool)
	d := &dutyDesk{roster: cases.NewRosterStore(pool, al), store: store, audit: al}
	calls.emergency.Skill = cfg.EmergencySkill
	if !cfg.Enabled {
		log.Warn("escalation disabled: emergencies nobody on the desk can take wait in the emergency queue")
		return d, nil
	}
	var alerts dutydesk.Alerter = noWebhook{}
	if cfg.WebhookURL != "" {
		wh, err := dutydesk.NewWebhook(cfg.WebhookURL, cfg.WebhookToken)
		if err != nil {
			return nil, fmt.Errorf("escalation.webhook_url: %w", err)
		}
		wh.Timeout, wh.Attempts = cfg.WebhookTimeout, cfg.WebhookAttempts
		alerts = wh
	} else {
		log.Warn("escalation.webhook_url is empty: an exhausted chain is only logged")
	}
	p := escalation.DefaultPolicy
	p.RingTimeout, p.AckTimeout, p.Retries, p.RetryPause = cfg.RingTimeout, cfg.AckTimeout, cfg.Retries, cfg.RetryPause
	desk, err := dutydesk.New(dutydesk.Config{PBX: client, Trail: store, Roster: d.roster, Alerts: alerts, Policy: p,
		DialPattern: cfg.DialPattern, CallerID: cfg.CallerID, Logger: log.With("component", "escalation")})
	if err != nil {
		return nil, err
	}
	d.desk = desk
	calls.emergency.Escalator = desk
	// An emergency that waits in the agents' queue to its maximum goes to the officers too.
	calls.queue.SetEmergencyOverflow(calls.emergency)
	return d, nil
}

// close stops the running chains (officers still ringing are hung up).
func (d *dutyDesk) close() {
	if d != nil && d.desk != nil {
		d.desk.Close()
	}
}

// routes are the roster API and, when escalation is on, the desk's emergency flag.
func (d *dutyDesk) routes(a *auth.Service, log *slog.Logger) []agentdesk.Option {
	if d == nil || a == nil {
		return nil
	}
	api := &agentdesk.RosterAPI{Auth: a, Store: d.roster, Logger: log.With("component", "roster")}
	if d.desk != nil {
		api.Flag = d
	}
	return api.Routes()
}

// FlagEmergency starts the chain of a case an agent marks as an emergency.
func (d *dutyDesk) FlagEmergency(ctx context.Context, number cases.Number, actor string) error {
	c, err := d.store.FindByNumber(ctx, number)
	if err != nil {
		return err
	}
	// Audited before the officers are rung: no entry, no escalation (the agent may retry).
	if _, err := d.audit.Append(ctx, audit.Record{Actor: actor, Action: "case.escalated", Target: audit.CaseTarget(string(number))}); err != nil {
		return fmt.Errorf("escalation not started: the audit log is unavailable: %w", err)
	}
	err = d.desk.Flag(ctx, dutydesk.Emergency{CaseID: c.Case.ID, CaseNumber: number, CaseKind: string(c.Case.Kind),
		Trigger: "desk", Actor: actor})
	if errors.Is(err, dutydesk.ErrRunning) {
		return fmt.Errorf("%w: %s", agentdesk.ErrAlreadyEscalating, number)
	}
	if err != nil {
		return err
	}
	return nil
}

// noWebhook is the alerter without a webhook URL: the failure is on the case trail.
type noWebhook struct{}

func (noWebhook) Alert(context.Context, dutydesk.Alert) error {
	return errors.New("no alert webhook configured (escalation.webhook_url)")
}

// demoOfficers are the demo's duty officers on the simulated PBX: the first never
// answers, the second answers after two seconds, accepts with 1 and speaks (880 Hz) for
// a while.
var demoOfficers = []struct {
	name, phone string
	spec        sim.EndpointSpec
}{
	{"demo officer 1", "13900000101", sim.EndpointSpec{Behavior: sim.NoAnswer}},
	{"demo officer 2", "13900000102", sim.EndpointSpec{AnswerAfter: 2 * time.Second, Steps: "w1 1 T880:8 h"}},
}

// demoEscalation wires the duty desk into the demo with its simulated officers; they are
// put on the roster for the next day unless someone is on duty already.
func demoEscalation(ctx context.Context, srv *sim.Server, cfg config.Escalation, calls *callPath, client *pbx.Client,
	store *cases.Store, pool *pgxpool.Pool, log *slog.Logger) (*dutyDesk, error) {
	cfg.RingTimeout = 10 * time.Second
	d, err := startEscalation(cfg, calls, client, store, pool, log)
	if err != nil || !cfg.Enabled {
		return d, err
	}
	now := time.Now()
	on, err := d.roster.OnDuty(ctx, now)
	if err != nil {
		d.close()
		return nil, err
	}
	for i, o := range demoOfficers {
		o.spec.Name, err = escalation.DialString(cfg.DialPattern, o.phone)
		if err != nil {
			d.close()
			return nil, err
		}
		srv.RegisterEndpoint(o.spec)
		if len(on) == 0 {
			if _, err := d.roster.Add(ctx, "demo", escalation.Entry{Name: o.name, Phone: o.phone, From: now.Add(-time.Minute),
				To: now.Add(24 * time.Hour), Order: i + 1, Active: true}); err != nil {
				d.close()
				return nil, err
			}
		}
	}
	return d, nil
}
