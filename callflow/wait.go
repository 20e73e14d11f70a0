package callflow

import (
	"context"
	"errors"
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
)

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
	c.log.Info("callflow: left the queue", "how", exit.String(), "agent", c.queue.agent)
	switch exit {
	case exitAbandoned:
		c.vm = vmAbandoned
	case exitVoicemail:
		media := make([]string, len(w.q.cfg.VoicemailPrompts))
		for i, p := range w.q.cfg.VoicemailPrompts {
			media[i] = p.Media()
		}
		if !c.playThrough(ctx, strings.Join(media, ",")) {
			if c.gone {
				c.vm = vmAbandoned
			}
			return
		}
		c.recordVoicemail(ctx, fillVoicemail(ivr.Voicemail{}))
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
	case exitCallback:
		return "callback"
	case exitTalked:
		return "talked"
	case exitShutdown:
		return "shutdown"
	}
	return "unknown"
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
		CallerID: string(c.caller), CaseNumber: string(c.number), Timeout: ring})
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
}

// endConversation: wrap-up for the agent, the other side hung up, the bridge destroyed.
func (w *waiter) endConversation(by string) {
	c := w.c
	ctx, cancel := c.opCtx()
	_, err := w.q.cfg.Store.Finish(ctx, w.res)
	cancel()
	if err != nil {
		c.fail("acd.finish", err, "agent", w.res.Agent)
	}
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
	ctx, cancel := c.opCtx()
	_, err := c.r.cfg.PBX.Play(ctx, c.id, media, id)
	cancel()
	if err != nil {
		c.fail("play", err, "media", media)
		return
	}
	w.hold, w.media = id, media
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
