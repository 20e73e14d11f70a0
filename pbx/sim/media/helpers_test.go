package media

import (
	"slices"
	"sync"
	"testing"
	"time"

	"hotline/audio"
)

const (
	callerHz     = 440.0
	agentHz      = 880.0
	supervisorHz = 1300.0
	amp          = 0.3
)

// waitTimeout bounds every wait for a callback; it is a failure deadline,
// never a pacing device.
const waitTimeout = 5 * time.Second

func manualEngine(t *testing.T) *Engine {
	t.Helper()
	e := NewEngine(WithManualClock())
	t.Cleanup(func() { e.Close() })
	return e
}

func tick(e *Engine, n int) {
	for i := 0; i < n; i++ {
		e.Tick()
	}
}

// ear collects what a leg hears.
type ear struct {
	mu      sync.Mutex
	samples []int16
	frames  int
}

func listenTo(l *Leg) *ear {
	r := &ear{}
	l.OnHear(func(f []int16) {
		r.mu.Lock()
		r.samples = append(r.samples, f...)
		r.frames++
		r.mu.Unlock()
	})
	return r
}

func (r *ear) heard() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

func (r *ear) reset() {
	r.mu.Lock()
	r.samples = r.samples[:0]
	r.mu.Unlock()
}

// hears checks which of the project's tones are present in samples.
func checkTones(t testing.TB, who string, samples []int16, present ...float64) {
	t.Helper()
	if len(samples) < audio.WindowSamples {
		t.Fatalf("%s: only %d samples heard", who, len(samples))
	}
	for _, f := range []float64{callerHz, agentHz, supervisorHz} {
		share := audio.MedianToneShare(samples, f)
		want := slices.Contains(present, f)
		if got := share >= audio.PresentShare; got != want {
			t.Errorf("%s: %v Hz share %.3f, want present=%v", who, f, share, want)
		}
	}
	if len(present) == 0 && !audio.IsSilent(samples) {
		t.Errorf("%s: want silence, RMS %.0f", who, audio.RMS(samples))
	}
}

func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
