package callflow

import (
	"time"

	"hotline/cases"
	"hotline/ivr"
)

// Outcomes of calls, as the call record and the calls_total metric name them.
const (
	OutcomeVoicemail          = "voicemail"           // left a message at a voicemail node
	OutcomeQueueVoicemail     = "queue_voicemail"     // queued, nobody free, left a message
	OutcomeEmergencyVoicemail = "emergency_voicemail" // emergency desk not reachable, left a message
	OutcomeQueueAbandoned     = "queue_abandoned"     // queued, hung up before the message
	OutcomeEmergencyAbandoned = "emergency_abandoned"
	OutcomeLookupDone         = "lookup_done"          // heard a case's status
	OutcomeHungUp             = "hung_up"              // the menu said goodbye
	OutcomeHungUpInMenu       = "hung_up_in_menu"      // the caller hung up in the menu
	OutcomeTransferRequested  = "transfer_unavailable" // a transfer node; transfers are not wired
	OutcomeAborted            = "aborted"              // ended by a panic or a shutdown
	OutcomeAgent              = "agent_answered"       // an agent answered and talked with the caller
	OutcomeQueueCallback      = "queue_callback"       // the waiting caller chose a callback that keeps the place
)

// observed is what the call goroutine knows when the call is over.
type observed struct {
	result   ivr.Result
	queue    *queueInfo
	vm       vmResult
	lookedUp cases.Number
	aborted  string
	transfer string // the number of the transfer node that ended the menu
}

// settlement is how a call's case ends up: a pure decision from what was observed.
type settlement struct {
	Outcome  string
	Kind     cases.Kind
	Channel  cases.Channel // the case's channel: phone unless a message was left
	Status   cases.Status
	Event    cases.EventKind
	Detail   map[string]any
	Due      bool             // the case gets the statutory due time of its kind
	Callback cases.TaskReason // "" for none
	Priority string           // of the callback task
}

