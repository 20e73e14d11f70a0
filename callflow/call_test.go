package callflow

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/audio"
	"hotline/cases"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/recordstore"
)

// Component tests of one call's goroutine: the default menu, fakes for the PBX and the
// case store, a manual clock. No network.

const chanID = "1795764449.9418"

const welcomeMedia = "sound:hotline/welcome,sound:hotline/recording-notice"

var shanghai = mustLoc("Asia/Shanghai")

// t0 is a Friday morning: the line is open.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, shanghai)

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type fixedHours struct{ open bool }

func (h fixedHours) IsOpen(time.Time) bool    { return h.open }
func (h fixedHours) IsHoliday(time.Time) bool { return false }

// unit is one call run by the call goroutine against fakes.
type unit struct {
	t       *testing.T
	pbx     *fakePBX
	store   *fakeStore
	clock   *fakeClock
	queue   Queue
	hours   ivr.Hours
	channel pbx.Channel
	recs    *recordstore.Store
	menu    []byte       // a menu of the test's own; nil: the default menu
	log     *slog.Logger // nil: quiet
	r       *Runner
	feed    *pbx.Feed
	cancel  context.CancelFunc
	done    chan struct{}
}

func newUnit(t *testing.T) *unit {
	recs, err := recordstore.New(filepath.Join(t.TempDir(), "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	return &unit{
		t: t, pbx: newFakePBX(), store: newFakeStore(), clock: newFakeClock(t0), hours: fixedHours{open: true},
		channel: pbx.Channel{ID: chanID, Name: "PJSIP/hotline-client-00000001", State: "Ring", CallerNumber: "13800000001",
			Language: "en", Exten: "12315"},
		recs: recs,
	}
}

func (u *unit) runner() *Runner {
	u.t.Helper()
	menu, err := ivr.Default()
	if u.menu != nil {
		menu, err = ivr.Load("test.yaml", u.menu)
	}
	if err != nil {
		u.t.Fatal(err)
	}
	m, err := ivr.NewMachine(menu, u.hours)
	if err != nil {
		u.t.Fatal(err)
	}
	dl, err := NewCalendarDeadlines()
	if err != nil {
		u.t.Fatal(err)
	}
	r, err := New(Config{Calls: fakeIncoming(nil), PBX: u.pbx, Cases: u.store, Recordings: u.recs, Machine: m,
		Deadlines: dl, Queue: u.queue, Clock: u.clock, Logger: cmp.Or(u.log, quiet)})
	if err != nil {
		u.t.Fatal(err)
	}
	return r
}

// start runs the call's goroutine, as Run would for one inbound call.
func (u *unit) start() *unit {
	u.r = u.runner()
	sub, feed := pbx.NewFeed(pbx.ChannelTarget(u.channel.ID))
	u.feed = feed
	feed.Send(pbx.Event{Type: pbx.StasisStart, Channel: u.channel})
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.done = make(chan struct{})
	go func() {
		defer close(u.done)
		u.r.handle(ctx, &pbx.InboundCall{Channel: u.channel, Events: sub})
	}()
	u.t.Cleanup(func() {
		cancel()
		feed.End()
		<-u.done
	})
	return u
}

func (u *unit) send(ev pbx.Event) {
	ev.Channel.ID = u.channel.ID
	u.feed.Send(ev)
}

func (u *unit) finished(playbackID, state string) {
	u.send(pbx.Event{Type: pbx.PlaybackFinished, PlaybackID: playbackID, PlaybackState: state})
}

func (u *unit) key(digits string) {
	for _, d := range digits {
		u.send(pbx.Event{Type: pbx.ChannelDtmfReceived, Digit: string(d)})
	}
}

// callerHangsUp sends what Asterisk sends when the caller hangs up.
func (u *unit) callerHangsUp() {
	u.send(pbx.Event{Type: pbx.ChannelHangupRequest})
	u.send(pbx.Event{Type: pbx.StasisEnd})
	u.feed.End()
}

func (u *unit) waitDone() {
	u.t.Helper()
	select {
	case <-u.done:
	case <-time.After(5 * time.Second):
		u.t.Fatalf("the call goroutine did not end within 5s; ops: %+v", u.pbx.snapshot())
	}
}

// ended waits for the call row to be closed.
func (u *unit) ended() endedCall {
	u.t.Helper()
	select {
	case id := <-u.store.endedSignal:
		u.store.mu.Lock()
		defer u.store.mu.Unlock()
		return u.store.ended[id]
	case <-time.After(5 * time.Second):
		u.t.Fatalf("the call row was not closed within 5s; ops: %+v", u.pbx.snapshot())
	}
	return endedCall{}
}

// toMainMenu walks from the welcome to the main menu in English and returns its play.
func (u *unit) toMainMenu() op {
	u.t.Helper()
	w := u.pbx.waitOp(u.t, "the welcome", isPlay(welcomeMedia))
	u.finished(w.ID, "done")
	l := u.pbx.waitOp(u.t, "the language prompt", isPlay("sound:hotline/choose-language"))
	u.key("2")
	u.pbx.waitOp(u.t, "the language prompt stopped", func(o op) bool { return o.Name == "stop" && o.ID == l.ID })
	return u.pbx.waitOp(u.t, "the main menu", isPlay("sound:hotline/main-menu"))
}

// toRecording walks from the main menu key to the start of the recording after the queue.
func (u *unit) toRecording(key, connecting string) op {
	u.t.Helper()
	u.toMainMenu()
	u.key(key)
	c := u.pbx.waitOp(u.t, "the connecting prompt", isPlay(connecting))
	u.finished(c.ID, "done")
	intro := u.pbx.waitOp(u.t, "the queue's prompt", isPlay("sound:hotline/voicemail-intro"))
	u.finished(intro.ID, "done")
	return u.pbx.waitOp(u.t, "the recording", isOp("record"))
}

func (u *unit) onlyCase() cases.Case {
	u.t.Helper()
	u.store.mu.Lock()
	defer u.store.mu.Unlock()
	var out []cases.Case
	for _, c := range u.store.cases {
		if c.ReceivedAt.Equal(t0) {
			out = append(out, *c)
		}
	}
	if len(out) != 1 {
		u.t.Fatalf("want one case of this call, have %d", len(out))
	}
	return out[0]
}

func wavBytes(t *testing.T, samples []int16) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := audio.WriteWAV(&b, samples); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCallOpensCaseAnswersAndWelcomes(t *testing.T) {
	tests := []struct {
		callerID string
		want     cases.Phone
	}{
		{"13800000001", "13800000001"},
		{"+86 138-0000-0002", "+8613800000002"},
		{"", ""},
		{"anonymous", ""}, // malformed: the call is kept, the number is not
	}
	for _, tt := range tests {
		t.Run(tt.callerID, func(t *testing.T) {
			u := newUnit(t)
			u.channel.CallerNumber = tt.callerID
			u.start()
			u.pbx.waitOp(t, "answer", isOp("answer"))
			w := u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
			if w.ID != chanID+"-p1" || w.Channel != chanID {
				t.Errorf("welcome played as %q on %q, want id %q (the machine's id prefixed with the channel's)", w.ID, w.Channel, chanID+"-p1")
			}
			c := u.onlyCase()
			if c.CallerNumber != tt.want || c.Kind != cases.KindConsult || c.Channel != cases.ChannelPhone || c.Status != cases.StatusDraft {
				t.Errorf("draft case %+v, want caller %q, consult, phone, draft", c, tt.want)
			}
			u.store.mu.Lock()
			answered := u.store.answered[cases.CallID(c.ID*10)]
			u.store.mu.Unlock()
			if !answered.Equal(t0) {
				t.Errorf("answered at %v, want %v", answered, t0)
			}
		})
	}
}

func TestBargeInStopsThePromptThenPlaysTheNext(t *testing.T) {
	u := newUnit(t)
	u.channel.Language = "" // not offered: the menu's default, zh, is set on the channel
	u.start()
	set := u.pbx.waitOp(t, "the default language", isOp("setvar"))
	if set.Var != "CHANNEL(language)" || set.Value != "zh" {
		t.Errorf("set %s=%s, want CHANNEL(language)=zh", set.Var, set.Value)
	}
	main := u.toMainMenu()
	ops := u.pbx.snapshot()
	var names []string
	lang := ""
	for _, o := range ops {
		if o.Media == "sound:hotline/choose-language" {
			lang = o.ID
		}
		switch o.Name {
		case "stop", "setvar":
			names = append(names, o.Name+":"+o.ID+o.Value)
		case "play":
			names = append(names, "play:"+o.ID)
		}
	}
	// The key stops the language prompt, switches to English, then the main menu plays.
	want := "setvar:zh play:" + chanID + "-p1 play:" + lang + " stop:" + lang + " setvar:en play:" + main.ID
	if got := strings.Join(names, " "); got != want {
		t.Errorf("ops\n got %s\nwant %s", got, want)
	}
	u.key("5") // barge into the main menu: the lines menu
	u.pbx.waitOp(t, "the main menu stopped", func(o op) bool { return o.Name == "stop" && o.ID == main.ID })
	u.pbx.waitOp(t, "the lines menu", isPlay("sound:hotline/lines-menu"))
}

func TestTimersRunOnTheInjectedClock(t *testing.T) {
	u := newUnit(t)
	u.start()
	w := u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
	u.clock.waitTimer(t, 3*time.Minute) // the guard while a prompt plays
	u.finished(w.ID, "done")
	l := u.pbx.waitOp(t, "the language prompt", isPlay("sound:hotline/choose-language"))
	u.finished(l.ID, "done")
	u.clock.waitTimer(t, 4*time.Second) // the language node's no-input timeout
	if n := u.clock.Advance(4*time.Second - time.Millisecond); n != 0 {
		t.Fatalf("%d timers fired before the timeout", n)
	}
	if n := u.clock.Advance(time.Millisecond); n != 1 {
		t.Fatalf("%d timers fired at the timeout, want 1", n)
	}
	// No input at the language node: on to the main menu, in the channel's language.
	u.pbx.waitOp(t, "the main menu", isPlay("sound:hotline/main-menu"))
	u.clock.waitTimer(t, 3*time.Minute)
	// The guard of a prompt whose end never comes moves the call on: the main menu's
	// no-input timer starts (8s), and after it the no-input prompt plays.
	u.clock.Advance(3 * time.Minute)
	u.pbx.waitOp(t, "the main menu stopped by its guard", isOp("stop"))
	u.clock.waitTimer(t, 8*time.Second)
	u.clock.Advance(8 * time.Second)
	u.pbx.waitOp(t, "the no-input retry", isPlay("sound:hotline/no-input,sound:hotline/main-menu"))
}

func TestPromptsThatCannotPlayDoNotStopTheCall(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*unit)
		finish func(u *unit, welcome op)
	}{
		{
			name:   "playback finished with state failed",
			finish: func(u *unit, w op) { u.finished(w.ID, "failed") },
		},
		{
			name: "play request refused",
			setup: func(u *unit) {
				u.pbx.play = func(_, media, _ string) error {
					if media == welcomeMedia {
						return fmt.Errorf("pbx play: %w", pbx.ErrServer)
					}
					return nil
				}
			},
			finish: func(*unit, op) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t)
			if tt.setup != nil {
				tt.setup(u)
			}
			u.start()
			w := u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
			tt.finish(u, w)
			u.pbx.waitOp(t, "the language prompt", isPlay("sound:hotline/choose-language"))
		})
	}
}

