package ivr

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// caseNo is 620000-20261127-000123 as a caller keys it.
const caseNo = "62000020261127000123"

var (
	open   = fixedHours{open: true}
	closed = fixedHours{open: false}
)

func TestDefaultMenuPaths(t *testing.T) {
	enqueue := func(node, queue string, skill string, p Priority, k CaseKind, lang Language, caseNumber string) Enqueue {
		var skills []Skill
		for _, s := range strings.Fields(skill) {
			skills = append(skills, Skill{Name: s, Level: 1})
		}
		return Enqueue{Node: NodeID(node), Queue: queue, Skills: skills, Priority: p, CaseKind: k, Language: lang, CaseNumber: caseNumber}
	}
	voicemail := Record{Node: "night-voicemail", CaseKind: CaseConsult, MaxLength: 3 * time.Minute, MaxSilence: 10 * time.Second, Beep: true, Terminator: '#', Language: "zh"}
	tests := []struct {
		name   string
		hours  Hours
		script string
		// want
		outcome    Outcome
		kind       CaseKind
		path       string
		plays      string // space-separated, "" to skip the check
		leave      Action // nil to skip the check
		caseNumber string
	}{
		{
			name: "consult", hours: open, script: "fin 1 1 fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path:  "welcome language hours main consult",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:connecting",
			leave: enqueue("consult", "general", "consult", PriorityConsult, CaseConsult, "zh", ""),
		},
		{
			name: "complaint", hours: open, script: "fin 1 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			path:  "welcome language hours main complaint",
			leave: enqueue("complaint", "general", "complaint", PriorityComplaint, CaseComplaint, "zh", ""),
		},
		{
			name: "report", hours: open, script: "fin 1 3 fin",
			outcome: OutcomeQueued, kind: CaseReport,
			path:  "welcome language hours main report",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:connecting-report",
			leave: enqueue("report", "general", "report", PriorityReport, CaseReport, "zh", ""),
		},
		{
			name: "agent", hours: open, script: "fin 1 0 fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path:  "welcome language hours main agent",
			leave: enqueue("agent", "general", "", PriorityConsult, CaseConsult, "zh", ""),
		},
		{
			name: "emergency", hours: open, script: "fin 1 9 fin",
			outcome: OutcomeEmergency, kind: CaseReport,
			path:  "welcome language hours main emergency",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:connecting-emergency",
			leave: Emergency{Node: "emergency", Queue: "emergency", Skills: []Skill{{"emergency", 1}}, CaseKind: CaseReport, Language: "zh"},
		},
		{
			name: "merged line: product quality", hours: open, script: "fin 1 5 1 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			path:  "welcome language hours main lines product-quality",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:lines-menu zh:connecting",
			leave: enqueue("product-quality", "general", "product_quality", PriorityComplaint, CaseComplaint, "zh", ""),
		},
		{
			name: "merged line: food and drug", hours: open, script: "fin 1 5 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, path: "welcome language hours main lines food-drug",
			leave: enqueue("food-drug", "general", "food_drug", PriorityComplaint, CaseComplaint, "zh", ""),
		},
		{
			name: "merged line: price", hours: open, script: "fin 1 5 3 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, path: "welcome language hours main lines price",
			leave: enqueue("price", "general", "price", PriorityComplaint, CaseComplaint, "zh", ""),
		},
		{
			name: "merged line: intellectual property", hours: open, script: "fin 1 5 4 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, path: "welcome language hours main lines intellectual-property",
			leave: enqueue("intellectual-property", "general", "intellectual_property", PriorityComplaint, CaseComplaint, "zh", ""),
		},
		{
			name: "merged lines: agent", hours: open, script: "fin 1 5 0 fin",
			outcome: OutcomeQueued, kind: CaseConsult, path: "welcome language hours main lines agent",
		},
		{
			name: "merged lines: star goes back", hours: open, script: "fin 1 5 * 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, path: "welcome language hours main lines main complaint",
		},
		{
			name: "case progress found, then silence says goodbye", hours: open,
			script:  "fin 1 4 " + caseNo + "# found=accepted fin fin tick fin",
			outcome: OutcomeLookupDone, kind: "", caseNumber: caseNo,
			path:  "welcome language hours main progress after-progress goodbye",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:status-accepted zh:after-progress zh:goodbye",
			leave: Hangup{Node: "goodbye"},
		},
		{
			name: "case progress found, unknown status", hours: open,
			script:  "fin 1 4 " + caseNo + "# found=pending-appraisal fin fin tick fin",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
			path:  "welcome language hours main progress after-progress goodbye",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:status-in-progress zh:after-progress zh:goodbye",
		},
		{
			name: "case progress found, then an agent who sees the case", hours: open,
			script:  "fin 1 4 " + caseNo + "# found=closed fin 0 fin",
			outcome: OutcomeQueued, kind: CaseConsult, caseNumber: caseNo,
			path:  "welcome language hours main progress after-progress agent",
			leave: enqueue("agent", "general", "", PriorityConsult, CaseConsult, "zh", caseNo),
		},
		{
			name: "case progress found, back to the main menu", hours: open,
			script:  "fin 1 4 " + caseNo + "# found=closed fin 1 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, caseNumber: caseNo,
			path: "welcome language hours main progress after-progress main complaint",
		},
		{
			name: "case progress: hang up after hearing the status", hours: open,
			script:  "fin 1 4 " + caseNo + "# found=mediating fin hangup",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
			path: "welcome language hours main progress after-progress",
		},
		{
			name: "case progress: not found, retry, found", hours: open,
			script:  "fin 1 4 " + caseNo + "# notfound " + caseNo + "# found=dispatched fin fin tick fin",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
			path:  "welcome language hours main progress after-progress goodbye",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:case-not-found+enter-case-number zh:status-dispatched zh:after-progress zh:goodbye",
		},
		{
			name: "case progress: not found three times goes to an agent", hours: open,
			script:  "fin 1 4 " + strings.Repeat(caseNo+"# notfound ", 3) + "fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path: "welcome language hours main progress agent",
		},
		{
			name: "case progress: look-up fails", hours: open,
			script:  "fin 1 4 " + caseNo + "# lookupfail fin fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path:  "welcome language hours main progress agent",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:lookup-failed zh:connecting",
		},
		{
			name: "case progress: look-up never answers", hours: open,
			script:  "fin 1 4 " + caseNo + "# tick fin fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path:  "welcome language hours main progress agent",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:lookup-failed zh:connecting",
		},
		{
			name: "case progress: too few digits, then right", hours: open,
			script:  "fin 1 4 123# " + caseNo + "# found=accepted fin hangup",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:invalid-choice+enter-case-number zh:status-accepted zh:after-progress",
		},
		{
			name: "case progress: a 21st digit is wrong", hours: open,
			script:  "fin 1 4 " + caseNo + "5 hangup",
			outcome: OutcomeHungUpInMenu, kind: CaseInvalid,
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:invalid-choice+enter-case-number",
		},
		{
			name: "case progress: 20 digits and a pause count as entered", hours: open,
			script:  "fin 1 4 " + caseNo + " tick found=closed fin hangup",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
		},
		{
			name: "case progress: a pause after a few digits is an incomplete entry", hours: open,
			script:  "fin 1 4 620000 tick hangup",
			outcome: OutcomeHungUpInMenu, kind: CaseInvalid,
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:enter-case-number zh:invalid-choice+enter-case-number",
		},
		{
			name: "night: emergency is still reachable", hours: closed, script: "fin 1 9 fin",
			outcome: OutcomeEmergency, kind: CaseReport,
			path:  "welcome language hours night emergency",
			plays: "zh:welcome+recording-notice zh:choose-language zh:night-menu zh:connecting-emergency",
		},
		{
			name: "night: voicemail with a callback", hours: closed, script: "fin 1 1 fin",
			outcome: OutcomeVoicemail, kind: CaseConsult,
			path:  "welcome language hours night night-voicemail",
			plays: "zh:welcome+recording-notice zh:choose-language zh:night-menu zh:voicemail-intro",
			leave: voicemail,
		},
		{
			name: "night: a silent caller is offered voicemail", hours: closed, script: "fin 1 fin tick fin tick fin",
			outcome: OutcomeVoicemail, kind: CaseConsult,
			path:  "welcome language hours night night-voicemail",
			plays: "zh:welcome+recording-notice zh:choose-language zh:night-menu zh:no-input+night-menu zh:voicemail-intro",
		},
		{
			name: "night: the main menu's keys are not offered", hours: closed, script: "fin 1 2 0 fin",
			outcome: OutcomeVoicemail, kind: CaseConsult,
			path:  "welcome language hours night night-voicemail",
			plays: "zh:welcome+recording-notice zh:choose-language zh:night-menu zh:invalid-choice+night-menu zh:voicemail-intro",
		},
		{
			name: "night: case progress works without agents", hours: closed,
			script:  "fin 1 4 " + caseNo + "# found=accepted fin fin",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
			path: "welcome language hours night night-progress goodbye",
		},
		{
			name: "night: case progress failure leads to voicemail", hours: closed,
			script:  "fin 1 4 " + caseNo + "# lookupfail fin fin",
			outcome: OutcomeVoicemail, kind: CaseConsult,
			path:  "welcome language hours night night-progress night-voicemail",
			plays: "zh:welcome+recording-notice zh:choose-language zh:night-menu zh:enter-case-number zh:lookup-failed-night zh:voicemail-intro",
		},
		{
			name: "English chosen: prompts and queue skills follow", hours: open, script: "fin 2 1 fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			plays: "zh:welcome+recording-notice zh:choose-language en:main-menu en:connecting",
			leave: Enqueue{Node: "consult", Queue: "general", Skills: []Skill{{"consult", 1}, {"english", 1}},
				Priority: PriorityConsult, CaseKind: CaseConsult, Language: "en"},
		},
		{
			name: "English channel, no choice: stays English", hours: open, script: "start=en fin fin tick 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			path:  "welcome language hours main complaint",
			plays: "en:welcome+recording-notice en:choose-language en:main-menu en:connecting",
		},
		{
			name: "English channel chooses Mandarin", hours: open, script: "start=en fin 1 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			plays: "en:welcome+recording-notice en:choose-language zh:main-menu zh:connecting",
		},
		{
			name: "unknown channel language starts in the default", hours: open, script: "start=fr fin 1 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:connecting",
		},
		{
			name: "wrong key at the language choice keeps the default", hours: open, script: "fin 7 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			path: "welcome language hours main complaint",
		},
		{
			name: "no input at the main menu, three times: an agent", hours: open,
			script:  "fin 1 fin tick fin tick fin tick fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path:  "welcome language hours main agent",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:no-input+main-menu zh:no-input+main-menu zh:connecting",
		},
		{
			name: "wrong key, then right", hours: open, script: "fin 1 7 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			path:  "welcome language hours main complaint",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:invalid-choice+main-menu zh:connecting",
		},
		{
			name: "wrong keys three times: an agent", hours: open, script: "fin 1 7 8 # fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path:  "welcome language hours main agent",
			plays: "zh:welcome+recording-notice zh:choose-language zh:main-menu zh:invalid-choice+main-menu zh:invalid-choice+main-menu zh:connecting",
		},
		{
			name: "wrong key and no input count together", hours: open, script: "fin 1 7 fin tick 8 fin",
			outcome: OutcomeQueued, kind: CaseConsult,
			path: "welcome language hours main agent",
		},
		{
			name: "hang up in the main menu: an invalid case", hours: open, script: "fin 1 hangup",
			outcome: OutcomeHungUpInMenu, kind: CaseInvalid,
			path: "welcome language hours main",
		},
		{
			name: "hang up during the welcome", hours: open, script: "hangup",
			outcome: OutcomeHungUpInMenu, kind: CaseInvalid, path: "welcome",
		},
		{
			name: "hang up while being connected: still no content", hours: open, script: "fin 1 2 hangup",
			outcome: OutcomeHungUpInMenu, kind: CaseInvalid,
		},
		{
			name: "keys during the welcome are type-ahead", hours: open, script: "12 fin fin",
			outcome: OutcomeQueued, kind: CaseComplaint,
			path:  "welcome language hours main complaint",
			plays: "zh:welcome+recording-notice zh:connecting",
		},
		{
			name: "type-ahead of a case number", hours: open, script: "14" + caseNo + "# fin found=accepted fin hangup",
			outcome: OutcomeLookupDone, caseNumber: caseNo,
			plays: "zh:welcome+recording-notice zh:status-accepted zh:after-progress",
		},
		{
			name: "a wrong key drops the rest of the type-ahead", hours: open, script: "172 fin fin tick 3 fin",
			outcome: OutcomeQueued, kind: CaseReport,
			plays: "zh:welcome+recording-notice zh:invalid-choice+main-menu zh:no-input+main-menu zh:connecting-report",
		},
		{
			name: "keys while being connected are dropped", hours: open, script: "fin 1 2 5 0 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, path: "welcome language hours main complaint",
		},
		{
			name: "the guard timer moves on when a prompt's end is lost", hours: open, script: "tick 1 2 fin",
			outcome: OutcomeQueued, kind: CaseComplaint, path: "welcome language hours main complaint",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCall(t, defaultMachine(t, tt.hours))
			c.run(tt.script)
			if !c.s.Done() {
				t.Fatalf("still in the menu at %q; path %s", c.s.Node(), c.path())
			}
			r := c.s.Result()
			if r.Outcome != tt.outcome || r.CaseKind != tt.kind || r.CaseNumber != tt.caseNumber {
				t.Errorf("result %s/%q/%q, want %s/%q/%q", r.Outcome, r.CaseKind, r.CaseNumber, tt.outcome, tt.kind, tt.caseNumber)
			}
			if tt.path != "" && c.path() != tt.path {
				t.Errorf("path\n got %s\nwant %s", c.path(), tt.path)
			}
			if got := strings.Join(c.plays(), " "); tt.plays != "" && got != tt.plays {
				t.Errorf("plays\n got %s\nwant %s", got, tt.plays)
			}
			if tt.leave != nil && !reflect.DeepEqual(c.terminal(), tt.leave) {
				t.Errorf("left with\n %#v\nwant\n %#v", c.terminal(), tt.leave)
			}
		})
	}
}

