package callflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hotline/acd"
	"hotline/cases"
	"hotline/ivr"
	"hotline/pbx"
)

// Trail entries of the queue.
const (
	eventAgentConnected cases.EventKind = "agent_connected" // an agent answered the call
	eventKeptPlace      cases.EventKind = "callback_kept_place"
	eventAgentHold      cases.EventKind = "agent_hold"       // the agent held or resumed the caller
	eventTransferred    cases.EventKind = "call_transferred" // the agent sent the call on
	eventSeatLost       cases.EventKind = "agent_seat_lost"  // the agent's seat dropped mid-call
	eventSeatBack       cases.EventKind = "agent_seat_back"  // it came back: the call resumed
	eventSeatRequeued   cases.EventKind = "agent_seat_requeued"
)

// Prompts of a conversation on hold (ivr/menus/12315.yaml declares their texts).
const (
	promptAgentHold         ivr.PromptName = "hotline/agent-hold"         // the agent put the caller on hold
	promptAgentReconnecting ivr.PromptName = "hotline/agent-reconnecting" // the agent's line dropped
)

// ReasonSeatLost is the not-ready reason of an agent whose seat dropped mid-call and did
// not come back within the grace period: the call went back to the queue.
const ReasonSeatLost acd.Reason = "seat_lost"

// Keys a waiting caller may press.
const (
	keyVoicemail = "1" // leave a message instead of waiting
	keyCallback  = "2" // be called back, keeping the place in the queue
)

// waitExit is how a call left the queue.
type waitExit int

const (
	exitAbandoned waitExit = iota + 1 // the caller hung up before an agent answered
	exitVoicemail                     // key 1 or the maximum wait
	exitEscalate                      // an emergency's maximum wait: the duty officers
	exitCallback                      // key 2: the place is kept by a callback task
	exitTalked                        // an agent answered; the conversation is over
	exitShutdown
)

// waiter is the state of a call in the distributor. It belongs to the call goroutine.
type waiter struct {
	c *call
	t *Ticket
	q *ACDQueue

	hold   string // ARI id of the hold playback or announcement, "" when none plays
	media  string // what the hold playback plays
	holds  int
	review ivr.TimerID

	ann       WaitAnnouncements // with defaults
	announce  ivr.TimerID       // the next periodic announcement, "" when none is due
	announced int               // the last position said, 0 before any

	res       acd.Reservation
	leg       Leg
	legs      int
	talking   bool
	bridge    string
	bridgeSub *pbx.Subscription // kept while the bridge is recorded
	recording string            // name of the conversation's recording, "" when none
	convs     int               // conversations so far: transfers make several

	held      bool        // the agent holds the caller
	seatLost  bool        // the agent's seat dropped; the caller waits for it
	grace     ivr.TimerID // the seat's grace period, "" when none runs
	callerOut bool        // the caller is out of the bridge (held or seat lost)
	onHold    string      // ARI id of the playback a held caller hears, "" when none
	holdMedia string      // what onHold plays
	note      string      // the transfer note for the next agent's screen pop
}

// waitForAgent keeps the caller waiting until an agent answers and the conversation ends,
// or the caller leaves the queue; then it carries out the exit.
func (c *call) waitForAgent(ctx context.Context, t *Ticket) {
	defer t.done()
	w := &waiter{c: c, t: t, q: t.q, ann: t.q.cfg.Announce.withDefaults()}
	defer func() {
		if p := recover(); p != nil {
			// The call ends (handle recovers it); the distributor must not keep it waiting
			// nor keep its agent.
			w.leave(acd.RemoveDiverted)
			panic(p)
		}
	}()
	c.queue.enqueuedAt = t.item.EnqueuedAt
	var exit waitExit
	if c.gone {
		w.leave(acd.RemoveAbandoned)
		exit = exitAbandoned
	} else {
		w.enter()
		exit = w.loop(ctx)
	}
	w.stopHold()
	if w.review != "" {
		c.cancelTimer(w.review)
	}
	if w.announce != "" {
		c.cancelTimer(w.announce)
	}
	if w.grace != "" {
		c.cancelTimer(w.grace)
	}
	c.log.Info("callflow: left the queue", "how", exit.String(), "agent", c.queue.agent)
	switch exit {
	case exitAbandoned:
		c.vm = vmAbandoned
	case exitEscalate:
		if tk := w.escalate(ctx); tk != nil {
			c.waitForOfficer(ctx, tk)
			return
		}
		fallthrough // no chain: the message and an emergency callback
	case exitVoicemail:
		c.leaveVoicemail(ctx, w.q.cfg.VoicemailPrompts)
	case exitCallback, exitTalked:
		c.hangup()
	case exitShutdown:
		c.aborted = "shutdown"
		c.hangup()
	}
}

func (e waitExit) String() string {
	switch e {
	case exitAbandoned:
		return "abandoned"
	case exitVoicemail:
		return "voicemail"
	case exitEscalate:
		return "escalate"
	case exitCallback:
		return "callback"
	case exitTalked:
		return "talked"
	case exitShutdown:
		return "shutdown"
	}
	return "unknown"
}

