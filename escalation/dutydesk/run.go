package dutydesk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"hotline/callflow"
	"hotline/cases"
	"hotline/escalation"
	"hotline/pbx"
)

// actor is who the chain writes as on case trails.
const actor = "escalation"

// Trail entries the shell adds to the machine's notes.
const (
	noteHandedOver cases.EventKind = "escalation_handed_over" // the caller's goroutine bridges caller and officer
	noteNoCaller   cases.EventKind = "escalation_no_caller"   // accepted with nobody on the line: the officer calls back
	noteAlertSent  cases.EventKind = "escalation_alert_sent"
	noteAlertFail  cases.EventKind = "escalation_alert_failed"
	noteRosterFail cases.EventKind = "escalation_roster_failed"
)

// Prompts of the officer's side. The summary is: intro, the case kind, "case number",
// its digits, "press 1 to accept, 2 to decline".
const (
	promptIntro      = "hotline/escalation-intro"
	promptKindPrefix = "hotline/escalation-kind-"
	promptCaseNumber = "hotline/escalation-case-number"
	promptPress      = "hotline/escalation-press"
	promptNoCaller   = "hotline/escalation-no-caller"
)

// summaryKinds are the case kinds with a prompt of their own; others are not said.
var summaryKinds = map[string]bool{"complaint": true, "report": true, "consult": true}

// SummaryMedia is what an officer hears when they answer: a pure function of the case.
func SummaryMedia(kind string, number cases.Number) string {
	media := []string{"sound:" + promptIntro}
	if summaryKinds[kind] {
		media = append(media, "sound:"+promptKindPrefix+kind)
	}
	if digits := strings.ReplaceAll(string(number), "-", ""); digits != "" {
		media = append(media, "sound:"+promptCaseNumber, "digits:"+digits)
	}
	return strings.Join(append(media, "sound:"+promptPress), ",")
}

// leg is the call to the officer of the current attempt, owned by the chain's goroutine.
type leg struct {
	attempt  escalation.Attempt
	id       string
	sub      *pbx.Subscription
	events   <-chan pbx.Event
	answered bool
	summary  string // ARI id of the summary playback
	officer  escalation.Entry
}

// run is one chain: its goroutine is the only one acting on the officers' channels.
type run struct {
	d      *Desk
	e      Emergency
	chain  *escalation.Chain
	caller *caller // nil for a case flagged from the desk
	log    *slog.Logger
	nonce  string

	leg      *leg
	pending  []escalation.Event
	timers   map[escalation.TimerID]callflow.Timer
	timeouts chan escalation.TimerID
	done     chan struct{}
	// alerts brings back the outcome of each alert, sent by a goroutine of its own: a slow
	// or failing webhook (retries included) must not hold up the next round of calls.
	alerts  chan alertResult
	sending int // alerts not back yet
}

// alertResult is how one alert went.
type alertResult struct {
	round int
	final bool
	err   error
}

func (r *run) now() time.Time { return r.d.cfg.Clock.Now() }

func (r *run) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.d.cfg.RequestTimeout)
}

func (r *run) run(ctx context.Context) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	r.nonce = hex.EncodeToString(b)
	defer func() {
		close(r.done)
		for id, t := range r.timers {
			t.Stop()
			delete(r.timers, id)
		}
		if r.leg != nil {
			r.leg.sub.Close()
		}
		if r.caller != nil {
			close(r.caller.handover) // no officer will be handed over (any more)
		}
		// The last round's alert may still be on its way: its outcome belongs on the trail
		// too. The caller has been let go above; the webhook's own retries and timeouts, and
		// the desk's context, bound the wait.
		for r.sending > 0 {
			r.alertDone(<-r.alerts)
		}
	}()
	r.log.Info("escalation: chain started")
	r.step(escalation.Start{At: r.now(), Officers: r.onDuty()})
	for !r.chain.Done() {
		var events <-chan pbx.Event
		if r.leg != nil {
			events = r.leg.events
		}
		select {
		case ev, ok := <-events:
			if !ok {
				r.leg.events = nil
				r.legEnded()
				continue
			}
			if e := r.legInput(ev); e != nil {
				r.step(e)
			}
		case id := <-r.timeouts:
			if _, ok := r.timers[id]; !ok {
				continue
			}
			delete(r.timers, id)
			r.step(escalation.Timeout{At: r.now(), Timer: id})
		case res := <-r.alerts:
			r.alertDone(res)
		case <-ctx.Done():
			r.step(escalation.Stop{At: r.now(), Reason: "shutdown"})
		}
	}
	r.log.Info("escalation: chain over", "outcome", r.chain.Outcome().String(), "rounds", r.chain.Round())
}

