package media_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
	"hotline/audio"
)

// Each party has its own tone, detected on the far side.
const (
	callerHz = 440
	agentHz  = 880
	otherHz  = 1300 // a second caller, or an intruder
)

// testLog is quiet unless HOTLINE_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("HOTLINE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// events records seat events for tests to wait on.
type events struct {
	mu   sync.Mutex
	all  []media.Event
	wake chan struct{}
}

func newEvents() *events { return &events{wake: make(chan struct{}, 1)} }

func (e *events) handle(ev media.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// wait returns the first event at or after index from that matches, and
// the index after it.
func (e *events) wait(t *testing.T, from int, timeout time.Duration, match func(media.Event) bool) (media.Event, int) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		for i := from; i < len(e.all); i++ {
			if match(e.all[i]) {
				ev := e.all[i]
				e.mu.Unlock()
				return ev, i + 1
			}
		}
		seen := fmt.Sprint(e.all)
		e.mu.Unlock()
		select {
		case <-e.wake:
		case <-deadline.C:
			t.Fatalf("no matching event within %s; events: %s", timeout, seen)
		}
	}
}

func (e *events) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.all)
}

func isState(agent media.AgentID, s media.SeatState) func(media.Event) bool {
	return func(ev media.Event) bool { return ev.Agent == agent && ev.State == s }
}

// newSeats returns loopback-only seats that are shut down when the test
// ends, and their event log.
func newSeats(t *testing.T, opts ...media.Option) (*media.Seats, *events) {
	t.Helper()
	ev := newEvents()
	opts = append([]media.Option{media.LoopbackOnly(), media.WithLogger(testLog()),
		media.WithEventHandler(ev.handle)}, opts...)
	s, err := media.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s, ev
}

// connect opens agent's seat from a new client and waits until both ends
// are connected. It returns the client (closed when the test ends) and the
// answer.
func connect(t *testing.T, s *media.Seats, ev *events, agent media.AgentID, opts ...mediatest.ClientOption) (*mediatest.Client, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mediatest.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	from := ev.len()
	offer, err := c.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := s.Open(ctx, agent, offer)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := c.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, from, 10*time.Second, isState(agent, media.SeatConnected))
	return c, answer
}

// newPBX returns a fake Asterisk socket, closed when the test ends.
func newPBX(t *testing.T) *mediatest.PBX {
	t.Helper()
	p, err := mediatest.NewPBX()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// run runs fn on a goroutine until the test ends (or cancel is called)
// and reports its error.
func run(t *testing.T, fn func(ctx context.Context) error) (cancel func()) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			t.Errorf("background: %v", err)
		}
	}()
	var once sync.Once
	cancel = func() { once.Do(func() { stop(); <-done }) }
	t.Cleanup(cancel)
	return cancel
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// assertHears checks that samples carry want (its share of the energy in
// most 200 ms windows) and none of the others.
func assertHears(t *testing.T, who string, samples []int16, want float64, others ...float64) {
	t.Helper()
	if len(samples) < 2*audio.WindowSamples {
		t.Fatalf("%s: only %d samples", who, len(samples))
	}
	if share := audio.MedianToneShare(samples, want); share < 0.8 {
		t.Errorf("%s: %v Hz has %.2f of the energy, want >= 0.8", who, want, share)
	}
	for _, f := range others {
		if share := audio.MedianToneShare(samples, f); share > 0.05 {
			t.Errorf("%s: %v Hz has %.2f of the energy, want none", who, f, share)
		}
	}
}

// tail returns the last n samples.
func tail(s []int16, n int) []int16 { return s[max(0, len(s)-n):] }

// checkLeaks fails the test if it ends with more goroutines or open file
// descriptors than it started with. Register it first, so that it runs
// after every other cleanup.
func checkLeaks(t *testing.T) {
	t.Helper()
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, f := runtime.NumGoroutine(), openFDs(t)
			if g <= goroutines && f <= fds {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: %d goroutines (was %d), %d open files (was %d)\n%s", g, goroutines, f, fds, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(entries)
}

// addrPort converts the attach result.
func addrPort(t *testing.T, a interface{ String() string }) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// contains reports whether s mentions sub, case-insensitively.
func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
