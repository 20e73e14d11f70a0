package callflow

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"hotline/acd"
	"hotline/cases"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/recordstore"
)

// call is one caller, owned by one goroutine: every ARI request and database write for
// the call is made from it, so nothing about the call needs a lock. Timers are the only
// other goroutines; they hand their timeouts to this one over a channel.
type call struct {
	r       *Runner
	log     *slog.Logger
	id      string // the caller's channel id
	ch      pbx.Channel
	sub     *pbx.Subscription
	events  <-chan pbx.Event // nil once the channel's stream has ended
	started time.Time
	caller  cases.Phone

	caseID cases.CaseID // 0 while no case row exists (the database refused it)
	number cases.Number
	callID cases.CallID

	answeredAt time.Time
	marked     bool // answered_at written

	st      ivr.State
	path    []ivr.PathStep
	pending []ivr.Event // events the shell made itself, fed to the machine in order
	leave   ivr.Action  // the action that ended the menu, if any

	timers   map[ivr.TimerID]Timer
	timeouts chan ivr.TimerID
	done     chan struct{} // closed when the call is over: pending timers give up
	guards   int

	playing map[string]ivr.PlaybackID // ARI playback id -> the machine's id
	current string                    // ARI id of the playback the menu is waiting for
	queued  int                       // playbacks of the shell's own

	keyAt    time.Time     // when the DTMF being handled reached us (wall clock, for latency)
	keyEvent time.Time     // the DTMF event's own timestamp
	keyFrame time.Time     // when its frame arrived from the PBX (zero: not known)
	keyARI   time.Duration // spent in ARI requests since keyAt

	gone      bool // the caller's channel has gone
	hungUp    bool // we hung it up
	hangupFed bool // the machine has been told

	queue    *queueInfo
	vm       vmResult
	recName  string
	stored   *recordstore.Stored
	lookedUp cases.Number
	aborted  string // "panic" or "shutdown"
	w        writes
}

// queueInfo is what the menu handed to a queue, and what the queue said.
type queueInfo struct {
	name      string
	skills    []ivr.Skill
	kind      ivr.CaseKind
	emergency bool
	reason    string

	enqueuedAt time.Time   // in the distributor, by its clock
	agent      acd.AgentID // the agent who answered
	keptPlace  bool        // the caller chose a callback that keeps the place
}

// vmResult is how a voice message turned out.
type vmResult int

const (
	vmNone      vmResult = iota
	vmAbandoned          // the caller hung up after the queue, before the recording began
	vmFailed             // no audio kept: the recording failed, or its file could not be read or stored
	vmSilent             // stored, but nothing above the silence threshold
	vmRecorded           // stored, with something said
)

// writes marks the final records already made, so that ending a call twice (a panic while
// settling) never writes one twice.
type writes struct {
	settled, registered, recording, task, ended bool
}

func newCall(r *Runner, in *pbx.InboundCall) *call {
	c := &call{
		r:        r,
		id:       in.Channel.ID,
		ch:       in.Channel,
		sub:      in.Events,
		events:   in.Events.Events(),
		started:  r.cfg.Clock.Now(),
		timers:   map[ivr.TimerID]Timer{},
		timeouts: make(chan ivr.TimerID, 4),
		done:     make(chan struct{}),
		playing:  map[string]ivr.PlaybackID{},
	}
	c.log = r.log.With("call", c.id, "case", "")
	phone, err := cases.ParsePhone(in.Channel.CallerNumber)
	if err != nil {
		// A malformed caller id must not lose the call: keep the case, without a number.
		c.log.Warn("callflow: caller id is not a phone number; stored empty", "caller_id", in.Channel.CallerNumber, "err", err)
	}
	c.caller = phone
	return c
}

func (c *call) now() time.Time { return c.r.cfg.Clock.Now() }

// opCtx bounds one request. It does not derive from the call's context: records must still
// be closed, and the caller hung up, when the controller is shutting down.
func (c *call) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.r.cfg.RequestTimeout)
}

// fail logs and counts a failed operation; the call goes on.
func (c *call) fail(op string, err error, args ...any) {
	c.r.m.errors.WithLabelValues(op).Inc()
	c.log.Error("callflow: "+op+" failed", append([]any{"err", err}, args...)...)
}

func (c *call) run(ctx context.Context) {
	c.createCase()
	c.answer()
	if !c.incidentNotice(ctx) || !c.menu(ctx) {
		c.abort("shutdown")
		return
	}
	c.afterMenu(ctx)
	c.settle()
}