func TestBargeIn(t *testing.T) {
	c := newCall(t, defaultMachine(t, open))
	c.run("fin 1")
	mainPrompt := c.playing
	if mainPrompt == "" {
		t.Fatal("main menu prompt not playing")
	}
	acts := c.send(DTMF{At: c.now, Digit: '2'})
	if stop, ok := acts[0].(StopPlayback); !ok || stop.Playback != mainPrompt {
		t.Fatalf("first action on a key during the menu prompt: %#v, want StopPlayback of %s", acts[0], mainPrompt)
	}
	if c.s.Node() != "complaint" {
		t.Fatalf("key taken to %q, want complaint", c.s.Node())
	}
	// Asterisk still reports the stopped playback's end: nothing must happen.
	if acts := c.send(PromptFinished{At: c.now, Playback: mainPrompt}); len(acts) != 0 {
		t.Fatalf("stale PromptFinished gave %#v", acts)
	}
}

func TestNonInterruptiblePromptIsNotStopped(t *testing.T) {
	c := newCall(t, defaultMachine(t, open))
	c.run("")
	for _, d := range "1" {
		acts := c.send(DTMF{At: c.now, Digit: Digit(d)})
		if len(acts) != 0 {
			t.Fatalf("key during the recording notice gave %#v, want nothing", acts)
		}
	}
	if c.playing == "" {
		t.Fatal("the recording notice was stopped")
	}
}

