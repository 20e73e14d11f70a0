package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"hotline/pbx/sim/media"
)

// chanKind is the channel technology, which decides the events a channel
// produces (only PJSIP channels report RTP QoS, only app-created ones get
// ChannelDestroyed, ...).
type chanKind int

const (
	kindInbound  chanKind = iota // PJSIP caller that came through the dialplan
	kindOutbound                 // PJSIP channel the app originated or created
	kindUnicast                  // ExternalMedia UnicastRTP
	kindSnoop                    // Snoop
	kindLocal                    // Local channel half
)

func (k chanKind) hasRTP() bool { return k == kindInbound || k == kindOutbound }

// channel is one Asterisk channel. Guarded by Server.mu.
type channel struct {
	id, name, state string
	kind            chanKind
	protocolID      string
	caller          callerJSON
	connected       callerJSON
	dialplan        dialplanJSON
	created         time.Time
	language        string
	vars            map[string]string
	serial          int64 // creation order, for listings

	apps       []string // apps that receive its events
	stasisApp  string   // "" when not in Stasis
	stasisSub  bool     // the Stasis app's subscription came with Stasis() and ends with it
	appCreated bool     // originate/externalMedia/create: STASISSTATUS and ChannelDestroyed
	dialstring string   // for POST /channels/{id}/dial
	endpoint   *Endpoint

	bridge                  *bridge
	hasBridgePeer, hasPvtID bool

	playQueue []*playback // head is playing
	recording *liveRecording

	party     *Call // the simulated person behind the channel, if any
	leg       *media.Leg
	localPeer *channel
	// localAnswer completes an ARI originate of a Local channel (;1) once
	// its ;2 half is answered.
	localAnswer func()
	dtmfTail    chan struct{} // closed when the last DTMF queued with POST /dtmf is sent
	snoops      []*channel
	snoopOf     *channel
	ringing     chan struct{} // closed when an outbound dial is cancelled
	gone        bool
}

func (ch *channel) json() channelJSON {
	return channelJSON{
		ID: ch.id, Name: ch.name, State: ch.state, ProtocolID: ch.protocolID,
		Caller: ch.caller, Connected: ch.connected, Accountcode: "",
		Dialplan: ch.dialplan, Creationtime: formatTime(ch.created), Language: ch.language,
	}
}

func (ch *channel) subscribed(app string) bool {
	for _, a := range ch.apps {
		if a == app {
			return true
		}
	}
	return false
}

// newChannel registers a channel. Caller holds s.mu.
func (s *Server) newChannel(kind chanKind, id string) *channel {
	s.nextChan++
	if id == "" {
		id = fmt.Sprintf("%d.%d", time.Now().Unix(), s.nextChan)
	}
	ch := &channel{
		id: id, kind: kind, state: "Down", created: time.Now(),
		language: s.cfg.Language, vars: map[string]string{}, serial: s.nextChan,
	}
	s.channels[id] = ch
	return ch
}

func (s *Server) channelsInOrder() []*channel {
	out := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].serial < out[j].serial })
	return out
}

// emitCh sends a channel event: fields, then the channel snapshot.
func (s *Server) emitCh(ch *channel, typ string, fields ...kv) {
	s.emitChTo(ch.apps, ch, typ, fields...)
}

func (s *Server) emitChTo(apps []string, ch *channel, typ string, fields ...kv) {
	if len(apps) == 0 {
		return
	}
	fields = append(fields, kv{"channel", ch.json()})
	s.send(apps, typ, fields...)
}

// setVar sets a channel variable and reports it, as pbx_builtin_setvar does.
func (s *Server) setVar(ch *channel, name, value string) {
	ch.vars[name] = value
	s.emitCh(ch, "ChannelVarset", kv{"variable", name}, kv{"value", value})
}

// setState changes the state; ChannelStateChange only when it changed.
func (s *Server) setState(ch *channel, state string) {
	if ch.state == state {
		return
	}
	ch.state = state
	s.emitCh(ch, "ChannelStateChange")
}

func (s *Server) subscribe(ch *channel, app string) {
	if !ch.subscribed(app) {
		ch.apps = append(ch.apps, app)
	}
}

// enterStasis runs Stasis(app,args) on ch. Caller holds s.mu and has
// checked that the app is active.
func (s *Server) enterStasis(ch *channel, app string, args []string) {
	if args == nil {
		args = []string{}
	}
	ch.stasisApp = app
	ch.dialplan.AppName = "Stasis"
	ch.dialplan.AppData = strings.Join(append([]string{app}, args...), ",")
	ch.stasisSub = !ch.subscribed(app)
	s.subscribe(ch, app)
	// res_stasis sends StasisStart and StasisEnd to the app the channel is
	// in only, not to other apps subscribed to the channel.
	s.emitChTo([]string{app}, ch, "StasisStart", kv{"args", args})
}

// leaveStasis emits StasisEnd. Dialplan channels stop being reported to the
// app; it keeps its subscription to channels it created (ChannelDestroyed),
// and other apps keep theirs.
func (s *Server) leaveStasis(ch *channel) {
	if ch.stasisApp == "" {
		return
	}
	app := ch.stasisApp
	s.emitChTo([]string{app}, ch, "StasisEnd")
	ch.stasisApp = ""
	if ch.stasisSub {
		ch.apps = removeName(ch.apps, app)
		ch.stasisSub = false
	}
}

// hangupBy says who ended a channel; it decides ChannelHangupRequest's fields.
type hangupBy int

const (
	byFarEnd   hangupBy = iota // the party hung up (SIP BYE): no cause
	byApp                      // DELETE /channels: cause 32 soft, whatever the reason
	byPeer                     // a Local half or snoop target went away: cause 16
	byDialplan                 // Hangup() in the dialplan, after Stasis: no events
)

