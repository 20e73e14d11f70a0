package escalation

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Policy is how a chain is worked through.
type Policy struct {
	// RingTimeout is how long an officer's phone rings before the next is called.
	RingTimeout time.Duration
	// RingGrace is added to RingTimeout for the machine's own guard, in case the PBX never
	// reports the end of the ringing.
	RingGrace time.Duration
	// AckTimeout is how long after the summary the officer has to press 1 or 2.
	AckTimeout time.Duration
	// MaxSummary guards the summary: if its end is never reported, the wait for a key
	// starts anyway after this long.
	MaxSummary time.Duration
	// Retries is how many more rounds follow an exhausted one (0: one round only).
	Retries int
	// RetryPause is the pause between an exhausted round and the next.
	RetryPause time.Duration
}

// DefaultPolicy is the policy with every default.
var DefaultPolicy = Policy{RingTimeout: 30 * time.Second, RingGrace: 5 * time.Second, AckTimeout: 20 * time.Second,
	MaxSummary: time.Minute, Retries: 2, RetryPause: time.Minute}

// Validate says what is wrong with p.
func (p Policy) Validate() error {
	var errs []error
	for name, d := range map[string]time.Duration{"ring timeout": p.RingTimeout, "ack timeout": p.AckTimeout,
		"max summary": p.MaxSummary, "retry pause": p.RetryPause} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", name, d))
		}
	}
	if p.RingGrace < 0 {
		errs = append(errs, fmt.Errorf("ring grace %s: must not be negative", p.RingGrace))
	}
	if p.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d: must not be negative", p.Retries))
	}
	return errors.Join(errs...)
}

// Attempt numbers the dials of a chain from 1, across rounds: an event of an earlier
// attempt (a late hang-up, a key pressed after the timeout) is recognised and ignored.
type Attempt int

// TimerID names a timer the machine asked for.
type TimerID string

// Outcome is how a chain ended.
type Outcome int

// Outcomes.
const (
	Running  Outcome = iota
	Accepted         // an officer pressed 1
	GaveUp           // every round was exhausted
	Stopped          // the shell stopped it (shutdown)
)

func (o Outcome) String() string {
	switch o {
	case Running:
		return "running"
	case Accepted:
		return "accepted"
	case GaveUp:
		return "gave_up"
	case Stopped:
		return "stopped"
	}
	return "unknown"
}

// Event is what the shell tells the machine.
type Event interface{ event() }

// Start begins the chain with the officers on duty at At (OnDuty).
type Start struct {
	At       time.Time
	Officers []Entry
}

// Answered: the officer of Attempt picked up.
type Answered struct {
	At      time.Time
	Attempt Attempt
}

// DialFailed: the call to the officer of Attempt never connected (no answer, busy,
// unreachable, an originate error).
type DialFailed struct {
	At      time.Time
	Attempt Attempt
	Reason  string
}

// SummaryDone: the case summary finished playing to the officer of Attempt.
type SummaryDone struct {
	At      time.Time
	Attempt Attempt
}

// Key: the officer of Attempt pressed Digit.
type Key struct {
	At      time.Time
	Attempt Attempt
	Digit   string
}

// OfficerGone: the officer of Attempt hung up after answering.
type OfficerGone struct {
	At      time.Time
	Attempt Attempt
}

// Timeout: a timer the machine started has fired.
type Timeout struct {
	At    time.Time
	Timer TimerID
}

// Roster answers ReloadRoster: the officers on duty at At.
type Roster struct {
	At       time.Time
	Officers []Entry
}

// Stop ends the chain at once (the controller shuts down).
type Stop struct {
	At     time.Time
	Reason string
}

func (Start) event()       {}
func (Answered) event()    {}
func (DialFailed) event()  {}
func (SummaryDone) event() {}
func (Key) event()         {}
func (OfficerGone) event() {}
func (Timeout) event()     {}
func (Roster) event()      {}
func (Stop) event()        {}

