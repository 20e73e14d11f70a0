package ivr

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A test shell: it plays the machine's actions against a model of what the real shell
// would hold (running timers, the playing prompt) and checks after every step that the
// machine and that model agree, and that a call still in the menu always has a timer.

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// fixedHours is an Hours (and Holidays) with fixed answers.
type fixedHours struct{ open, holiday bool }

func (h fixedHours) IsOpen(time.Time) bool    { return h.open }
func (h fixedHours) IsHoliday(time.Time) bool { return h.holiday }

// onlyHours cannot tell holidays.
type onlyHours struct{}

func (onlyHours) IsOpen(time.Time) bool { return true }

type call struct {
	tb      testing.TB
	m       *Machine
	s       State
	now     time.Time
	timers  map[TimerID]time.Duration // running, as the shell sees them
	playing PlaybackID                // playing, as the shell sees it
	all     []Action
	last    []Action
	events  []Event
	leaves  int  // terminal actions seen
	hungUp  bool // the caller hung up while in the menu
}

func newCall(tb testing.TB, m *Machine) *call {
	return &call{tb: tb, m: m, now: t0, timers: map[TimerID]time.Duration{}}
}

func (c *call) fatalf(format string, args ...any) {
	c.tb.Helper()
	c.tb.Fatalf("at node %q (%s): %s", c.s.Node(), c.s.phase.debug(), fmt.Sprintf(format, args...))
}

func (p phase) debug() string {
	return [...]string{"idle", "playing", "listening", "looking up", "done"}[p]
}

// send steps the machine with one event and checks the result.
func (c *call) send(e Event) []Action {
	c.tb.Helper()
	switch e := e.(type) {
	case Timeout:
		delete(c.timers, e.Timer)
	case PromptFinished:
		if e.Playback == c.playing {
			c.playing = ""
		}
	}
	before := c.s
	if _, ok := e.(CallerHangup); ok && !before.Done() && before.phase != phaseIdle {
		c.hungUp = true
	}
	s, acts := c.m.Step(c.s, e)
	c.events = append(c.events, e)
	if before.Done() && len(acts) > 0 {
		c.fatalf("a finished call answered %T with %v", e, acts)
	}
	c.s, c.last = s, acts
	c.all = append(c.all, acts...)
	for _, a := range acts {
		c.apply(a)
	}
	c.check()
	return acts
}

func (c *call) apply(a Action) {
	c.tb.Helper()
	switch a := a.(type) {
	case StartTimer:
		if a.After <= 0 {
			c.fatalf("timer %s for %v", a.Timer, a.After)
		}
		if _, dup := c.timers[a.Timer]; dup {
			c.fatalf("timer %s started twice", a.Timer)
		}
		c.timers[a.Timer] = a.After
	case CancelTimer:
		if _, ok := c.timers[a.Timer]; !ok {
			c.fatalf("cancel of timer %s, which is not running", a.Timer)
		}
		delete(c.timers, a.Timer)
	case Play:
		if c.playing != "" {
			c.fatalf("play %s while %s still plays", a.Playback, c.playing)
		}
		if len(a.Prompts) == 0 {
			c.fatalf("play %s of nothing", a.Playback)
		}
		for _, p := range a.Prompts {
			def, ok := c.m.menu.prompts[p]
			if !ok || def.text[a.Language] == "" {
				c.fatalf("play of prompt %q, which has no %s text", p, a.Language)
			}
		}
		c.playing = a.Playback
	case StopPlayback:
		if a.Playback != c.playing {
			c.fatalf("stop of %s, but %q plays", a.Playback, c.playing)
		}
		c.playing = ""
	case Enqueue, Record, Emergency, Transfer, Hangup:
		c.leaves++
	}
}

// check holds after every step: a call in the menu waits with exactly one timer running
// (so no call can be stranded), and a call out of it holds none.
func (c *call) check() {
	c.tb.Helper()
	if c.s.Done() {
		if len(c.timers) != 0 {
			c.fatalf("done with timers still running: %v", c.timers)
		}
		r := c.s.Result()
		if r.Outcome == OutcomeNone {
			c.fatalf("done without an outcome")
		}
		want := 1
		if c.hungUp {
			want = 0
			if r.Outcome != OutcomeHungUpInMenu && r.Outcome != OutcomeLookupDone {
				c.fatalf("caller hung up, outcome %s", r.Outcome)
			}
		}
		if c.leaves != want {
			c.fatalf("%d terminal actions for outcome %s, want %d", c.leaves, r.Outcome, want)
		}
		return
	}
	if c.s.phase == phaseIdle {
		return
	}
	if len(c.timers) != 1 {
		c.fatalf("in the menu with %d timers running, want 1: %v", len(c.timers), c.timers)
	}
	if _, ok := c.timers[c.s.Timer()]; !ok {
		c.fatalf("state's timer %q is not the running one %v", c.s.Timer(), c.timers)
	}
	if c.s.Playback() != c.playing {
		c.fatalf("state plays %q, shell plays %q", c.s.Playback(), c.playing)
	}
	if c.leaves != 0 {
		c.fatalf("still in the menu after a terminal action")
	}
}

