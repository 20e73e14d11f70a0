package sim

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/pbx/sim/media"
)

// control finds a channel in Stasis, answering 404 or 409 as Asterisk's
// find_control does. Caller holds s.mu.
func (s *Server) control(w http.ResponseWriter, id string) (*channel, bool) {
	ch := s.channels[id]
	if ch == nil {
		writeError(w, http.StatusNotFound, "Channel not found")
		return nil, false
	}
	if ch.stasisApp == "" {
		writeError(w, http.StatusConflict, "Channel not in Stasis application")
		return nil, false
	}
	return ch, true
}

// stateValid refuses media and state operations on channels that are Down
// or Ringing (outbound, not answered), as channel_state_invalid does.
func (s *Server) stateValid(w http.ResponseWriter, ch *channel) bool {
	switch ch.state {
	case "Down", "Rsrved", "Ringing":
		writeError(w, http.StatusPreconditionFailed, "Channel in invalid state")
		return false
	}
	return true
}

func (s *Server) getInfo(w http.ResponseWriter, r *http.Request, p params) {
	start := formatTime(s.started)
	info := map[string]any{
		"build": map[string]any{"os": "Linux", "kernel": "sim", "machine": "x86_64", "options": "OPTIONAL_API",
			"date": s.started.UTC().Format("2006-01-02 15:04:05 UTC"), "user": "sim"},
		"system": map[string]any{"version": "22.10.1", "entity_id": s.cfg.AsteriskID},
		"config": map[string]any{"name": "", "default_language": s.cfg.Language,
			"setid": map[string]any{"user": "", "group": ""}},
		"status": map[string]any{"startup_time": start, "last_reload_time": start},
	}
	if only := p.get("only"); only != "" {
		filtered := map[string]any{}
		for _, k := range strings.Split(only, ",") {
			if v, ok := info[k]; ok {
				filtered[k] = v
			}
		}
		info = filtered
	}
	writeJSONResponse(w, http.StatusOK, info)
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request, p params) {
	writeJSONResponse(w, http.StatusOK, map[string]string{
		"asterisk_id": s.cfg.AsteriskID, "ping": "pong", "timestamp": formatTime(time.Now()),
	})
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []applicationJSON{}
	for _, name := range sortedKeys(s.apps) {
		if aj, listed := s.appJSON(name); listed {
			out = append(out, aj)
		}
	}
	writeJSONResponse(w, http.StatusOK, out)
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := p.get("applicationName")
	aj, listed := s.appJSON(name)
	if !listed {
		writeError(w, http.StatusNotFound, "Application not found")
		return
	}
	writeJSONResponse(w, http.StatusOK, aj)
}

// subscribeApp serves POST and DELETE /applications/{name}/subscription
// for eventSource channel:ID and bridge:ID (comma list).
func (s *Server) subscribeApp(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := p.get("applicationName")
	src := p.get("eventSource")
	if src == "" {
		writeError(w, http.StatusBadRequest, "Missing parameter eventSource")
		return
	}
	if _, listed := s.appJSON(name); !listed {
		writeError(w, http.StatusNotFound, "Application not found")
		return
	}
	on := r.Method == http.MethodPost
	for _, es := range strings.Split(src, ",") {
		kind, id, _ := strings.Cut(strings.TrimSpace(es), ":")
		switch kind {
		case "channel":
			ch := s.channels[id]
			if ch == nil {
				writeError(w, http.StatusUnprocessableEntity, "Event source does not exist")
				return
			}
			if on {
				s.subscribe(ch, name)
			} else {
				ch.apps = removeName(ch.apps, name)
			}
		case "bridge":
			b := s.bridges[id]
			if b == nil {
				writeError(w, http.StatusUnprocessableEntity, "Event source does not exist")
				return
			}
			if on && !b.subscribed(name) {
				b.apps = append(b.apps, name)
			} else if !on {
				b.apps = removeName(b.apps, name)
			}
		default:
			writeError(w, http.StatusBadRequest, "Invalid event source URI scheme '"+kind+"'")
			return
		}
	}
	aj, _ := s.appJSON(name)
	writeJSONResponse(w, http.StatusOK, aj)
}

