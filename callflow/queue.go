package callflow

import (
	"context"
	"time"

	"hotline/cases"
	"hotline/ivr"
)

// Queue is where a call goes when the menu hands it to people: the ACD for ordinary
// queues, the emergency desk (with its escalation chain) for emergencies. Offer decides;
// the call goroutine carries the decision out, so that the call's channel keeps one owner.
type Queue interface {
	Offer(ctx context.Context, o Offer) (QueueResult, error)
}

// Offer is a call the menu hands to a queue.
type Offer struct {
	ChannelID  string
	CaseID     cases.CaseID
	CaseNumber cases.Number
	CallerID   cases.Phone
	Queue      string
	Skills     []ivr.Skill
	Priority   ivr.Priority
	CaseKind   ivr.CaseKind
	Language   ivr.Language
	Emergency  bool
	LookedUp   string // digits of a case the caller looked up and found, for the screen pop
	At         time.Time
}

// Decision is what a queue did with an offer.
type Decision int

// Decisions. More come with the ACD (wait for an agent, bridged, ...).
const (
	// DecideVoicemail: nobody can take the call now; the caller hears Prompts and leaves a
	// message for a callback.
	DecideVoicemail Decision = iota + 1
	// DecideWait: the call waits in the distributor; QueueResult.Wait is its ticket and the
	// call goroutine keeps the caller waiting, rings the agent and bridges the call.
	DecideWait
	// DecideEscalate: the duty officers are being called (EmergencyDesk);
	// QueueResult.Escalation is the caller's side of the chain.
	DecideEscalate
)

func (d Decision) String() string {
	switch d {
	case DecideVoicemail:
		return "voicemail"
	case DecideWait:
		return "wait"
	case DecideEscalate:
		return "escalate"
	}
	return "unknown"
}

// QueueResult is a queue's answer to an offer.
type QueueResult struct {
	Decision Decision
	// Prompts play before the recording, in one playback.
	Prompts []ivr.PromptName
	// Voicemail says how to record; zero durations take DefaultVoicemail's, and the beep
	// is always on.
	Voicemail ivr.Voicemail
	// Reason is for the log and the case trail, e.g. "all agents busy".
	Reason string
	// Wait is the call's place in the distributor when Decision is DecideWait.
	Wait *Ticket
	// Escalation is the caller's side of the escalation chain when Decision is
	// DecideEscalate.
	Escalation *EscalationTicket
}

// DefaultVoicemail is how a message left after a queue is recorded when the queue does not
// say: the default menu's night-voicemail node's values.
var DefaultVoicemail = ivr.Voicemail{MaxLength: 3 * time.Minute, MaxSilence: 10 * time.Second, Beep: true}

// BusyQueue answers every offer with "all agents are busy, please leave a message": the
// queue path until the ACD is wired, a clear path rather than a dead end. Emergencies take
// the same path (the escalation chain comes with the emergency desk); their callback task
// carries the emergency priority.
type BusyQueue struct {
	// Prompts played before the beep. Default: hotline/voicemail-intro (the menu has no
	// "all agents are busy" prompt yet; the intro asks for a message after the tone).
	Prompts []ivr.PromptName
	// Voicemail is how to record; zero fields take DefaultVoicemail's.
	Voicemail ivr.Voicemail
}

// Offer always overflows to voicemail.
func (q BusyQueue) Offer(_ context.Context, o Offer) (QueueResult, error) {
	prompts := q.Prompts
	if len(prompts) == 0 {
		prompts = []ivr.PromptName{"hotline/voicemail-intro"}
	}
	reason := "all agents busy"
	if o.Emergency {
		reason = "emergency desk not connected"
	}
	return QueueResult{Decision: DecideVoicemail, Prompts: prompts, Voicemail: q.Voicemail, Reason: reason}, nil
}

// fillVoicemail gives a queue's voicemail settings their defaults. The beep is always on
// after a queue: the caller was expecting a person and must hear when to speak.
func fillVoicemail(v ivr.Voicemail) ivr.Voicemail {
	if v.MaxLength <= 0 {
		v.MaxLength = DefaultVoicemail.MaxLength
	}
	if v.MaxSilence <= 0 {
		v.MaxSilence = DefaultVoicemail.MaxSilence
	}
	v.Beep = true
	return v
}
