package callflow

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"hotline/cases"
	"hotline/ivr"
	"hotline/pbx"
)

// afterMenu carries out the menu's last action.
func (c *call) afterMenu(ctx context.Context) {
	switch a := c.leave.(type) {
	case ivr.Hangup:
		c.hangup()
	case ivr.Transfer:
		// Transfers to outside numbers are not wired: the call is registered with a
		// callback instead (see plan), never silently dropped.
		c.log.Warn("callflow: transfer not available; the caller will be called back", "node", a.Node, "number", a.Number)
		c.hangup()
	case ivr.Record:
		c.recordVoicemail(ctx, ivr.Voicemail{MaxLength: a.MaxLength, MaxSilence: a.MaxSilence, Beep: a.Beep})
	case ivr.Enqueue:
		c.offer(ctx, Offer{Queue: a.Queue, Skills: a.Skills, Priority: a.Priority, CaseKind: a.CaseKind,
			Language: a.Language, LookedUp: a.CaseNumber}, a.Node)
	case ivr.Emergency:
		c.offer(ctx, Offer{Queue: a.Queue, Skills: a.Skills, Priority: ivr.PriorityEmergency, CaseKind: a.CaseKind,
			Language: a.Language, Emergency: true}, a.Node)
	}
	// No action: the caller hung up in the menu.
}

// offer hands the call to the queue and carries out its decision.
func (c *call) offer(ctx context.Context, o Offer, node ivr.NodeID) {
	c.ensureCase()
	o.ChannelID, o.CaseID, o.CaseNumber, o.CallerID, o.At = c.id, c.caseID, c.number, c.caller, c.now()
	c.markQueued(o)
	if o.Emergency && c.caseID != 0 {
		// Written at once: the emergency must be on the trail even if nothing else is.
		wctx, cancel := c.opCtx()
		_, err := c.r.cfg.Cases.AppendEvent(wctx, c.caseID, cases.NewEvent{At: o.At, Kind: eventEmergency, Actor: actor,
			Detail: map[string]any{"node": node, "queue": o.Queue, "skills": skillMap(o.Skills), "language": o.Language}})
		cancel()
		if err != nil {
			c.fail("db.append_event", err, "event", eventEmergency)
		}
	}
	qctx, cancel := c.opCtx()
	res, err := c.r.cfg.Queue.Offer(qctx, o)
	cancel()
	if err == nil && res.Decision != DecideVoicemail && (res.Decision != DecideWait || res.Wait == nil) &&
		(res.Decision != DecideEscalate || res.Escalation == nil) {
		err = errors.New("unknown decision " + res.Decision.String())
	}
	if err != nil {
		// Never a dead end: a queue that fails sends the caller to voicemail.
		c.fail("queue.offer", err, "queue", o.Queue)
		res, _ = BusyQueue{}.Offer(ctx, o)
	}
	c.queue = &queueInfo{name: o.Queue, skills: o.Skills, kind: o.CaseKind, emergency: o.Emergency, reason: res.Reason}
	c.log.Info("callflow: queue decided", "queue", o.Queue, "emergency", o.Emergency, "decision", res.Decision.String(), "reason", res.Reason)
	if res.Decision == DecideWait {
		c.waitForAgent(ctx, res.Wait)
		return
	}
	if res.Decision == DecideEscalate {
		c.waitForOfficer(ctx, res.Escalation)
		return
	}
	if c.gone {
		c.vm = vmAbandoned
		return
	}
	if len(res.Prompts) > 0 {
		media := make([]string, len(res.Prompts))
		for i, p := range res.Prompts {
			media[i] = p.Media()
		}
		if !c.playThrough(ctx, strings.Join(media, ",")) {
			if c.gone {
				c.vm = vmAbandoned
			}
			return
		}
	}
	c.recordVoicemail(ctx, fillVoicemail(res.Voicemail))
}

func skillMap(skills []ivr.Skill) map[string]int {
	out := make(map[string]int, len(skills))
	for _, s := range skills {
		out[s.Name] = s.Level
	}
	return out
}

// playThrough plays media after the menu and waits for its end. Keys are ignored. It
// returns false when the caller hung up or ctx ended first.
func (c *call) playThrough(ctx context.Context, media string) bool {
	c.queued++
	id := c.id + "-q" + strconv.Itoa(c.queued)
	pctx, cancel := c.opCtx()
	_, err := c.r.cfg.PBX.Play(pctx, c.id, media, id)
	cancel()
	if err != nil {
		c.fail("play", err, "media", media)
		return !c.gone
	}
	guard := c.startGuard(c.r.cfg.Machine.Menu().MaxPrompt)
	defer c.cancelTimer(guard)
	for {
		in, ok := c.next(ctx)
		switch {
		case !ok:
			c.aborted = "shutdown"
			return false
		case in.closed:
			c.gone = true
			return false
		case in.timer == guard:
			c.log.Warn("callflow: playback end never reported; going on", "playback", id)
			c.stopPlayback(id)
			return true
		case in.timer != "":
			continue
		}
		switch in.ev.Type {
		case pbx.PlaybackFinished:
			if in.ev.PlaybackID == id {
				return true
			}
		case pbx.ChannelHangupRequest:
			if !c.hungUp {
				c.gone = true
				return false
			}
		case pbx.StasisEnd, pbx.Vanished:
			c.gone = true
			return false
		case pbx.Resynced:
			// See recheck: stopping tells whether it had ended; either way the call goes on.
			sctx, cancel := c.opCtx()
			err := c.r.cfg.PBX.StopPlayback(sctx, id)
			cancel()
			if errors.Is(err, pbx.ErrNotFound) {
				return true
			}
		}
	}
}