func TestCallerHangsUpInTheMenu(t *testing.T) {
	u := newUnit(t)
	u.start()
	u.toMainMenu()
	u.callerHangsUp()
	end := u.ended()
	u.waitDone()
	c := u.onlyCase()
	if c.Kind != cases.KindInvalid || c.Status != cases.StatusClosed || c.DueAt != nil {
		t.Errorf("case %+v, want invalid and closed, no due time", c)
	}
	if end.Outcome != OutcomeHungUpInMenu {
		t.Errorf("outcome %q", end.Outcome)
	}
	var path []struct {
		At    time.Time `json:"at"`
		Node  string    `json:"node"`
		Step  string    `json:"step"`
		Input string    `json:"input"`
	}
	if err := json.Unmarshal(end.Path, &path); err != nil {
		t.Fatalf("path %s: %v", end.Path, err)
	}
	var steps []string
	for _, p := range path {
		steps = append(steps, p.Node+":"+p.Step+":"+p.Input)
		if !p.At.Equal(t0) {
			t.Errorf("path step at %v, want the injected clock's %v", p.At, t0)
		}
	}
	want := "welcome:entered: language:entered: language:key:2 hours:entered: main:entered: main:hangup:"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("path\n got %s\nwant %s", got, want)
	}
	for _, o := range u.pbx.snapshot() {
		if o.Name == "hangup" {
			t.Errorf("hung up a channel the caller had already left")
		}
	}
}

