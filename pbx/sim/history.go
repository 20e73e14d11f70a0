package sim

import "time"

// BridgeEvent is a channel entering or leaving a bridge, as the PBX saw it.
type BridgeEvent struct {
	Bridge  string    `json:"bridge_id"`
	Channel string    `json:"channel_id"`
	Entered bool      `json:"entered"` // false: left
	At      time.Time `json:"at"`
}

// maxBridgeHistory bounds the history: a long-running sim keeps the latest events.
const maxBridgeHistory = 200000

// noteBridge records a bridge membership change. Caller holds s.mu.
func (s *Server) noteBridge(b *bridge, ch *channel, entered bool) {
	s.bridgeHistory = append(s.bridgeHistory, BridgeEvent{Bridge: b.id, Channel: ch.id, Entered: entered, At: time.Now()})
	if len(s.bridgeHistory) > maxBridgeHistory {
		s.bridgeHistory = append([]BridgeEvent(nil), s.bridgeHistory[len(s.bridgeHistory)-maxBridgeHistory/2:]...)
	}
}

// BridgeHistory lists every channel that entered or left a bridge, in order (the latest
// 100,000 at least): who was connected with whom, and when.
func (s *Server) BridgeHistory() []BridgeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BridgeEvent(nil), s.bridgeHistory...)
}
