// Package dutydesk is the emergency duty desk: it runs escalation chains (the pure
// escalation.Chain) over the PBX, one goroutine per chain. The goroutine owns the
// officers' channels: it originates to each officer (the roster phone through a dial
// pattern), plays the case summary, reads the key, hangs up, and writes every step on the
// case trail. When an officer accepts and the caller still waits, the officer's leg is
// handed to the caller's call goroutine (callflow.Escalation), which bridges the two; an
// exhausted round POSTs an alert to the webhook.
//
// Two ways in: Escalate for a caller on the line (callflow.EmergencyDesk, the IVR's
// emergency choice), Flag for a case an agent marks as an emergency from the desk (nobody
// on the line: the officer who accepts calls back).
package dutydesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"hotline/callflow"
	"hotline/cases"
	"hotline/escalation"
	"hotline/pbx"
)

// PBX is what a chain does to the officers' channels: (*pbx.Client).
type PBX interface {
	Originate(ctx context.Context, req pbx.OriginateRequest) (*pbx.Subscription, error)
	Hangup(ctx context.Context, channelID string, reason pbx.HangupReason) error
	Play(ctx context.Context, channelID, media, playbackID string) (string, error)
	StopPlayback(ctx context.Context, playbackID string) error
}

// Trail appends to a case's trail: (*cases.Store).
type Trail interface {
	AppendEvent(ctx context.Context, id cases.CaseID, e cases.NewEvent) (cases.Event, error)
}

// Roster says who is on duty: (*cases.RosterStore).
type Roster interface {
	OnDuty(ctx context.Context, t time.Time) ([]escalation.Entry, error)
}

// Alerter raises the alarm of an exhausted round: (*Webhook).
type Alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// Clock is the chains' time: Now stamps steps, AfterFunc runs the machine's timers.
type Clock = callflow.Clock

// Config wires a Desk. PBX, Trail, Roster, Alerts and DialPattern are required.
type Config struct {
	PBX    PBX
	Trail  Trail
	Roster Roster
	Alerts Alerter
	Policy escalation.Policy // zero: escalation.DefaultPolicy
	// DialPattern makes an officer's dial string from the roster phone, e.g.
	// "PJSIP/{phone}@trunk".
	DialPattern string
	// CallerID is shown on the officers' phones. Default "12315".
	CallerID string
	// Language is the officers' language: the summary's prompts. Default "zh". (The
	// caller's language is in the alert and on the trail.)
	Language string
	Clock    Clock // default callflow.RealClock
	Logger   *slog.Logger
	// RequestTimeout bounds each ARI request and trail write. Default 5s.
	RequestTimeout time.Duration
}

// Emergency is a case to escalate.
type Emergency struct {
	CaseID     cases.CaseID
	CaseNumber cases.Number
	CaseKind   string // complaint, report, ...: said in the summary
	Language   string // the caller's, when a caller is on the line
	Trigger    string // "ivr" or "desk"
	Actor      string // who raised it: "ivr" or the agent's login
}

// ErrRunning is returned when the case already has a chain running.
var ErrRunning = errors.New("an escalation is already running for this case")

// Desk runs escalation chains.
type Desk struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // chains outlive the request that started them; Close ends them
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[cases.CaseID]bool
	closed  bool
}

// New checks cfg and returns the desk.
func New(cfg Config) (*Desk, error) {
	var errs []error
	for name, missing := range map[string]bool{"PBX": cfg.PBX == nil, "Trail": cfg.Trail == nil,
		"Roster": cfg.Roster == nil, "Alerts": cfg.Alerts == nil} {
		if missing {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if cfg.Policy == (escalation.Policy{}) {
		cfg.Policy = escalation.DefaultPolicy
	}
	if err := cfg.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := escalation.DialString(cfg.DialPattern, "12315"); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("duty desk config: %w", errors.Join(errs...))
	}
	if cfg.CallerID == "" {
		cfg.CallerID = "12315"
	}
	if cfg.Language == "" {
		cfg.Language = "zh"
	}
	if cfg.Clock == nil {
		cfg.Clock = callflow.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Desk{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, running: map[cases.CaseID]bool{}}, nil
}

// Close stops every chain (officers still ringing are hung up, the stop is on the trail)
// and waits for them.
func (d *Desk) Close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// Escalate starts the chain of a caller waiting on the line: callflow.Escalator.
func (d *Desk) Escalate(_ context.Context, o callflow.Offer) (*callflow.Escalation, error) {
	handover := make(chan callflow.OfficerLeg)
	esc := callflow.NewEscalation(handover)
	err := d.start(Emergency{CaseID: o.CaseID, CaseNumber: o.CaseNumber, CaseKind: string(o.CaseKind),
		Language: string(o.Language), Trigger: "ivr", Actor: "ivr"}, &caller{esc: esc, handover: handover, channel: o.ChannelID})
	if err != nil {
		return nil, err
	}
	return esc, nil
}

// Flag starts the chain of a case with nobody on the line (an agent marked it from the
// desk). ErrRunning when the case has a chain running.
func (d *Desk) Flag(_ context.Context, e Emergency) error {
	if e.Trigger == "" {
		e.Trigger = "desk"
	}
	return d.start(e, nil)
}

// Running reports whether the case has a chain running.
func (d *Desk) Running(id cases.CaseID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running[id]
}

func (d *Desk) start(e Emergency, c *caller) error {
	if e.CaseID == 0 {
		return errors.New("escalate: the case has no id (it was not stored)")
	}
	chain, err := escalation.NewChain(d.cfg.Policy)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("escalate: the duty desk is closed")
	}
	if d.running[e.CaseID] {
		d.mu.Unlock()
		return fmt.Errorf("escalate case %s: %w", e.CaseNumber, ErrRunning)
	}
	d.running[e.CaseID] = true
	d.wg.Add(1)
	d.mu.Unlock()
	r := &run{d: d, e: e, chain: chain, caller: c, timers: map[escalation.TimerID]callflow.Timer{},
		timeouts: make(chan escalation.TimerID, 4), done: make(chan struct{}), alerts: make(chan alertResult, 1),
		log: d.log.With("case", string(e.CaseNumber), "trigger", e.Trigger)}
	if c != nil {
		r.log = r.log.With("call", c.channel)
	}
	go func() {
		defer d.wg.Done()
		defer func() {
			d.mu.Lock()
			delete(d.running, e.CaseID)
			d.mu.Unlock()
		}()
		r.run(d.ctx)
	}()
	return nil
}

// caller is the caller's side of a chain started from the IVR.
type caller struct {
	esc      *callflow.Escalation
	handover chan callflow.OfficerLeg
	channel  string
}

// legID is the channel id of an attempt's call to an officer.
func legID(caseID cases.CaseID, a escalation.Attempt, nonce string) string {
	return "esc-" + strconv.FormatInt(int64(caseID), 10) + "-" + nonce + "-" + strconv.Itoa(int(a))
}