// escalate hands an emergency that waited to its maximum to the duty officers; nil when
// the chain cannot start (the caller then leaves a message).
func (w *waiter) escalate(ctx context.Context) *EscalationTicket {
	c := w.c
	o := Offer{Queue: c.queue.name, Skills: c.queue.skills, Priority: ivr.PriorityEmergency, CaseKind: c.queue.kind,
		Emergency: true, ChannelID: c.id, CaseID: c.caseID, CaseNumber: c.number, CallerID: c.caller, At: c.now()}
	octx, cancel := c.opCtx()
	tk, err := w.q.overflow.EscalateWaiting(octx, o)
	cancel()
	if err != nil {
		c.fail("escalate", err, "queue", c.queue.name)
		return nil
	}
	c.log.Info("callflow: emergency waited to the maximum; duty officers called")
	c.queue.reason = "escalated: maximum wait"
	return tk
}

// loop is the waiting call's select loop: the caller's events, the call's timers, the
// dispatcher's reservations and the agent leg's events.
func (w *waiter) loop(ctx context.Context) waitExit {
	c := w.c
	if exit, done := w.reviewNow(); done {
		return exit
	}
	for {
		var offers <-chan acd.Reservation
		var legEvents <-chan LegEvent
		if w.leg == nil {
			offers = w.t.offers
		} else {
			legEvents = w.leg.Events()
		}
		select {
		case <-ctx.Done():
			w.leave(acd.RemoveDiverted)
			return exitShutdown
		case ev, ok := <-c.events:
			if !ok {
				c.events = nil
				c.gone = true
				return w.callerGone()
			}
			if exit, done := w.callerEvent(ev); done {
				return exit
			}
		case id := <-c.timeouts:
			if _, running := c.timers[id]; !running {
				continue
			}
			delete(c.timers, id)
			if id == w.review {
				w.review = ""
				w.q.Kick() // a relaxation step may open the call to more agents
				if exit, done := w.reviewNow(); done {
					return exit
				}
			}
			if id == w.announce {
				w.announce = ""
				w.periodic()
			}
			if id == w.grace {
				w.grace = ""
				if exit, done := w.seatGaveUp(); done {
					return exit
				}
			}
		case r := <-offers:
			w.ring(r)
		case le, ok := <-legEvents:
			if !ok {
				le = LegEvent{Kind: LegFailed, Reason: "leg closed"}
				if w.talking {
					le.Kind = LegGone
				}
			}
			if exit, done := w.legEvent(le); done {
				return exit
			}
		}
	}
}

// reviewNow applies the queue's review: the maximum wait sends the caller to voicemail;
// otherwise the timer is set to the next step.
func (w *waiter) reviewNow() (waitExit, bool) {
	if w.leg != nil {
		return 0, false // ringing or talking: the review waits
	}
	rv := acd.ReviewItem(w.t.queue, w.t.item, w.q.clock().Now())
	if rv.Action == acd.ActionMaxWait {
		w.c.log.Info("callflow: maximum wait reached", "waited", rv.Wait)
		w.leave(acd.RemoveDiverted)
		if w.c.queue != nil && w.c.queue.emergency && w.q.overflow != nil {
			return exitEscalate, true
		}
		return exitVoicemail, true
	}
	if !rv.Next.IsZero() {
		w.review = w.c.startGuard(max(rv.Next.Sub(w.q.clock().Now()), 10*time.Millisecond))
	}
	return 0, false
}

func (w *waiter) callerEvent(ev pbx.Event) (waitExit, bool) {
	c := w.c
	switch ev.Type {
	case pbx.ChannelHangupRequest:
		if c.hungUp {
			return 0, false
		}
		c.gone = true
		return w.callerGone(), true
	case pbx.StasisEnd, pbx.Vanished:
		c.gone = true
		return w.callerGone(), true
	case pbx.PlaybackFinished:
		if ev.PlaybackID == w.hold {
			w.hold = ""
			if !w.talking {
				w.startHold()
			}
		}
		if ev.PlaybackID == w.onHold {
			w.onHold = ""
			if w.callerOut { // the message is over: the hold media goes on
				w.playOnHold(w.q.cfg.HoldMedia)
			}
		}
	case pbx.ChannelDtmfReceived:
		if w.leg != nil {
			return 0, false // ringing or talking: keys are the conversation's
		}
		switch ev.Digit {
		case keyVoicemail:
			w.leave(acd.RemoveDiverted)
			return exitVoicemail, true
		case keyCallback:
			if c.caller == "" {
				c.log.Info("callflow: callback asked without a caller number; ignored")
				return 0, false
			}
			if w.keepPlace() {
				return exitCallback, true
			}
		}
	}
	return 0, false
}

// callerGone ends the wait for a caller who hung up.
func (w *waiter) callerGone() waitExit {
	if w.talking {
		w.endConversation("caller")
		return exitTalked
	}
	w.leave(acd.RemoveAbandoned)
	return exitAbandoned
}

// leave takes the call out of the queue, hanging up a ringing agent.
func (w *waiter) leave(why acd.RemoveReason) {
	c := w.c
	if w.talking {
		w.endConversation("shutdown")
		return
	}
	if w.leg != nil {
		w.hangupLeg()
	}
	ctx, cancel := c.opCtx()
	_, err := w.q.cfg.Store.Remove(ctx, w.t.item.ID, why)
	cancel()
	if err != nil {
		c.fail("acd.remove", err, "why", why.String())
	}
	w.q.Kick() // a ringing agent is ready again
}