func TestVoicemailAfterTheQueue(t *testing.T) {
	tone := audio.Tone(440, 0.3, 3*audio.SampleRate)
	tests := []struct {
		name      string
		file      func(string) ([]byte, error)
		hangsUp   bool // the caller hangs up instead of pressing #
		reason    cases.TaskReason
		recording bool
		message   string
	}{
		{name: "message", file: func(string) ([]byte, error) { return wavBytes(t, tone), nil },
			reason: cases.TaskVoicemail, recording: true, message: "recorded"},
		{name: "caller hangs up while recording", file: func(string) ([]byte, error) { return wavBytes(t, tone), nil },
			hangsUp: true, reason: cases.TaskVoicemail, recording: true, message: "recorded"},
		{name: "silent message", file: func(string) ([]byte, error) { return wavBytes(t, make([]int16, 8000)), nil },
			reason: cases.TaskMissed, recording: true, message: "silent"},
		{name: "nothing recorded", file: nil, reason: cases.TaskMissed, message: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t)
			u.pbx.file = tt.file
			u.start()
			rec := u.toRecording("2", "sound:hotline/connecting")
			want := pbx.RecordOptions{Name: "vm-" + chanID, Format: "wav", MaxDuration: 3 * time.Minute, MaxSilence: 10 * time.Second,
				Beep: true, TerminateOn: "#", IfExists: "fail"}
			if rec.Record != want || rec.Channel != chanID {
				t.Errorf("record %+v on %s, want %+v", rec.Record, rec.Channel, want)
			}
			if tt.hangsUp {
				u.send(pbx.Event{Type: pbx.ChannelHangupRequest})
				u.send(pbx.Event{Type: pbx.RecordingFinished, RecordingName: rec.ID, RecordingState: "done"})
				u.send(pbx.Event{Type: pbx.StasisEnd})
				u.feed.End()
			} else {
				u.key("#")
				u.send(pbx.Event{Type: pbx.RecordingFinished, RecordingName: rec.ID, RecordingState: "done"})
			}
			end := u.ended()
			u.waitDone()

			var order []string
			for _, o := range u.pbx.snapshot() {
				switch o.Name {
				case "hangup", "file", "delete":
					order = append(order, o.Name)
				}
			}
			wantOrder := "hangup file delete" // hang up first: the caller never waits in silence
			switch {
			case tt.hangsUp:
				wantOrder = "file delete"
			case !tt.recording:
				wantOrder = "hangup file"
			}
			if got := strings.Join(order, " "); got != wantOrder {
				t.Errorf("ops %q, want %q", got, wantOrder)
			}

			c := u.onlyCase()
			due := time.Date(2026, 12, 9, 0, 0, 0, 0, shanghai) // 7 working days from Mon 11-30: end of Tue 12-08
			if c.Kind != cases.KindComplaint || c.Channel != cases.ChannelVoicemail || c.Status != cases.StatusRegistered ||
				c.DueAt == nil || !c.DueAt.Equal(due) || c.DeadlineRule != "samr-2019-am2022" {
				t.Errorf("case %+v (due %v), want a registered complaint on the voicemail channel due %v", c, c.DueAt, due)
			}
			if end.Outcome != OutcomeQueueVoicemail {
				t.Errorf("outcome %q", end.Outcome)
			}
			u.store.mu.Lock()
			recs, tasks, regs := u.store.recordings, u.store.tasks, u.store.regs[c.ID]
			u.store.mu.Unlock()
			if len(regs) != 1 || regs[0].Detail.(map[string]any)["message"] != tt.message {
				t.Errorf("registrations %+v, want one with message %q", regs, tt.message)
			}
			if tt.recording {
				if len(recs) != 1 {
					t.Fatalf("recordings %+v", recs)
				}
				r := recs[0]
				data, err := os.ReadFile(filepath.Join(u.recs.Dir(), r.Path))
				if err != nil {
					t.Fatalf("stored file: %v", err)
				}
				if r.CaseID != c.ID || r.Name != "vm-"+chanID || r.SizeBytes != int64(len(data)) || len(r.SHA256) != 64 || r.CallID == nil {
					t.Errorf("recording %+v", r)
				}
			} else if len(recs) != 0 {
				t.Errorf("recordings %+v, want none", recs)
			}
			if len(tasks) != 1 {
				t.Fatalf("tasks %+v", tasks)
			}
			task := tasks[0]
			callbackDue := time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai) // end of Monday 11-30
			if task.Reason != tt.reason || task.CallerNumber != "13800000001" || task.Language != "en" || task.Queue != "general" ||
				task.Skills["complaint"] != 1 || task.Skills["english"] != 1 || task.Priority != "callback" ||
				task.DueAt == nil || !task.DueAt.Equal(callbackDue) {
				t.Errorf("task %+v, want reason %s for 13800000001 in en, skills complaint+english, due %v", task, tt.reason, callbackDue)
			}
		})
	}
}

