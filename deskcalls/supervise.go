package deskcalls

import (
	"hotline/acd"
	"hotline/supervise"
)

// CallOf is the call an agent is talking on through their seat, for a supervisor to join
// (supervise.Calls): the caller's channel, the seat's ExternalMedia channel now (a new one
// after a seat reconnect), and the case.
func (l *Line) CallOf(agent acd.AgentID) (supervise.Call, bool) {
	l.mu.Lock()
	legs := make([]*seatLeg, 0, 1)
	for _, g := range l.calls {
		if g.agent == agent {
			legs = append(legs, g)
		}
	}
	l.mu.Unlock()
	for _, g := range legs { // the leg's own lock, not under the line's
		g.mu.Lock()
		connected := g.connected
		g.mu.Unlock()
		if connected {
			return supervise.Call{CallID: string(g.call), AgentChannel: g.ChannelID(), CaseNumber: string(g.caseNumber)}, true
		}
	}
	return supervise.Call{}, false
}
