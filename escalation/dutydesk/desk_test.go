package dutydesk

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"hotline/callflow"
	"hotline/cases"
	"hotline/escalation"
	"hotline/pbx"
)

// Component tests of the shell: a fake PBX fed by the test, a manual clock whose timers
// fire only when the test advances it, and fakes of the trail, roster and webhook.

type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*manualTimer
	started chan time.Duration // each AfterFunc's duration
}

type manualTimer struct {
	c       *manualClock
	at      time.Time
	f       func()
	stopped bool
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) callflow.Timer {
	c.mu.Lock()
	t := &manualTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.started <- d
	return t
}

// advance moves time on and runs the timers due, in order.
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*manualTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

type fakePBX struct {
	mu    sync.Mutex
	feeds map[string]*pbx.Feed
	ops   chan string
}

func (p *fakePBX) Originate(_ context.Context, req pbx.OriginateRequest) (*pbx.Subscription, error) {
	sub, feed := pbx.NewFeed(pbx.ChannelTarget(req.ChannelID))
	p.mu.Lock()
	p.feeds[req.ChannelID] = feed
	p.mu.Unlock()
	p.ops <- "originate " + req.Endpoint + " " + req.ChannelID
	return sub, nil
}

func (p *fakePBX) Hangup(_ context.Context, id string, _ pbx.HangupReason) error {
	p.ops <- "hangup " + id
	return nil
}

func (p *fakePBX) Play(_ context.Context, id, media, playbackID string) (string, error) {
	p.ops <- "play " + id + " " + playbackID
	return playbackID, nil
}

func (p *fakePBX) StopPlayback(_ context.Context, id string) error {
	p.ops <- "stop " + id
	return nil
}

func (p *fakePBX) feed(id string) *pbx.Feed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.feeds[id]
}

type fakeTrail struct{ kinds chan string }

func (f fakeTrail) AppendEvent(_ context.Context, _ cases.CaseID, e cases.NewEvent) (cases.Event, error) {
	s := string(e.Kind)
	if d, ok := e.Detail.(map[string]any); ok {
		if o, ok := d["officer"].(string); ok {
			s += "(" + o + ")"
		}
	}
	f.kinds <- s
	return cases.Event{}, nil
}

type fakeRoster []escalation.Entry

func (r fakeRoster) OnDuty(context.Context, time.Time) ([]escalation.Entry, error) { return r, nil }

type fakeAlerts struct{ got chan Alert }

func (f fakeAlerts) Alert(_ context.Context, a Alert) error {
	f.got <- a
	return errors.New("webhook down")
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// An officer who answers and never presses a key is hung up when the acknowledgement
// timeout runs out on the injected clock, and the next officer is called; one who hangs up
// during the summary moves the chain on too; the exhausted chain's alert fails and says so.
func TestAckTimeoutOnTheInjectedClock(t *testing.T) {
	clock, p, trail := newFakes()
	alerts := fakeAlerts{got: make(chan Alert, 2)}
	d := startDesk(t, clock, p, trail, alerts, 0, fakeRoster{
		{ID: 1, Name: "alice", Phone: "13900000001", Active: true}, {ID: 2, Name: "bob", Phone: "13900000002", Active: true}})
	if err := d.Flag(context.Background(), Emergency{CaseID: 7, CaseNumber: "620000-20261127-000007", CaseKind: "report"}); err != nil {
		t.Fatal(err)
	}
	expect := func(want ...string) { t.Helper(); expectTrail(t, trail, want...) }
	op := func() string { t.Helper(); return within(t, p.ops, "PBX request") }
	timer := func(want time.Duration) {
		t.Helper()
		if got := within(t, clock.started, "timer"); got != want {
			t.Fatalf("timer of %s started, want %s", got, want)
		}
	}

	expect("escalation_started", "escalation_dialing(alice)")
	first := op()
	timer(35 * time.Second) // the ring guard
	leg := first[len("originate PJSIP/13900000001@trunk "):]
	p.feed(leg).Send(pbx.Event{Type: pbx.StasisStart})
	expect("escalation_answered(alice)")
	if got := op(); got != "play "+leg+" "+leg+"-summary" {
		t.Fatalf("after the answer: %s", got)
	}
	timer(time.Minute) // the summary guard
	p.feed(leg).Send(pbx.Event{Type: pbx.PlaybackFinished, PlaybackID: leg + "-summary"})
	expect("escalation_summary_played(alice)")
	timer(20 * time.Second)
	clock.advance(19 * time.Second)
	select {
	case got := <-p.ops:
		t.Fatalf("before the timeout: %s", got)
	default:
	}
	clock.advance(time.Second)
	expect("escalation_ack_timeout(alice)")
	if got := op(); got != "hangup "+leg {
		t.Fatalf("after the timeout: %s", got)
	}
	expect("escalation_dialing(bob)")
	second := op()
	leg2 := second[len("originate PJSIP/13900000002@trunk "):]
	timer(35 * time.Second)
	p.feed(leg2).Send(pbx.Event{Type: pbx.StasisStart})
	expect("escalation_answered(bob)")
	op()
	timer(time.Minute)
	p.feed(leg2).Send(pbx.Event{Type: pbx.ChannelHangupRequest})
	expect("escalation_officer_hung_up(bob)", "escalation_exhausted")
	if a := within(t, alerts.got, "alert"); a.Round != 1 || !a.Final || a.Officers != 2 || a.CaseNumber != "620000-20261127-000007" {
		t.Errorf("alert: %+v", a)
	}
	// The alert goes out on its own goroutine: its outcome follows the chain's end.
	expect("escalation_gave_up", "escalation_alert_failed")
}

// expectTrail reads the trail's next entries, which must be want.
func expectTrail(t *testing.T, trail fakeTrail, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := within(t, trail.kinds, w); got != w {
			t.Fatalf("trail: got %s, want %s", got, w)
		}
	}
}