func TestEmergencyGoesThroughTheQueueAtTopPriority(t *testing.T) {
	u := newUnit(t)
	offers := make(chan Offer, 1)
	u.queue = fakeQueue{offer: func(o Offer) (QueueResult, error) {
		offers <- o
		return BusyQueue{}.Offer(context.Background(), o)
	}}
	u.pbx.file = func(string) ([]byte, error) { return wavBytes(t, audio.Tone(440, 0.3, 8000)), nil }
	u.start()
	rec := u.toRecording("9", "sound:hotline/connecting-emergency")
	o := <-offers
	if !o.Emergency || o.Priority != ivr.PriorityEmergency || o.Queue != "emergency" || o.CaseKind != ivr.CaseReport || o.ChannelID != chanID || o.CaseID == 0 {
		t.Errorf("offer %+v", o)
	}
	u.key("#")
	u.send(pbx.Event{Type: pbx.RecordingFinished, RecordingName: rec.ID})
	end := u.ended()
	c := u.onlyCase()
	u.store.mu.Lock()
	events, tasks := u.store.events[c.ID], u.store.tasks
	u.store.mu.Unlock()
	if len(events) != 1 || events[0].Kind != "emergency" {
		t.Errorf("trail entries %+v, want one emergency", events)
	}
	if c.Kind != cases.KindReport || c.Channel != cases.ChannelVoicemail || c.DueAt == nil {
		t.Errorf("case %+v, want a report on the voicemail channel with a due time", c)
	}
	if end.Outcome != OutcomeEmergencyVoicemail || len(tasks) != 1 || tasks[0].Priority != "emergency" || tasks[0].Queue != "emergency" {
		t.Errorf("outcome %q, tasks %+v", end.Outcome, tasks)
	}
}

