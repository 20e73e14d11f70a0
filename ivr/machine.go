package ivr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxTypeahead is how many keys the machine keeps while a prompt cannot be interrupted.
const MaxTypeahead = 32

// Hours says whether the centre's agents are on duty. The calendar package provides it.
type Hours interface {
	IsOpen(t time.Time) bool
}

// Holidays is what an Hours may also say: whether a time falls on a public holiday. A menu
// whose hours node has a holiday branch needs it. (*calendar.Calendar) is both.
type Holidays interface {
	IsHoliday(t time.Time) bool
}

// Outcome is how a call left the menu.
type Outcome int

// Outcomes. OutcomeNone: the call is still in the menu.
const (
	OutcomeNone         Outcome = iota
	OutcomeQueued               // handed to the ACD
	OutcomeVoicemail            // recording a message for a callback
	OutcomeEmergency            // handed to the emergency desk, escalation started
	OutcomeTransferred          // sent to an outside number
	OutcomeLookupDone           // looked up a case, heard its status, and the call ended
	OutcomeHungUp               // the menu said goodbye and hung up
	OutcomeHungUpInMenu         // the caller hung up in the menu: an invalid case
)

var outcomeNames = map[Outcome]string{
	OutcomeNone:         "none",
	OutcomeQueued:       "queued",
	OutcomeVoicemail:    "voicemail",
	OutcomeEmergency:    "emergency",
	OutcomeTransferred:  "transferred",
	OutcomeLookupDone:   "lookup_done",
	OutcomeHungUp:       "hung_up",
	OutcomeHungUpInMenu: "hung_up_in_menu",
}