func TestTypeaheadLimit(t *testing.T) {
	c := newCall(t, defaultMachine(t, open))
	c.run("")
	for i := 0; i < MaxTypeahead+10; i++ {
		c.send(DTMF{At: c.now, Digit: '7'})
	}
	if len(c.s.typeahead) != MaxTypeahead {
		t.Fatalf("type-ahead holds %d keys, want %d", len(c.s.typeahead), MaxTypeahead)
	}
}

func TestStaleTimeoutIgnored(t *testing.T) {
	c := newCall(t, defaultMachine(t, open))
	c.run("fin")
	old := c.s.Timer()
	c.run("1") // barge-in: the language prompt's guard timer is cancelled
	if acts := c.send(Timeout{At: c.now, Timer: old}); len(acts) != 0 {
		t.Fatalf("cancelled timer's Timeout gave %#v", acts)
	}
}

func TestEventsAfterTheMenuAreIgnored(t *testing.T) {
	c := newCall(t, defaultMachine(t, open))
	c.run("fin 1 2 fin")
	for _, e := range []Event{DTMF{Digit: '1'}, Timeout{Timer: "t1"}, PromptFinished{Playback: "p1"}, LookupResult{Found: true}, CallerHangup{}, Start{}} {
		if acts := c.send(e); len(acts) != 0 {
			t.Errorf("%T after the menu gave %#v", e, acts)
		}
	}
	if c.s.Result().Outcome != OutcomeQueued {
		t.Errorf("outcome changed to %s", c.s.Result().Outcome)
	}
}