// close releases the call's timers and subscription.
func (c *call) close() {
	close(c.done)
	for id, t := range c.timers {
		t.Stop()
		delete(c.timers, id)
	}
	c.sub.Close()
}

// abort ends the call whatever state it is in: hang up, close the records.
func (c *call) abort(reason string) {
	defer func() {
		if p := recover(); p != nil {
			c.r.m.panics.Inc()
			c.log.Error("callflow: ending the call panicked too", "panic", p)
		}
	}()
	if c.aborted == "" {
		c.aborted = reason
	}
	c.log.Warn("callflow: ending the call early", "reason", reason)
	for id, t := range c.timers {
		t.Stop()
		delete(c.timers, id)
	}
	c.hangup()
	c.settle()
}

// createCase opens the draft case and the call row. On failure the call goes on without
// them; settle tries again, so that what the caller leaves is not lost.
func (c *call) createCase() {
	ctx, cancel := c.opCtx()
	defer cancel()
	caseID, number, callID, err := c.r.cfg.Cases.CreateCaseWithCall(ctx,
		cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone, ReceivedAt: c.started, RegisteredBy: actor, CallerNumber: c.caller},
		cases.NewCall{ChannelID: c.id, Direction: cases.Inbound, CallerNumber: c.caller, CalledNumber: c.ch.Exten, StartedAt: c.started})
	if err != nil {
		c.fail("db.create_case", err)
		return
	}
	c.caseID, c.number, c.callID = caseID, number, callID
	c.log = c.r.log.With("call", c.id, "case", string(number))
	c.r.m.cases.Inc()
	c.log.Info("callflow: new call", "caller", c.caller.Masked(), "exten", c.ch.Exten)
}

// ensureCase makes sure the case row exists before a write that needs it.
func (c *call) ensureCase() bool {
	if c.caseID == 0 {
		c.createCase()
	}
	if c.caseID != 0 && !c.marked && !c.answeredAt.IsZero() {
		c.markAnswered()
	}
	return c.caseID != 0
}

// actor is who the call flow writes as on case trails.
const actor = "ivr"

func (c *call) answer() {
	ctx, cancel := c.opCtx()
	err := c.r.cfg.PBX.Answer(ctx, c.id)
	cancel()
	if err != nil {
		// The menu runs anyway: if the channel is gone its StasisEnd ends the call.
		c.fail("answer", err)
		return
	}
	c.answeredAt = c.now()
	if c.caseID != 0 {
		c.markAnswered()
	}
}

func (c *call) markAnswered() {
	ctx, cancel := c.opCtx()
	defer cancel()
	if err := c.r.cfg.Cases.MarkAnswered(ctx, c.callID, c.answeredAt); err != nil {
		c.fail("db.mark_answered", err)
		return
	}
	c.marked = true
}

// input is one thing the call goroutine waited for.
type input struct {
	ev     pbx.Event
	closed bool // the channel's event stream ended
	timer  ivr.TimerID
}

// next waits for the channel's next event or a timeout; false when ctx ended.
func (c *call) next(ctx context.Context) (input, bool) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			c.events = nil
			return input{closed: true}, true
		}
		return input{ev: ev}, true
	case id := <-c.timeouts:
		if _, running := c.timers[id]; !running {
			return input{}, true // cancelled while on its way: nothing happened
		}
		delete(c.timers, id)
		return input{timer: id}, true
	case <-ctx.Done():
		return input{}, false
	}
}

// menu runs the IVR machine until the call leaves the menu; false if ctx ended first.
func (c *call) menu(ctx context.Context) bool {
	c.step(ivr.Start{At: c.now(), Language: ivr.Language(c.ch.Language)})
	if c.gone { // hung up during the incident announcement
		c.callerGone()
	}
	for !c.st.Done() {
		in, ok := c.next(ctx)
		switch {
		case !ok:
			return false
		case in.closed:
			c.callerGone()
		case in.timer != "":
			c.step(ivr.Timeout{At: c.now(), Timer: in.timer})
		case in.ev.Type != "":
			c.menuEvent(in.ev)
		}
	}
	return true
}