// keepPlace turns the waiting call into a callback task with the original enqueue time.
// The case's callback task is written when the call settles (reason requested).
func (w *waiter) keepPlace() bool {
	c := w.c
	task := acd.Item{ID: acd.ItemID("cb-" + c.id), Queue: w.t.item.Queue}
	ctx, cancel := c.opCtx()
	it, err := w.q.cfg.Store.ConvertToCallback(ctx, w.t.item.ID, task)
	cancel()
	if err != nil {
		c.fail("acd.convert_to_callback", err)
		return false
	}
	c.queue.keptPlace = true
	c.queue.enqueuedAt = it.EnqueuedAt
	c.log.Info("callflow: callback chosen; the place is kept", "task", it.ID, "enqueued_at", it.EnqueuedAt)
	return true
}

// ring offers the call to the reserved agent and rings their line. The caller keeps
// hearing the hold media until the agent answers.
func (w *waiter) ring(r acd.Reservation) {
	c := w.c
	ctx, cancel := c.opCtx()
	_, err := w.q.cfg.Store.Offer(ctx, r)
	cancel()
	if err != nil {
		c.fail("acd.offer", err, "agent", r.Agent)
		return
	}
	w.legs++
	ring := w.q.cfg.ACD.RingTimeout
	if ring > 2*time.Second {
		ring -= time.Second // our no-answer comes before the store's expiry
	}
	ctx, cancel = c.opCtx()
	leg, err := w.q.cfg.Line.Ring(ctx, AgentRing{Agent: r.Agent, ChannelID: c.id + "-a" + strconv.Itoa(w.legs),
		CallID: c.id, CaseID: c.caseID, CaseNumber: string(c.number), CallerID: string(c.caller),
		Queue: r.Item.Queue, Note: w.note, Timeout: ring})
	cancel()
	if err != nil {
		c.fail("agent.ring", err, "agent", r.Agent)
		w.noAnswer(r)
		return
	}
	w.res, w.leg = r, leg
	c.log.Info("callflow: ringing agent", "agent", r.Agent, "leg", leg.ChannelID(), "trace", r.Trace.String())
}

// noAnswer is RONA: the agent goes not ready, the call back to the front.
func (w *waiter) noAnswer(r acd.Reservation) {
	c := w.c
	ctx, cancel := c.opCtx()
	_, err := w.q.cfg.Store.NoAnswer(ctx, r)
	cancel()
	if err != nil && !errors.Is(err, acd.ErrStateConflict) { // conflict: Expire did it first
		c.fail("acd.no_answer", err, "agent", r.Agent)
	}
	w.q.Kick()
}

func (w *waiter) legEvent(le LegEvent) (waitExit, bool) {
	c := w.c
	switch {
	case le.Kind == LegAnswered && !w.talking:
		w.answered()
	case le.Kind == LegFailed && !w.talking:
		c.log.Info("callflow: agent did not answer", "agent", w.res.Agent, "reason", le.Reason)
		w.leg.Close()
		w.leg = nil
		w.noAnswer(w.res)
		if exit, done := w.reviewNow(); done {
			return exit, true
		}
	case w.talking && (le.Kind == LegGone || le.Kind == LegFailed):
		w.endConversation("agent")
		return exitTalked, true
	case w.talking && le.Kind == LegHold:
		reply(le, w.setHold(le.Held))
	case w.talking && le.Kind == LegTransfer:
		exit, done, err := w.transfer(le.To)
		reply(le, err)
		return exit, done
	case w.talking && le.Kind == LegSeatLost:
		w.seatDropped(le)
	case w.talking && le.Kind == LegSeatBack:
		w.seatReturned()
	default:
		reply(le, fmt.Errorf("%s: %w", le.Kind, errNotTalking))
	}
	return 0, false
}

// answered connects the caller and the agent in a mixing bridge.
func (w *waiter) answered() {
	c := w.c
	r := w.res
	ctx, cancel := c.opCtx()
	_, err := w.q.cfg.Store.Answer(ctx, r)
	cancel()
	if err != nil {
		// The offer was taken back (rang out in the store): the agent is not ours.
		c.fail("acd.answer", err, "agent", r.Agent)
		w.hangupLeg()
		w.q.Kick()
		return
	}
	w.talking = true
	w.convs++
	w.note = "" // the next agent of a transferred call has read it
	w.stopHold()
	w.bridge = "br-" + c.id
	ctx, cancel = c.opCtx()
	sub, err := w.q.cfg.Bridges.CreateBridge(ctx, w.bridge, "call "+c.id)
	cancel()
	if err != nil {
		c.fail("bridge.create", err, "agent", r.Agent)
		w.bridge = ""
	} else {
		w.bridgeSub = sub // the legs' own events end the call; this one tells when the recording ends
		ctx, cancel = c.opCtx()
		err = w.q.cfg.Bridges.AddToBridge(ctx, w.bridge, c.id, w.leg.ChannelID())
		cancel()
		if err != nil {
			c.fail("bridge.add", err, "agent", r.Agent)
		}
		if err == nil && w.q.cfg.RecordConversations {
			w.startRecording()
		}
	}
	at := c.now()
	c.queue.agent = r.Agent
	c.log.Info("callflow: agent connected", "agent", r.Agent, "bridge", w.bridge)
	if !c.ensureCase() {
		return
	}
	ctx, cancel = c.opCtx()
	_, err = c.r.cfg.Cases.AppendEvent(ctx, c.caseID, cases.NewEvent{At: at, Kind: eventAgentConnected, Actor: actor,
		Detail: map[string]any{"agent": r.Agent, "answered_at": at, "queue": r.Item.Queue, "reservation": r.ID,
			"attempts": r.Item.Attempts, "trace": r.Trace, "channel_id": c.id, "agent_channel_id": w.leg.ChannelID()}})
	cancel()
	if err != nil {
		c.fail("db.append_event", err, "event", eventAgentConnected)
	}
	// The reports' answer time and service level: the first answer only (a transferred
	// call keeps its first).
	if w.convs == 1 {
		ctx, cancel = c.opCtx()
		err = c.r.cfg.Cases.MarkAgentAnswered(ctx, c.callID, at)
		cancel()
		if err != nil {
			c.fail("db.mark_agent_answered", err, "agent", r.Agent)
		}
	}
}