var causeText = map[int]string{
	0:   "Unknown",
	1:   "Unallocated (unassigned) number",
	16:  "Normal Clearing",
	17:  "User busy",
	18:  "No user responding",
	19:  "User alerting, no answer",
	20:  "Subscriber absent",
	21:  "Call Rejected",
	27:  "Destination out of order",
	28:  "Invalid number format (addr incomplete)",
	31:  "Normal, unspecified",
	34:  "Circuit/channel congestion",
	38:  "Network out of order",
	41:  "Temporary failure",
	58:  "Bearer capability not available",
	127: "Interworking, unspecified",
}

func causeTxt(c int) string {
	if t, ok := causeText[c]; ok {
		return t
	}
	return "Unknown"
}

var qosVars = []struct{ name, value string }{
	{"RTPAUDIOQOS", "ssrc=%d;themssrc=%d;lp=0;rxjitter=0.000000;rxcount=%d;txjitter=0.000000;txcount=%d;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000"},
	{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
	{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
	{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
	{"RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
}

func (s *Server) qosValue(ch *channel, i int) string {
	if i != 0 {
		return qosVars[i].value
	}
	// Packet counts follow the call's age at 50 packets/s, as a real RTP stream would.
	n := int(time.Since(ch.created) / (20 * time.Millisecond))
	return fmt.Sprintf(qosVars[0].value, uint32(ch.serial*2654435761), uint32(ch.serial*40503), n, n)
}

// hangup ends ch with Asterisk's event sequence. Caller holds s.mu.
func (s *Server) hangup(ch *channel, by hangupBy, cause int) {
	if ch.gone {
		return
	}
	ch.gone = true
	if ch.ringing != nil {
		close(ch.ringing)
		ch.ringing = nil
	}
	if by != byDialplan {
		if ch.kind.hasRTP() && (by == byFarEnd || by == byApp) {
			// Each QoS variable; a two-party bridge peer gets the *BRIDGED copy.
			peer := ch.bridge.soloPeer(ch)
			for i, q := range qosVars {
				s.setVar(ch, q.name, s.qosValue(ch, i))
				if peer != nil {
					s.setVar(peer, q.name+"BRIDGED", s.qosValue(ch, i))
				}
			}
		}
		switch by {
		case byFarEnd:
			s.emitCh(ch, "ChannelHangupRequest")
		case byApp:
			s.emitCh(ch, "ChannelHangupRequest", kv{"cause", 32}, kv{"soft", true})
		case byPeer:
			s.emitCh(ch, "ChannelHangupRequest", kv{"cause", 16})
		}
	}
	s.stopChannelMedia(ch, by)
	if ch.bridge != nil {
		s.leaveBridge(ch)
	}
	s.leaveStasis(ch)
	if ch.appCreated && ch.wasInStasis() {
		s.setVar(ch, "STASISSTATUS", "SUCCESS")
	}
	if ch.appCreated {
		ch.dialplan.AppName, ch.dialplan.AppData = "AppDial2", "(Outgoing Line)"
	}
	// Apps still subscribed (the creator, or another app that subscribed
	// to a dialplan channel) see it destroyed.
	s.emitCh(ch, "ChannelDestroyed", kv{"cause", cause}, kv{"cause_txt", causeTxt(cause)})
	ch.apps = nil
	s.destroyQuietly(ch)

	for _, sn := range ch.snoops {
		s.hangup(sn, byPeer, 16)
	}
	ch.snoops = nil
	if p := ch.localPeer; p != nil {
		p.localPeer = nil
		if p.ringing != nil {
			// ;1 of an ARI originate not answered yet: the dial fails.
			s.failDial(p, "CANCEL", 16, "")
		} else {
			s.hangup(p, byPeer, 16)
		}
	}
	if ch.party != nil {
		who := "pbx"
		if by == byFarEnd {
			who = "party"
		}
		ch.party.ended(who, cause)
	}
}

// wasInStasis reports whether the channel entered Stasis at some point.
func (ch *channel) wasInStasis() bool {
	v, ok := ch.vars["STASISSTATUS"]
	return ok && v != "FAILED"
}

// destroyQuietly forgets a channel and frees its media, without events.
func (s *Server) destroyQuietly(ch *channel) {
	ch.gone = true
	delete(s.channels, ch.id)
	if ch.leg != nil {
		ch.leg.Close()
	}
	if ch.party != nil && s.closed {
		ch.party.ended("pbx", 16)
	}
}

// stopChannelMedia ends the channel's playbacks and recording as a hang-up does.
func (s *Server) stopChannelMedia(ch *channel, by hangupBy) {
	if rec := ch.recording; rec != nil {
		s.finishRecording(rec, "done", true)
	}
	for i, pb := range ch.playQueue {
		if i == 0 && pb.state == "playing" {
			// Asterisk's stream is interrupted by the hang-up: the playback fails.
			s.finishPlayback(pb, "failed")
		} else {
			delete(s.playbacks, pb.id)
		}
	}
	ch.playQueue = nil
	if ch.party != nil {
		ch.party.promptChanged(0)
	}
}

// answer answers a channel; ChannelStateChange only if it was not up.
func (s *Server) answer(ch *channel) {
	if ch.state == "Up" {
		return
	}
	s.setState(ch, "Up")
	if p := ch.localPeer; p != nil && p.state != "Up" {
		s.setState(p, "Up")
		if done := p.localAnswer; done != nil {
			p.localAnswer = nil
			done()
		}
	}
	if ch.party != nil {
		ch.party.answered()
	}
}