// menuEvent translates an ARI event for the machine.
func (c *call) menuEvent(ev pbx.Event) {
	switch ev.Type {
	case pbx.ChannelDtmfReceived:
		d, err := ivr.ParseDigit(ev.Digit)
		if err != nil {
			c.log.Warn("callflow: ignored DTMF", "err", err)
			return
		}
		c.keyAt, c.keyEvent, c.keyFrame, c.keyARI = time.Now(), ev.Time, ev.Received, 0
		c.step(ivr.DTMF{At: c.now(), Digit: d})
		c.keyAt = time.Time{}
	case pbx.PlaybackFinished:
		pid, ok := c.playing[ev.PlaybackID]
		if !ok {
			return
		}
		delete(c.playing, ev.PlaybackID)
		if c.current == ev.PlaybackID {
			c.current = ""
		}
		if ev.PlaybackState == "failed" {
			// A missing sound file: the menu goes on as if it had played.
			c.r.m.errors.WithLabelValues("playback").Inc()
			c.log.Warn("callflow: playback failed", "playback", ev.PlaybackID, "media", ev.MediaURI)
		}
		c.step(ivr.PromptFinished{At: c.now(), Playback: pid})
	case pbx.ChannelHangupRequest:
		if !c.hungUp {
			c.callerGone()
		}
	case pbx.StasisEnd, pbx.Vanished:
		c.callerGone()
	case pbx.Resynced:
		c.recheck()
	}
}

// callerGone tells the machine once that the caller hung up.
func (c *call) callerGone() {
	c.gone = true
	if c.hangupFed || c.st.Done() {
		return
	}
	c.hangupFed = true
	c.step(ivr.CallerHangup{At: c.now()})
}

// recheck runs after the event socket came back: events may have been lost. A channel
// that is gone is a hang-up. A prompt the menu waits for is stopped: if it had already
// finished (404) its end was lost and is fed now; if it was still playing, it is cut short
// and its PlaybackFinished follows. (ARI could tell without stopping, GET /playbacks/{id},
// but pbx does not offer it yet.)
func (c *call) recheck() {
	ctx, cancel := c.opCtx()
	_, err := c.r.cfg.PBX.ChannelData(ctx, c.id)
	cancel()
	if errors.Is(err, pbx.ErrNotFound) {
		c.callerGone()
		return
	}
	if c.current == "" {
		return
	}
	id := c.current
	ctx, cancel = c.opCtx()
	err = c.r.cfg.PBX.StopPlayback(ctx, id)
	cancel()
	if errors.Is(err, pbx.ErrNotFound) {
		pid := c.playing[id]
		delete(c.playing, id)
		c.current = ""
		c.log.Info("callflow: resync: a prompt's end was lost; going on", "playback", id)
		c.step(ivr.PromptFinished{At: c.now(), Playback: pid})
	}
}

// step feeds the machine an event, carries out its actions, and feeds the events those
// produce (a failed playback, a look-up's answer) until none is left.
func (c *call) step(e ivr.Event) {
	c.pending = append(c.pending, e)
	for len(c.pending) > 0 {
		e := c.pending[0]
		c.pending = c.pending[1:]
		var acts []ivr.Action
		c.st, acts = c.r.cfg.Machine.Step(c.st, e)
		for i := 0; i < len(acts); i++ {
			if stop, ok := acts[i].(ivr.StopPlayback); ok {
				if j := c.swapAt(acts, i); j > i {
					// A barge-in: the actions between are the call's own bookkeeping.
					for _, a := range acts[i+1 : j] {
						c.apply(a)
					}
					next := acts[j].(ivr.Play)
					c.swap(stop.Playback, next.Playback, strings.Join(next.Media(), ","))
					i = j
					continue
				}
			}
			c.apply(acts[i])
		}
	}
}

// playbackSwapper stops a playback and starts the next with both requests in flight at
// once (pbx.Client.StopAndPlay); a PBX without it gets the stop, then the play.
type playbackSwapper interface {
	StopAndPlay(ctx context.Context, stopID, channelID, media, playbackID string) (id string, stopErr, err error)
}

// swapAt returns the index of the Play that the StopPlayback at acts[i] makes way for, when
// only bookkeeping (timers, the path, a log line) lies between them and the PBX can swap;
// else -1.
func (c *call) swapAt(acts []ivr.Action, i int) int {
	if _, ok := c.r.cfg.PBX.(playbackSwapper); !ok {
		return -1
	}
	for j := i + 1; j < len(acts); j++ {
		switch acts[j].(type) {
		case ivr.Play:
			return j
		case ivr.StartTimer, ivr.CancelTimer, ivr.PathStep, ivr.Collected:
		default:
			return -1
		}
	}
	return -1
}

