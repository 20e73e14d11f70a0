package media

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"hotline/audio"
)

// Callbacks may call back into the engine, and callers may hold their own
// locks while calling stop() even when the callback takes the same lock.
func TestCallbacksMayReenter(t *testing.T) {
	e := manualEngine(t)
	dir := t.TempDir()

	// An OnHear tap that hangs its own leg up and starts another.
	a := e.NewLeg("a")
	var other *Leg
	a.OnHear(func([]int16) {
		a.Close()
		other = e.NewLeg("other")
		other.SetSource(Tone(callerHz, amp))
	})
	tick(e, 3)
	if other == nil {
		t.Fatal("tap never ran")
	}

	// A playback whose done hangs up; a recording whose done starts another.
	b := e.NewLeg("b")
	b.SetSource(Tone(agentHz, amp))
	played := make(chan bool, 1)
	b.Play(make([]int16, FrameSamples), func(stopped bool) {
		b.Close()
		played <- stopped
	})
	second := make(chan RecordResult, 1)
	c := e.NewLeg("c")
	_, err := c.Record(filepath.Join(dir, "1.wav"), RecordOptions{MaxDuration: FrameDuration}, func(RecordResult) {
		if _, err := c.Record(filepath.Join(dir, "2.wav"), RecordOptions{}, func(r RecordResult) { second <- r }); err != nil {
			t.Errorf("Record from a done callback: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Tick()
	waitFor(t, played, "playback done")
	eventually(t, "callbacks run", e.cb.idle)
	tick(e, 5)
	c.Close()
	if r := waitFor(t, second, "second recording"); r.Reason != EndHangup || r.Duration != 5*FrameDuration {
		t.Errorf("second recording %+v", r)
	}

	// stop() under the caller's lock, done taking that lock.
	var mu sync.Mutex
	d := e.NewLeg("d")
	stopped := make(chan struct{})
	stop := d.Play(make([]int16, 100*FrameSamples), func(bool) {
		mu.Lock()
		defer mu.Unlock()
		close(stopped)
	})
	mu.Lock()
	stop()
	d.Close()
	mu.Unlock()
	waitFor(t, stopped, "done under the caller's lock")
}

// Everything at once from many goroutines while the real clock runs; the
// race detector checks the locking.
func TestConcurrentUse(t *testing.T) {
	e := NewEngine()
	dir := t.TempDir()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				id := fmt.Sprintf("%d-%d", g, i)
				br := e.NewBridge(id)
				caller := e.NewLeg("caller-" + id)
				caller.SetSource(Tone(callerHz, amp))
				caller.OnHear(func([]int16) {})
				ext, _, err := e.NewExternalLeg("ext-"+id, "127.0.0.1:9", "127.0.0.1")
				if err != nil {
					t.Error(err)
					return
				}
				br.Add(caller)
				br.Add(ext)
				snoop := e.NewSnoopLeg("snoop-"+id, caller, Both, Both)
				snoop.SetSource(Tone(supervisorHz, amp))
				stopPlay := caller.Play(audio.Tone(agentHz, amp, 4*FrameSamples), func(bool) {})
				stopRec, err := caller.Record(filepath.Join(dir, id+".wav"), RecordOptions{}, func(RecordResult) {})
				if err != nil {
					t.Error(err)
					return
				}
				_ = ext.Stats()
				if i%2 == 0 {
					stopPlay()
					stopRec()
				}
				br.Remove(caller)
				snoop.Close()
				caller.Close()
				if i%3 == 0 {
					br.Close()
				}
				ext.Close()
			}
		}()
	}
	wg.Wait()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l := e.NewLeg("late")
	l.SetSource(Silence())
	e.NewBridge("late").Add(l)
	if got := len(e.legs) + len(e.bridges); got != 0 {
		t.Errorf("%d legs and bridges left after Close", got)
	}
}

// Close ends every goroutine the engine started: the clock, the callback
// runner and the ExternalMedia receivers.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	e := NewEngine()
	for i := 0; i < 5; i++ {
		if _, _, err := e.NewExternalLeg(fmt.Sprint(i), "127.0.0.1:9", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	if runtime.NumGoroutine() < before+7 {
		t.Fatalf("expected the engine's goroutines to be running")
	}
	e.Close()
	eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}
