package callflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"hotline/acd"
	"hotline/cases"
	"hotline/ivr"
	"hotline/pbx"
)

// Trail entries of an emergency connected to a duty officer.
const (
	eventEscalationBridged cases.EventKind = "escalation_bridged"    // caller and officer talk
	eventEscalationEnded   cases.EventKind = "escalation_call_ended" // their conversation ended
)

// Escalator starts the escalation chain of an emergency caller who waits on the line
// (escalation/dutydesk).
type Escalator interface {
	Escalate(ctx context.Context, o Offer) (*Escalation, error)
}

// Escalation is a running chain as the caller's goroutine sees it. The chain's goroutine
// owns the officers' channels; the caller's goroutine owns the caller's. When an officer
// accepts, the chain hands the officer's leg over on Handover and the caller's goroutine
// answers on the leg's Taken at once: true, and from then on it alone acts on the leg
// (bridge, hang up); false, and the chain keeps it (tells the officer the caller is gone).
type Escalation struct {
	// Handover delivers the leg of the officer who accepted, at most one. It is closed
	// when the chain ends without handing one over (nobody accepted, or the caller left).
	Handover <-chan OfficerLeg
	left     chan struct{}
	once     sync.Once
}

// NewEscalation returns the handle of a chain that hands legs over on handover. Left is
// closed once the caller no longer waits.
func NewEscalation(handover <-chan OfficerLeg) *Escalation {
	return &Escalation{Handover: handover, left: make(chan struct{})}
}

// Leave tells the chain that the caller no longer waits (hung up, connected elsewhere, or
// the call ended). Safe to call more than once.
func (e *Escalation) Leave() { e.once.Do(func() { close(e.left) }) }

// Left is closed when the caller no longer waits.
func (e *Escalation) Left() <-chan struct{} { return e.left }

// OfficerLeg is the answered channel of the officer who accepted.
type OfficerLeg struct {
	Officer   string // name, for the log and the trail
	OfficerID int64  // roster entry
	ChannelID string
	Events    *pbx.Subscription
	// Taken receives the caller goroutine's answer; buffered, so the answer never blocks.
	Taken chan<- bool
}

// EmergencyAgents says which agents the distributor knows: (acd.Store).Agents.
type EmergencyAgents interface {
	Agents(ctx context.Context) ([]acd.Agent, error)
}

// EmergencyDesk is the Queue in front of the distributor that decides who takes an
// emergency: agents of the emergency queue when one is ready to answer now, otherwise the
// duty officers' escalation chain (decideEmergency). Other offers go to Queue unchanged.
type EmergencyDesk struct {
	Queue     Queue // the distributor (or BusyQueue); required
	Escalator Escalator
	// Hours says when the centre is staffed; nil: never (every emergency escalates).
	Hours ivr.Hours
	// Agents tells whether an agent with the emergency skill is ready; nil: none is.
	Agents EmergencyAgents
	// Skill is the skill an agent needs to take emergencies. Default "emergency".
	Skill string
	// Bridges connects the caller with the officer who accepts; required with Escalator.
	Bridges Bridges
	// HoldMedia plays to the caller, over and over, while the chain runs. Default
	// "sound:hotline/emergency-hold".
	HoldMedia string
	// VoicemailPrompts play before the message a caller leaves when no officer accepted.
	// Default hotline/emergency-voicemail.
	VoicemailPrompts []ivr.PromptName
}

// decideEmergency: an emergency escalates unless the centre is open and an agent who takes
// emergencies is ready now. A ready agent answers at once (the emergency class goes first);
// an agent who is only logged in (talking, wrapping up) may not be free for minutes, and
// at night there is nobody: then the duty officers are called, so that no emergency waits
// for a person who may not come. When the agents cannot be read, the chain is the safe side.
func decideEmergency(open bool, readyAgents int, agentsErr error) (escalate bool, reason string) {
	switch {
	case !open:
		return true, "after hours"
	case agentsErr != nil:
		return true, "agent states unavailable"
	case readyAgents == 0:
		return true, "no emergency agent ready"
	}
	return false, "emergency agent ready"
}

func (d *EmergencyDesk) readyAgents(ctx context.Context) (int, error) {
	if d.Agents == nil {
		return 0, nil
	}
	agents, err := d.Agents.Agents(ctx)
	if err != nil {
		return 0, err
	}
	skill := d.Skill
	if skill == "" {
		skill = "emergency"
	}
	n := 0
	for _, a := range agents {
		if a.State == acd.StateReady && a.Skills[acd.SkillName(skill)] > 0 {
			n++
		}
	}
	return n, nil
}