// recordVoicemail records the caller (beep first, # ends), hangs up when the recording
// ends, and stores the audio. A caller who hangs up ends the recording too: Asterisk keeps
// the partial file and it is stored like any other.
func (c *call) recordVoicemail(ctx context.Context, v ivr.Voicemail) {
	name := "vm-" + c.id
	c.recName = name
	rctx, cancel := c.opCtx()
	err := c.r.cfg.PBX.Record(rctx, c.id, pbx.RecordOptions{Name: name, Format: "wav", MaxDuration: v.MaxLength,
		MaxSilence: v.MaxSilence, Beep: v.Beep, TerminateOn: "#", IfExists: "fail"})
	cancel()
	if err != nil {
		c.fail("record", err, "recording", name)
		c.vm = vmFailed
		c.hangup()
		return
	}
	if c.waitRecording(ctx, name, v.MaxLength) {
		c.hangup()
		c.storeVoicemail(name)
		return
	}
	c.vm = vmFailed
	c.hangup()
}

// waitRecording waits for the recording's end; false when Asterisk reports it failed.
func (c *call) waitRecording(ctx context.Context, name string, maxLength time.Duration) bool {
	guard := c.startGuard(maxLength + c.r.cfg.RecordingGrace)
	defer func() { c.cancelTimer(guard) }()
	stopped := false
	stop := func(why string) {
		if stopped {
			return
		}
		stopped = true
		c.log.Warn("callflow: stopping the recording", "recording", name, "why", why)
		sctx, cancel := c.opCtx()
		if err := c.r.cfg.PBX.StopRecording(sctx, name); err != nil && !errors.Is(err, pbx.ErrNotFound) {
			c.fail("stop_recording", err, "recording", name)
		}
		cancel()
		c.cancelTimer(guard)
		guard = c.startGuard(c.r.cfg.RequestTimeout)
	}
	for {
		in, ok := c.next(ctx)
		switch {
		case !ok:
			// Shutting down: keep what was said. Wait a little for the end without ctx.
			stop("shutdown")
			ctx = context.Background()
			continue
		case in.closed:
			return true // the channel is gone; whatever was recorded is fetched
		case in.timer == guard && !stopped:
			stop("no RecordingFinished after the maximum length")
			continue
		case in.timer == guard:
			return true
		case in.timer != "":
			continue
		}
		ev := in.ev
		switch ev.Type {
		case pbx.RecordingFinished:
			if ev.RecordingName == name {
				return true
			}
		case pbx.RecordingFailed:
			if ev.RecordingName == name {
				c.r.m.errors.WithLabelValues("recording").Inc()
				c.log.Error("callflow: recording failed", "recording", name, "cause", ev.RecordingCause)
				return false
			}
		case pbx.ChannelHangupRequest, pbx.StasisEnd, pbx.Vanished:
			if !c.hungUp {
				c.gone = true // Asterisk ends the recording next
			}
		}
	}
}

// storeVoicemail fetches the recording over ARI, stores it on disk and deletes Asterisk's
// copy once ours is safe. Asterisk's copy is kept when ours could not be made.
func (c *call) storeVoicemail(name string) {
	ctx, cancel := c.opCtx()
	data, err := c.r.cfg.PBX.RecordingFile(ctx, name)
	cancel()
	if err != nil {
		if errors.Is(err, pbx.ErrNotFound) {
			c.log.Info("callflow: no message was recorded", "recording", name)
		} else {
			c.fail("recording_file", err, "recording", name)
		}
		c.vm = vmFailed
		return
	}
	st, err := c.r.cfg.Recordings.SaveWAV(name, c.started, data)
	if err != nil {
		c.fail("store.save_recording", err, "recording", name, "kept_on_asterisk", true)
		c.vm = vmFailed
		return
	}
	c.stored = &st
	c.vm = vmRecorded
	if st.Silent {
		c.vm = vmSilent
	}
	c.r.m.voicemails.WithLabelValues(boolLabel(st.Silent)).Inc()
	c.log.Info("callflow: voicemail stored", "recording", name, "path", st.Path, "bytes", st.Size, "duration", st.Duration, "silent", st.Silent)
	ctx, cancel = c.opCtx()
	if err := c.r.cfg.PBX.DeleteRecording(ctx, name); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.fail("delete_recording", err, "recording", name)
	}
	cancel()
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