// Action is what the machine asks the shell to do.
type Action interface{ action() }

// Dial calls Officer; the phone rings at most Timeout.
type Dial struct {
	Attempt Attempt
	Officer Entry
	Timeout time.Duration
}

// PlaySummary plays the case summary and the "press 1 to accept, 2 to decline" prompt.
type PlaySummary struct{ Attempt Attempt }

// HangupOfficer ends the call to the officer of Attempt.
type HangupOfficer struct{ Attempt Attempt }

// StartTimer asks for a Timeout after After.
type StartTimer struct {
	Timer TimerID
	After time.Duration
}

// CancelTimer cancels a timer; its Timeout, if already on its way, is ignored anyway.
type CancelTimer struct{ Timer TimerID }

// Accept: the officer of Attempt accepted; the shell connects them with the caller when
// the caller is still on the line. The chain is over.
type Accept struct {
	Attempt Attempt
	Officer Entry
}

// Alert: round Round was exhausted; Final when no round follows.
type Alert struct {
	At       time.Time
	Round    int
	Final    bool
	Officers int // how many officers the round called
}

// ReloadRoster asks for a Roster event: the roster may have changed since the last round.
type ReloadRoster struct{ Round int }

// Finished: the chain is over.
type Finished struct{ Outcome Outcome }

// NoteKind names a step on the case trail (a case_events kind).
type NoteKind string

// Steps of a chain on the case trail.
const (
	NoteStarted       NoteKind = "escalation_started"
	NoteDialing       NoteKind = "escalation_dialing"
	NoteNoAnswer      NoteKind = "escalation_no_answer"
	NoteAnswered      NoteKind = "escalation_answered"
	NoteSummaryPlayed NoteKind = "escalation_summary_played"
	NoteAccepted      NoteKind = "escalation_accepted"
	NoteDeclined      NoteKind = "escalation_declined"
	NoteAckTimeout    NoteKind = "escalation_ack_timeout"
	NoteOfficerGone   NoteKind = "escalation_officer_hung_up"
	NoteExhausted     NoteKind = "escalation_exhausted"
	NoteRetry         NoteKind = "escalation_retry"
	NoteGaveUp        NoteKind = "escalation_gave_up"
	NoteStopped       NoteKind = "escalation_stopped"
)

// Note is one step of the chain for the case trail.
type Note struct {
	At      time.Time
	Kind    NoteKind
	Round   int
	Attempt Attempt // 0 for steps of no single dial
	Officer *Entry  // nil for steps of no single officer
	Detail  map[string]any
}

func (Dial) action()          {}
func (PlaySummary) action()   {}
func (HangupOfficer) action() {}
func (StartTimer) action()    {}
func (CancelTimer) action()   {}
func (Accept) action()        {}
func (Alert) action()         {}
func (ReloadRoster) action()  {}
func (Finished) action()      {}
func (Note) action()          {}

// Keys the officer presses.
const (
	KeyAccept  = "1"
	KeyDecline = "2"
)

type phase int

const (
	phaseIdle      phase = iota
	phaseRinging         // dialled, not answered
	phaseSummary         // answered, the summary plays (keys already count)
	phaseKey             // the summary is over, waiting for a key
	phasePause           // a round was exhausted, the next starts after the pause
	phaseReloading       // waiting for the roster of the next round
	phaseDone
)

// Chain is one emergency's escalation. It is not safe for concurrent use: one goroutine
// owns it and feeds it events in order.
type Chain struct {
	p        Policy
	ph       phase
	officers []Entry
	idx      int
	round    int
	attempt  Attempt
	timer    TimerID // the running timer of the current phase, "" when none
	outcome  Outcome
}

// NewChain returns a chain that works by p.
func NewChain(p Policy) (*Chain, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("escalation policy: %w", err)
	}
	return &Chain{p: p}, nil
}