// plan decides how a call's case is registered.
//
//   - A message (or an attempt at one: silent, failed) makes a registered case on the
//     voicemail channel with the kind the menu gave, its statutory due time, and a callback
//     task: reason voicemail, or missed when nothing audible was kept (missed-call policy).
//   - A caller who hangs up after choosing a queue, before the message, is an abandoned
//     call: a registered case of the queue's kind with an abandoned callback and no
//     statutory due time (nothing was said yet).
//   - A call ended by a panic or a shutdown is the hotline's fault: a registered case and a
//     missed callback.
//   - Hung up in the menu: invalid and closed. A goodbye from the menu: the node's kind
//     (invalid by default), closed.
//   - A case-progress look-up: every call has its own case, so this one is closed as a
//     consultation answered by self-service; the case looked up gets a status_lookup entry
//     on its trail when it is found (see lookup), and its number is in this case's detail.
//   - An agent answered: a registered case of the queue's kind with its statutory due
//     time, no callback (the agent completes the case from the desk).
//   - A waiting caller who chose a callback: a registered case and a requested callback
//     task enqueued at the original enqueue time (the place is kept).
//   - A transfer node: transfers are not wired, so a registered case and a "requested"
//     callback instead of a dead end.
func plan(o observed) settlement {
	kind := cases.Kind(o.result.CaseKind)
	emergency := false
	if o.queue != nil {
		kind, emergency = cases.Kind(o.queue.kind), o.queue.emergency
	}
	if !kind.Valid() || kind == cases.KindInvalid {
		kind = cases.KindConsult // a case with content is at least a consultation
	}
	priority := "callback"
	if emergency {
		priority = "emergency"
	}
	detail := map[string]any{}
	if o.queue != nil {
		detail["queue"], detail["queue_result"] = o.queue.name, o.queue.reason
	}
	if emergency {
		detail["emergency"] = true
	}
	s := settlement{Kind: kind, Channel: cases.ChannelPhone, Status: cases.StatusRegistered,
		Event: cases.EventRegistered, Detail: detail, Priority: priority}

	if o.queue != nil && o.queue.agent != "" {
		// The agent completes the case from the desk; its statutory clock runs from receipt.
		s.Outcome, s.Due = OutcomeAgent, true
		detail["agent"] = o.queue.agent
		return s
	}
	if o.queue != nil && o.queue.keptPlace {
		s.Outcome, s.Callback = OutcomeQueueCallback, cases.TaskRequested
		detail["kept_place"] = true
		return s
	}
	switch o.vm {
	case vmRecorded, vmSilent, vmFailed:
		s.Outcome = OutcomeVoicemail
		if o.queue != nil {
			s.Outcome = OutcomeQueueVoicemail
			if emergency {
				s.Outcome = OutcomeEmergencyVoicemail
			}
		}
		s.Channel, s.Due, s.Callback = cases.ChannelVoicemail, true, cases.TaskVoicemail
		detail["message"] = map[vmResult]string{vmRecorded: "recorded", vmSilent: "silent", vmFailed: "none"}[o.vm]
		if o.vm != vmRecorded {
			s.Callback = cases.TaskMissed
		}
		return s
	case vmAbandoned:
		s.Outcome, s.Callback = OutcomeQueueAbandoned, cases.TaskAbandoned
		if emergency {
			s.Outcome = OutcomeEmergencyAbandoned
		}
		return s
	}
	if o.aborted != "" {
		s.Outcome, s.Callback = OutcomeAborted, cases.TaskMissed
		detail["aborted"] = o.aborted
		return s
	}
	closed := func(k cases.Kind, outcome string) settlement {
		return settlement{Outcome: outcome, Kind: k, Channel: cases.ChannelPhone, Status: cases.StatusClosed,
			Event: cases.EventClosed, Detail: detail}
	}
	switch o.result.Outcome {
	case ivr.OutcomeHungUpInMenu:
		detail["reason"] = "caller hung up in the menu"
		return closed(cases.KindInvalid, OutcomeHungUpInMenu)
	case ivr.OutcomeHungUp:
		k := cases.Kind(o.result.CaseKind)
		if !k.Valid() {
			k = cases.KindInvalid
		}
		detail["reason"] = "menu ended the call"
		return closed(k, OutcomeHungUp)
	case ivr.OutcomeLookupDone:
		detail["resolution"] = "case status heard by self-service"
		detail["looked_up"] = o.lookedUp
		return closed(cases.KindConsult, OutcomeLookupDone)
	case ivr.OutcomeTransferred:
		s.Outcome, s.Callback = OutcomeTransferRequested, cases.TaskRequested
		detail["transfer_to"] = o.transfer
		return s
	}
	// The menu handed the call on but nothing followed: treat it as missed.
	s.Outcome, s.Callback = OutcomeAborted, cases.TaskMissed
	detail["aborted"] = "incomplete"
	return s
}

func (c *call) observe() observed {
	o := observed{result: c.st.Result(), queue: c.queue, vm: c.vm, lookedUp: c.lookedUp, aborted: c.aborted}
	if t, ok := c.leave.(ivr.Transfer); ok {
		o.transfer = t.Number
	}
	return o
}

// settle writes the end of the call: the case's registration, the recording, the callback
// task, the call row. Each write stands alone, so that one failing loses nothing the others
// carry; each is made at most once.
func (c *call) settle() {
	if c.w.ended {
		return
	}
	s := plan(c.observe())
	now := c.now()
	if !c.w.settled {
		c.w.settled = true
		c.r.m.calls.WithLabelValues(s.Outcome).Inc()
	}
	if !c.ensureCase() {
		args := []any{"outcome", s.Outcome, "caller", c.caller.Masked()}
		if c.stored != nil {
			args = append(args, "recording_path", c.stored.Path)
		}
		c.log.Error("callflow: the database refused the case of this call; ending without a case record", args...)
		return
	}
	res := c.st.Result()
	s.Detail["node"], s.Detail["language"], s.Detail["outcome"] = res.Node, res.Language, s.Outcome
	if c.stored != nil {
		s.Detail["recording"] = c.recName
	}
	if !c.w.registered {
		c.register(s, now)
	}
	if c.stored != nil && !c.w.recording {
		c.addRecording()
	}
	if s.Callback != "" && !c.w.task {
		c.createTask(s, now)
	}
	ctx, cancel := c.opCtx()
	err := c.r.cfg.Cases.EndCall(ctx, c.callID, now, s.Outcome, pathJSON(c.path))
	cancel()
	if err != nil {
		c.fail("db.end_call", err, "outcome", s.Outcome)
		return
	}
	c.w.ended = true
	c.log.Info("callflow: call ended", "outcome", s.Outcome, "kind", s.Kind, "status", s.Status, "registered", c.w.registered)
}

