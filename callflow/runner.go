package callflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/ivr"
	"hotline/pbx"
)

// Config wires a Runner. Calls, PBX, Cases, Recordings, Machine and Deadlines are required.
type Config struct {
	Calls      Incoming // callers entering the Stasis app: a *pbx.Client
	PBX        PBX      // a *pbx.Client
	Cases      CaseStore
	Recordings RecordingStore
	Machine    *ivr.Machine
	Deadlines  Deadlines
	// Queue takes calls the menu hands to people. Default BusyQueue{} (every call
	// overflows to voicemail) until the ACD is wired.
	Queue Queue
	// Clock stamps records and runs the IVR's timers. Default RealClock.
	Clock Clock
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// RequestTimeout bounds each ARI request and each database write. Default 5s.
	RequestTimeout time.Duration
	// LookupTimeout bounds a case look-up; keep it below the menu's lookup_timeout so the
	// caller hears "not available" from us rather than from the menu's guard. Default 4s.
	LookupTimeout time.Duration
	// CallbackQueue is the queue of callback tasks for calls that reached no queue (a
	// message left at a voicemail node). Default "general".
	CallbackQueue string
	// RecordingGrace is how long past a voicemail's maximum length the call waits for
	// Asterisk's RecordingFinished before stopping the recording itself. Default 15s.
	RecordingGrace time.Duration
	// Incident, when set, is read at the start of each call: while incident mode is on the
	// caller hears its announcement before the menu (incident.go).
	Incident Incident
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	for name, missing := range map[string]bool{
		"Calls": c.Calls == nil, "PBX": c.PBX == nil, "Cases": c.Cases == nil,
		"Recordings": c.Recordings == nil, "Machine": c.Machine == nil, "Deadlines": c.Deadlines == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("callflow config: %w", errors.Join(errs...))
	}
	if c.Queue == nil {
		c.Queue = BusyQueue{}
	}
	if c.Clock == nil {
		c.Clock = RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.LookupTimeout <= 0 {
		c.LookupTimeout = 4 * time.Second
	}
	if c.CallbackQueue == "" {
		c.CallbackQueue = "general"
	}
	if c.RecordingGrace <= 0 {
		c.RecordingGrace = 15 * time.Second
	}
	return c, nil
}

// Runner runs every inbound call in a goroutine of its own.
type Runner struct {
	cfg Config
	log *slog.Logger
	m   *metrics
	wg  sync.WaitGroup

	draining atomic.Bool
	active   atomic.Int64 // calls being handled (turned-away calls are not counted)

	// keyToPrompt, when set (benchmarks), sees each DTMF-to-playback latency.
	keyToPrompt func(keyLatency)
}

// keyLatency is how long a key took to become the next prompt's playback, accepted by the
// PBX.
type keyLatency struct {
	InCall     time.Duration // from the DTMF event reaching the call goroutine
	SinceEvent time.Duration // from the event's own timestamp (millisecond precision)
	ARI        time.Duration // of InCall, waiting for ARI requests (stop, play)
	// From the event's frame arriving from the PBX (pbx.Event.Received; zero when not
	// known): Received to the play accepted, Requested to the play request sent, Written
	// to that request written out to the PBX's connection (zero if the transport had not
	// reported it by the time the play was accepted).
	Received, Requested, Written time.Duration
	// Frame is that arrival (zero when not known) and Playback the ARI id of the play it
	// became, by which a benchmark finds when the play request reached the PBX.
	Frame    time.Time
	Playback string
}

// New checks the configuration and returns a Runner.
func New(cfg Config) (*Runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, log: cfg.Logger, m: m}, nil
}

// Run takes calls from Incoming until ctx ends or the stream closes, then waits for the
// calls in progress to end (on ctx's end each is hung up and its records closed).
func (r *Runner) Run(ctx context.Context) error {
	in := r.cfg.Calls.Incoming()
	defer r.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case call, ok := <-in:
			if !ok {
				return nil
			}
			if call == nil || call.Events == nil {
				continue
			}
			r.wg.Add(1)
			if r.draining.Load() {
				go func() {
					defer r.wg.Done()
					r.turnAway(ctx, call)
				}()
				continue
			}
			r.active.Add(1)
			go func() {
				defer r.wg.Done()
				defer r.active.Add(-1)
				r.handle(ctx, call)
			}()
		}
	}
}

// DrainVariable is the channel variable a draining controller sets on a call it turns
// away before handing it back to the dialplan; asterisk-config/extensions.conf then
// offers the call to the standby controller's application.
const DrainVariable = "HOTLINE_DRAINING"

// Drain stops taking new calls: from now on each new call is handed back to the dialplan
// (with DrainVariable set) instead of being answered here, while the calls in progress go
// on to their end. Run keeps running; WaitIdle tells when the last call has ended.
func (r *Runner) Drain() { r.draining.Store(true) }

// Active is the number of calls being handled.
func (r *Runner) Active() int { return int(r.active.Load()) }

// WaitIdle returns when no call is being handled, or with ctx's error when ctx ends
// first.
func (r *Runner) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for r.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// turnAway hands a new call back to the dialplan untouched (no case: the controller that
// takes it makes one). When the dialplan cannot be reached the call is hung up rather than
// left in an application that will not answer it.
func (r *Runner) turnAway(ctx context.Context, in *pbx.InboundCall) {
	defer in.Events.Close()
	id := in.Channel.ID
	log := r.log.With("call", id)
	octx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	r.m.turnedAway.Inc()
	if err := r.cfg.PBX.SetVariable(octx, id, DrainVariable, "1"); err != nil {
		log.Warn("callflow: draining; could not mark the call for the dialplan", "err", err)
	}
	if err := r.cfg.PBX.Continue(octx, id); err != nil {
		log.Error("callflow: draining; could not hand the call back to the dialplan, hanging up", "err", err)
		r.m.errors.WithLabelValues("continue").Inc()
		if err := r.cfg.PBX.Hangup(octx, id, pbx.HangupCongestion); err != nil {
			log.Error("callflow: draining; hang-up failed", "err", err)
		}
		return
	}
	log.Info("callflow: draining; new call handed back to the dialplan", "from", in.Channel.CallerNumber)
}

// handle runs one call. A panic ends this call only: it is logged with the call's ids and
// the call is hung up and its records closed.
func (r *Runner) handle(ctx context.Context, in *pbx.InboundCall) {
	c := newCall(r, in)
	r.m.active.Inc()
	defer r.m.active.Dec()
	defer c.close()
	defer func() {
		if p := recover(); p != nil {
			r.m.panics.Inc()
			c.log.Error("callflow: call panicked; ending it", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			c.abort("panic")
		}
	}()
	c.run(ctx)
}