// Outcome is Running until the chain is over.
func (c *Chain) Outcome() Outcome { return c.outcome }

// Done reports whether the chain is over.
func (c *Chain) Done() bool { return c.ph == phaseDone }

// Round is the current round, from 1.
func (c *Chain) Round() int { return c.round }

// Attempt is the current (or last) dial.
func (c *Chain) Attempt() Attempt { return c.attempt }

// Officer returns the officer of the current attempt.
func (c *Chain) Officer() (Entry, bool) {
	if c.idx < len(c.officers) && c.attempt > 0 {
		return c.officers[c.idx], true
	}
	return Entry{}, false
}

// step collects the actions of one event.
type step struct {
	c    *Chain
	at   time.Time
	acts []Action
}

func (s *step) emit(a ...Action) { s.acts = append(s.acts, a...) }

func (s *step) note(kind NoteKind, officer bool, detail map[string]any) {
	n := Note{At: s.at, Kind: kind, Round: s.c.round, Detail: detail}
	if officer {
		if o, ok := s.c.Officer(); ok {
			n.Attempt, n.Officer = s.c.attempt, &o
		}
	}
	s.emit(n)
}

func (s *step) startTimer(prefix string, n int, d time.Duration) {
	s.c.timer = TimerID(prefix + "-" + strconv.Itoa(n))
	s.emit(StartTimer{Timer: s.c.timer, After: d})
}

func (s *step) cancelTimer() {
	if s.c.timer != "" {
		s.emit(CancelTimer{Timer: s.c.timer})
		s.c.timer = ""
	}
}

// Step feeds the machine one event and returns what to do, in order.
func (c *Chain) Step(e Event) []Action {
	if c.ph == phaseDone {
		return nil
	}
	switch e := e.(type) {
	case Start:
		if c.ph != phaseIdle {
			return nil
		}
		s := &step{c: c, at: e.At}
		c.round, c.officers = 1, e.Officers
		s.note(NoteStarted, false, map[string]any{"officers": len(e.Officers), "retries": c.p.Retries,
			"ack_timeout_s": c.p.AckTimeout.Seconds()})
		c.begin(s)
		return s.acts
	case Answered:
		if !c.current(e.Attempt, phaseRinging) {
			return nil
		}
		s := &step{c: c, at: e.At}
		s.cancelTimer()
		c.ph = phaseSummary
		s.note(NoteAnswered, true, nil)
		s.emit(PlaySummary{Attempt: c.attempt})
		s.startTimer("summary", int(c.attempt), c.p.MaxSummary)
		return s.acts
	case DialFailed:
		if !c.current(e.Attempt, phaseRinging) {
			return nil
		}
		s := &step{c: c, at: e.At}
		s.cancelTimer()
		s.note(NoteNoAnswer, true, map[string]any{"reason": e.Reason})
		c.next(s)
		return s.acts
	case SummaryDone:
		if !c.current(e.Attempt, phaseSummary) {
			return nil
		}
		s := &step{c: c, at: e.At}
		c.waitKey(s, false)
		return s.acts
	case Key:
		if !c.current(e.Attempt, phaseSummary) && !c.current(e.Attempt, phaseKey) {
			return nil
		}
		s := &step{c: c, at: e.At}
		switch e.Digit {
		case KeyAccept:
			s.cancelTimer()
			o, _ := c.Officer()
			s.note(NoteAccepted, true, map[string]any{"during_summary": c.ph == phaseSummary})
			s.emit(Accept{Attempt: c.attempt, Officer: o})
			c.finish(s, Accepted)
		case KeyDecline:
			s.cancelTimer()
			s.note(NoteDeclined, true, nil)
			s.emit(HangupOfficer{Attempt: c.attempt})
			c.next(s)
		}
		return s.acts
	case OfficerGone:
		if !c.current(e.Attempt, phaseSummary) && !c.current(e.Attempt, phaseKey) {
			return nil
		}
		s := &step{c: c, at: e.At}
		s.cancelTimer()
		s.note(NoteOfficerGone, true, nil)
		c.next(s)
		return s.acts
	case Timeout:
		if e.Timer == "" || e.Timer != c.timer {
			return nil // cancelled, or of an earlier phase
		}
		c.timer = ""
		s := &step{c: c, at: e.At}
		switch c.ph {
		case phaseRinging:
			s.note(NoteNoAnswer, true, map[string]any{"reason": "ring timeout"})
			s.emit(HangupOfficer{Attempt: c.attempt})
			c.next(s)
		case phaseSummary:
			c.waitKey(s, true)
		case phaseKey:
			s.note(NoteAckTimeout, true, map[string]any{"after_s": c.p.AckTimeout.Seconds()})
			s.emit(HangupOfficer{Attempt: c.attempt})
			c.next(s)
		case phasePause:
			c.round++
			c.ph = phaseReloading
			s.emit(ReloadRoster{Round: c.round})
		}
		return s.acts
	case Roster:
		if c.ph != phaseReloading {
			return nil
		}
		s := &step{c: c, at: e.At}
		c.officers = e.Officers
		s.note(NoteRetry, false, map[string]any{"officers": len(e.Officers)})
		c.begin(s)
		return s.acts
	case Stop:
		s := &step{c: c, at: e.At}
		s.cancelTimer()
		if c.ph == phaseRinging || c.ph == phaseSummary || c.ph == phaseKey {
			s.emit(HangupOfficer{Attempt: c.attempt})
		}
		s.note(NoteStopped, false, map[string]any{"reason": e.Reason})
		c.finish(s, Stopped)
		return s.acts
	}
	return nil
}