func TestTransferIsRegisteredWithACallback(t *testing.T) {
	u := newUnit(t)
	u.menu = []byte(`start: out
languages: [zh]
nodes:
  out:
    kind: transfer
    prompts: [hotline/connecting]
    number: "12345"
    case_kind: help
prompts:
  hotline/connecting: {zh: 正在转接}
`)
	u.start()
	p := u.pbx.waitOp(t, "the prompt", isPlay("sound:hotline/connecting"))
	u.finished(p.ID, "done")
	u.pbx.waitOp(t, "hang-up", isOp("hangup"))
	end := u.ended()
	c := u.onlyCase()
	u.store.mu.Lock()
	tasks := u.store.tasks
	u.store.mu.Unlock()
	if end.Outcome != OutcomeTransferRequested || c.Kind != cases.KindHelp || c.Status != cases.StatusRegistered ||
		len(tasks) != 1 || tasks[0].Reason != cases.TaskRequested {
		t.Errorf("outcome %q, case %+v, tasks %+v: want a registered help case with a requested callback", end.Outcome, c, tasks)
	}
}

func TestAFailingQueueStillLeadsToVoicemail(t *testing.T) {
	u := newUnit(t)
	u.queue = fakeQueue{offer: func(Offer) (QueueResult, error) { return QueueResult{}, errors.New("acd down") }}
	u.start()
	u.toRecording("1", "sound:hotline/connecting")
}