func removeName(list []string, name string) []string {
	out := list[:0]
	for _, n := range list {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

func (s *Server) getGlobalVar(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := p.get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	writeJSONResponse(w, http.StatusOK, map[string]string{"value": s.globals[name]})
}

func (s *Server) setGlobalVar(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := p.get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	s.globals[name] = p.get("value")
	noContent(w)
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []channelJSON{}
	for _, ch := range s.channelsInOrder() {
		out = append(out, ch.json())
	}
	writeJSONResponse(w, http.StatusOK, out)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[p.get("channelId")]
	if ch == nil {
		writeError(w, http.StatusNotFound, "Channel not found")
		return
	}
	writeJSONResponse(w, http.StatusOK, ch.json())
}

var hangupReasons = map[string]int{
	"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18, "rejected": 21,
	"unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
	"interworking": 127, "failure": 27, "answered_elsewhere": 26,
}

func (s *Server) hangupChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[p.get("channelId")]
	if ch == nil {
		writeError(w, http.StatusNotFound, "Channel not found")
		return
	}
	reason, code := p.get("reason"), p.get("reason_code")
	if reason != "" && code != "" {
		writeError(w, http.StatusBadRequest, "The reason and reason_code can't both be specified")
		return
	}
	cause := 16
	switch {
	case code != "":
		n, err := strconv.Atoi(code)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Invalid reason for hangup reason code provided")
			return
		}
		cause = n
	case reason != "":
		c, ok := hangupReasons[reason]
		if !ok {
			writeError(w, http.StatusBadRequest, "Invalid reason for hangup reason provided")
			return
		}
		cause = c
	}
	noContent(w)
	if ch.ringing != nil {
		s.cancelDial(ch, cause)
		return
	}
	s.hangup(ch, byApp, cause)
}

func (s *Server) answerChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return
	}
	s.answer(ch)
	noContent(w)
}

// ringChannel (POST and DELETE) indicates ringing to the caller; Asterisk
// reports no event for it.
func (s *Server) ringChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return
	}
	if ch.party != nil {
		ch.party.setRinging(r.Method == http.MethodPost)
	}
	if r.Method == http.MethodPost {
		s.localRinging(ch)
	}
	noContent(w)
}

func (s *Server) muteChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return
	}
	switch p.get("direction") {
	case "":
		writeError(w, http.StatusBadRequest, "Direction is required")
		return
	case "in", "out", "both":
	default:
		writeError(w, http.StatusBadRequest, "Invalid direction specified")
		return
	}
	noContent(w)
}

// acceptOnChannel answers hold and music-on-hold (POST and DELETE) as Asterisk does for a
// controllable channel, without changing its audio (see DIFFERENCES.md).
func (s *Server) acceptOnChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return
	}
	noContent(w)
}

// continueChannel leaves Stasis; the simulated dialplan's next priority is
// Hangup(), so the party gets a BYE and the app hears nothing more.
func (s *Server) continueChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return
	}
	noContent(w)
	if ch.bridge != nil {
		s.leaveBridge(ch)
	}
	s.leaveStasis(ch)
	ch.dialplan.Priority++
	ch.dialplan.AppName, ch.dialplan.AppData = "Hangup", ""
	s.hangup(ch, byDialplan, 16)
}

func (s *Server) sendDTMF(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return
	}
	digits := p.get("dtmf")
	if digits == "" {
		writeError(w, http.StatusBadRequest, "DTMF is required")
		return
	}
	if ch.party != nil {
		ch.party.heardDTMF(digits)
	}
	if ch.localPeer != nil {
		ms := func(name string, def int) time.Duration {
			v := p.integer(name, 0)
			if v <= 0 {
				v = def
			}
			return time.Duration(v) * time.Millisecond
		}
		s.localDTMF(ch, digits, ms("before", 0), ms("between", 100), ms("duration", 100), ms("after", 0))
	}
	noContent(w)
}

