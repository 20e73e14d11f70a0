package callflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"hotline/cases"
	"hotline/pbx"
)

// Hand-written fakes: structs of optional funcs, with a log of what was asked of them.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// op is one request the call made to the PBX.
type op struct {
	Name    string // answer, hangup, play, stop, record, stop_recording, file, delete, setvar, channel
	Channel string
	ID      string // playback id, recording name
	Media   string
	Var     string
	Value   string
	Record  pbx.RecordOptions
}

type fakePBX struct {
	answer   func(channelID string) error
	play     func(channelID, media, playbackID string) error
	stop     func(playbackID string) error
	record   func(channelID string, o pbx.RecordOptions) error
	file     func(name string) ([]byte, error)
	hangup   func(channelID string) error
	channel  func(channelID string) (pbx.Channel, error)
	onDelete func(name string) error

	mu  sync.Mutex
	ops []op
	ch  chan op
}

func newFakePBX() *fakePBX { return &fakePBX{ch: make(chan op, 1024)} }

func (f *fakePBX) log(o op) {
	f.mu.Lock()
	f.ops = append(f.ops, o)
	f.mu.Unlock()
	f.ch <- o
}

func (f *fakePBX) Answer(_ context.Context, ch string) error {
	f.log(op{Name: "answer", Channel: ch})
	if f.answer != nil {
		return f.answer(ch)
	}
	return nil
}

func (f *fakePBX) Hangup(_ context.Context, ch string, _ pbx.HangupReason) error {
	f.log(op{Name: "hangup", Channel: ch})
	if f.hangup != nil {
		return f.hangup(ch)
	}
	return nil
}

func (f *fakePBX) Play(_ context.Context, ch, media, id string) (string, error) {
	f.log(op{Name: "play", Channel: ch, Media: media, ID: id})
	if f.play != nil {
		return id, f.play(ch, media, id)
	}
	return id, nil
}

func (f *fakePBX) StopPlayback(_ context.Context, id string) error {
	f.log(op{Name: "stop", ID: id})
	if f.stop != nil {
		return f.stop(id)
	}
	return nil
}

func (f *fakePBX) Record(_ context.Context, ch string, o pbx.RecordOptions) error {
	f.log(op{Name: "record", Channel: ch, ID: o.Name, Record: o})
	if f.record != nil {
		return f.record(ch, o)
	}
	return nil
}

func (f *fakePBX) StopRecording(_ context.Context, name string) error {
	f.log(op{Name: "stop_recording", ID: name})
	return nil
}

func (f *fakePBX) RecordingFile(_ context.Context, name string) ([]byte, error) {
	f.log(op{Name: "file", ID: name})
	if f.file != nil {
		return f.file(name)
	}
	return nil, fmt.Errorf("recording %s: %w", name, pbx.ErrNotFound)
}

func (f *fakePBX) DeleteRecording(_ context.Context, name string) error {
	f.log(op{Name: "delete", ID: name})
	if f.onDelete != nil {
		return f.onDelete(name)
	}
	return nil
}

func (f *fakePBX) Continue(_ context.Context, ch string) error {
	f.log(op{Name: "continue", Channel: ch})
	return nil
}

func (f *fakePBX) SetVariable(_ context.Context, ch, name, value string) error {
	f.log(op{Name: "setvar", Channel: ch, Var: name, Value: value})
	return nil
}

func (f *fakePBX) ChannelData(_ context.Context, ch string) (pbx.Channel, error) {
	f.log(op{Name: "channel", Channel: ch})
	if f.channel != nil {
		return f.channel(ch)
	}
	return pbx.Channel{ID: ch, State: "Up"}, nil
}

// waitOp returns the next op that match accepts, skipping others; it fails the test at the
// deadline.
func (f *fakePBX) waitOp(t *testing.T, what string, match func(op) bool) op {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case o := <-f.ch:
			if match(o) {
				return o
			}
		case <-deadline.C:
			t.Fatalf("no %s within 5s; ops so far: %+v", what, f.snapshot())
		}
	}
}

func (f *fakePBX) snapshot() []op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]op(nil), f.ops...)
}

func isPlay(media string) func(op) bool {
	return func(o op) bool { return o.Name == "play" && o.Media == media }
}

func isOp(name string) func(op) bool { return func(o op) bool { return o.Name == name } }

// fakeStore is an in-memory CaseStore.
type fakeStore struct {
	createErr   func(n int) error // n: attempt number, from 1
	registerErr func() error
	findErr     func() error

	mu          sync.Mutex
	creates     int
	nextID      int64
	cases       map[cases.CaseID]*cases.Case
	answered    map[cases.CallID]time.Time
	regs        map[cases.CaseID][]cases.Registration
	events      map[cases.CaseID][]cases.NewEvent
	recordings  []cases.Recording
	tasks       []cases.NewCallbackTask
	ended       map[cases.CallID]endedCall
	endedSignal chan cases.CallID
}