func (c *call) apply(a ivr.Action) {
	switch a := a.(type) {
	case ivr.Play:
		c.play(a.Playback, strings.Join(a.Media(), ","))
	case ivr.StopPlayback:
		c.stopPlayback(c.ariPlayback(a.Playback))
	case ivr.StartTimer:
		c.startTimer(a.Timer, a.After)
	case ivr.CancelTimer:
		c.cancelTimer(a.Timer)
	case ivr.SetLanguage:
		c.setLanguage(a.Language)
	case ivr.Collected:
		// No menu node collects anything but case numbers yet; the value may be an ID
		// number, so only its length is logged.
		c.log.Info("callflow: digits collected", "node", a.Node, "var", a.Var, "digits", len(a.Value))
	case ivr.LookupCase:
		c.pending = append(c.pending, c.lookup(a.Digits))
	case ivr.PathStep:
		c.path = append(c.path, a)
	case ivr.Enqueue, ivr.Record, ivr.Emergency, ivr.Transfer, ivr.Hangup:
		c.leave = a
	}
}

// ariPlayback is the machine's playback id made unique across Asterisk.
func (c *call) ariPlayback(id ivr.PlaybackID) string { return c.id + "-" + string(id) }

// play starts prompts as one ARI playback (media=sound:a,sound:b). The mapping is made
// before the request: the PlaybackFinished can arrive before the response.
func (c *call) play(pid ivr.PlaybackID, media string) {
	id := c.ariPlayback(pid)
	c.playing[id] = pid
	c.current = id
	ctx, cancel := c.opCtx()
	ctx, written := c.measurePlay(ctx)
	sent := time.Now()
	_, err := c.r.cfg.PBX.Play(ctx, c.id, media, id)
	cancel()
	c.played(pid, id, media, sent, written, err)
}

// swap stops playback old and plays media as pid, both requests at once. In Asterisk a
// play queues behind the playback the channel is running, so the order in which the two
// requests arrive does not matter: the new prompt starts once the old one has stopped.
func (c *call) swap(old, pid ivr.PlaybackID, media string) {
	oldID, id := c.ariPlayback(old), c.ariPlayback(pid)
	if c.current == oldID {
		c.current = ""
	}
	c.playing[id] = pid
	c.current = id
	ctx, cancel := c.opCtx()
	ctx, written := c.measurePlay(ctx)
	sent := time.Now()
	_, stopErr, err := c.r.cfg.PBX.(playbackSwapper).StopAndPlay(ctx, oldID, c.id, media, id)
	cancel()
	c.stopped(oldID, stopErr)
	c.played(pid, id, media, sent, written, err)
}

// measurePlay, while a key's way to its prompt is measured (a benchmark's hook is set),
// asks the PBX client for the moment the play request is written out; written holds it
// (Unix ns, 0 until then: the transport reports it on its own goroutine).
func (c *call) measurePlay(ctx context.Context) (context.Context, *atomic.Int64) {
	if c.r.keyToPrompt == nil || c.keyAt.IsZero() || c.keyFrame.IsZero() {
		return ctx, nil
	}
	written := new(atomic.Int64)
	return pbx.WithPlayWritten(ctx, func(t time.Time) { written.Store(t.UnixNano()) }), written
}

// played handles a play's outcome; sent is when the first request for it (a barge-in's
// stop, or the play) went out, and written, when measured, when the play's was written.
func (c *call) played(pid ivr.PlaybackID, id, media string, sent time.Time, written *atomic.Int64, err error) {
	if err != nil {
		// The menu must go on: a prompt that cannot play counts as played.
		c.fail("play", err, "media", media)
		delete(c.playing, id)
		c.current = ""
		c.pending = append(c.pending, ivr.PromptFinished{At: c.now(), Playback: pid})
		return
	}
	if !c.keyAt.IsZero() {
		now := time.Now()
		l := keyLatency{InCall: now.Sub(c.keyAt), SinceEvent: now.Sub(c.keyEvent), ARI: c.keyARI + now.Sub(sent),
			Frame: c.keyFrame, Playback: id}
		if !c.keyFrame.IsZero() {
			l.Received, l.Requested = now.Sub(c.keyFrame), sent.Sub(c.keyFrame)
			if written != nil {
				if ns := written.Load(); ns != 0 {
					l.Written = time.Unix(0, ns).Sub(c.keyFrame)
				}
			}
		}
		c.keyAt = time.Time{}
		c.r.m.keyToPlay.Observe(l.InCall.Seconds())
		if c.r.keyToPrompt != nil {
			c.r.keyToPrompt(l)
		}
	}
}