func (s *Server) getChannelVar(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := p.get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	ch := s.channels[p.get("channelId")]
	if ch == nil {
		writeError(w, http.StatusNotFound, "Provided channel was not found")
		return
	}
	if strings.HasSuffix(name, ")") {
		v, ok := ch.function(name)
		if !ok {
			writeError(w, http.StatusInternalServerError, "Unable to read provided function")
			return
		}
		writeJSONResponse(w, http.StatusOK, map[string]string{"value": v})
		return
	}
	v, ok := ch.vars[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Provided variable was not found")
		return
	}
	writeJSONResponse(w, http.StatusOK, map[string]string{"value": v})
}

// function reads the few dialplan functions a controller uses.
func (ch *channel) function(expr string) (string, bool) {
	switch strings.ToUpper(strings.ReplaceAll(expr, " ", "")) {
	case "CALLERID(NUM)":
		return ch.caller.Number, true
	case "CALLERID(NAME)":
		return ch.caller.Name, true
	case "CHANNEL(NAME)":
		return ch.name, true
	case "CHANNEL(LANGUAGE)":
		return ch.language, true
	case "CHANNEL(UNIQUEID)", "UNIQUEID()":
		return ch.id, true
	case "CONNECTEDLINE(NUM)":
		return ch.connected.Number, true
	case "CONNECTEDLINE(NAME)":
		return ch.connected.Name, true
	}
	return "", false
}

func (s *Server) setChannelVar(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := p.get("variable")
	if name == "" {
		writeError(w, http.StatusBadRequest, "Variable name is required")
		return
	}
	ch, ok := s.control(w, p.get("channelId"))
	if !ok {
		return
	}
	noContent(w)
	s.setVar(ch, name, p.get("value"))
}

// parseCallerID splits `"Name" <number>` or a bare number.
func parseCallerID(v string) callerJSON {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "<"); i >= 0 {
		j := strings.Index(v[i:], ">")
		num := v[i+1:]
		if j > 0 {
			num = v[i+1 : i+j]
		}
		return callerJSON{Name: strings.Trim(strings.TrimSpace(v[:i]), `"`), Number: num}
	}
	return callerJSON{Number: v}
}

