package callflow

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/calendar"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
	"hotline/pbx/sim"
	"hotline/recordstore"
)

// End-to-end harness: the real ARI client (pbx.Connect) against a PBX, real PostgreSQL,
// the default menu, the generated prompts.

// testPBX is a PBX to test against and a way to place calls into it.
type testPBX struct {
	raw    pbxtest.PBX
	sim    *sim.Server // nil on a real Asterisk
	config pbx.Config
	// dial places a call from a number that, once answered, does what steps say (the
	// simulated caller's step syntax: see pbx/pbxtest).
	dial func(ctx context.Context, from, steps string) (testCaller, error)
}

// testCaller is a placed call.
type testCaller struct {
	channelID string
	done      <-chan struct{}
}

// startTestPBX is the one place that picks the PBX: pbxtest gives the simulated Asterisk,
// or a real one when HOTLINE_TEST_ARI_URL is set.
func startTestPBX(t testing.TB) testPBX {
	t.Helper()
	p := pbxtest.New(t, pbxtest.Options{SoundsDir: soundsDir(t), Logger: quiet})
	var srv *sim.Server
	if s, ok := p.(interface{ Sim() *sim.Server }); ok {
		srv = s.Sim()
	}
	return testPBX{
		raw:    p,
		sim:    srv,
		config: p.Config(),
		dial: func(ctx context.Context, from, steps string) (testCaller, error) {
			c, err := p.Call(ctx, pbxtest.CallSpec{From: from, Steps: steps})
			if err != nil {
				return testCaller{}, err
			}
			return testCaller{channelID: c.ChannelID(), done: c.Done()}, nil
		},
	}
}

// soundsDir is the generated prompts, or a failed test saying how to make them.
func soundsDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".run", "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"en/hotline/welcome.wav", "en/hotline/voicemail-intro.wav", "en/beep.wav"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("prompt %s missing under %s: run `make prompts` (scripts/prompts -out .run/sounds) first", f, dir)
		}
	}
	return dir
}

// offsetClock runs at wall-clock speed from a chosen start: a call "received" on a chosen
// day, with real timers.
type offsetClock struct{ base, start time.Time }

func newOffsetClock(base time.Time) offsetClock { return offsetClock{base: base, start: time.Now()} }

func (c offsetClock) Now() time.Time { return c.base.Add(time.Since(c.start)) }

func (offsetClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// hotline is the system under test.
type hotline struct {
	pbx    testPBX
	client *pbx.Client
	store  *cases.Store
	recs   *recordstore.Store
	runner *Runner
	cal    *calendar.Calendar
}

// startHotline runs the call flow on a fresh database with the shipped calendar, its clock
// set to now.
func startHotline(t testing.TB, now time.Time, opts ...func(*Runner)) *hotline {
	t.Helper()
	return startHotlineOn(t, startTestPBX(t), now, opts...)
}

// startHotlineOn is startHotline on a given PBX.
func startHotlineOn(t testing.TB, p testPBX, now time.Time, opts ...func(*Runner)) *hotline {
	t.Helper()
	store := casestest.NewStore(t)
	recs, err := recordstore.New(filepath.Join(t.TempDir(), "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	menu, err := ivr.Default()
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ivr.NewMachine(menu, cal)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := NewCalendarDeadlines()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := pbx.Connect(ctx, p.config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	go func() {
		for range client.Notices() { // unbounded: read it
		}
	}()
	r, err := New(Config{Calls: client, PBX: client, Cases: NewCaseStore(store), Recordings: recs, Machine: machine,
		Deadlines: dl, Clock: newOffsetClock(now), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(r)
	}
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- r.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("runner: %v", err)
		}
	})
	return &hotline{pbx: p, client: client, store: store, recs: recs, runner: r, cal: cal}
}

// dial places a call.
func (h *hotline) dial(t testing.TB, from, steps string) testCaller {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h.pbx.dial(ctx, from, steps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wait waits, until deadline, for a call to end on both sides (the caller gone, the call
// row closed) and returns the case of the call from.
func (h *hotline) wait(t testing.TB, c testCaller, from string, deadline time.Time) cases.Detail {
	t.Helper()
	// The deadline is for the call; checking a call that ended in time gets a few seconds
	// more, however late its turn to be checked comes.
	ctx, cancel := context.WithDeadline(context.Background(), later(deadline, time.Now().Add(10*time.Second)))
	defer cancel()
	select {
	case <-c.done:
	default:
		select {
		case <-c.done:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("the call from %s did not end in time", from)
		}
	}
	phone, err := cases.ParsePhone(from)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cs, err := h.store.FindByCaller(ctx, phone, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 {
			d, err := h.store.Get(ctx, cs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Calls) == 1 && d.Calls[0].EndedAt != nil {
				return d
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the call row of %s was not closed in time", from)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// scenario is one end-to-end call.
type scenario struct {
	name     string
	received time.Time     // the hotline's clock at the start
	from     string        // the caller's number, unique per scenario
	steps    string        // what the caller does (pbx/sim step syntax)
	within   time.Duration // from the dial to the closed call row
	// prepare, optional, sets the hotline up before the call and may change the steps.
	prepare func(t *testing.T, h *hotline, steps string) string
	check   func(t *testing.T, h *hotline, c testCaller, d cases.Detail)
}

// runScenarios gives each scenario a hotline of its own, places every call at once, then
// checks each in a subtest. The calls run concurrently whatever -parallel allows: prompts
// take their real time, so the package takes about as long as its longest call. A real
// Asterisk admits one controller on the app at a time (pbxtest serialises tests on it), so
// there the scenarios run one after another.
func runScenarios(t *testing.T, scenarios []scenario) {
	place := func(t *testing.T, sc scenario) (*hotline, testCaller, time.Time) {
		h := startHotline(t, sc.received)
		steps := sc.steps
		if sc.prepare != nil {
			steps = sc.prepare(t, h, steps)
		}
		return h, h.dial(t, sc.from, steps), time.Now().Add(sc.within)
	}
	if os.Getenv(pbxtest.EnvURL) != "" {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				h, c, deadline := place(t, sc)
				sc.check(t, h, c, h.wait(t, c, sc.from, deadline))
			})
		}
		return
	}
	type placed struct {
		h        *hotline
		c        testCaller
		deadline time.Time
	}
	all := make([]placed, len(scenarios))
	for i, sc := range scenarios {
		h, c, deadline := place(t, sc)
		all[i] = placed{h, c, deadline}
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			p := all[i]
			sc.check(t, p.h, p.c, p.h.wait(t, p.c, sc.from, p.deadline))
		})
	}
}

// path reads a call's IVR path as node:step:input.
func path(t *testing.T, call cases.Call) []string {
	t.Helper()
	var steps []pathEntry
	if err := json.Unmarshal(call.IVRPath, &steps); err != nil {
		t.Fatalf("ivr path %s: %v", call.IVRPath, err)
	}
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Node + ":" + s.Step + ":" + s.Input
	}
	return out
}
