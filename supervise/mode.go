// Package supervise lets a supervisor listen to an agent's call, whisper to the agent, or
// barge in, through an ARI snoop channel on the agent's leg bridged with the supervisor's
// own seat. Each use is written to the audit log and on the case's timeline, and the agent
// is told when a supervisor can be heard (whisper, barge).
//
// The snoop is made on the agent's leg, the channel that faces the agent (the ExternalMedia
// channel of a WebRTC seat, or a desk phone's channel). For that channel "out" is what the
// agent hears and "in" is what the agent says, so:
//
//	listen   spy both, whisper none  the supervisor hears both sides; nobody hears the supervisor
//	whisper  spy both, whisper out   ... and the agent alone hears the supervisor
//	barge    spy both, whisper both  ... and the caller hears the supervisor too
package supervise

import (
	"fmt"

	"hotline/pbx"
)

// Mode is how a supervisor joins a call.
type Mode string

// Modes.
const (
	Listen  Mode = "listen"
	Whisper Mode = "whisper"
	Barge   Mode = "barge"
)

// ParseMode checks a mode named by a client.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Listen, Whisper, Barge:
		return m, nil
	}
	return "", fmt.Errorf("mode %q is not one of listen, whisper, barge", s)
}

// Directions are the snoop's spy and whisper directions for the mode, on the agent's leg.
func (m Mode) Directions() (spy, whisper pbx.Direction) {
	switch m {
	case Whisper:
		return pbx.DirBoth, pbx.DirOut
	case Barge:
		return pbx.DirBoth, pbx.DirBoth
	}
	return pbx.DirBoth, pbx.DirNone
}

// Audible reports whether the agent can hear the supervisor in this mode, and so must be
// told that a supervisor has joined.
func (m Mode) Audible() bool { return m == Whisper || m == Barge }