// endConversation: wrap-up for the agent, the other side hung up, the bridge destroyed.
func (w *waiter) endConversation(by string) {
	w.finish()
	w.teardown(by)
}

// finish ends the agent's part in the store: wrap-up (or ready). It returns the agent as the
// store left them; ok is false when the store refused.
func (w *waiter) finish() (acd.Agent, bool) {
	c := w.c
	ctx, cancel := c.opCtx()
	a, err := w.q.cfg.Store.Finish(ctx, w.res)
	cancel()
	if err != nil {
		c.fail("acd.finish", err, "agent", w.res.Agent)
		return a, false
	}
	return a, true
}

// teardown ends the conversation's media: the agent's leg (unless the agent hung it up),
// the hold playback, the recording and the bridge. The caller's channel is untouched.
func (w *waiter) teardown(by string) {
	c := w.c
	if w.grace != "" {
		c.cancelTimer(w.grace)
		w.grace = ""
	}
	w.stopOnHold()
	w.held, w.seatLost, w.callerOut = false, false, false
	if by != "agent" {
		w.hangupLeg()
	} else if w.leg != nil {
		w.leg.Close()
		w.leg = nil
	}
	name := w.stopRecording()
	if w.bridge != "" {
		ctx, cancel := c.opCtx()
		err := w.q.cfg.Bridges.DestroyBridge(ctx, w.bridge)
		cancel()
		if err != nil && !errors.Is(err, pbx.ErrNotFound) {
			c.fail("bridge.destroy", err)
		}
		w.bridge = ""
	}
	if w.bridgeSub != nil {
		w.bridgeSub.Close()
		w.bridgeSub = nil
	}
	if name != "" {
		w.storeRecording(name)
	}
	w.talking = false
	c.log.Info("callflow: conversation ended", "agent", w.res.Agent, "by", by)
}

func (w *waiter) hangupLeg() {
	if w.leg == nil {
		return
	}
	ctx, cancel := w.c.opCtx()
	if err := w.leg.Hangup(ctx); err != nil {
		w.c.fail("agent.hangup", err)
	}
	cancel()
	w.leg.Close()
	w.leg = nil
}

func (w *waiter) startHold() { w.play(w.q.cfg.HoldMedia) }

// play plays media in the hold's place: when it ends the hold media starts again (callerEvent),
// and the exits stop it like the hold, so that keys barge in on an announcement.
func (w *waiter) play(media string) {
	c := w.c
	w.holds++
	id := c.id + "-hold" + strconv.Itoa(w.holds)
	if c.playAs(id, media) {
		w.hold, w.media = id, media
	}
}

// enter greets the caller in the queue with the intro (the hold media when there is none)
// and schedules the periodic announcements.
func (w *waiter) enter() {
	if len(w.ann.Intro) == 0 {
		w.startHold()
	} else {
		media := make([]string, len(w.ann.Intro))
		for i, p := range w.ann.Intro {
			media[i] = p.Media()
		}
		w.play(strings.Join(media, ","))
	}
	w.schedule()
}

func (w *waiter) schedule() {
	if w.ann.Every > 0 {
		w.announce = w.c.startGuard(w.ann.Every)
	}
}

// periodic says the caller's position and the estimated wait, when there is something to
// say, in place of the hold media. A ringing agent's leg keeps the hold media: the caller
// is about to be connected.
func (w *waiter) periodic() {
	if w.talking {
		return
	}
	defer w.schedule()
	if w.leg != nil || (w.hold != "" && w.media != w.q.cfg.HoldMedia) {
		return // an announcement is not cut short by the next one
	}
	a := decideAnnouncement(w.announced, w.queueNow())
	media := a.media()
	if media == "" {
		return
	}
	if a.Position > 0 {
		w.announced = a.Position
	}
	w.stopHold()
	w.play(media)
}

