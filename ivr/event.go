package ivr

import "time"

// PlaybackID names one Play action; PromptFinished and StopPlayback refer to it.
type PlaybackID string

// TimerID names one StartTimer action; Timeout and CancelTimer refer to it.
type TimerID string

// Event is something that happened to the call, stamped by the shell's clock.
type Event interface {
	eventTime() time.Time
}

// Start begins the call in the menu. Language is the channel's language; a language the
// menu does not offer gives way to the menu's default.
type Start struct {
	At       time.Time
	Language Language
}

// PromptFinished: the playback ended, played through, failed or stopped. The shell maps a
// failed playback (missing sound file) to this event too: the call must go on.
type PromptFinished struct {
	At       time.Time
	Playback PlaybackID
}

// DTMF: the caller pressed a key.
type DTMF struct {
	At    time.Time
	Digit Digit
}

// Timeout: a timer the machine started has run out.
type Timeout struct {
	At    time.Time
	Timer TimerID
}

// LookupResult answers a LookupCase action: whether a case has the number and, if so, its
// status (a cases.Status value such as "accepted"). Failed says the look-up itself failed
// (the database did not answer); the caller is then sent to the node's fallback.
type LookupResult struct {
	At     time.Time
	Found  bool
	Status string
	Failed bool
}

// CallerHangup: the caller hung up.
type CallerHangup struct {
	At time.Time
}

func (e Start) eventTime() time.Time          { return e.At }
func (e PromptFinished) eventTime() time.Time { return e.At }
func (e DTMF) eventTime() time.Time           { return e.At }
func (e Timeout) eventTime() time.Time        { return e.At }
func (e LookupResult) eventTime() time.Time   { return e.At }
func (e CallerHangup) eventTime() time.Time   { return e.At }