// current reports whether an event of attempt a concerns the dial the machine is in, in
// phase ph.
func (c *Chain) current(a Attempt, ph phase) bool { return a == c.attempt && c.ph == ph }

// begin starts a round with the officers set.
func (c *Chain) begin(s *step) {
	c.idx = 0
	if len(c.officers) == 0 {
		c.exhausted(s)
		return
	}
	c.dial(s)
}

func (c *Chain) dial(s *step) {
	c.attempt++
	c.ph = phaseRinging
	o := c.officers[c.idx]
	s.note(NoteDialing, true, map[string]any{"order": o.Order, "position": c.idx + 1})
	s.emit(Dial{Attempt: c.attempt, Officer: o, Timeout: c.p.RingTimeout})
	s.startTimer("ring", int(c.attempt), c.p.RingTimeout+c.p.RingGrace)
}

func (c *Chain) waitKey(s *step, guard bool) {
	s.cancelTimer()
	c.ph = phaseKey
	d := map[string]any(nil)
	if guard {
		d = map[string]any{"end_not_reported": true}
	}
	s.note(NoteSummaryPlayed, true, d)
	s.startTimer("ack", int(c.attempt), c.p.AckTimeout)
}

// next calls the next officer of the round, or ends the round.
func (c *Chain) next(s *step) {
	c.idx++
	if c.idx < len(c.officers) {
		c.dial(s)
		return
	}
	c.exhausted(s)
}

func (c *Chain) exhausted(s *step) {
	final := c.round > c.p.Retries
	c.ph = phasePause
	s.note(NoteExhausted, false, map[string]any{"officers": len(c.officers), "final": final})
	s.emit(Alert{At: s.at, Round: c.round, Final: final, Officers: len(c.officers)})
	if final {
		s.note(NoteGaveUp, false, map[string]any{"rounds": c.round})
		c.finish(s, GaveUp)
		return
	}
	s.startTimer("pause", c.round, c.p.RetryPause)
}

func (c *Chain) finish(s *step, o Outcome) {
	c.ph, c.outcome = phaseDone, o
	s.emit(Finished{Outcome: o})
}