// queueNow reads the caller's place and the queue's estimate from the store; what it
// cannot read is unknown (the store is optional: ACDStore does not list queues).
func (w *waiter) queueNow() queueNow {
	c := w.c
	view, ok := w.q.cfg.Store.(queueView)
	if !ok {
		return queueNow{}
	}
	now := w.q.clock().Now()
	in := queueNow{Waited: now.Sub(w.t.item.EnqueuedAt)}
	ctx, cancel := c.opCtx()
	items, err := view.Waiting(ctx, w.t.item.Queue)
	cancel()
	if err != nil {
		c.fail("acd.waiting", err)
	} else {
		in.Position = positionOf(items, w.t.item.ID)
	}
	ctx, cancel = c.opCtx()
	outs, err := view.Outcomes(ctx, w.t.item.Queue, now.Add(-w.ann.Window))
	cancel()
	if err != nil {
		c.fail("acd.outcomes", err)
	} else {
		in.Estimate, in.EstimateKnown = acd.EstimateWait(outs)
	}
	return in
}

func (w *waiter) stopHold() {
	if w.hold == "" {
		return
	}
	id := w.hold
	w.hold = ""
	w.c.stopPlayback(id)
}

func (q *ACDQueue) clock() acd.Clock { return q.cfg.Clock }

func (w *waiter) startRecording() {
	c := w.c
	name := "conv-" + c.id
	if w.convs > 1 { // a transferred call: one recording per conversation
		name += "-" + strconv.Itoa(w.convs)
	}
	ctx, cancel := c.opCtx()
	err := w.q.cfg.Bridges.RecordBridge(ctx, w.bridge, pbx.RecordOptions{Name: name, Format: "wav",
		MaxDuration: w.q.cfg.MaxConversation, IfExists: "fail"})
	cancel()
	if err != nil {
		c.fail("bridge.record", err, "recording", name)
		return
	}
	w.recording = name
}

// stopRecording stops the conversation's recording and waits (bounded) for its end; it
// returns the name of a recording to store, "" when there is none.
func (w *waiter) stopRecording() string {
	c := w.c
	name := w.recording
	if name == "" {
		return ""
	}
	w.recording = ""
	ctx, cancel := c.opCtx()
	err := c.r.cfg.PBX.StopRecording(ctx, name)
	cancel()
	if err != nil && !errors.Is(err, pbx.ErrNotFound) { // 404: it had ended (maximum length)
		c.fail("stop_recording", err, "recording", name)
	}
	if w.bridgeSub == nil {
		return name
	}
	guard := time.NewTimer(c.r.cfg.RequestTimeout)
	defer guard.Stop()
	for {
		select {
		case ev, ok := <-w.bridgeSub.Events():
			if !ok {
				return name
			}
			if ev.RecordingName != name {
				continue
			}
			switch ev.Type {
			case pbx.RecordingFinished:
				return name
			case pbx.RecordingFailed:
				c.r.m.errors.WithLabelValues("recording").Inc()
				c.log.Error("callflow: conversation recording failed", "recording", name, "cause", ev.RecordingCause)
				return ""
			}
		case <-guard.C:
			c.log.Warn("callflow: no end of the conversation recording; fetching it anyway", "recording", name)
			return name
		}
	}
}

// storeRecording keeps the conversation's audio with the case, and deletes Asterisk's copy
// once ours is safe.
func (w *waiter) storeRecording(name string) {
	c := w.c
	ctx, cancel := c.opCtx()
	data, err := c.r.cfg.PBX.RecordingFile(ctx, name)
	cancel()
	if err != nil {
		c.fail("recording_file", err, "recording", name)
		return
	}
	st, err := c.r.cfg.Recordings.SaveWAV(name, c.started, data)
	if err != nil {
		c.fail("store.save_recording", err, "recording", name, "kept_on_asterisk", true)
		return
	}
	if c.ensureCase() {
		rec := cases.Recording{CaseID: c.caseID, Name: name, Path: st.Path, Format: "wav", SHA256: st.SHA256,
			SizeBytes: st.Size, DurationMS: int(st.Duration / time.Millisecond)}
		if c.callID != 0 {
			rec.CallID = &c.callID
		}
		ctx, cancel := c.opCtx()
		_, err := c.r.cfg.Cases.AddRecording(ctx, rec)
		cancel()
		if err != nil {
			c.fail("db.add_recording", err, "recording", name, "path", st.Path)
			return
		}
	}
	ctx, cancel = c.opCtx()
	if err := c.r.cfg.PBX.DeleteRecording(ctx, name); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.fail("delete_recording", err, "recording", name)
	}
	cancel()
	c.log.Info("callflow: conversation recorded", "recording", name, "path", st.Path, "duration", st.Duration)
}

// WaitAnnouncements configures what a waiting caller hears besides the hold media.
type WaitAnnouncements struct {
	// Off plays the hold media only: no intro, no periodic announcements.
	Off bool
	// Intro is played on entering the queue. Default hotline/agents-busy then
	// hotline/queue-options (the exit keys).
	Intro []ivr.PromptName
	// Every is the period of the position and wait announcements. Default 30s.
	Every time.Duration
	// Window is how far back answered calls count for the estimated wait. Default 1h.
	Window time.Duration
}

