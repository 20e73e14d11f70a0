package sim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"hotline/pbx/sim/media"
)

// Local channels come in pairs: what is written to one half is read from the
// other. ;1 is the half the originator holds; ;2 runs the dialplan at
// <exten>@<context>. The behaviour follows chan_local and res_ari's
// originate as read in Asterisk 22's source (no golden trace shows an ARI
// originate of a Local channel).

// originateLocal serves POST /channels with endpoint Local/<exten>@<context>
// and an app: ;1 (channelId) is dialled and enters app once answered; ;2
// (otherChannelId) runs the simulated dialplan (NoOp, Stasis(App), Hangup)
// with the caller id, language and variables ;1 got from the request. As
// Asterisk does, the originating app is subscribed to both halves, so it
// sees ;2's events (but not ;2's StasisStart and StasisEnd, which belong to
// the app ;2 is in). Caller holds s.mu; id is free.
func (s *Server) originateLocal(w http.ResponseWriter, p params, id, res, appName string, args []string, timeout time.Duration) {
	otherID := p.get("otherChannelId")
	if otherID != "" && (s.channels[otherID] != nil || otherID == id) {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	exten, context := parseLocal(res)
	if exten == "" || context == "" {
		// chan_local refuses a dial string without exten@context.
		writeError(w, http.StatusInternalServerError, "Allocation failed")
		return
	}
	s.nextLocal++
	base := fmt.Sprintf("Local/%s@%s-%08x", exten, context, s.nextLocal)
	one := s.newChannel(kindLocal, id)
	two := s.newChannel(kindLocal, otherID)
	one.name, two.name = base+";1", base+";2"
	one.appCreated = true
	one.dialstring = res
	cid := parseCallerID(p.get("callerId"))
	one.caller, one.connected = cid, cid
	one.dialplan = dialplanJSON{Context: context, Exten: exten, Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	for k, v := range p.object("variables") {
		if strings.EqualFold(strings.ReplaceAll(k, " ", ""), "CHANNEL(language)") {
			one.language = v
			continue
		}
		one.vars[k] = v
	}
	one.localPeer, two.localPeer = two, one
	one.leg, two.leg = s.engine.NewLeg(one.id), s.engine.NewLeg(two.id)
	pairLegs(one.leg, two.leg)
	s.subscribe(one, appName)
	s.subscribe(two, appName)
	writeJSONResponse(w, http.StatusOK, one.json())
	s.send(one.apps, "Dial", s.dialFields("", res, one)...)

	ringing := make(chan struct{})
	one.ringing = ringing
	one.localAnswer = func() {
		if one.gone || one.ringing != ringing {
			return
		}
		close(ringing)
		one.ringing = nil
		s.send(one.apps, "Dial", s.dialFields("ANSWER", res, one)...)
		s.enterStasisCreated(one, appName, args)
	}

	// local_call: ;2 takes ;1's connected line as its caller, ;1's caller
	// as its connected line, its language and a copy of its variables.
	two.caller, two.connected = one.connected, one.caller
	two.language = one.language
	for k, v := range one.vars {
		two.vars[k] = v
	}
	two.state = "Ring"
	if exten != s.cfg.Exten || context != s.cfg.Context {
		// No such extension: the Local call fails before ;2 runs.
		s.log.Warn("No such extension/context while calling Local channel", "exten", exten, "context", context)
		s.failDial(one, "CHANUNAVAIL", 20, "")
		return
	}
	two.dialplan = dialplanJSON{Context: context, Exten: exten, Priority: 2, AppName: "Stasis", AppData: s.cfg.App}
	if !s.appActive(s.cfg.App) {
		// As for an inbound caller: Stasis fails, the dialplan hangs ;2 up,
		// and with it the dial of ;1.
		s.failedStasis.Add(1)
		s.log.Warn("Stasis app not active", "app", s.cfg.App, "channel", two.name)
		s.setVar(two, "STASISSTATUS", "FAILED")
		s.hangup(two, byDialplan, 16)
		return
	}
	s.enterStasis(two, s.cfg.App, nil)

	if timeout <= 0 {
		return
	}
	s.goTracked(func() {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-ringing:
		case <-s.ctx.Done():
		case <-t.C:
			s.mu.Lock()
			defer s.mu.Unlock()
			if !one.gone && one.ringing == ringing {
				s.failDial(one, "NOANSWER", 19, "")
			}
		}
	})
}

// parseLocal splits a Local dial string "exten@context[/options]".
func parseLocal(res string) (exten, context string) {
	res, _, _ = strings.Cut(res, "/")
	exten, context, _ = strings.Cut(res, "@")
	if context == "" {
		context = "default"
	}
	return exten, context
}

// localRinging passes a ringing indication on ;2 to the ;1 being dialled,
// as Local channels pass control frames. Caller holds s.mu.
func (s *Server) localRinging(ch *channel) {
	p := ch.localPeer
	if p == nil || p.ringing == nil || p.state == "Ringing" {
		return
	}
	s.setState(p, "Ringing")
	s.send(p.apps, "Dial", s.dialFields("RINGING", p.dialstring, p)...)
}

// localDTMF sends digits out of from, as ARI's POST /channels/{id}/dtmf
// does with ast_dtmf_stream: each key lasts duration and is read from the
// other half of the Local pair (ChannelDtmfReceived on it) when released.
// The request answers at once; sends on one channel run in order, as
// Asterisk queues them on the channel's control. Caller holds s.mu.
func (s *Server) localDTMF(from *channel, digits string, before, between, duration, after time.Duration) {
	prev := from.dtmfTail
	done := make(chan struct{})
	from.dtmfTail = done
	s.goTracked(func() {
		defer close(done)
		wait := func(d time.Duration) bool {
			if d <= 0 {
				return true
			}
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return true
			case <-s.ctx.Done():
				return false
			}
		}
		if prev != nil {
			select {
			case <-prev:
			case <-s.ctx.Done():
				return
			}
		}
		if !wait(before) {
			return
		}
		for i, d := range digits {
			if i > 0 && !wait(between) {
				return
			}
			if d == ',' {
				// A pause, as in ast_dtmf_stream.
				if !wait(500 * time.Millisecond) {
					return
				}
				continue
			}
			if !strings.ContainsRune("0123456789ABCD*#", d) {
				continue
			}
			if !wait(duration) {
				return
			}
			s.mu.Lock()
			peer := from.localPeer
			if from.gone || peer == nil || peer.gone {
				s.mu.Unlock()
				return
			}
			s.emitCh(peer, "ChannelDtmfReceived", kv{"digit", string(d)}, kv{"duration_ms", int(duration / time.Millisecond)})
			s.dtmfForRecording(peer, string(d))
			s.mu.Unlock()
		}
		wait(after)
	})
}

// pairLegs joins the audio of a Local pair: what each half hears (what is
// written to it: playbacks, its bridge) is what the other half sends, one
// 20 ms frame later.
func pairLegs(a, b *media.Leg) {
	ab, ba := &localPipe{}, &localPipe{}
	a.OnHear(ab.put)
	b.SetSource(ab)
	b.OnHear(ba.put)
	a.SetSource(ba)
}

// localPipe holds the last frame one half heard until the other half sends it.
type localPipe struct {
	mu  sync.Mutex
	f   [media.FrameSamples]int16
	has bool
}

func (p *localPipe) put(frame []int16) {
	p.mu.Lock()
	copy(p.f[:], frame)
	p.has = true
	p.mu.Unlock()
}

// Next implements media.Source.
func (p *localPipe) Next(frame []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.has {
		clear(frame)
		return
	}
	copy(frame, p.f[:])
	p.has = false
}