func (c *call) stopPlayback(id string) {
	if c.current == id {
		c.current = ""
	}
	ctx, cancel := c.opCtx()
	sent := time.Now()
	err := c.r.cfg.PBX.StopPlayback(ctx, id)
	cancel()
	if !c.keyAt.IsZero() {
		c.keyARI += time.Since(sent)
	}
	c.stopped(id, err)
}

func (c *call) stopped(id string, err error) {
	if err != nil && !errors.Is(err, pbx.ErrNotFound) { // 404: it had just ended
		c.fail("stop_playback", err, "playback", id)
	}
}

func (c *call) startTimer(id ivr.TimerID, d time.Duration) {
	c.cancelTimer(id)
	done, timeouts := c.done, c.timeouts
	c.timers[id] = c.r.cfg.Clock.AfterFunc(d, func() {
		select {
		case timeouts <- id:
		case <-done:
		}
	})
}

func (c *call) cancelTimer(id ivr.TimerID) {
	if t, ok := c.timers[id]; ok {
		t.Stop()
		delete(c.timers, id)
	}
}

// startGuard starts a timer of the shell's own (the machine's are t1, t2, ...).
func (c *call) startGuard(d time.Duration) ivr.TimerID {
	c.guards++
	id := ivr.TimerID("guard" + strconv.Itoa(c.guards))
	c.startTimer(id, d)
	return id
}

func (c *call) setLanguage(lang ivr.Language) {
	ctx, cancel := c.opCtx()
	defer cancel()
	// Asterisk plays every later sound: prompt in this language, after the menu too.
	if err := c.r.cfg.PBX.SetVariable(ctx, c.id, "CHANNEL(language)", string(lang)); err != nil {
		c.fail("set_language", err, "language", lang)
	}
}

// caseNumber turns the 20 digits a caller keys into a case number: 620000-20261127-000123.
func caseNumber(digits string) (cases.Number, bool) {
	if len(digits) != 20 || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	return cases.Number(digits[:6] + "-" + digits[6:14] + "-" + digits[14:]), true
}

// lookup answers the menu's LookupCase. A found case gets a status_lookup entry on its
// trail; this call keeps its own case (closed as a self-service consultation at the end).
func (c *call) lookup(digits string) ivr.LookupResult {
	number, ok := caseNumber(digits)
	if !ok {
		return ivr.LookupResult{At: c.now()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.r.cfg.LookupTimeout)
	d, err := c.r.cfg.Cases.FindByNumber(ctx, number)
	cancel()
	switch {
	case errors.Is(err, cases.ErrNotFound):
		c.log.Info("callflow: case look-up: no such case", "looked_up", number)
		return ivr.LookupResult{At: c.now()}
	case err != nil:
		c.fail("db.find_case", err, "looked_up", number)
		return ivr.LookupResult{At: c.now(), Failed: true}
	}
	c.lookedUp = number
	ctx, cancel = c.opCtx()
	_, err = c.r.cfg.Cases.AppendEvent(ctx, d.Case.ID, cases.NewEvent{
		CallID: nil, At: c.now(), Kind: eventStatusLookup, Actor: actor,
		Detail: map[string]any{"channel": cases.ChannelPhone, "channel_id": c.id, "by_case": c.number,
			"caller": c.caller.Masked(), "status": d.Case.Status},
	})
	cancel()
	if err != nil {
		c.fail("db.append_event", err, "looked_up", number)
	}
	c.log.Info("callflow: case look-up", "looked_up", number, "status", d.Case.Status)
	return ivr.LookupResult{At: c.now(), Found: true, Status: string(d.Case.Status)}
}

// Trail entries the call flow adds besides registered and closed.
const (
	eventStatusLookup cases.EventKind = "status_lookup" // someone heard the case's status by phone
	eventEmergency    cases.EventKind = "emergency"     // the caller chose the emergency line
)

// hangup hangs the caller up unless they are gone already.
func (c *call) hangup() {
	if c.gone || c.hungUp {
		return
	}
	c.hungUp = true
	ctx, cancel := c.opCtx()
	err := c.r.cfg.PBX.Hangup(ctx, c.id, pbx.HangupNormal)
	cancel()
	switch {
	case errors.Is(err, pbx.ErrNotFound):
		c.gone = true
	case err != nil:
		c.fail("hangup", err)
	}
}