func (a WaitAnnouncements) withDefaults() WaitAnnouncements {
	if a.Off {
		return WaitAnnouncements{Off: true}
	}
	if len(a.Intro) == 0 {
		a.Intro = []ivr.PromptName{"hotline/agents-busy", "hotline/queue-options"}
	}
	if a.Every <= 0 {
		a.Every = 30 * time.Second
	}
	if a.Window <= 0 {
		a.Window = time.Hour
	}
	return a
}

// queueView is the part of acd.Store the announcements read; every acd.Store has it.
type queueView interface {
	Waiting(ctx context.Context, q acd.QueueName) ([]acd.Item, error)
	Outcomes(ctx context.Context, q acd.QueueName, since time.Time) ([]acd.Outcome, error)
}

// queueNow is what the store says of a waiting caller at an announcement.
type queueNow struct {
	Position      int // 1 is next in line; 0 when unknown
	Waited        time.Duration
	Estimate      time.Duration // acd.EstimateWait of the queue, for a new caller
	EstimateKnown bool
}

// announcement is what a periodic announcement says; zero fields are not said.
type announcement struct {
	Position int
	Minutes  int
}

// positionOf is the 1-based place of id among the items still waiting, in routing order
// (callback tasks that kept a place count: they are served before later callers); 0 when
// id is not waiting (it is being offered, or has left).
func positionOf(items []acd.Item, id acd.ItemID) int {
	n := 0
	for _, it := range items {
		if it.Status != acd.StatusWaiting {
			continue
		}
		n++
		if it.ID == id {
			return n
		}
	}
	return 0
}

// decideAnnouncement chooses what to say, given the last position said (0 before any). The
// position is said only when it improved: hearing the same place again, or a worse one
// (an emergency call went ahead), tells a caller only that waiting is useless. The wait is
// what the queue's estimate leaves after the time already waited, in whole minutes rounded
// up; once the caller has waited longer than the estimate, it says nothing it cannot
// stand behind.
func decideAnnouncement(last int, in queueNow) announcement {
	var a announcement
	if in.Position > 0 && (last == 0 || in.Position < last) {
		a.Position = in.Position
	}
	if in.EstimateKnown {
		if left := in.Estimate - in.Waited; left > 0 {
			a.Minutes = int((left + time.Minute - 1) / time.Minute)
		}
	}
	return a
}

// media is the announcement as one ARI media list, "" when there is nothing to say. Numbers
// are said by Asterisk (number:N) between the prompts around them.
func (a announcement) media() string {
	var m []string
	if a.Position > 0 {
		m = append(m, "sound:hotline/queue-position", "number:"+strconv.Itoa(a.Position), "sound:hotline/queue-position-end")
	}
	if a.Minutes > 0 {
		m = append(m, "sound:hotline/estimated-wait", "number:"+strconv.Itoa(a.Minutes), "sound:hotline/estimated-wait-end")
	}
	return strings.Join(m, ",")
}

// --- the conversation: hold, transfer, seat drop ---

var errNotTalking = errors.New("the call is not connected to the agent")

// reply answers a leg command, if it is one.
func reply(le LegEvent, err error) {
	if le.Reply != nil {
		select {
		case le.Reply <- err:
		default: // answered already
		}
	}
}

// bridgeLeaver takes a channel out of a bridge: (*pbx.Client). A held caller leaves the
// conversation's bridge, so that neither side hears the other whatever the PBX mixes, and
// hears the hold media alone.
type bridgeLeaver interface {
	RemoveFromBridge(ctx context.Context, bridgeID, channelID string) error
}

// agentDirectory is what a transfer to an agent and a seat drop need of the store beyond
// ACDStore; every acd.Store has it.
type agentDirectory interface {
	Agent(ctx context.Context, id acd.AgentID) (acd.Agent, error)
	Reserve(ctx context.Context, item acd.ItemID, agent acd.AgentID) (acd.Reservation, error)
	SetState(ctx context.Context, id acd.AgentID, from, to acd.State, reason acd.Reason) (acd.Agent, error)
}

// apart takes the caller out of the bridge, hearing media; a caller out already only
// changes what they hear.
func (w *waiter) apart(media string) error {
	c := w.c
	if !w.callerOut && w.bridge != "" {
		bl, ok := w.q.cfg.Bridges.(bridgeLeaver)
		if !ok {
			return errors.New("the PBX cannot take a channel out of a bridge")
		}
		ctx, cancel := c.opCtx()
		err := bl.RemoveFromBridge(ctx, w.bridge, c.id)
		cancel()
		if err != nil {
			return fmt.Errorf("take the caller out of bridge %s: %w", w.bridge, err)
		}
	}
	w.callerOut = true
	w.stopOnHold()
	w.playOnHold(media)
	return nil
}

// together puts the caller back into the bridge with the agent.
func (w *waiter) together() error {
	c := w.c
	if !w.callerOut {
		return nil
	}
	w.stopOnHold()
	if w.bridge != "" {
		ctx, cancel := c.opCtx()
		err := w.q.cfg.Bridges.AddToBridge(ctx, w.bridge, c.id)
		cancel()
		if err != nil {
			w.playOnHold(w.q.cfg.HoldMedia)
			return fmt.Errorf("put the caller back into bridge %s: %w", w.bridge, err)
		}
	}
	w.callerOut = false
	return nil
}

