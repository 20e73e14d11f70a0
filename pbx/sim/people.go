package sim

import (
	"context"
	"errors"
	"fmt"
	"hotline/pbx/steps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/audio"
	"hotline/pbx/sim/media"
)

// CallSpec describes a simulated caller dialling in.
type CallSpec struct {
	From     string // caller number; default "13800000001"
	Name     string // caller name; default "caller"
	To       string // dialled number; default Config.Exten
	Language string // channel language; default Config.Language
	Steps    string // what the caller does once answered (see the package doc)
	Listen   bool   // keep what the caller hears, for Heard
}

// CallResult is what happened to a simulated party.
type CallResult struct {
	Answered  bool   // the call was answered
	Declined  bool   // refused before answer (SIPStatus says how)
	SIPStatus int    // final response to the INVITE: 200, 603 (Stasis app down), 404, 486 (busy), 480
	HungUpBy  string // "party" or "pbx" once ended
	Cause     int    // Q.850 cause of the end
	DTMF      string // digits the PBX sent to the party (POST /channels/{id}/dtmf)
	Err       error  // a step that could not run (unreadable file, ...)
}

// Call is a simulated party: an inbound caller or the person at an endpoint
// the app originated to. Its methods are safe for concurrent use.
type Call struct {
	s      *Server
	chanID string
	steps  []steps.Step
	leg    *media.Leg
	listen bool
	from   string
	to     string

	answeredCh chan struct{}
	doneCh     chan struct{}
	promptWake chan struct{}
	// prompts is how many playbacks the party's channel has queued, kept by the server
	// under its lock, so that a party waiting for a prompt's end never takes that lock.
	prompts atomic.Int32

	mu      sync.Mutex
	res     CallResult
	heard   []int16
	ringing bool
	ended0  bool
}

// ChannelID is the Asterisk channel id of the party's channel ("" when the
// call was refused before a channel existed).
func (c *Call) ChannelID() string { return c.chanID }

// Answered is closed once the call is answered.
func (c *Call) Answered() <-chan struct{} { return c.answeredCh }

// Done is closed once the call has ended, whoever ended it.
func (c *Call) Done() <-chan struct{} { return c.doneCh }

// Result is what has happened so far.
func (c *Call) Result() CallResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.res
}

// Wait blocks until the call ends or ctx is done.
func (c *Call) Wait(ctx context.Context) (CallResult, error) {
	select {
	case <-c.doneCh:
		return c.Result(), nil
	case <-ctx.Done():
		return c.Result(), fmt.Errorf("wait for call %s: %w", c.chanID, ctx.Err())
	}
}

// Heard returns what the party has heard so far (CallSpec.Listen or
// EndpointSpec.Listen must be set).
func (c *Call) Heard() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.heard...)
}

// Ringing reports whether the app is indicating ringing to the party.
func (c *Call) Ringing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ringing
}

// Send sets what the party sends from now on (nil: silence).
func (c *Call) Send(src media.Source) {
	if c.leg != nil {
		c.leg.SetSource(src)
	}
}

// Hangup hangs the call up from the party's side (a SIP BYE or CANCEL).
func (c *Call) Hangup() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ch := c.s.channels[c.chanID]
	if ch == nil || ch.gone {
		return
	}
	if ch.ringing != nil {
		c.s.failDial(ch, "CANCEL", 16, "party")
		return
	}
	c.s.hangup(ch, byFarEnd, 16)
}