// onDuty reads the roster; a roster that cannot be read is an empty round (the alert
// goes out), and its failure is on the trail.
func (r *run) onDuty() []escalation.Entry {
	ctx, cancel := r.opCtx()
	defer cancel()
	officers, err := r.d.cfg.Roster.OnDuty(ctx, r.now())
	if err != nil {
		r.log.Error("escalation: roster unavailable", "err", err)
		r.trail(r.now(), noteRosterFail, map[string]any{"error": err.Error()})
		return nil
	}
	return officers
}

// legInput turns an event of the officer's channel into the machine's.
func (r *run) legInput(ev pbx.Event) escalation.Event {
	l, at := r.leg, r.now()
	switch ev.Type {
	case pbx.StasisStart:
		if !l.answered {
			l.answered = true
			return escalation.Answered{At: at, Attempt: l.attempt}
		}
	case pbx.Dial:
		s := strings.ToUpper(ev.DialStatus)
		if !l.answered && s != "" && s != "ANSWER" && s != "RINGING" && s != "PROGRESS" && s != "PROCEEDING" {
			return escalation.DialFailed{At: at, Attempt: l.attempt, Reason: s}
		}
	case pbx.ChannelDtmfReceived:
		return escalation.Key{At: at, Attempt: l.attempt, Digit: ev.Digit}
	case pbx.PlaybackFinished:
		if ev.PlaybackID == l.summary {
			if ev.PlaybackState == "failed" {
				r.log.Warn("escalation: summary playback failed", "media", ev.MediaURI)
			}
			return escalation.SummaryDone{At: at, Attempt: l.attempt}
		}
	case pbx.ChannelHangupRequest, pbx.StasisEnd, pbx.ChannelDestroyed, pbx.Vanished:
		return r.goneEvent(string(ev.Type))
	}
	return nil
}

func (r *run) goneEvent(why string) escalation.Event {
	l := r.leg
	if l.answered {
		return escalation.OfficerGone{At: r.now(), Attempt: l.attempt}
	}
	return escalation.DialFailed{At: r.now(), Attempt: l.attempt, Reason: why}
}

// legEnded: the officer's channel's events ended; the channel is gone.
func (r *run) legEnded() {
	e := r.goneEvent("channel gone")
	r.dropLeg()
	r.step(e)
}

func (r *run) dropLeg() {
	if r.leg != nil {
		r.leg.sub.Close()
		r.leg = nil
	}
}

// step feeds the machine and carries out its actions, and the events they make, in order.
func (r *run) step(e escalation.Event) {
	r.pending = append(r.pending, e)
	for len(r.pending) > 0 {
		e := r.pending[0]
		r.pending = r.pending[1:]
		for _, a := range r.chain.Step(e) {
			r.apply(a)
		}
	}
}

func (r *run) apply(a escalation.Action) {
	switch a := a.(type) {
	case escalation.Note:
		r.note(a)
	case escalation.Dial:
		r.dial(a)
	case escalation.PlaySummary:
		r.playSummary(a.Attempt)
	case escalation.HangupOfficer:
		r.hangupOfficer(a.Attempt)
	case escalation.StartTimer:
		r.startTimer(a.Timer, a.After)
	case escalation.CancelTimer:
		if t, ok := r.timers[a.Timer]; ok {
			t.Stop()
			delete(r.timers, a.Timer)
		}
	case escalation.Accept:
		r.accepted(a)
	case escalation.Alert:
		r.alert(a)
	case escalation.ReloadRoster:
		r.pending = append(r.pending, escalation.Roster{At: r.now(), Officers: r.onDuty()})
	case escalation.Finished:
		r.log.Info("escalation: finished", "outcome", a.Outcome.String())
	}
}

