package agentdesk

import (
	"encoding/json"

	"hotline/acd"
	"hotline/supervise"
)

// supervisorMessage tells an agent that a supervisor can hear them and be heard by them
// (whisper, barge), or has left (mode empty). Listening in is not shown.
type supervisorMessage struct {
	Type string `json:"type"` // "supervisor"
	supervise.Notice
}

// Supervised shows the agent that a supervisor joined or left their call; it implements
// supervise.Notifier. An agent with no desk open is not told (the audit log still is).
func (d *Desk) Supervised(agent acd.AgentID, n supervise.Notice) {
	h := d.hubFor(agent, false)
	if h == nil {
		return
	}
	b, err := json.Marshal(supervisorMessage{Type: "supervisor", Notice: n})
	if err != nil {
		d.log.Error("encode supervisor notice", "agent", agent, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendLocked(b)
}
