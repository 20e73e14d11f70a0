package sim

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/pbx/sim/media"
)

// bridge is an ARI bridge. Guarded by Server.mu.
type bridge struct {
	id, name   string
	bridgeType string // mixing | holding
	created    time.Time
	members    []*channel
	apps       []string
	mb         *media.Bridge
	recording  *liveRecording
	playbacks  []*playback
}

func (b *bridge) json() bridgeJSON {
	ids := make([]string, 0, len(b.members))
	for _, m := range b.members {
		ids = append(ids, m.id)
	}
	tech := "simple_bridge"
	if b.bridgeType == "holding" {
		tech = "holding_bridge"
	}
	return bridgeJSON{
		ID: b.id, Technology: tech, BridgeType: b.bridgeType, BridgeClass: "stasis",
		Creator: "Stasis", Name: b.name, Channels: ids, Creationtime: formatTime(b.created),
		VideoMode: "talker",
	}
}

func (b *bridge) subscribed(app string) bool {
	for _, a := range b.apps {
		if a == app {
			return true
		}
	}
	return false
}

// soloPeer is the other member of a two-party bridge (nil otherwise).
func (b *bridge) soloPeer(ch *channel) *channel {
	if b == nil || len(b.members) != 2 {
		return nil
	}
	for _, m := range b.members {
		if m != ch {
			return m
		}
	}
	return nil
}

func (s *Server) listBridges(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	out := []bridgeJSON{}
	for _, id := range sortedKeys(s.bridges) {
		out = append(out, s.bridges[id].json())
	}
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
}

func (s *Server) createBridge(w http.ResponseWriter, r *http.Request, p params) {
	id := p.get("bridgeId")
	if id == "" {
		id = uuid.NewString()
	}
	typ := "mixing"
	for _, t := range strings.Split(p.get("type"), ",") {
		if strings.TrimSpace(t) == "holding" {
			typ = "holding"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bridges[id]; ok {
		writeError(w, http.StatusConflict, "Bridge with id '"+id+"' already exists")
		return
	}
	b := &bridge{id: id, name: p.get("name"), bridgeType: typ, created: time.Now(), mb: s.engine.NewBridge(id)}
	s.bridges[id] = b
	writeJSONResponse(w, http.StatusOK, b.json())
}

func (s *Server) getBridge(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[p.get("bridgeId")]
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	writeJSONResponse(w, http.StatusOK, b.json())
}

func (s *Server) destroyBridge(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[p.get("bridgeId")]
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	s.destroyBridgeLocked(b)
	noContent(w)
}

func (s *Server) destroyBridgeLocked(b *bridge) {
	for len(b.members) > 0 {
		s.leaveBridge(b.members[0])
	}
	if rec := b.recording; rec != nil {
		s.finishRecording(rec, "done", true)
	}
	for _, pb := range b.playbacks {
		s.finishPlayback(pb, "done")
	}
	delete(s.bridges, b.id)
	b.mb.Close()
	s.send(b.apps, "BridgeDestroyed", kv{"bridge", b.json()})
}

// resolveChannels looks up a comma list of channel ids for add/removeChannel.
func (s *Server) resolveChannels(w http.ResponseWriter, list string) ([]*channel, bool) {
	var out []*channel
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		ch := s.channels[id]
		if ch == nil {
			writeError(w, http.StatusBadRequest, "Channel not found")
			return nil, false
		}
		out = append(out, ch)
	}
	if len(out) == 0 {
		writeError(w, http.StatusBadRequest, "Channel not found")
		return nil, false
	}
	return out, true
}

func (s *Server) addChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[p.get("bridgeId")]
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	chans, ok := s.resolveChannels(w, p.get("channel"))
	if !ok {
		return
	}
	for _, ch := range chans {
		if ch.stasisApp == "" {
			writeError(w, http.StatusUnprocessableEntity, "Channel not in Stasis application")
			return
		}
		if ch.recording != nil {
			writeError(w, http.StatusConflict, "Channel "+ch.id+" currently recording")
			return
		}
	}
	var added []*channel
	before := len(b.members)
	for _, ch := range chans {
		if ch.bridge == b {
			continue
		}
		if ch.bridge != nil {
			s.leaveBridge(ch)
		}
		s.enterBridge(b, ch)
		added = append(added, ch)
	}
	s.updateBridgePeers(b, added, before)
	noContent(w)
}