// run plays a script: "fin" finishes the playing prompt, "tick" fires the running timer,
// a run of 0-9*# presses keys, "found=<status>", "notfound" and "lookupfail" answer a
// look-up, "hangup" hangs up, "start=<lang>" starts the call (else it starts in zh).
func (c *call) run(script string) {
	c.tb.Helper()
	toks := strings.Fields(script)
	if len(toks) == 0 || !strings.HasPrefix(toks[0], "start=") {
		toks = append([]string{"start=zh"}, toks...)
	}
	for _, tok := range toks {
		c.do(tok)
	}
}

func (c *call) do(tok string) {
	c.tb.Helper()
	c.now = c.now.Add(500 * time.Millisecond)
	switch {
	case strings.HasPrefix(tok, "start="):
		c.send(Start{At: c.now, Language: Language(strings.TrimPrefix(tok, "start="))})
	case tok == "fin":
		if c.playing == "" {
			c.fatalf("fin: nothing plays")
		}
		c.send(PromptFinished{At: c.now, Playback: c.playing})
	case tok == "tick":
		d, ok := c.timers[c.s.Timer()]
		if !ok {
			c.fatalf("tick: no timer runs")
		}
		c.now = c.now.Add(d)
		c.send(Timeout{At: c.now, Timer: c.s.Timer()})
	case tok == "hangup":
		c.send(CallerHangup{At: c.now})
	case tok == "notfound":
		c.send(LookupResult{At: c.now})
	case tok == "lookupfail":
		c.send(LookupResult{At: c.now, Failed: true})
	case strings.HasPrefix(tok, "found="):
		c.send(LookupResult{At: c.now, Found: true, Status: strings.TrimPrefix(tok, "found=")})
	default:
		for i := 0; i < len(tok); i++ {
			d, err := ParseDigit(tok[i : i+1])
			if err != nil {
				c.fatalf("bad script token %q", tok)
			}
			c.send(DTMF{At: c.now, Digit: d})
		}
	}
}

// path lists the nodes the call entered, in order.
func (c *call) path() string {
	var ids []string
	for _, a := range c.all {
		if p, ok := a.(PathStep); ok && p.Step == StepEntered {
			ids = append(ids, string(p.Node))
		}
	}
	return strings.Join(ids, " ")
}

// plays lists what was played, each as lang:prompt+prompt.
func (c *call) plays() []string {
	var out []string
	for _, a := range c.all {
		if p, ok := a.(Play); ok {
			names := make([]string, len(p.Prompts))
			for i, n := range p.Prompts {
				names[i] = strings.TrimPrefix(string(n), "hotline/")
			}
			out = append(out, string(p.Language)+":"+strings.Join(names, "+"))
		}
	}
	return out
}

// terminal returns the action the call left the menu with, or nil.
func (c *call) terminal() Action {
	for _, a := range c.all {
		switch a.(type) {
		case Enqueue, Record, Emergency, Transfer, Hangup:
			return a
		}
	}
	return nil
}

// silentFinish plays a caller who does nothing more: prompts end, timers run out, look-ups
// find nothing. The call must leave the menu within limit events.
func (c *call) silentFinish(limit int) {
	c.tb.Helper()
	for i := 0; !c.s.Done(); i++ {
		if i == limit {
			c.fatalf("still in the menu after %d events of a silent caller; path %s", limit, c.path())
		}
		c.now = c.now.Add(time.Second)
		switch {
		case c.s.phase == phaseLookingUp && i%2 == 0:
			c.send(LookupResult{At: c.now})
		case c.playing != "" && i%3 != 2:
			c.send(PromptFinished{At: c.now, Playback: c.playing})
		default:
			c.do("tick")
		}
	}
}

func defaultMachine(tb testing.TB, hours Hours) *Machine {
	tb.Helper()
	menu, err := Default()
	if err != nil {
		tb.Fatalf("default menu: %v", err)
	}
	m, err := NewMachine(menu, hours)
	if err != nil {
		tb.Fatalf("machine: %v", err)
	}
	return m
}