// Offer sends an emergency to the duty officers or the agents (decideEmergency); a chain
// that cannot start sends it to the agents' queue, never to a dead end.
func (d *EmergencyDesk) Offer(ctx context.Context, o Offer) (QueueResult, error) {
	if !o.Emergency || d.Escalator == nil {
		return d.Queue.Offer(ctx, o)
	}
	open := d.Hours != nil && d.Hours.IsOpen(o.At)
	ready, err := 0, error(nil)
	if open {
		ready, err = d.readyAgents(ctx)
	}
	escalate, reason := decideEmergency(open, ready, err)
	if !escalate {
		return d.Queue.Offer(ctx, o)
	}
	esc, eerr := d.Escalator.Escalate(ctx, o)
	if eerr != nil {
		res, qerr := d.Queue.Offer(ctx, o)
		if qerr != nil {
			return res, fmt.Errorf("escalate %s: %w; and the queue: %w", o.ChannelID, eerr, qerr)
		}
		res.Reason = "escalation failed (" + eerr.Error() + "): " + res.Reason
		return res, nil
	}
	return QueueResult{Decision: DecideEscalate, Reason: "escalated: " + reason,
		Escalation: &EscalationTicket{esc: esc, desk: d}}, nil
}

// EscalateWaiting starts the chain for an emergency that waited in the agents' queue to
// its maximum wait: even in opening hours an emergency goes to a person, not to voicemail.
func (d *EmergencyDesk) EscalateWaiting(ctx context.Context, o Offer) (*EscalationTicket, error) {
	if d.Escalator == nil {
		return nil, errors.New("no escalation chain is configured")
	}
	esc, err := d.Escalator.Escalate(ctx, o)
	if err != nil {
		return nil, err
	}
	return &EscalationTicket{esc: esc, desk: d}, nil
}

// EscalationTicket is a caller waiting for the duty officers: what the call goroutine holds.
type EscalationTicket struct {
	esc  *Escalation
	desk *EmergencyDesk
}

// waitForOfficer keeps the caller on hold while the chain runs. An officer handed over is
// bridged with the caller; a chain that ends without one leads to a message (the case is
// an emergency, its callback too).
func (c *call) waitForOfficer(ctx context.Context, t *EscalationTicket) {
	esc := t.esc
	defer esc.Leave()
	hold := t.desk.HoldMedia
	if hold == "" {
		hold = "sound:hotline/emergency-hold"
	}
	playing := c.playHold(hold)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.events = nil
				c.gone = true
			} else {
				switch ev.Type {
				case pbx.PlaybackFinished:
					if ev.PlaybackID == playing {
						playing = c.playHold(hold)
					}
				case pbx.ChannelHangupRequest:
					c.gone = c.gone || !c.hungUp
				case pbx.StasisEnd, pbx.Vanished:
					c.gone = true
				case pbx.Resynced:
					// The hold prompt's end may have been lost: start it again.
					c.stopPlayback(playing)
					playing = c.playHold(hold)
				}
			}
			if c.gone {
				c.log.Info("callflow: the caller hung up while the duty officers were called")
				c.vm = vmAbandoned
				return
			}
		case id := <-c.timeouts:
			delete(c.timers, id) // no timer of the menu's runs here
		case leg, ok := <-esc.Handover:
			c.stopPlayback(playing)
			if !ok {
				c.log.Info("callflow: no duty officer accepted; the caller leaves a message")
				c.emergencyVoicemail(ctx, t)
				return
			}
			leg.Taken <- true
			c.talkToOfficer(ctx, t, leg)
			return
		case <-ctx.Done():
			c.stopPlayback(playing)
			c.aborted = "shutdown"
			c.hangup()
			return
		}
	}
}

func (c *call) playHold(media string) string {
	c.queued++
	id := c.id + "-e" + strconv.Itoa(c.queued)
	if !c.playAs(id, media) {
		return ""
	}
	return id
}

// playAs plays media on the caller's channel as playback id; a failure is logged and
// counted, and false.
func (c *call) playAs(id, media string) bool {
	ctx, cancel := c.opCtx()
	_, err := c.r.cfg.PBX.Play(ctx, c.id, media, id)
	cancel()
	if err != nil {
		c.fail("play", err, "media", media)
		return false
	}
	return true
}

func (c *call) emergencyVoicemail(ctx context.Context, t *EscalationTicket) {
	prompts := t.desk.VoicemailPrompts
	if len(prompts) == 0 {
		prompts = []ivr.PromptName{"hotline/emergency-voicemail"}
	}
	c.leaveVoicemail(ctx, prompts)
}