func (w *waiter) playOnHold(media string) {
	c := w.c
	w.holds++
	id := c.id + "-onhold" + strconv.Itoa(w.holds)
	if c.playAs(id, media) {
		w.onHold, w.holdMedia = id, media
	}
}

func (w *waiter) stopOnHold() {
	if w.onHold == "" {
		return
	}
	id := w.onHold
	w.onHold = ""
	w.c.stopPlayback(id)
}

// holdMediaFor is what a held caller hears first: a prompt saying so. The hold media
// follows when it ends (callerEvent), in a playback of its own, so that a hold media that
// never ends (a tone) cannot cut the prompt short.
func (w *waiter) holdMediaFor(p ivr.PromptName) string {
	return p.Media()
}

// setHold holds the caller (out of the bridge, hearing the hold media; the agent hears
// nothing of them) or resumes the conversation.
func (w *waiter) setHold(held bool) error {
	c := w.c
	if held == w.held {
		return nil
	}
	if !w.seatLost { // while the seat is down the caller is apart already; the flag decides the resume
		var err error
		if held {
			err = w.apart(w.holdMediaFor(promptAgentHold))
		} else {
			err = w.together()
		}
		if err != nil {
			c.fail("agent.hold", err, "held", held, "agent", w.res.Agent)
			return err
		}
	}
	w.held = held
	c.log.Info("callflow: hold", "held", held, "agent", w.res.Agent)
	w.trail(eventAgentHold, map[string]any{"agent": w.res.Agent, "held": held})
	return nil
}

// noteEnd tells the agent's leg why the call leaves them, if it can.
func (w *waiter) noteEnd(reason string) {
	if n, ok := w.leg.(EndNoter); ok {
		n.NoteEnd(reason)
	}
}

// trail appends an entry to the case's trail.
func (w *waiter) trail(kind cases.EventKind, detail map[string]any) {
	c := w.c
	if !c.ensureCase() {
		return
	}
	detail["channel_id"] = c.id
	ctx, cancel := c.opCtx()
	_, err := c.r.cfg.Cases.AppendEvent(ctx, c.caseID, cases.NewEvent{At: c.now(), Kind: kind, Actor: actor, Detail: detail})
	cancel()
	if err != nil {
		c.fail("db.append_event", err, "event", kind)
	}
}

// transfer sends the talking call on, blind: to a queue (enqueued anew) or to one agent
// (reserved for them, rung at once). The agent who transferred goes to wrap-up and their
// leg is deleted; the caller hears the hold media until the next agent answers. A target
// agent who cannot take the call now refuses the transfer before anything changes.
func (w *waiter) transfer(to LegTransferTarget) (waitExit, bool, error) {
	c := w.c
	if (to.Queue == "") == (to.Agent == "") {
		return 0, false, fmt.Errorf("transfer: %w: name a queue or an agent", acd.ErrInvalid)
	}
	queue := to.Queue
	if queue == "" {
		queue = w.t.item.Queue
	}
	qc, ok := w.q.cfg.ACD.Queue(queue)
	if !ok {
		return 0, false, fmt.Errorf("transfer to queue %q: %w: not configured", queue, acd.ErrInvalid)
	}
	var dir agentDirectory
	if to.Agent != "" {
		var err error
		if dir, err = w.checkTarget(to.Agent, queue); err != nil {
			return 0, false, err
		}
	}
	from := w.res.Agent
	c.log.Info("callflow: transfer", "agent", from, "to_queue", to.Queue, "to_agent", to.Agent)
	w.trail(eventTransferred, map[string]any{"agent": from, "to_queue": to.Queue, "to_agent": to.Agent, "note": to.Note})
	w.noteEnd(EndTransferred)
	w.finish()
	w.teardown("transfer")
	w.note = to.Note
	if err := w.reenqueue(queue, qc, time.Time{}); err != nil {
		return w.stranded(err)
	}
	if dir != nil {
		ctx, cancel := c.opCtx()
		r, err := dir.Reserve(ctx, w.t.item.ID, to.Agent)
		cancel()
		if err != nil {
			// The agent became busy meanwhile, or the dispatcher was faster: the call
			// waits in the queue for whoever comes first.
			c.log.Warn("callflow: transfer target not reserved; the call waits in the queue", "to_agent", to.Agent, "err", err)
		} else {
			w.ring(r)
		}
	}
	w.q.Kick()
	if exit, done := w.reviewNow(); done {
		return exit, true, nil
	}
	return 0, false, nil
}

// checkTarget refuses a transfer to an agent who is unknown, not ready or not eligible for
// the call in queue.
func (w *waiter) checkTarget(agent acd.AgentID, queue acd.QueueName) (agentDirectory, error) {
	c := w.c
	dir, ok := w.q.cfg.Store.(agentDirectory)
	if !ok {
		return nil, errors.New("transfer to an agent: the distributor cannot reserve a given agent")
	}
	ctx, cancel := c.opCtx()
	a, err := dir.Agent(ctx, agent)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("transfer to %s: %w", agent, err)
	}
	if a.State != acd.StateReady {
		return nil, fmt.Errorf("transfer to %s (%s): %w", agent, a.State, ErrTargetNotReady)
	}
	router, err := acd.NewRouter(w.q.cfg.ACD)
	if err != nil {
		return nil, fmt.Errorf("transfer to %s: %w", agent, err)
	}
	it := w.t.item
	it.Queue = queue
	cand, err := router.Candidate(it)
	if err != nil {
		return nil, fmt.Errorf("transfer to %s: %w", agent, err)
	}
	if _, ok := router.Eligible(cand, a, w.q.clock().Now()); !ok {
		return nil, fmt.Errorf("transfer to %s: %w for the call in queue %s", agent, acd.ErrNotEligible, queue)
	}
	return dir, nil
}

