package ivr

import (
	"fmt"
	"time"
)

// Action is something the machine asks the shell to do. Actions of one step are carried out
// in order.
type Action interface {
	action()
}

// Play plays prompts in one playback (ARI's play takes several media and a lang). BargeIn
// says whether a key will stop it; the machine sends StopPlayback when it does.
type Play struct {
	Playback PlaybackID
	Prompts  []PromptName
	Language Language
	BargeIn  bool
}

// Media returns the ARI media URIs of the prompts.
func (p Play) Media() []string {
	out := make([]string, len(p.Prompts))
	for i, name := range p.Prompts {
		out[i] = name.Media()
	}
	return out
}

// StopPlayback stops a playback (DELETE /playbacks/{id}); a 404 because it just ended is fine.
type StopPlayback struct {
	Playback PlaybackID
}

// StartTimer asks for a Timeout event after the duration.
type StartTimer struct {
	Timer TimerID
	After time.Duration
}

// CancelTimer withdraws a timer. A Timeout for it that is already on its way is ignored.
type CancelTimer struct {
	Timer TimerID
}

// SetLanguage sets the channel's language (CHANNEL(language)), so that everything Asterisk
// plays from now on, including after the menu, is in it.
type SetLanguage struct {
	Language Language
}

// Collected hands the shell the digits a collect node read.
type Collected struct {
	Node  NodeID
	Var   string
	Value string
}

// LookupCase asks the shell to look a case up by the digits of its number, without the
// dashes (62000020261127000123 for 620000-20261127-000123), and answer with LookupResult.
type LookupCase struct {
	Digits string
}

// Enqueue hands the call to the ACD. The menu is over.
type Enqueue struct {
	Node       NodeID
	Queue      string
	Skills     []Skill // the node's skills and those of the call's language
	Priority   Priority
	CaseKind   CaseKind
	Language   Language
	CaseNumber string // digits of a case the caller looked up and found, for the screen pop
}

// Record records a voice message for a callback (beep first when Beep). The menu is over;
// the shell ends the call when the recording finishes.
type Record struct {
	Node       NodeID
	CaseKind   CaseKind
	MaxLength  time.Duration
	MaxSilence time.Duration
	Beep       bool
	Terminator Digit // the key that ends the message
	Language   Language
}

// Emergency hands the call to the emergency desk at the highest priority and starts the
// escalation chain (the on-duty officers). The menu is over.
type Emergency struct {
	Node     NodeID
	Queue    string
	Skills   []Skill
	CaseKind CaseKind
	Language Language
}

// Transfer sends the call to an outside number. The menu is over.
type Transfer struct {
	Node     NodeID
	Number   string
	CaseKind CaseKind
}

// Hangup ends the call after the goodbye. The menu is over.
type Hangup struct {
	Node NodeID
}

// PathStep is one entry of the call's IVR path, for the call record.
type PathStep struct {
	At    time.Time
	Node  NodeID
	Kind  Kind
	Step  StepKind
	Input string // the key, the (masked) digits, the case status, or the outcome
}

func (Play) action()         {}
func (StopPlayback) action() {}
func (StartTimer) action()   {}
func (CancelTimer) action()  {}
func (SetLanguage) action()  {}
func (Collected) action()    {}
func (LookupCase) action()   {}
func (Enqueue) action()      {}
func (Record) action()       {}
func (Emergency) action()    {}
func (Transfer) action()     {}
func (Hangup) action()       {}
func (PathStep) action()     {}

// StepKind says what a PathStep records.
type StepKind int

// Steps of a call's path.
const (
	StepEntered   StepKind = iota + 1 // the call entered the node
	StepKey                           // a key was taken as a choice
	StepInvalid                       // a wrong key, or too few digits
	StepNoInput                       // no key before the timeout
	StepCollected                     // digits were read (masked at collect nodes)
	StepLookup                        // a look-up answered: the status, "not found" or "failed"
	StepLeft                          // the call left the menu: the outcome
	StepHangup                        // the caller hung up in the menu
)

var stepNames = map[StepKind]string{
	StepEntered:   "entered",
	StepKey:       "key",
	StepInvalid:   "invalid",
	StepNoInput:   "no_input",
	StepCollected: "collected",
	StepLookup:    "lookup",
	StepLeft:      "left",
	StepHangup:    "hangup",
}

func (s StepKind) String() string {
	if name, ok := stepNames[s]; ok {
		return name
	}
	return fmt.Sprintf("StepKind(%d)", int(s))
}