// originate serves POST /channels and POST /channels/{channelId}.
func (s *Server) originate(w http.ResponseWriter, r *http.Request, p params) {
	endpoint := p.get("endpoint")
	if endpoint == "" {
		writeError(w, http.StatusBadRequest, "Endpoint must be specified")
		return
	}
	tech, res, _ := strings.Cut(endpoint, "/")
	if tech == "" || res == "" {
		writeError(w, http.StatusBadRequest, "Invalid endpoint specified")
		return
	}
	appName := p.get("app")
	if appName == "" {
		if p.get("extension") == "" {
			writeError(w, http.StatusBadRequest, "Application or extension must be specified")
			return
		}
		// Originating into the dialplan is not simulated; see DIFFERENCES.md.
		writeError(w, http.StatusBadRequest, "Application or extension must be specified")
		return
	}
	var args []string
	if a := p.get("appArgs"); a != "" {
		args = strings.Split(a, ",")
	}
	timeout := s.cfg.OriginateTimeout
	switch t := p.integer("timeout", 0); {
	case t > 0:
		timeout = time.Duration(t) * time.Second
	case t == -1:
		timeout = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.get("channelId")
	if id != "" && s.channels[id] != nil {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	if tech == "Local" {
		s.originateLocal(w, p, id, res, appName, args, timeout)
		return
	}
	ep := s.endpoints[endpoint]
	if ep == nil {
		// chan_pjsip refuses unknown endpoints before a channel exists.
		writeError(w, http.StatusInternalServerError, "Allocation failed")
		return
	}
	ch := s.newOutbound(id, ep, res, p)
	writeJSONResponse(w, http.StatusOK, ch.json())
	s.send(ch.apps, "Dial", s.dialFields("", res, ch)...)
	s.startDial(ch, ep, res, timeout, func() { s.enterStasisCreated(ch, appName, args) })
}

func (s *Server) newOutbound(id string, ep *Endpoint, res string, p params) *channel {
	ch := s.newChannel(kindOutbound, id)
	s.nextName++
	ch.name = fmt.Sprintf("%s-%08x", ep.spec.Name, s.nextName)
	ch.protocolID = uuid.NewString()
	cid := parseCallerID(p.get("callerId"))
	ch.caller, ch.connected = cid, cid
	ch.dialplan = dialplanJSON{Context: s.cfg.Context, Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	for k, v := range p.object("variables") {
		ch.vars[k] = v
	}
	ch.appCreated = true
	ch.dialstring = res
	ch.endpoint = ep
	if a := p.get("app"); a != "" {
		s.subscribe(ch, a)
	}
	ch.leg = s.engine.NewLeg(ch.id)
	return ch
}

func (s *Server) dialFields(status, dialstring string, peer *channel) []kv {
	return []kv{{"dialstatus", status}, {"forward", ""}, {"dialstring", dialstring}, {"peer", peer.json()}}
}

// enterStasisCreated runs Stasis on an answered app-created channel; with
// no socket for the app, Stasis fails and the channel is hung up.
func (s *Server) enterStasisCreated(ch *channel, appName string, args []string) {
	if !s.appActive(appName) {
		s.failedStasis.Add(1)
		s.setVar(ch, "STASISSTATUS", "FAILED")
		s.hangup(ch, byDialplan, 16)
		return
	}
	s.setVar(ch, "STASISSTATUS", "")
	s.enterStasis(ch, appName, args)
}

// createChannel serves POST /channels/create: the channel enters Stasis at
// once and is dialled later with POST /channels/{id}/dial.
func (s *Server) createChannel(w http.ResponseWriter, r *http.Request, p params) {
	endpoint := p.get("endpoint")
	if endpoint == "" {
		writeError(w, http.StatusBadRequest, "Endpoint must be specified")
		return
	}
	tech, res, _ := strings.Cut(endpoint, "/")
	if tech == "" || res == "" {
		writeError(w, http.StatusBadRequest, "Invalid endpoint specified")
		return
	}
	appName := p.get("app")
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.get("channelId")
	if id != "" && s.channels[id] != nil {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	ep := s.endpoints[endpoint]
	if ep == nil {
		writeError(w, http.StatusInternalServerError, "Allocation failed")
		return
	}
	ch := s.newOutbound(id, ep, res, p)
	ch.caller, ch.connected = callerJSON{}, callerJSON{}
	writeJSONResponse(w, http.StatusOK, ch.json())
	var args []string
	if a := p.get("appArgs"); a != "" {
		args = strings.Split(a, ",")
	}
	s.enterStasisCreated(ch, appName, args)
}

func (s *Server) dialChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok {
		return
	}
	if ch.state != "Down" {
		writeError(w, http.StatusConflict, "Channel is not in the 'Down' state")
		return
	}
	if ch.dialstring == "" || ch.ringing != nil {
		writeError(w, http.StatusConflict, "Dialing a channel not created by ARI")
		return
	}
	ep := ch.endpoint
	if caller := s.channels[p.get("caller")]; caller != nil {
		ch.connected = caller.caller
		ch.language = caller.language
	}
	timeout := time.Duration(p.integer("timeout", 0)) * time.Second
	noContent(w)
	s.send(ch.apps, "Dial", s.dialFields("", ch.dialstring, ch)...)
	s.startDial(ch, ep, ch.dialstring, timeout, func() {})
}

// externalMedia serves POST /channels/externalMedia (RTP over UDP only).
func (s *Server) externalMedia(w http.ResponseWriter, r *http.Request, p params) {
	appName := p.get("app")
	if appName == "" {
		writeError(w, http.StatusBadRequest, "app cannot be empty")
		return
	}
	host := p.get("external_host")
	if host == "" {
		writeError(w, http.StatusBadRequest, "external_host cannot be empty")
		return
	}
	if h, port, err := net.SplitHostPort(host); err != nil || h == "" || port == "" {
		writeError(w, http.StatusBadRequest, "external_host must be <host>:<port>")
		return
	}
	format := p.get("format")
	if format == "" {
		writeError(w, http.StatusBadRequest, "format cannot be empty")
		return
	}
	encap, transport := p.get("encapsulation"), p.get("transport")
	if encap == "" {
		encap = "rtp"
	}
	if transport == "" {
		transport = "udp"
	}
	if !strings.EqualFold(encap, "rtp") || !strings.EqualFold(transport, "udp") {
		writeError(w, http.StatusNotImplemented, "The encapsulation and/or transport is not supported")
		return
	}
	if format != "ulaw" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Provided format (%s) was not found", format))
		return
	}
	var args []string
	if d := p.get("data"); d != "" {
		args = []string{d}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.get("channelId")
	if id != "" && s.channels[id] != nil {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	ch := s.newChannel(kindUnicast, id)
	leg, local, err := s.engine.NewExternalLeg(ch.id, host, s.cfg.RTPBindHost)
	if err != nil {
		delete(s.channels, ch.id)
		s.log.Error("external media", "err", err)
		writeError(w, http.StatusInternalServerError, "Allocation failed")
		return
	}
	ch.leg = leg
	ch.name = fmt.Sprintf("UnicastRTP/%s-0x%012x", host, uint64(ch.serial)*0x1f0+0x7f0000000000)
	ch.dialplan = dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	ch.appCreated = true
	for k, v := range p.object("variables") {
		ch.vars[k] = v
	}
	ch.vars["UNICASTRTP_LOCAL_ADDRESS"] = local.IP.String()
	ch.vars["UNICASTRTP_LOCAL_PORT"] = strconv.Itoa(local.Port)
	s.subscribe(ch, appName)
	body := ch.json()
	body.Channelvars = map[string]string{}
	for k, v := range ch.vars {
		body.Channelvars[k] = v
	}
	writeJSONResponse(w, http.StatusOK, body)

	dialstring := host + "/c(" + format + ")"
	s.send(ch.apps, "Dial", s.dialFields("", dialstring, ch)...)
	s.setState(ch, "Up")
	s.send(ch.apps, "Dial", s.dialFields("ANSWER", dialstring, ch)...)
	s.enterStasisCreated(ch, appName, args)
}

// snoopChannel serves POST /channels/{id}/snoop[/{snoopId}].
func (s *Server) snoopChannel(w http.ResponseWriter, r *http.Request, p params) {
	dir := func(v string) (media.Direction, bool) {
		switch v {
		case "", "none":
			return media.None, true
		case "both":
			return media.Both, true
		case "out":
			return media.Out, true
		case "in":
			return media.In, true
		}
		return media.None, false
	}
	spy, ok := dir(p.get("spy"))
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid direction specified for spy")
		return
	}
	whisper, ok := dir(p.get("whisper"))
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid direction specified for whisper")
		return
	}
	appName := p.get("app")
	if spy == media.None && whisper == media.None {
		writeError(w, http.StatusBadRequest, "Direction must be specified for at least spy or whisper")
		return
	}
	if appName == "" {
		writeError(w, http.StatusBadRequest, "Application name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.channels[p.get("channelId")]
	if target == nil {
		writeError(w, http.StatusNotFound, "Provided channel was not found")
		return
	}
	id := p.get("snoopId")
	if (id != "" && s.channels[id] != nil) || !s.appActive(appName) {
		writeError(w, http.StatusInternalServerError, "Snoop channel could not be created")
		return
	}
	ch := s.newChannel(kindSnoop, id)
	ch.name = fmt.Sprintf("Snoop/%s-%08x", target.id, s.nextSnoop)
	s.nextSnoop++
	ch.state = "Up"
	ch.dialplan = dialplanJSON{Context: "default", Exten: "s", Priority: 1}
	ch.snoopOf = target
	target.snoops = append(target.snoops, ch)
	if target.leg != nil {
		ch.leg = s.engine.NewSnoopLeg(ch.id, target.leg, spy, whisper)
	} else {
		ch.leg = s.engine.NewLeg(ch.id)
	}
	writeJSONResponse(w, http.StatusOK, ch.json())
	var args []string
	if a := p.get("appArgs"); a != "" {
		args = []string{a}
	}
	s.enterStasis(ch, appName, args)
}