// reenqueue puts the call back into the distributor, in queue, as of at (zero: now), and
// the caller back to the hold media.
func (w *waiter) reenqueue(queue acd.QueueName, qc acd.Queue, at time.Time) error {
	c := w.c
	it := w.t.item
	it.Queue, it.EnqueuedAt, it.Attempts = queue, at, 0
	ctx, cancel := c.opCtx()
	ni, err := w.q.cfg.Store.Enqueue(ctx, it)
	cancel()
	if err != nil {
		return fmt.Errorf("enqueue %s in %s: %w", it.ID, queue, err)
	}
	w.t.item, w.t.queue = ni, qc
	c.queue.enqueuedAt = ni.EnqueuedAt
	c.log.Info("callflow: back in the queue", "queue", queue, "enqueued_at", ni.EnqueuedAt)
	w.startHold()
	if w.announce == "" {
		w.schedule()
	}
	return nil
}

// stranded: the call could not go back into the distributor; the caller may leave a message.
func (w *waiter) stranded(err error) (waitExit, bool, error) {
	w.c.fail("acd.enqueue", err)
	return exitVoicemail, true, err
}

// seatDropped: the agent's audio is gone. The caller leaves the bridge and hears that the
// agent is being reconnected, then the hold media, for the grace period.
func (w *waiter) seatDropped(le LegEvent) {
	c := w.c
	if w.seatLost {
		return
	}
	grace := le.Grace
	if grace <= 0 {
		grace = DefaultSeatGrace
	}
	w.seatLost = true
	w.grace = c.startGuard(grace)
	c.log.Warn("callflow: the agent's seat dropped; the caller waits for it", "agent", w.res.Agent, "reason", le.Reason, "grace", grace)
	if err := w.apart(w.holdMediaFor(promptAgentReconnecting)); err != nil {
		c.fail("agent.seat_lost", err, "agent", w.res.Agent)
	}
	w.trail(eventSeatLost, map[string]any{"agent": w.res.Agent, "reason": le.Reason, "grace_ms": grace.Milliseconds()})
}

// seatReturned: the seat is up again within the grace period. The leg is reconnected (a new
// channel to the seat, the old one deleted) and the conversation resumes, unless the agent
// holds the caller.
func (w *waiter) seatReturned() {
	c := w.c
	if !w.seatLost {
		return
	}
	if rc, ok := w.leg.(Reconnector); ok {
		ctx, cancel := c.opCtx()
		id, err := rc.Reconnect(ctx)
		cancel()
		if err == nil && w.bridge != "" {
			ctx, cancel = c.opCtx()
			err = w.q.cfg.Bridges.AddToBridge(ctx, w.bridge, id)
			cancel()
		}
		if err != nil {
			// The grace period runs on: another seat event may bring the agent back.
			c.fail("agent.reconnect", err, "agent", w.res.Agent)
			return
		}
	}
	if w.grace != "" {
		c.cancelTimer(w.grace)
		w.grace = ""
	}
	w.seatLost = false
	var err error
	if w.held {
		err = w.apart(w.holdMediaFor(promptAgentHold))
	} else {
		err = w.together()
	}
	if err != nil {
		c.fail("agent.resume", err, "agent", w.res.Agent)
	}
	c.log.Info("callflow: the agent's seat is back; the conversation resumes", "agent", w.res.Agent, "leg", w.leg.ChannelID())
	w.trail(eventSeatBack, map[string]any{"agent": w.res.Agent, "agent_channel_id": w.leg.ChannelID()})
}

// seatGaveUp: the grace period ran out. The agent's conversation ends (wrap-up, then not
// ready with ReasonSeatLost) and the call goes back to the front of its queue, as after an
// offer that rang out: it keeps its original enqueue time.
func (w *waiter) seatGaveUp() (waitExit, bool) {
	c := w.c
	agent := w.res.Agent
	c.log.Warn("callflow: the agent's seat did not come back; the call goes back to the queue", "agent", agent)
	w.trail(eventSeatRequeued, map[string]any{"agent": agent, "queue": w.t.item.Queue})
	w.noteEnd(EndSeatLost)
	a, finished := w.finish()
	w.teardown("seat lost")
	if dir, ok := w.q.cfg.Store.(agentDirectory); ok && finished {
		ctx, cancel := c.opCtx()
		_, err := dir.SetState(ctx, agent, a.State, acd.StateNotReady, ReasonSeatLost)
		cancel()
		if err != nil {
			c.fail("acd.set_state", err, "agent", agent, "reason", ReasonSeatLost)
		}
	}
	if err := w.reenqueue(w.t.item.Queue, w.t.queue, w.t.item.EnqueuedAt); err != nil {
		exit, done, _ := w.stranded(err)
		return exit, done
	}
	w.q.Kick()
	return w.reviewNow()
}