func TestCallerHangsUpAfterTheQueue(t *testing.T) {
	u := newUnit(t)
	u.start()
	u.toMainMenu()
	u.key("3")
	c := u.pbx.waitOp(t, "the connecting prompt", isPlay("sound:hotline/connecting-report"))
	u.finished(c.ID, "done")
	u.pbx.waitOp(t, "the queue's prompt", isPlay("sound:hotline/voicemail-intro"))
	u.callerHangsUp()
	end := u.ended()
	cs := u.onlyCase()
	u.store.mu.Lock()
	tasks := u.store.tasks
	u.store.mu.Unlock()
	if end.Outcome != OutcomeQueueAbandoned || cs.Kind != cases.KindReport || cs.Status != cases.StatusRegistered ||
		cs.Channel != cases.ChannelPhone || cs.DueAt != nil || len(tasks) != 1 || tasks[0].Reason != cases.TaskAbandoned {
		t.Errorf("outcome %q, case %+v, tasks %+v: want an abandoned report with a callback", end.Outcome, cs, tasks)
	}
}

func TestCaseProgressLookup(t *testing.T) {
	const digits = "62000020261101000042"
	tests := []struct {
		name     string
		keys     string
		findErr  error
		prompt   string // what the caller hears after the number
		outcome  string
		kind     cases.Kind
		trailHit bool
	}{
		{name: "found", keys: digits + "#", prompt: "sound:hotline/status-accepted", outcome: OutcomeLookupDone,
			kind: cases.KindConsult, trailHit: true},
		{name: "not found", keys: "62000020261101000043#", prompt: "sound:hotline/case-not-found,sound:hotline/enter-case-number",
			outcome: OutcomeHungUpInMenu, kind: cases.KindInvalid},
		{name: "too short", keys: "620000#", prompt: "sound:hotline/invalid-choice,sound:hotline/enter-case-number",
			outcome: OutcomeHungUpInMenu, kind: cases.KindInvalid},
		{name: "database down", keys: digits + "#", findErr: errors.New("connection refused"), prompt: "sound:hotline/lookup-failed",
			outcome: OutcomeHungUpInMenu, kind: cases.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t)
			looked := u.store.addCase("620000-20261101-000042", cases.StatusAccepted)
			if tt.findErr != nil {
				u.store.findErr = func() error { return tt.findErr }
			}
			u.start()
			u.toMainMenu()
			u.key("4")
			u.pbx.waitOp(t, "the case number prompt", isPlay("sound:hotline/enter-case-number"))
			u.key(tt.keys)
			p := u.pbx.waitOp(t, "the answer", isPlay(tt.prompt))
			if tt.findErr != nil {
				u.finished(p.ID, "done")
				u.pbx.waitOp(t, "on to an agent", isPlay("sound:hotline/connecting"))
			}
			u.callerHangsUp()
			end := u.ended()
			own := u.onlyCase()
			if end.Outcome != tt.outcome || own.Kind != tt.kind {
				t.Errorf("outcome %q kind %s, want %q %s", end.Outcome, own.Kind, tt.outcome, tt.kind)
			}
			if tt.outcome == OutcomeLookupDone && own.Status != cases.StatusClosed {
				t.Errorf("own case %+v, want closed", own)
			}
			u.store.mu.Lock()
			trail := u.store.events[looked]
			u.store.mu.Unlock()
			if hit := len(trail) == 1 && trail[0].Kind == "status_lookup"; hit != tt.trailHit {
				t.Errorf("looked-up case's trail %+v, want status_lookup: %v", trail, tt.trailHit)
			}
		})
	}
}