// leaveVoicemail plays prompts to the end, then records the caller's message; a caller who
// hangs up during the prompts abandoned the voicemail.
func (c *call) leaveVoicemail(ctx context.Context, prompts []ivr.PromptName) {
	media := make([]string, len(prompts))
	for i, p := range prompts {
		media[i] = p.Media()
	}
	if !c.playThrough(ctx, strings.Join(media, ",")) {
		if c.gone {
			c.vm = vmAbandoned
		}
		return
	}
	c.recordVoicemail(ctx, fillVoicemail(ivr.Voicemail{}))
}

// talkToOfficer bridges the caller with the officer and waits for either to hang up; then
// it hangs up the other and removes the bridge.
func (c *call) talkToOfficer(ctx context.Context, t *EscalationTicket, leg OfficerLeg) {
	defer leg.Events.Close()
	hangupLeg := func() {
		hctx, cancel := c.opCtx()
		if err := c.r.cfg.PBX.Hangup(hctx, leg.ChannelID, pbx.HangupNormal); err != nil && !errors.Is(err, pbx.ErrNotFound) {
			c.fail("hangup_officer", err, "officer", leg.Officer)
		}
		cancel()
	}
	bridge := "esc-" + c.id
	bctx, cancel := c.opCtx()
	sub, err := t.desk.Bridges.CreateBridge(bctx, bridge, "emergency "+c.id)
	cancel()
	if err == nil {
		sub.Close() // the legs' own events end the conversation
		bctx, cancel = c.opCtx()
		err = t.desk.Bridges.AddToBridge(bctx, bridge, c.id, leg.ChannelID)
		cancel()
		if err != nil { // a bridge made for nothing must not stay in Asterisk
			dctx, cancel := c.opCtx()
			if derr := t.desk.Bridges.DestroyBridge(dctx, bridge); derr != nil && !errors.Is(derr, pbx.ErrNotFound) {
				c.fail("bridge.destroy", derr, "bridge", bridge)
			}
			cancel()
		}
	}
	if err != nil {
		// The officer knows the case (the summary); the caller is not left in silence.
		c.fail("bridge.officer", err, "officer", leg.Officer)
		hangupLeg()
		c.emergencyVoicemail(ctx, t)
		return
	}
	at := c.now()
	c.queue.agent = acd.AgentID("officer:" + strconv.FormatInt(leg.OfficerID, 10))
	c.log.Info("callflow: duty officer connected", "officer", leg.Officer, "bridge", bridge)
	c.appendEmergencyEvent(eventEscalationBridged, map[string]any{"officer": leg.Officer, "officer_id": leg.OfficerID,
		"answered_at": at, "channel_id": c.id, "officer_channel_id": leg.ChannelID, "bridge": bridge})
	by := ""
	officerEvents := leg.Events.Events()
	for by == "" {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.events = nil
				by = "caller"
				break
			}
			switch ev.Type {
			case pbx.ChannelHangupRequest, pbx.StasisEnd, pbx.Vanished:
				by = "caller"
			}
		case ev, ok := <-officerEvents:
			if !ok {
				by = "officer"
				break
			}
			switch ev.Type {
			case pbx.ChannelHangupRequest, pbx.StasisEnd, pbx.ChannelDestroyed, pbx.Vanished:
				by = "officer"
			}
		case id := <-c.timeouts:
			delete(c.timers, id)
		case <-ctx.Done():
			by = "shutdown"
		}
	}
	if by == "caller" {
		c.gone = true
	}
	hangupLeg()
	c.hangup()
	bctx, cancel = c.opCtx()
	if err := t.desk.Bridges.DestroyBridge(bctx, bridge); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.fail("bridge.destroy", err, "bridge", bridge)
	}
	cancel()
	c.log.Info("callflow: duty officer conversation ended", "by", by)
	c.appendEmergencyEvent(eventEscalationEnded, map[string]any{"by": by, "officer": leg.Officer})
}

// appendEmergencyEvent writes an entry on the call's case trail; a failure is logged and counted.
func (c *call) appendEmergencyEvent(kind cases.EventKind, detail map[string]any) {
	if !c.ensureCase() {
		return
	}
	ctx, cancel := c.opCtx()
	_, err := c.r.cfg.Cases.AppendEvent(ctx, c.caseID, cases.NewEvent{At: c.now(), Kind: kind, Actor: actor, Detail: detail})
	cancel()
	if err != nil {
		c.fail("db.append_event", err, "event", kind)
	}
}
