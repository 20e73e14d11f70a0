package media

import "time"

// AgentID names the agent a seat belongs to.
type AgentID string

// CallID names the call attached to a seat.
type CallID string

// SeatState is where a seat's peer connection stands.
type SeatState int

const (
	// SeatConnecting: the answer is out, ICE and DTLS are not done yet.
	SeatConnecting SeatState = iota + 1
	// SeatConnected: audio can flow both ways.
	SeatConnected
	// SeatDisconnected: no traffic from the browser for a few seconds; ICE
	// may still recover on its own.
	SeatDisconnected
	// SeatFailed: the peer connection is gone (ICE failed, or the browser
	// closed it). The seat and any attached call are kept; audio resumes
	// when the agent's browser opens the seat again.
	SeatFailed
	// SeatClosed: the seat was closed with Close or Shutdown; any attached
	// call was detached with it.
	SeatClosed
)

func (s SeatState) String() string {
	switch s {
	case SeatConnecting:
		return "connecting"
	case SeatConnected:
		return "connected"
	case SeatDisconnected:
		return "disconnected"
	case SeatFailed:
		return "failed"
	case SeatClosed:
		return "closed"
	}
	return "unknown"
}

// live reports whether the seat has a peer connection that can carry audio
// now or soon.
func (s SeatState) live() bool {
	return s == SeatConnecting || s == SeatConnected || s == SeatDisconnected
}

// Event is a seat state change.
type Event struct {
	Agent AgentID
	State SeatState
	// Call is the call attached when the state changed, empty if none. A
	// Disconnected, Failed or Closed event with a Call means the caller has
	// lost the agent's audio: the call flow puts the caller on hold (and,
	// for Closed, deletes the ExternalMedia channel, whose socket is gone).
	// Connecting with a Call means the browser is opening the seat again;
	// Connected with a Call means the relay has resumed.
	Call   CallID
	Reason string // why, for the log: "ice failed", "closed by browser", ...
	At     time.Time
}