func TestEventsBeforeStartAreIgnored(t *testing.T) {
	m := defaultMachine(t, open)
	var s State
	for _, e := range []Event{DTMF{Digit: '1'}, Timeout{Timer: "t1"}, PromptFinished{Playback: "p1"}, LookupResult{}, CallerHangup{}} {
		next, acts := m.Step(s, e)
		if len(acts) != 0 || next != s {
			t.Errorf("%T before Start gave %#v", e, acts)
		}
	}
}

func TestStepIsPure(t *testing.T) {
	m := defaultMachine(t, open)
	c := newCall(t, m)
	c.run("12") // a state holding type-ahead
	s := c.s
	copyBefore := s
	a1, x1 := m.Step(s, PromptFinished{At: t0, Playback: c.playing})
	a2, x2 := m.Step(s, PromptFinished{At: t0, Playback: c.playing})
	if s != copyBefore {
		t.Fatal("Step changed the state it was given")
	}
	if a1 != a2 || !reflect.DeepEqual(x1, x2) {
		t.Fatal("the same step gave different results")
	}
}

func TestPathRecordsKeysAndTimes(t *testing.T) {
	c := newCall(t, defaultMachine(t, open))
	c.run("fin 1 7 2")
	var got []string
	for _, a := range c.all {
		if p, ok := a.(PathStep); ok {
			got = append(got, string(p.Node)+"/"+p.Step.String()+"/"+p.Input+"/"+p.At.Sub(t0).String())
		}
	}
	want := []string{
		"welcome/entered//500ms",
		"language/entered//1s",
		"language/key/1/1.5s",
		"hours/entered//1.5s",
		"main/entered//1.5s",
		"main/invalid/7/2s",
		"main/key/2/2.5s",
		"complaint/entered//2.5s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("path\n got %q\nwant %q", got, want)
	}
}