type endedCall struct {
	At      time.Time
	Outcome string
	Path    json.RawMessage
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		cases: map[cases.CaseID]*cases.Case{}, answered: map[cases.CallID]time.Time{},
		regs: map[cases.CaseID][]cases.Registration{}, events: map[cases.CaseID][]cases.NewEvent{},
		ended: map[cases.CallID]endedCall{}, endedSignal: make(chan cases.CallID, 64),
	}
}

// addCase puts a case there, as if registered earlier.
func (s *fakeStore) addCase(number cases.Number, status cases.Status) cases.CaseID {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := cases.CaseID(s.nextID)
	s.cases[id] = &cases.Case{ID: id, Number: number, Kind: cases.KindComplaint, Channel: cases.ChannelPhone, Status: status}
	return id
}

func (s *fakeStore) CreateCaseWithCall(_ context.Context, n cases.NewCase, call cases.NewCall) (cases.CaseID, cases.Number, cases.CallID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if s.createErr != nil {
		if err := s.createErr(s.creates); err != nil {
			return 0, "", 0, err
		}
	}
	s.nextID++
	id := cases.CaseID(s.nextID)
	number := cases.Number(fmt.Sprintf("620000-20261127-%06d", s.nextID))
	s.cases[id] = &cases.Case{ID: id, Number: number, Kind: n.Kind, Channel: n.Channel, Status: cases.StatusDraft,
		ReceivedAt: n.ReceivedAt, CallerNumber: n.CallerNumber}
	return id, number, cases.CallID(id * 10), nil
}

func (s *fakeStore) MarkAnswered(_ context.Context, id cases.CallID, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered[id] = at
	return nil
}

func (s *fakeStore) SetChannel(_ context.Context, id cases.CaseID, ch cases.Channel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cases[id]
	if !ok {
		return cases.ErrNotFound
	}
	c.Channel = ch
	return nil
}

func (s *fakeStore) Register(_ context.Context, id cases.CaseID, r cases.Registration) error {
	if s.registerErr != nil {
		if err := s.registerErr(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cases[id]
	if !ok {
		return cases.ErrNotFound
	}
	c.Kind, c.Status, c.DueAt, c.DeadlineRule = r.Kind, r.Status, r.DueAt, r.DeadlineRule
	s.regs[id] = append(s.regs[id], r)
	return nil
}

func (s *fakeStore) AppendEvent(_ context.Context, id cases.CaseID, e cases.NewEvent) (cases.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cases[id]; !ok {
		return cases.Event{}, cases.ErrNotFound
	}
	s.events[id] = append(s.events[id], e)
	return cases.Event{CaseID: id, Kind: e.Kind}, nil
}

func (s *fakeStore) AddRecording(_ context.Context, r cases.Recording) (cases.RecordingID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordings = append(s.recordings, r)
	return cases.RecordingID(len(s.recordings)), nil
}

func (s *fakeStore) CreateCallbackTask(_ context.Context, t cases.NewCallbackTask) (cases.TaskID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = append(s.tasks, t)
	return cases.TaskID(len(s.tasks)), nil
}

func (s *fakeStore) FindByNumber(_ context.Context, n cases.Number) (cases.Detail, error) {
	if s.findErr != nil {
		if err := s.findErr(); err != nil {
			return cases.Detail{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cases {
		if c.Number == n {
			return cases.Detail{Case: *c}, nil
		}
	}
	return cases.Detail{}, fmt.Errorf("find case %s: %w", n, cases.ErrNotFound)
}

func (s *fakeStore) EndCall(_ context.Context, id cases.CallID, at time.Time, outcome string, path json.RawMessage) error {
	s.mu.Lock()
	s.ended[id] = endedCall{At: at, Outcome: outcome, Path: path}
	s.mu.Unlock()
	s.endedSignal <- id
	return nil
}

// fakeClock is a manual clock: timers fire only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	fired  int
	added  chan time.Duration
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, added: make(chan time.Duration, 1024)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.added <- d
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock and fires the timers that are due, each in its own goroutine as
// time.AfterFunc does. It returns how many fired.
func (c *fakeClock) Advance(d time.Duration) int {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.fired += len(due)
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
	return len(due)
}

// waitTimer waits until a timer of duration d has been started.
func (c *fakeClock) waitTimer(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case got := <-c.added:
			if got == d {
				return
			}
		case <-deadline.C:
			t.Fatalf("no %s timer started within 5s", d)
		}
	}
}

// fakeQueue is a Queue of funcs.
type fakeQueue struct {
	offer func(o Offer) (QueueResult, error)
}

func (q fakeQueue) Offer(_ context.Context, o Offer) (QueueResult, error) { return q.offer(o) }

// fakeIncoming is a stream of callers.
type fakeIncoming chan *pbx.InboundCall

func (f fakeIncoming) Incoming() <-chan *pbx.InboundCall { return f }