func (r *run) note(n escalation.Note) {
	detail := map[string]any{"round": n.Round, "trigger": r.e.Trigger}
	if n.Kind == escalation.NoteStarted {
		detail["raised_by"] = r.e.Actor
		if r.e.Language != "" {
			detail["caller_language"] = r.e.Language
		}
	}
	for k, v := range n.Detail {
		detail[k] = v
	}
	if n.Officer != nil {
		// The officer's phone stays in the roster; the trail names the officer.
		detail["attempt"], detail["officer"], detail["officer_id"] = int(n.Attempt), n.Officer.Name, int64(n.Officer.ID)
	}
	r.log.Info("escalation: "+strings.TrimPrefix(string(n.Kind), "escalation_"), "round", n.Round, "attempt", int(n.Attempt))
	r.trail(n.At, cases.EventKind(n.Kind), detail)
}

// trail writes one step on the case; a failure is logged and the chain goes on: calling
// the officers matters more than the record of it.
func (r *run) trail(at time.Time, kind cases.EventKind, detail map[string]any) {
	ctx, cancel := r.opCtx()
	defer cancel()
	if _, err := r.d.cfg.Trail.AppendEvent(ctx, r.e.CaseID, cases.NewEvent{At: at, Kind: kind, Actor: actor, Detail: detail}); err != nil {
		r.log.Error("escalation: writing the case trail failed", "event", kind, "err", err)
	}
}

func (r *run) dial(a escalation.Dial) {
	r.dropLeg() // the previous officer's channel failed or hung up: its events no longer matter
	fail := func(reason string, err error) {
		r.log.Error("escalation: cannot call the officer", "officer", a.Officer.Name, "err", err)
		r.pending = append(r.pending, escalation.DialFailed{At: r.now(), Attempt: a.Attempt, Reason: reason + ": " + err.Error()})
	}
	ep, err := escalation.DialString(r.d.cfg.DialPattern, a.Officer.Phone)
	if err != nil {
		fail("dial string", err)
		return
	}
	id := legID(r.e.CaseID, a.Attempt, r.nonce)
	// Originate timeouts are whole seconds: round up so the phone rings at least Timeout.
	timeout := ((a.Timeout + time.Second - 1) / time.Second) * time.Second
	ctx, cancel := r.opCtx()
	sub, err := r.d.cfg.PBX.Originate(ctx, pbx.OriginateRequest{Endpoint: ep, ChannelID: id, AppArgs: "escalation",
		CallerID: r.d.cfg.CallerID, Timeout: timeout, Variables: map[string]string{"CHANNEL(language)": r.d.cfg.Language}})
	cancel()
	if err != nil {
		fail("originate", err)
		return
	}
	r.leg = &leg{attempt: a.Attempt, id: id, sub: sub, events: sub.Events(), officer: a.Officer}
}

func (r *run) playSummary(a escalation.Attempt) {
	l := r.leg
	if l == nil || l.attempt != a {
		return
	}
	l.summary = l.id + "-summary"
	media := SummaryMedia(r.e.CaseKind, r.e.CaseNumber)
	ctx, cancel := r.opCtx()
	_, err := r.d.cfg.PBX.Play(ctx, l.id, media, l.summary)
	cancel()
	if err != nil {
		// The officer can still answer the key: the wait starts now.
		r.log.Error("escalation: cannot play the summary", "err", err)
		r.pending = append(r.pending, escalation.SummaryDone{At: r.now(), Attempt: a})
	}
}

func (r *run) hangupOfficer(a escalation.Attempt) {
	l := r.leg
	if l == nil || l.attempt != a {
		return
	}
	ctx, cancel := r.opCtx()
	err := r.d.cfg.PBX.Hangup(ctx, l.id, pbx.HangupNormal)
	cancel()
	if err != nil && !errors.Is(err, pbx.ErrNotFound) {
		r.log.Error("escalation: hanging up the officer failed", "channel", l.id, "err", err)
	}
	r.dropLeg()
}

func (r *run) startTimer(id escalation.TimerID, d time.Duration) {
	if t, ok := r.timers[id]; ok {
		t.Stop()
	}
	done, out := r.done, r.timeouts
	r.timers[id] = r.d.cfg.Clock.AfterFunc(d, func() {
		select {
		case out <- id:
		case <-done:
		}
	})
}