func (s *Server) enterBridge(b *bridge, ch *channel) {
	b.members = append(b.members, ch)
	ch.bridge = b
	for _, a := range ch.apps {
		if !b.subscribed(a) {
			b.apps = append(b.apps, a)
		}
	}
	if ch.leg != nil {
		b.mb.Add(ch.leg)
	}
	s.noteBridge(b, ch, true)
	s.emitChTo(unionApps(ch.apps, b.apps), ch, "ChannelEnteredBridge", kv{"bridge", b.json()})
}

// updateBridgePeers sets BRIDGEPEER / BRIDGEPVTCALLID and the connected line
// after channels joined, in the order the golden traces show: one channel
// joining a one-member bridge (07) repeats the pair three times; channels
// added together (08) set them once.
func (s *Server) updateBridgePeers(b *bridge, added []*channel, before int) {
	if len(added) == 0 || len(b.members) < 2 {
		return
	}
	setPeer := func(ch *channel) {
		var names []string
		for _, m := range b.members {
			if m != ch {
				names = append(names, m.name)
			}
		}
		s.setVar(ch, "BRIDGEPEER", strings.Join(names, ","))
		ch.hasBridgePeer = true
		if peer := b.soloPeer(ch); peer != nil && peer.protocolID != "" {
			s.setVar(ch, "BRIDGEPVTCALLID", peer.protocolID)
			ch.hasPvtID = true
		}
	}
	connected := func(ch *channel) {
		peer := b.soloPeer(ch)
		if peer == nil || ch.connected == peer.caller {
			return
		}
		ch.connected = peer.caller
		s.emitCh(ch, "ChannelConnectedLine")
	}
	if len(added) == 1 && before == 1 && len(b.members) == 2 {
		n, e := added[0], b.members[0]
		setPeer(n)
		setPeer(e)
		setPeer(n)
		setPeer(e)
		connected(e)
		setPeer(n)
		setPeer(e)
		connected(n)
		return
	}
	for _, m := range b.members {
		setPeer(m)
	}
	for _, m := range b.members {
		connected(m)
	}
}

// leaveBridge takes ch out of its bridge: its peer variables are cleared
// and ChannelLeftBridge follows; the others are left as they are.
func (s *Server) leaveBridge(ch *channel) {
	b := ch.bridge
	if b == nil {
		return
	}
	if ch.hasBridgePeer {
		s.setVar(ch, "BRIDGEPEER", "")
		ch.hasBridgePeer = false
	}
	if ch.hasPvtID {
		s.setVar(ch, "BRIDGEPVTCALLID", "")
		ch.hasPvtID = false
	}
	for i, m := range b.members {
		if m == ch {
			b.members = append(b.members[:i], b.members[i+1:]...)
			break
		}
	}
	ch.bridge = nil
	if ch.leg != nil {
		b.mb.Remove(ch.leg)
	}
	s.noteBridge(b, ch, false)
	s.emitChTo(unionApps(ch.apps, b.apps), ch, "ChannelLeftBridge", kv{"bridge", b.json()})
}

func (s *Server) removeChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[p.get("bridgeId")]
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	chans, ok := s.resolveChannels(w, p.get("channel"))
	if !ok {
		return
	}
	for _, ch := range chans {
		if ch.bridge != b {
			writeError(w, http.StatusUnprocessableEntity, "Channel not in this bridge")
			return
		}
	}
	for _, ch := range chans {
		s.leaveBridge(ch)
	}
	noContent(w)
}