func (c *call) register(s settlement, now time.Time) {
	if s.Channel != cases.ChannelPhone {
		ctx, cancel := c.opCtx()
		err := c.r.cfg.Cases.SetChannel(ctx, c.caseID, s.Channel)
		cancel()
		if err != nil {
			c.fail("db.set_channel", err, "channel", s.Channel)
		}
	}
	reg := cases.Registration{Kind: s.Kind, Status: s.Status, Actor: actor, Event: s.Event, Detail: s.Detail, At: now}
	if s.Status != cases.StatusClosed {
		due, err := c.r.cfg.Deadlines.CaseDue(s.Kind, c.started)
		if err != nil {
			// Registered without a due time rather than not at all; supervision will see it.
			c.fail("deadline", err, "kind", s.Kind)
		}
		reg.DeadlineRule = due.Rule
		if s.Due {
			reg.DueAt = due.At
		}
	}
	ctx, cancel := c.opCtx()
	err := c.r.cfg.Cases.Register(ctx, c.caseID, reg)
	cancel()
	if err != nil {
		c.fail("db.register", err, "kind", s.Kind, "status", s.Status)
		return
	}
	c.w.registered = true
}

func (c *call) addRecording() {
	rec := cases.Recording{CaseID: c.caseID, Name: c.recName, Path: c.stored.Path, Format: "wav",
		SHA256: c.stored.SHA256, SizeBytes: c.stored.Size, DurationMS: int(c.stored.Duration / time.Millisecond)}
	if c.callID != 0 {
		rec.CallID = &c.callID
	}
	ctx, cancel := c.opCtx()
	_, err := c.r.cfg.Cases.AddRecording(ctx, rec)
	cancel()
	if err != nil {
		c.fail("db.add_recording", err, "recording", c.recName, "path", c.stored.Path)
		return
	}
	c.w.recording = true
}

func (c *call) createTask(s settlement, now time.Time) {
	if c.caller == "" {
		c.log.Warn("callflow: no caller number: no callback task", "reason", s.Callback)
		c.w.task = true
		return
	}
	lang := c.st.Result().Language
	task := cases.NewCallbackTask{CaseID: c.caseID, Reason: s.Callback, CallerNumber: c.caller,
		Language: string(lang), Queue: c.r.cfg.CallbackQueue, Priority: s.Priority, EnqueuedAt: now}
	if c.callID != 0 {
		task.CallID = &c.callID
	}
	if c.queue != nil {
		task.Queue, task.Skills = c.queue.name, skillMap(c.queue.skills)
		if c.queue.keptPlace && !c.queue.enqueuedAt.IsZero() {
			task.EnqueuedAt = c.queue.enqueuedAt // the place in the queue is kept
		}
	} else {
		task.Skills = skillMap(c.r.cfg.Machine.Menu().LanguageSkills[lang])
	}
	due, err := c.r.cfg.Deadlines.CallbackDue(c.started)
	if err != nil {
		c.fail("deadline", err, "callback", s.Callback)
	} else {
		task.DueAt = &due
	}
	ctx, cancel := c.opCtx()
	_, err = c.r.cfg.Cases.CreateCallbackTask(ctx, task)
	cancel()
	if err != nil {
		c.fail("db.create_callback_task", err, "reason", s.Callback)
		return
	}
	c.w.task = true
}