func (o Outcome) String() string {
	if s, ok := outcomeNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Result is what the shell needs to know once the call has left the menu.
type Result struct {
	Outcome Outcome
	// CaseKind is the kind of the case the call opens: the node's for a queue, voicemail,
	// emergency, transfer or hangup node; invalid when the caller hung up in the menu;
	// empty for OutcomeLookupDone, where the call belongs to the case looked up.
	CaseKind   CaseKind
	Node       NodeID // the node the call left the menu from
	Language   Language
	CaseNumber string // digits of a case the caller looked up and found
}

type phase int

const (
	phaseIdle phase = iota // not started
	phasePlaying
	phaseListening
	phaseLookingUp
	phaseDone
)

// after says what follows the prompt that is playing.
type after int

const (
	afterListen after = iota + 1 // listen for keys at the node
	afterGoto                    // enter State.then
	afterLeave                   // leave the menu from the node
)

// State is one call's place in a menu. The zero value is a call not yet started. A State is
// a plain value: Step never changes the State it is given.
type State struct {
	phase      phase
	node       NodeID
	lang       Language
	failures   int    // wrong keys and timeouts at this node
	collected  string // digits read so far at a collect or status_lookup node
	typeahead  string
	playback   PlaybackID // playing, or ""
	bargeIn    bool       // the playing prompt may be interrupted
	after      after
	then       NodeID
	timer      TimerID // running, or ""
	seq        uint64  // last id handed out
	caseNumber string  // a case the caller looked up and found
	outcome    Outcome
	caseKind   CaseKind
}

// Done reports whether the call has left the menu.
func (s State) Done() bool { return s.phase == phaseDone }

// Node is the node the call is at.
func (s State) Node() NodeID { return s.node }

// Language is the call's language.
func (s State) Language() Language { return s.lang }

// Timer is the running timer, or "".
func (s State) Timer() TimerID { return s.timer }

// Playback is the playing prompt, or "".
func (s State) Playback() PlaybackID { return s.playback }

// Result says how the call left the menu; Outcome is OutcomeNone while it is still in it.
func (s State) Result() Result {
	return Result{Outcome: s.outcome, CaseKind: s.caseKind, Node: s.node, Language: s.lang, CaseNumber: s.caseNumber}
}

// Machine runs calls through one menu. It holds no call state and is safe for concurrent
// use.
type Machine struct {
	menu     *Menu
	hours    Hours
	holidays Holidays
}

// NewMachine returns a machine for a menu from Load or Default. hours may be nil when the
// menu has no hours node.
func NewMachine(menu *Menu, hours Hours) (*Machine, error) {
	if menu == nil || !menu.validated {
		return nil, errors.New("new IVR machine: the menu was not loaded and validated by ivr.Load")
	}
	m := &Machine{menu: menu, hours: hours}
	m.holidays, _ = hours.(Holidays)
	for _, id := range menu.order {
		n := menu.Nodes[id]
		if n.Kind != KindHours {
			continue
		}
		if hours == nil {
			return nil, fmt.Errorf("new IVR machine for %s: node %q branches on opening hours, but no Hours was given", menu.File, id)
		}
		if n.Holiday != "" && m.holidays == nil {
			return nil, fmt.Errorf("new IVR machine for %s: node %q has a holiday branch, but %T cannot tell holidays (no IsHoliday method)", menu.File, id, hours)
		}
	}
	return m, nil
}

// Menu returns the machine's menu.
func (m *Machine) Menu() *Menu { return m.menu }

// Step applies one event to a call's state and returns the new state and what the shell
// must do, in order.
func (m *Machine) Step(s State, e Event) (State, []Action) {
	if s.phase == phaseDone || e == nil {
		return s, nil
	}
	r := &run{m: m, s: s, at: e.eventTime()}
	switch e := e.(type) {
	case Start:
		r.start(e)
	case PromptFinished:
		r.promptFinished(e.Playback)
	case DTMF:
		r.dtmf(e.Digit)
	case Timeout:
		r.timeout(e.Timer)
	case LookupResult:
		r.lookupResult(e)
	case CallerHangup:
		r.callerHangup()
	}
	r.drain()
	return r.s, r.acts
}

// run is one step in progress.
type run struct {
	m    *Machine
	s    State
	at   time.Time
	acts []Action
}

func (r *run) emit(a Action) { r.acts = append(r.acts, a) }

func (r *run) node() *Node { return r.m.menu.Nodes[r.s.node] }

func (r *run) trace(step StepKind, input string) {
	r.emit(PathStep{At: r.at, Node: r.s.node, Kind: r.node().Kind, Step: step, Input: input})
}

func (r *run) nextID(prefix string) string {
	r.s.seq++
	return prefix + strconv.FormatUint(r.s.seq, 10)
}

// startTimer replaces the running timer, if any.
func (r *run) startTimer(d time.Duration) {
	r.cancelTimer()
	r.s.timer = TimerID(r.nextID("t"))
	r.emit(StartTimer{Timer: r.s.timer, After: d})
}

func (r *run) cancelTimer() {
	if r.s.timer != "" {
		r.emit(CancelTimer{Timer: r.s.timer})
		r.s.timer = ""
	}
}

// play starts prompts under a guard timer: if the shell never reports their end (an event
// lost while the ARI socket reconnected), the guard moves the call on.
func (r *run) play(prompts []PromptName, bargeIn bool, next after, then NodeID) {
	r.s.phase = phasePlaying
	r.s.playback = PlaybackID(r.nextID("p"))
	r.s.bargeIn, r.s.after, r.s.then = bargeIn, next, then
	r.emit(Play{Playback: r.s.playback, Prompts: prompts, Language: r.s.lang, BargeIn: bargeIn})
	r.startTimer(r.m.menu.MaxPrompt)
}

func (r *run) stopPlayback() {
	if r.s.playback != "" {
		r.emit(StopPlayback{Playback: r.s.playback})
		r.s.playback = ""
	}
}

func (r *run) buffer(d Digit) {
	if len(r.s.typeahead) < MaxTypeahead {
		r.s.typeahead += d.String()
	}
}

func (r *run) start(e Start) {
	if r.s.phase != phaseIdle {
		return
	}
	lang := e.Language
	if !r.m.menu.offers(lang) {
		lang = r.m.menu.DefaultLanguage()
	}
	r.s.lang = lang
	if lang != e.Language {
		r.emit(SetLanguage{Language: lang})
	}
	r.enter(r.m.menu.Start)
}

// enter moves the call to a node. Hours nodes pass straight through; the validator has
// made sure they form no loop.
func (r *run) enter(id NodeID) {
	r.s.node, r.s.failures, r.s.collected = id, 0, ""
	n := r.node()
	r.trace(StepEntered, "")
	switch {
	case n.Kind == KindHours:
		r.enter(r.branch(n))
	case n.Kind == KindPlay:
		if n.BargeIn && r.s.typeahead != "" {
			r.enter(n.Next)
			return
		}
		r.play(n.Prompts, n.BargeIn, afterGoto, n.Next)
	case n.Kind.waitsForInput():
		if n.BargeIn && r.s.typeahead != "" {
			r.listen()
			return
		}
		r.play(n.Prompts, n.BargeIn, afterListen, "")
	default:
		r.s.typeahead = ""
		if len(n.Prompts) == 0 {
			r.leave()
			return
		}
		r.play(n.Prompts, false, afterLeave, "")
	}
}

// branch picks the hours node's way on. A holiday with agents on duty is open: the holiday
// branch is for the hours the centre is closed.
func (r *run) branch(n *Node) NodeID {
	switch {
	case r.m.hours.IsOpen(r.at):
		return n.Open
	case n.Holiday != "" && r.m.holidays.IsHoliday(r.at):
		return n.Holiday
	}
	return n.Closed
}

// listen waits for keys at an input node. With type-ahead pending, drain feeds it first.
func (r *run) listen() {
	r.s.phase = phaseListening
	r.cancelTimer()
	if r.s.typeahead == "" {
		r.startTimer(r.listenTimeout())
	}
}

func (r *run) listenTimeout() time.Duration {
	n := r.node()
	if r.s.collected != "" {
		return n.Digits.InterDigit
	}
	return n.Input.Timeout
}

// drain feeds type-ahead to a listening node, then makes sure a listening node has its timer.
func (r *run) drain() {
	for r.s.phase == phaseListening && r.s.typeahead != "" {
		d := Digit(r.s.typeahead[0])
		r.s.typeahead = r.s.typeahead[1:]
		r.key(d)
	}
	if r.s.phase == phaseListening && r.s.timer == "" {
		r.startTimer(r.listenTimeout())
	}
}

func (r *run) promptFinished(id PlaybackID) {
	if r.s.phase != phasePlaying || id != r.s.playback {
		return // stale: a playback already stopped or replaced
	}
	r.s.playback = ""
	r.cancelTimer()
	r.promptDone()
}

func (r *run) promptDone() {
	switch r.s.after {
	case afterListen:
		r.listen()
	case afterGoto:
		r.enter(r.s.then)
	case afterLeave:
		r.leave()
	}
}

func (r *run) dtmf(d Digit) {
	switch r.s.phase {
	case phaseListening:
		r.key(d)
	case phasePlaying:
		if r.s.after == afterLeave {
			return // the call is on its way out of the menu
		}
		r.buffer(d)
		if !r.s.bargeIn {
			return
		}
		r.stopPlayback()
		r.cancelTimer()
		if r.s.after == afterGoto {
			r.enter(r.s.then)
		} else {
			r.s.phase = phaseListening // drain takes the key
		}
	}
}

// key takes one key as input at a listening node.
func (r *run) key(d Digit) {
	n := r.node()
	switch n.Kind {
	case KindMenu:
		to, ok := n.Choices[d]
		if !ok {
			r.invalid(d.String())
			return
		}
		r.trace(StepKey, d.String())
		r.enter(to)
	case KindLanguage:
		lang, ok := n.Languages[d]
		if !ok {
			r.invalid(d.String())
			return
		}
		r.trace(StepKey, d.String())
		if lang != r.s.lang {
			r.s.lang = lang
			r.emit(SetLanguage{Language: lang})
		}
		r.enter(n.Next)
	case KindCollect, KindStatusLookup:
		r.digit(n, d)
	}
}

func (r *run) digit(n *Node, d Digit) {
	spec := n.Digits
	switch {
	case spec.Terminator != 0 && d == spec.Terminator:
		if len(r.s.collected) < spec.Min {
			r.invalid(d.String())
			return
		}
		r.complete(n)
	case d < '0' || d > '9':
		r.invalid(d.String())
	case len(r.s.collected) >= spec.Max:
		r.invalid(d.String()) // too many digits
	default:
		r.s.collected += d.String()
		if len(r.s.collected) == spec.Max && spec.Terminator == 0 {
			r.complete(n)
			return
		}
		// With a terminator the entry waits for it even at Max digits, so that the caller's
		// closing # is not taken as the next node's first key.
		r.startTimer(spec.InterDigit)
	}
}

// complete hands over the digits read at a collect or status_lookup node.
func (r *run) complete(n *Node) {
	value := r.s.collected
	if n.Kind == KindCollect {
		// A collect node may read a phone or ID number: the path, widely readable, keeps
		// only its length.
		r.trace(StepCollected, strings.Repeat("*", len(value)))
		r.emit(Collected{Node: n.ID, Var: n.Var, Value: value})
		r.enter(n.Next)
		return
	}
	r.trace(StepCollected, value)
	r.emit(LookupCase{Digits: value})
	r.s.phase = phaseLookingUp
	r.startTimer(n.Lookup.Timeout)
}

func (r *run) invalid(input string) {
	r.trace(StepInvalid, input)
	r.fail(r.node().Input.InvalidPrompt)
}

// fail counts a failure at the node: the node's prompts again, after prefix, or the fallback
// once the retries are spent.
func (r *run) fail(prefix PromptName) {
	n := r.node()
	r.s.typeahead, r.s.collected = "", ""
	r.s.failures++
	if r.s.failures > n.Input.Retries {
		r.enter(n.Input.Fallback)
		return
	}
	prompts := n.Prompts
	if prefix != "" {
		prompts = append([]PromptName{prefix}, n.Prompts...)
	}
	r.play(prompts, n.BargeIn, afterListen, "")
}

func (r *run) timeout(id TimerID) {
	if id == "" || id != r.s.timer {
		return // stale: cancelled or replaced
	}
	r.s.timer = ""
	switch r.s.phase {
	case phasePlaying:
		r.stopPlayback()
		r.promptDone()
	case phaseListening:
		n := r.node()
		if r.s.collected != "" {
			if len(r.s.collected) >= n.Digits.Min {
				r.complete(n)
				return
			}
			r.invalid("")
			return
		}
		r.trace(StepNoInput, "")
		r.fail(n.Input.NoInputPrompt)
	case phaseLookingUp:
		r.lookupFailed()
	}
}

func (r *run) lookupResult(e LookupResult) {
	if r.s.phase != phaseLookingUp {
		return
	}
	r.cancelTimer()
	n := r.node()
	switch {
	case e.Failed:
		r.lookupFailed()
	case e.Found:
		r.trace(StepLookup, e.Status)
		r.s.caseNumber, r.s.collected = r.s.collected, ""
		prompt, ok := n.Lookup.Statuses[e.Status]
		if !ok {
			prompt = n.Lookup.OtherStatus
		}
		// The caller asked for this: let them hear it through; keys wait as type-ahead.
		r.play([]PromptName{prompt}, false, afterGoto, n.Next)
	default:
		r.trace(StepLookup, "not found")
		r.fail(n.Lookup.NotFound)
	}
}

func (r *run) lookupFailed() {
	n := r.node()
	r.trace(StepLookup, "failed")
	r.s.collected = ""
	r.play([]PromptName{n.Lookup.Failed}, false, afterGoto, n.Input.Fallback)
}

// leave ends the menu at a terminal node.
func (r *run) leave() {
	n := r.node()
	r.cancelTimer()
	r.s.phase, r.s.typeahead = phaseDone, ""
	r.s.caseKind = n.CaseKind
	switch n.Kind {
	case KindQueue:
		r.s.outcome = OutcomeQueued
		r.emit(Enqueue{Node: n.ID, Queue: n.Queue.Name, Skills: r.skills(n), Priority: n.Queue.Priority,
			CaseKind: n.CaseKind, Language: r.s.lang, CaseNumber: r.s.caseNumber})
	case KindEmergency:
		r.s.outcome = OutcomeEmergency
		r.emit(Emergency{Node: n.ID, Queue: n.Queue.Name, Skills: r.skills(n), CaseKind: n.CaseKind, Language: r.s.lang})
	case KindVoicemail:
		r.s.outcome = OutcomeVoicemail
		r.emit(Record{Node: n.ID, CaseKind: n.CaseKind, MaxLength: n.Voicemail.MaxLength,
			MaxSilence: n.Voicemail.MaxSilence, Beep: n.Voicemail.Beep, Terminator: '#', Language: r.s.lang})
	case KindTransfer:
		r.s.outcome = OutcomeTransferred
		r.emit(Transfer{Node: n.ID, Number: n.Number, CaseKind: n.CaseKind})
	case KindHangup:
		r.s.outcome = OutcomeHungUp
		if r.s.caseNumber != "" {
			r.s.outcome, r.s.caseKind = OutcomeLookupDone, ""
		}
		r.emit(Hangup{Node: n.ID})
	}
	r.trace(StepLeft, r.s.outcome.String())
}

// skills are a queue node's skills plus those its language asks for; on a clash the
// higher level wins.
func (r *run) skills(n *Node) []Skill {
	out := append([]Skill(nil), n.Queue.Skills...)
	for _, s := range r.m.menu.LanguageSkills[r.s.lang] {
		merged := false
		for i := range out {
			if out[i].Name == s.Name {
				out[i].Level = max(out[i].Level, s.Level)
				merged = true
			}
		}
		if !merged {
			out = append(out, s)
		}
	}
	return out
}

func (r *run) callerHangup() {
	if r.s.phase == phaseIdle {
		return
	}
	// The channel is gone, and its playback with it; only the timer is ours to clear.
	r.cancelTimer()
	r.s.playback = ""
	r.trace(StepHangup, "")
	r.s.phase, r.s.typeahead = phaseDone, ""
	if r.s.caseNumber != "" {
		r.s.outcome, r.s.caseKind = OutcomeLookupDone, ""
	} else {
		r.s.outcome, r.s.caseKind = OutcomeHungUpInMenu, CaseInvalid
	}
}
