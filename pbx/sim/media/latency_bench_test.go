package media

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"hotline/audio"
)

const latencyLegs = 500

// busyEngine adds latencyLegs legs, in bridged pairs, each sending a tone,
// hearing a long prompt and tapped, as the callers of a loaded hotline.
func busyEngine(e *Engine) []*Leg {
	prompt := audio.Tone(supervisorHz, amp, 600*audio.SampleRate)
	legs := make([]*Leg, latencyLegs)
	var br *Bridge
	for i := range legs {
		l := e.NewLeg(fmt.Sprint("leg-", i))
		l.SetSource(Tone(callerHz, amp))
		l.OnHear(func([]int16) {})
		l.Play(prompt, func(bool) {})
		if i%2 == 0 {
			br = e.NewBridge(fmt.Sprint("b-", i))
		}
		br.Add(l)
		legs[i] = l
	}
	return legs
}

// BenchmarkPlayLatency500Legs measures how long Leg.Play and stopping a
// playback take while the real clock mixes 500 busy legs: the ARI play
// request of the simulator is served inside these calls. Calls arrive at
// random moments (0-2 ms apart) so they fall anywhere in the tick. One op is
// one Play and its stop.
func BenchmarkPlayLatency500Legs(b *testing.B) {
	e := NewEngine()
	defer e.Close()
	legs := busyEngine(e)
	beep := audio.Tone(agentHz, amp, audio.SampleRate)
	var plays, stops []time.Duration
	for b.Loop() {
		// Pacing only: spreads the calls over the tick's phases.
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		l := legs[rand.IntN(len(legs))]
		t0 := time.Now()
		stop := l.Play(beep, func(bool) {})
		t1 := time.Now()
		stop()
		plays, stops = append(plays, t1.Sub(t0)), append(stops, time.Since(t1))
	}
	reportLatency(b, "play", plays)
	reportLatency(b, "stop", stops)
}

// BenchmarkTick500Legs measures one tick (the graph lock is held for its
// mixing part) with the legs of BenchmarkPlayLatency500Legs.
func BenchmarkTick500Legs(b *testing.B) {
	e := NewEngine(WithManualClock())
	defer e.Close()
	busyEngine(e)
	for b.Loop() {
		e.Tick()
	}
}

func reportLatency(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[len(ds)/2]), name+"-p50-ms")
	b.ReportMetric(ms(ds[min(len(ds)-1, len(ds)*99/100)]), name+"-p99-ms")
	b.ReportMetric(ms(ds[len(ds)-1]), name+"-max-ms")
}