func TestHoursAreAskedAtTheEventTime(t *testing.T) {
	var asked []time.Time
	h := hoursAt(func(t time.Time) bool { asked = append(asked, t); return true })
	c := newCall(t, defaultMachine(t, h))
	c.run("fin 1")
	if len(asked) != 1 || !asked[0].Equal(t0.Add(1500*time.Millisecond)) {
		t.Fatalf("hours asked at %v, want once at %v", asked, t0.Add(1500*time.Millisecond))
	}
}

type hoursAt func(time.Time) bool

func (f hoursAt) IsOpen(t time.Time) bool { return f(t) }

const holidayMenu = `
start: h
languages: [zh]
nodes:
  h:
    kind: hours
    open: day
    closed: night
    holiday: festival
  day: {kind: hangup, case_kind: consult}
  night: {kind: hangup, case_kind: report}
  festival: {kind: hangup, case_kind: help}
prompts: {}
`

func TestHolidayBranch(t *testing.T) {
	menu, err := Load("holiday.yaml", []byte(holidayMenu))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hours fixedHours
		want  NodeID
	}{
		{fixedHours{open: true}, "day"},
		{fixedHours{open: false}, "night"},
		{fixedHours{open: false, holiday: true}, "festival"},
		{fixedHours{open: true, holiday: true}, "day"}, // a staffed holiday is open
	}
	for _, tt := range tests {
		m, err := NewMachine(menu, tt.hours)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := m.Step(State{}, Start{At: t0, Language: "zh"})
		if s.Result().Node != tt.want {
			t.Errorf("%+v: left from %q, want %q", tt.hours, s.Result().Node, tt.want)
		}
	}
	if _, err := NewMachine(menu, onlyHours{}); err == nil || !strings.Contains(err.Error(), `node "h" has a holiday branch`) {
		t.Errorf("holiday branch with an Hours that cannot tell holidays: %v", err)
	}
}