func TestResyncedRechecks(t *testing.T) {
	t.Run("a prompt's end was lost", func(t *testing.T) {
		u := newUnit(t)
		u.pbx.stop = func(id string) error { return fmt.Errorf("pbx playback.stop %s: %w", id, pbx.ErrNotFound) }
		u.start()
		u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
		u.send(pbx.Event{Type: pbx.Resynced})
		u.pbx.waitOp(t, "the language prompt", isPlay("sound:hotline/choose-language"))
	})
	t.Run("the channel went while the socket was down", func(t *testing.T) {
		u := newUnit(t)
		u.pbx.channel = func(id string) (pbx.Channel, error) {
			return pbx.Channel{}, fmt.Errorf("pbx channel.get %s: %w", id, pbx.ErrNotFound)
		}
		u.start()
		u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
		u.send(pbx.Event{Type: pbx.Resynced})
		if end := u.ended(); end.Outcome != OutcomeHungUpInMenu {
			t.Errorf("outcome %q", end.Outcome)
		}
	})
}

func TestDatabaseFailuresDoNotSilenceTheCaller(t *testing.T) {
	t.Run("case creation fails at the start", func(t *testing.T) {
		u := newUnit(t)
		u.store.createErr = func(n int) error {
			if n == 1 {
				return errors.New("too many connections")
			}
			return nil
		}
		u.start()
		u.pbx.waitOp(t, "answer", isOp("answer"))
		u.toMainMenu() // the menu runs without a case row
		u.callerHangsUp()
		end := u.ended()
		c := u.onlyCase() // made by the retry at the end
		u.store.mu.Lock()
		answered, creates := u.store.answered[cases.CallID(c.ID*10)], u.store.creates
		u.store.mu.Unlock()
		if creates != 2 || c.Kind != cases.KindInvalid || end.Outcome != OutcomeHungUpInMenu || !answered.Equal(t0) {
			t.Errorf("creates %d, case %+v, outcome %q, answered %v", creates, c, end.Outcome, answered)
		}
	})
	t.Run("registration fails after a message", func(t *testing.T) {
		u := newUnit(t)
		u.store.registerErr = func() error { return errors.New("deadlock detected") }
		u.pbx.file = func(string) ([]byte, error) { return wavBytes(t, audio.Tone(440, 0.3, 8000)), nil }
		u.start()
		rec := u.toRecording("2", "sound:hotline/connecting")
		u.send(pbx.Event{Type: pbx.RecordingFinished, RecordingName: rec.ID})
		end := u.ended()
		u.store.mu.Lock()
		recs, tasks := len(u.store.recordings), len(u.store.tasks)
		u.store.mu.Unlock()
		if recs != 1 || tasks != 1 || end.Outcome != OutcomeQueueVoicemail {
			t.Errorf("recordings %d, tasks %d, outcome %q: what could be written must be", recs, tasks, end.Outcome)
		}
	})
}

func TestShutdownEndsTheCall(t *testing.T) {
	u := newUnit(t)
	u.start()
	u.toMainMenu()
	u.cancel()
	u.pbx.waitOp(t, "hang-up", isOp("hangup"))
	end := u.ended()
	u.waitDone()
	u.store.mu.Lock()
	tasks := u.store.tasks
	u.store.mu.Unlock()
	if end.Outcome != OutcomeAborted || len(tasks) != 1 || tasks[0].Reason != cases.TaskMissed {
		t.Errorf("outcome %q, tasks %+v: a call we dropped gets a callback", end.Outcome, tasks)
	}
}