// accepted connects the officer: handed to the caller's goroutine when the caller still
// waits, otherwise told to call back and hung up.
func (r *run) accepted(a escalation.Accept) {
	l := r.leg
	if l == nil || l.attempt != a.Attempt {
		return
	}
	// A key pressed during the summary: the rest of it is not needed, and a playback
	// left running would delay what follows on the channel.
	ctx, cancel := r.opCtx()
	if err := r.d.cfg.PBX.StopPlayback(ctx, l.summary); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		r.log.Warn("escalation: cannot stop the summary", "err", err)
	}
	cancel()
	if r.caller != nil && r.handOver(l) {
		r.leg = nil // the caller's goroutine owns it now, its subscription too
		r.trail(r.now(), noteHandedOver, map[string]any{"officer": a.Officer.Name, "officer_id": int64(a.Officer.ID),
			"officer_channel_id": l.id})
		return
	}
	why := "flagged from the desk"
	if r.caller != nil {
		why = "the caller hung up"
	}
	r.trail(r.now(), noteNoCaller, map[string]any{"officer": a.Officer.Name, "officer_id": int64(a.Officer.ID), "why": why})
	r.tellNoCaller(l)
	r.hangupOfficer(a.Attempt)
}

// handOver offers the leg to the caller's goroutine; true when it took it.
func (r *run) handOver(l *leg) bool {
	taken := make(chan bool, 1)
	ol := callflow.OfficerLeg{Officer: l.officer.Name, OfficerID: int64(l.officer.ID), ChannelID: l.id, Events: l.sub, Taken: taken}
	select {
	case r.caller.handover <- ol:
	case <-r.caller.esc.Left():
		return false
	}
	// The caller's goroutine answers as soon as it receives: before it leaves.
	select {
	case ok := <-taken:
		return ok
	case <-r.caller.esc.Left():
		select {
		case ok := <-taken:
			return ok
		default:
			return false
		}
	}
}

// tellNoCaller plays the "call back" prompt to the officer and waits for its end, the
// officer's hang-up, or the guard.
func (r *run) tellNoCaller(l *leg) {
	id := l.id + "-nocaller"
	ctx, cancel := r.opCtx()
	_, err := r.d.cfg.PBX.Play(ctx, l.id, "sound:"+promptNoCaller, id)
	cancel()
	if err != nil {
		r.log.Warn("escalation: cannot tell the officer to call back", "err", err)
		return
	}
	guard := time.NewTimer(30 * time.Second)
	defer guard.Stop()
	for {
		select {
		case ev, ok := <-l.events:
			if !ok {
				return
			}
			switch ev.Type {
			case pbx.PlaybackFinished:
				if ev.PlaybackID == id {
					return
				}
			case pbx.ChannelHangupRequest, pbx.StasisEnd, pbx.ChannelDestroyed, pbx.Vanished:
				return
			}
		case <-guard.C:
			return
		case <-r.d.ctx.Done():
			return
		}
	}
}

func (r *run) alert(a escalation.Alert) {
	al := Alert{Type: "escalation.exhausted", CaseID: int64(r.e.CaseID), CaseNumber: string(r.e.CaseNumber),
		CaseKind: r.e.CaseKind, CallerLanguage: r.e.Language, Trigger: r.e.Trigger, Round: a.Round, Final: a.Final, Officers: a.Officers, At: a.At,
		CallerWaiting: r.caller != nil && !isClosed(r.caller.esc.Left())}
	r.sending++
	go func() {
		err := r.d.cfg.Alerts.Alert(r.d.ctx, al)
		r.alerts <- alertResult{round: a.Round, final: a.Final, err: err}
	}()
}

// alertDone puts an alert's outcome on the trail.
func (r *run) alertDone(res alertResult) {
	r.sending--
	if res.err != nil {
		r.log.Error("escalation: alert failed", "round", res.round, "err", res.err)
		r.trail(r.now(), noteAlertFail, map[string]any{"round": res.round, "final": res.final, "error": res.err.Error()})
		return
	}
	r.trail(r.now(), noteAlertSent, map[string]any{"round": res.round, "final": res.final})
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

var _ callflow.Escalator = (*Desk)(nil)

func (a Alert) String() string {
	return fmt.Sprintf("%s case %s round %d", a.Type, a.CaseNumber, a.Round)
}