// newFakes returns the manual clock, the PBX and the trail a desk test drives.
func newFakes() (*manualClock, *fakePBX, fakeTrail) {
	return &manualClock{now: time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC), started: make(chan time.Duration, 16)},
		&fakePBX{feeds: map[string]*pbx.Feed{}, ops: make(chan string, 16)}, fakeTrail{kinds: make(chan string, 32)}
}

// startDesk starts a desk on the fakes with the tests' policy (30 s rings, 20 s to
// acknowledge, a minute between rounds) and retries more rounds; the test ends it.
func startDesk(t *testing.T, clock *manualClock, p *fakePBX, trail fakeTrail, alerts Alerter, retries int, roster fakeRoster) *Desk {
	t.Helper()
	policy := escalation.Policy{RingTimeout: 30 * time.Second, RingGrace: 5 * time.Second, AckTimeout: 20 * time.Second,
		MaxSummary: time.Minute, Retries: retries, RetryPause: time.Minute}
	d, err := New(Config{PBX: p, Trail: trail, Roster: roster, Alerts: alerts, Policy: policy,
		DialPattern: "PJSIP/{phone}@trunk", Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// heldAlerts holds every alert until release is closed, as a webhook that does not answer.
type heldAlerts struct {
	got     chan Alert
	release chan struct{}
}

func (h heldAlerts) Alert(ctx context.Context, a Alert) error {
	h.got <- a
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// An alert that hangs does not hold up the next round: the pause before it starts and the
// first officer is rung again while the webhook has not answered; its outcome reaches the
// trail when it comes.
func TestSlowAlertDoesNotDelayTheNextRound(t *testing.T) {
	clock, p, trail := newFakes()
	alerts := heldAlerts{got: make(chan Alert, 2), release: make(chan struct{})}
	d := startDesk(t, clock, p, trail, alerts, 1, fakeRoster{{ID: 1, Name: "alice", Phone: "13900000001", Active: true}})
	if err := d.Flag(context.Background(), Emergency{CaseID: 8, CaseNumber: "620000-20261127-000008", CaseKind: "report"}); err != nil {
		t.Fatal(err)
	}
	expect := func(want ...string) { t.Helper(); expectTrail(t, trail, want...) }
	expect("escalation_started", "escalation_dialing(alice)")
	first := within(t, p.ops, "originate")
	if got := within(t, clock.started, "ring guard"); got != 35*time.Second {
		t.Fatalf("timer %s, want the ring guard", got)
	}
	p.feed(first[len("originate PJSIP/13900000001@trunk "):]).Send(pbx.Event{Type: pbx.ChannelHangupRequest})
	expect("escalation_no_answer(alice)", "escalation_exhausted")
	if a := within(t, alerts.got, "alert"); a.Round != 1 || a.Final {
		t.Errorf("alert %+v: want round 1, not final", a)
	}
	// The webhook has not answered; the pause before round 2 runs all the same.
	if got := within(t, clock.started, "retry pause"); got != time.Minute {
		t.Fatalf("timer %s, want the retry pause", got)
	}
	clock.advance(time.Minute)
	expect("escalation_retry", "escalation_dialing(alice)")
	if op := within(t, p.ops, "second originate"); op[:len("originate PJSIP/13900000001@trunk ")] != "originate PJSIP/13900000001@trunk " {
		t.Fatalf("round 2: %s", op)
	}
	close(alerts.release)
	expect("escalation_alert_sent")
}