func TestAPanicEndsOnlyItsOwnCall(t *testing.T) {
	p := newFakePBX()
	p.play = func(ch, _, _ string) error {
		if ch == "A" {
			panic("bug in call A")
		}
		return nil
	}
	store := newFakeStore()
	menu, _ := ivr.Default()
	m, _ := ivr.NewMachine(menu, fixedHours{open: true})
	dl, _ := NewCalendarDeadlines()
	recs, _ := recordstore.New(t.TempDir())
	in := make(fakeIncoming, 2)
	r, err := New(Config{Calls: in, PBX: p, Cases: store, Recordings: recs, Machine: m, Deadlines: dl,
		Clock: newFakeClock(t0), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()
	feeds := map[string]*pbx.Feed{}
	for _, id := range []string{"A", "B"} {
		sub, feed := pbx.NewFeed(pbx.ChannelTarget(id))
		ch := pbx.Channel{ID: id, CallerNumber: "13800000001", Language: "zh", Exten: "12315"}
		feed.Send(pbx.Event{Type: pbx.StasisStart, Channel: ch})
		feeds[id] = feed
		in <- &pbx.InboundCall{Channel: ch, Events: sub}
	}
	// The two calls run at once: take their ops in whatever order they come.
	var b op
	hungUpA, playedB := false, false
	p.waitOp(t, "A hung up and B's welcome", func(o op) bool {
		switch {
		case o.Name == "hangup" && o.Channel == "A":
			hungUpA = true
		case o.Name == "play" && o.Channel == "B":
			b, playedB = o, true
		}
		return hungUpA && playedB
	})
	feeds["B"].Send(pbx.Event{Type: pbx.PlaybackFinished, PlaybackID: b.ID, Channel: pbx.Channel{ID: "B"}})
	p.waitOp(t, "B's language prompt", func(o op) bool {
		return o.Name == "play" && o.Channel == "B" && o.Media == "sound:hotline/choose-language"
	})
	feeds["B"].Send(pbx.Event{Type: pbx.StasisEnd, Channel: pbx.Channel{ID: "B"}})
	feeds["B"].End()
	outcomes := map[string]bool{}
	for range 2 {
		select {
		case id := <-store.endedSignal:
			store.mu.Lock()
			outcomes[store.ended[id].Outcome] = true
			store.mu.Unlock()
		case <-time.After(5 * time.Second):
			t.Fatal("calls not closed")
		}
	}
	if !outcomes[OutcomeAborted] || !outcomes[OutcomeHungUpInMenu] {
		t.Errorf("outcomes %v, want A aborted and B hung up in the menu", outcomes)
	}
	if n := testutil.ToFloat64(r.m.panics); n != 1 {
		t.Errorf("panics counted: %v", n)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	feeds["A"].End()
}

func TestMetrics(t *testing.T) {
	u := newUnit(t)
	u.pbx.play = func(_, media, _ string) error {
		if media == "sound:hotline/choose-language" {
			return errors.New("500")
		}
		return nil
	}
	u.start()
	w := u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
	u.finished(w.ID, "done")
	u.pbx.waitOp(t, "the refused language prompt", isPlay("sound:hotline/choose-language"))
	u.callerHangsUp()
	u.ended()
	u.waitDone()
	m := u.r.m
	for name, got := range map[string]float64{
		"calls_total{hung_up_in_menu}": testutil.ToFloat64(m.calls.WithLabelValues(OutcomeHungUpInMenu)),
		"cases_created_total":          testutil.ToFloat64(m.cases),
		"errors_total{play}":           testutil.ToFloat64(m.errors.WithLabelValues("play")),
		"active_calls + 1":             testutil.ToFloat64(m.active) + 1,
	} {
		if got != 1 {
			t.Errorf("%s = %v, want 1", name, got)
		}
	}
	reg := prometheus.NewRegistry()
	cfg := u.r.cfg
	cfg.Registerer = reg
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil {
		t.Error("a second Runner registered its metrics in the same registry")
	}
}

func TestEveryLogLineNamesTheCallAndTheCase(t *testing.T) {
	var buf syncBuffer
	u := newUnit(t)
	u.log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u.channel.CallerNumber = "anonymous" // a warning before the case exists
	u.store.registerErr = func() error { return errors.New("deadlock detected") }
	u.pbx.file = func(string) ([]byte, error) { return wavBytes(t, audio.Tone(440, 0.3, 8000)), nil }
	u.start()
	rec := u.toRecording("2", "sound:hotline/connecting")
	u.send(pbx.Event{Type: pbx.RecordingFinished, RecordingName: rec.ID})
	u.ended()
	u.waitDone()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 5 {
		t.Fatalf("only %d log lines", len(lines))
	}
	c := u.onlyCase()
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		call, hasCall := rec["call"]
		cs, hasCase := rec["case"]
		if !hasCall || !hasCase || call != chanID {
			t.Errorf("line %q lacks call or case", line)
		}
		if i > 0 && cs != string(c.Number) {
			t.Errorf("line %q: case %v, want %s once the case exists", line, cs, c.Number)
		}
	}
	if !strings.Contains(buf.String(), "db.register failed") {
		t.Errorf("the failed registration was not logged:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the call goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