// Press sends DTMF digits from the party now, each as the rig does (about
// 140 ms of tone, then the event), without the pause that follows.
func (c *Call) Press(ctx context.Context, digits string) error {
	for _, d := range digits {
		if err := c.pressOne(ctx, string(d)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Call) pressOne(ctx context.Context, digit string) error {
	if err := c.sleep(ctx, steps.DTMFPress); err != nil {
		return err
	}
	c.s.partyDTMF(c.chanID, digit)
	return nil
}

func (c *Call) answered() {
	c.mu.Lock()
	if c.res.Answered || c.ended0 {
		c.mu.Unlock()
		return
	}
	c.res.Answered = true
	c.res.SIPStatus = 200
	c.mu.Unlock()
	close(c.answeredCh)
	c.s.goTracked(c.runSteps)
}

func (c *Call) ended(who string, cause int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended0 {
		return
	}
	c.ended0 = true
	c.res.HungUpBy, c.res.Cause = who, cause
	close(c.doneCh)
}

func (c *Call) declined(status, cause int) {
	c.mu.Lock()
	c.res.Declined, c.res.SIPStatus = true, status
	c.mu.Unlock()
	c.ended("pbx", cause)
}

func (c *Call) heardDTMF(d string) {
	c.mu.Lock()
	c.res.DTMF += d
	c.mu.Unlock()
}

func (c *Call) setRinging(on bool) {
	c.mu.Lock()
	c.ringing = on
	c.mu.Unlock()
}

// promptChanged records that the party's channel has queued playbacks (the one playing
// included) and wakes the party if it waits for a prompt. Caller holds s.mu.
func (c *Call) promptChanged(queued int) {
	c.prompts.Store(int32(queued))
	select {
	case c.promptWake <- struct{}{}:
	default:
	}
}

func (c *Call) fail(err error) {
	c.mu.Lock()
	if c.res.Err == nil {
		c.res.Err = err
	}
	c.mu.Unlock()
}

// sleep waits d real time, or fails when the call ends or the server stops.
func (c *Call) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.doneCh:
		return errCallEnded
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errCallEnded = errors.New("call ended")

// runSteps plays the party's script once the call is answered.
func (c *Call) runSteps() {
	ctx := c.s.ctx
	for _, st := range c.steps {
		var err error
		switch st.Kind {
		case steps.Pause:
			err = c.sleep(ctx, st.D)
		case steps.DTMF:
			if err = c.pressOne(ctx, st.Digit); err == nil {
				err = c.sleep(ctx, steps.DTMFPause)
			}
		case steps.Tone:
			c.Send(media.Tone(st.Freq, 0.3))
			err = c.sleep(ctx, st.D)
			c.Send(media.Silence())
		case steps.Silence:
			c.Send(media.Silence())
			err = c.sleep(ctx, st.D)
		case steps.File:
			smp, rerr := audio.ReadWAVFile(st.Path)
			if rerr != nil {
				c.fail(fmt.Errorf("step f%s: %w", st.Path, rerr))
				continue
			}
			c.Send(media.Samples(smp))
			err = c.sleep(ctx, audio.Duration(len(smp)))
			c.Send(media.Silence())
		case steps.Prompt:
			err = c.waitPrompt(ctx)
		case steps.Hangup:
			c.Hangup()
			return
		}
		if err != nil {
			return
		}
	}
}

// waitPrompt waits for a prompt to be playing (up to 2 s) and then for the
// channel's playback queue to empty.
// promptPoll is a safety net only: a party is woken when a prompt is queued on its channel
// and when one ends. The party reads its channel's queue length from an atomic the server
// keeps: hundreds of callers waiting for prompts took the server lock thousands of times a
// second, and every ARI request and event waited behind them.
const promptPoll = 250 * time.Millisecond

func (c *Call) waitPrompt(ctx context.Context) error {
	busy := func() bool { return c.prompts.Load() > 0 }
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
	for !busy() {
		select {
		case <-c.promptWake:
		case <-deadline.C:
			return nil
		case <-time.After(promptPoll):
		case <-c.doneCh:
			return errCallEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for busy() {
		select {
		case <-c.promptWake:
		case <-time.After(promptPoll):
		case <-c.doneCh:
			return errCallEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// newParty makes the Call handle for a channel. Caller holds s.mu.
func (s *Server) newParty(ch *channel, script []steps.Step, listen bool) *Call {
	c := &Call{
		s: s, chanID: ch.id, steps: script, leg: ch.leg, listen: listen,
		answeredCh: make(chan struct{}), doneCh: make(chan struct{}), promptWake: make(chan struct{}, 1),
	}
	if listen && ch.leg != nil {
		ch.leg.OnHear(func(frame []int16) {
			c.mu.Lock()
			c.heard = append(c.heard, frame...)
			c.mu.Unlock()
		})
	}
	ch.party = c
	s.calls = append(s.calls, c)
	if len(s.calls) > 10000 {
		s.calls = s.calls[len(s.calls)-10000:]
	}
	return c
}

// Call places an inbound call: the channel runs the dialplan (NoOp,
// Stasis(App), Hangup). When the app has no socket, Stasis fails and the
// caller is declined (603), as in trace 10. Steps start once answered.
func (s *Server) Call(ctx context.Context, spec CallSpec) (*Call, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("place call: %w", err)
	}
	script, err := steps.Parse(spec.Steps)
	if err != nil {
		return nil, fmt.Errorf("place call: %w", err)
	}
	if spec.From == "" {
		spec.From = "13800000001"
	}
	if spec.Name == "" {
		spec.Name = "caller"
	}
	if spec.To == "" {
		spec.To = s.cfg.Exten
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("place call: server closed")
	}
	app, known := s.stasisApp(spec.To)
	if !known {
		// No such extension: the INVITE is refused before a channel exists.
		c := &Call{s: s, answeredCh: make(chan struct{}), doneCh: make(chan struct{}), promptWake: make(chan struct{}, 1), from: spec.From, to: spec.To}
		s.calls = append(s.calls, c)
		c.declined(404, 1)
		return c, nil
	}
	ch := s.newChannel(kindInbound, "")
	s.nextName++
	ch.name = fmt.Sprintf("PJSIP/hotline-client-%08x", s.nextName)
	ch.protocolID = fmt.Sprintf("1-%d@127.0.0.1", s.nextName)
	ch.caller = callerJSON{Name: spec.Name, Number: spec.From}
	if spec.Language != "" {
		ch.language = spec.Language
	}
	ch.state = "Ring"
	ch.leg = s.engine.NewLeg(ch.id)
	c := s.newParty(ch, script, spec.Listen)
	c.from, c.to = spec.From, spec.To
	ch.dialplan = dialplanJSON{Context: s.cfg.Context, Exten: spec.To, Priority: 2, AppName: "Stasis", AppData: app}
	if !s.appActive(app) {
		// "Stasis app 'hotline' not active": STASISSTATUS=FAILED, the
		// dialplan goes on to Hangup() and the caller gets 603 Decline.
		s.failedStasis.Add(1)
		s.log.Warn("Stasis app not active", "app", app, "channel", ch.name)
		ch.vars["STASISSTATUS"] = "FAILED"
		s.destroyQuietly(ch)
		c.declined(603, 16)
		return c, nil
	}
	s.enterStasis(ch, app, nil)
	return c, nil
}

// partyDTMF is a key released by the party: ChannelDtmfReceived, then a
// recording's terminateOn check.
func (s *Server) partyDTMF(chanID, digit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[chanID]
	if ch == nil || ch.gone {
		return
	}
	s.emitCh(ch, "ChannelDtmfReceived", kv{"digit", digit}, kv{"duration_ms", 280})
	s.dtmfForRecording(ch, digit)
}

// Behavior is how a simulated endpoint answers.
type Behavior int

// Endpoint behaviours.
const (
	Answer      Behavior = iota // ring AnswerAfter, then answer
	NoAnswer                    // ring until the originate timeout (Dial NOANSWER)
	Busy                        // 486 Busy Here (Dial BUSY)
	Unavailable                 // no contact registered (Dial CHANUNAVAIL)
)

// EndpointSpec describes a simulated endpoint (an agent phone, an officer's mobile).
type EndpointSpec struct {
	Name        string        // dial string as the app uses it, e.g. "PJSIP/agent-1001"
	Behavior    Behavior      // default Answer
	AnswerAfter time.Duration // ringing time before answering
	Steps       string        // what the person does once answered
	Listen      bool          // keep what the person hears
}

// Endpoint is a registered endpoint; every call that reaches it is a *Call.
type Endpoint struct {
	spec  EndpointSpec
	steps []steps.Step
	calls chan *Call
}

// Name is the endpoint's dial string.
func (e *Endpoint) Name() string { return e.spec.Name }

// Calls delivers each call that reached the endpoint (buffered; calls
// beyond the buffer's 256 are not delivered but still behave).
func (e *Endpoint) Calls() <-chan *Call { return e.calls }

// RegisterEndpoint adds (or replaces) an endpoint that POST /channels can
// reach. It panics on steps that do not parse, as a test setup error.
func (s *Server) RegisterEndpoint(spec EndpointSpec) *Endpoint {
	script, err := steps.Parse(spec.Steps)
	if err != nil {
		panic(fmt.Sprintf("sim: endpoint %s: %v", spec.Name, err))
	}
	ep := &Endpoint{spec: spec, steps: script, calls: make(chan *Call, 256)}
	s.mu.Lock()
	s.endpoints[spec.Name] = ep
	s.mu.Unlock()
	return ep
}

// startDial rings an app-created channel per its endpoint's behaviour.
// Caller holds s.mu and has sent Dial with an empty status.
func (s *Server) startDial(ch *channel, ep *Endpoint, dialstring string, timeout time.Duration, onAnswer func()) {
	c := s.newParty(ch, ep.steps, ep.spec.Listen)
	select {
	case ep.calls <- c:
	default:
	}
	ringing := make(chan struct{})
	ch.ringing = ringing
	spec := ep.spec
	s.goTracked(func() {
		var fail <-chan time.Time
		switch spec.Behavior {
		case Busy:
			s.mu.Lock()
			s.failDial(ch, "BUSY", 17, "")
			s.mu.Unlock()
			return
		case Unavailable:
			s.mu.Lock()
			s.failDial(ch, "CHANUNAVAIL", 20, "")
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		if ch.gone {
			s.mu.Unlock()
			return
		}
		s.setState(ch, "Ringing")
		s.send(ch.apps, "Dial", s.dialFields("RINGING", dialstring, ch)...)
		s.mu.Unlock()
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			fail = t.C
		}
		var answer <-chan time.Time
		if spec.Behavior == Answer {
			t := time.NewTimer(spec.AnswerAfter)
			defer t.Stop()
			answer = t.C
		}
		select {
		case <-ringing:
			return // cancelled
		case <-s.ctx.Done():
			return
		case <-fail:
			s.mu.Lock()
			s.failDial(ch, "NOANSWER", 19, "")
			s.mu.Unlock()
		case <-answer:
			s.mu.Lock()
			defer s.mu.Unlock()
			if ch.gone || ch.ringing == nil {
				return
			}
			ch.ringing = nil
			s.setState(ch, "Up")
			s.send(ch.apps, "Dial", s.dialFields("ANSWER", dialstring, ch)...)
			onAnswer()
			c.answered()
		}
	})
}

// failDial ends a dial that was not answered: Dial with the final status
// and ChannelDestroyed. Caller holds s.mu.
func (s *Server) failDial(ch *channel, status string, cause int, by string) {
	if ch.gone {
		return
	}
	if ch.ringing != nil {
		close(ch.ringing)
		ch.ringing = nil
	}
	s.send(ch.apps, "Dial", s.dialFields(status, ch.dialstring, ch)...)
	ch.gone = true
	s.emitCh(ch, "ChannelDestroyed", kv{"cause", cause}, kv{"cause_txt", causeTxt(cause)})
	ch.apps = nil
	s.destroyQuietly(ch)
	if p := ch.localPeer; p != nil {
		// A Local ;1 that never answered takes its ;2 half down with it.
		ch.localPeer, p.localPeer = nil, nil
		s.hangup(p, byPeer, 16)
	}
	if ch.party != nil {
		sip := map[string]int{"BUSY": 486, "CHANUNAVAIL": 480, "NOANSWER": 408, "CANCEL": 487}[status]
		if by == "party" {
			ch.party.ended("party", cause)
		} else {
			ch.party.declined(sip, cause)
		}
	}
}

// cancelDial is the app hanging up a channel that is still ringing.
func (s *Server) cancelDial(ch *channel, cause int) {
	s.emitCh(ch, "ChannelHangupRequest", kv{"cause", 32}, kv{"soft", true})
	s.failDial(ch, "CANCEL", cause, "")
}

// OriginateLocal does what the CLI "channel originate Local/<Exten>@<Context>
// application APP DATA" does (trace 09): half ;2 runs the dialplan into
// Stasis, half ;1 runs APP (only "Wait N" is simulated; other applications
// wait until hung up). It returns the ids of ;1 and ;2.
func (s *Server) OriginateLocal(ctx context.Context, application string) (string, string, error) {
	if err := ctx.Err(); err != nil {
		return "", "", fmt.Errorf("originate local: %w", err)
	}
	appName, data, _ := strings.Cut(strings.TrimSpace(application), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", "", errors.New("originate local: server closed")
	}
	s.nextLocal++
	base := fmt.Sprintf("Local/%s@%s-%08x", s.cfg.Exten, s.cfg.Context, s.nextLocal)
	one := s.newChannel(kindLocal, "")
	two := s.newChannel(kindLocal, "")
	one.name, two.name = base+";1", base+";2"
	one.dialplan = dialplanJSON{Context: s.cfg.Context, Exten: s.cfg.Exten, Priority: 1, AppName: appName, AppData: data}
	two.dialplan = dialplanJSON{Context: s.cfg.Context, Exten: s.cfg.Exten, Priority: 2, AppName: "Stasis", AppData: s.cfg.App}
	two.state = "Ring"
	one.localPeer, two.localPeer = two, one
	one.leg, two.leg = s.engine.NewLeg(one.id), s.engine.NewLeg(two.id)
	pairLegs(one.leg, two.leg)
	if !s.appActive(s.cfg.App) {
		s.failedStasis.Add(1)
		s.destroyQuietly(one)
		s.destroyQuietly(two)
		return "", "", errors.New("originate local: Stasis app not active")
	}
	s.enterStasis(two, s.cfg.App, nil)
	if strings.EqualFold(appName, "Wait") {
		secs, _ := strconv.ParseFloat(data, 64)
		s.goTracked(func() {
			t := time.NewTimer(time.Duration(secs * float64(time.Second)))
			defer t.Stop()
			select {
			case <-t.C:
				s.mu.Lock()
				if !one.gone {
					s.hangup(one, byDialplan, 16)
				}
				s.mu.Unlock()
			case <-s.ctx.Done():
			}
		})
	}
	return one.id, two.id, nil
}