func TestNewMachineRefuses(t *testing.T) {
	menu, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		menu  *Menu
		hours Hours
		want  string
	}{
		{"nil menu", nil, open, "not loaded and validated"},
		{"hand-built menu", &Menu{Start: "x"}, open, "not loaded and validated"},
		{"hours node without hours", menu, nil, `node "hours" branches on opening hours, but no Hours was given`},
	}
	for _, tt := range tests {
		if _, err := NewMachine(tt.menu, tt.hours); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to say %q", tt.name, err, tt.want)
		}
	}
}

const collectMenu = `
start: pick
languages: [zh]
defaults: {fallback: bye}
nodes:
  pick:
    kind: menu
    prompts: [p/ask]
    choices: {"1": ask, "2": short}
  ask:
    kind: collect
    prompts: [p/ask]
    min_digits: 7
    max_digits: 11
    terminator: "#"
    var: callback_number
    next: bye
  short:
    kind: collect
    prompts: [p/ask]
    digits: 3
    next: bye
  bye: {kind: hangup}
prompts:
  p/ask: {zh: 请输入}
`

func TestCollect(t *testing.T) {
	menu, err := Load("collect.yaml", []byte(collectMenu))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMachine(menu, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, script string
		node         NodeID
		want         string // the collected value, "" for none
	}{
		{"terminator", "1 13800138000#", "ask", "13800138000"},
		{"terminator after fewer than max", "1 8881234#", "ask", "8881234"},
		{"pause after min digits", "1 8881234 tick", "ask", "8881234"},
		{"too short is retried", "1 123# 8881234#", "ask", "8881234"},
		{"no terminator: ends at the count", "2 123", "short", "123"},
		{"star is not a digit", "2 1* tick tick tick", "short", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCall(t, m)
			c.run(tt.script)
			var got []Collected
			for _, a := range c.all {
				if col, ok := a.(Collected); ok {
					got = append(got, col)
				}
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("collected %+v, want nothing", got)
				}
				return
			}
			want := []Collected{{Node: tt.node, Var: string(tt.node), Value: tt.want}}
			if tt.node == "ask" {
				want[0].Var = "callback_number"
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("collected %+v, want %+v", got, want)
			}
			for _, a := range c.all {
				if p, ok := a.(PathStep); ok && p.Step == StepCollected && p.Input != strings.Repeat("*", len(tt.want)) {
					t.Fatalf("path shows collected digits %q: must be masked", p.Input)
				}
			}
		})
	}
}
