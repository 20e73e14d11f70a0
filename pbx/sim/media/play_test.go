package media

import (
	"testing"
	"time"

	"hotline/audio"
)

// The leg hears the samples frame by frame for exactly their duration,
// mixed with its bridge, and then done(false).
func TestPlayManualClock(t *testing.T) {
	e := manualEngine(t)
	b := e.NewBridge("b")
	caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
	agent.SetSource(Tone(agentHz, amp))
	b.Add(caller)
	b.Add(agent)
	r := listenTo(caller)

	prompt := audio.Tone(supervisorHz, amp, audio.SamplesFor(time.Second)+80) // 50.5 frames
	done := make(chan bool, 2)
	caller.Play(prompt, func(stopped bool) { done <- stopped })
	tick(e, 51)
	if stopped := waitFor(t, done, "playback done"); stopped {
		t.Error("done(true) for a playback that ran to its end")
	}
	tick(e, 25)
	heard := r.heard()
	checkTones(t, "caller during the prompt", heard[:len(prompt)], agentHz, supervisorHz)
	checkTones(t, "caller after the prompt", heard[51*FrameSamples:], agentHz)
	if len(done) != 0 {
		t.Error("done ran twice")
	}
}

// With the real clock a one-second prompt takes a second.
func TestPlayRealDuration(t *testing.T) {
	e := NewEngine()
	defer e.Close()
	l := e.NewLeg("caller")
	r := listenTo(l)
	prompt := audio.Tone(agentHz, amp, audio.SamplesFor(time.Second))
	done := make(chan bool, 1)
	start := time.Now()
	l.Play(prompt, func(stopped bool) { done <- stopped })
	if stopped := waitFor(t, done, "playback done"); stopped {
		t.Error("done(true) for a playback that ran to its end")
	}
	if d := time.Since(start); d < 950*time.Millisecond || d > 2500*time.Millisecond {
		t.Errorf("a 1 s prompt took %v", d)
	}
	checkTones(t, "caller", r.heard(), agentHz)
}

func TestPlayStop(t *testing.T) {
	tests := []struct {
		name string
		end  func(l *Leg, b *Bridge, stop func())
	}{
		{"stop", func(_ *Leg, _ *Bridge, stop func()) { stop(); stop() }},
		{"leg closed", func(l *Leg, _ *Bridge, _ func()) { l.Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := manualEngine(t)
			l := e.NewLeg("caller")
			r := listenTo(l)
			done := make(chan bool, 2)
			stop := l.Play(audio.Tone(agentHz, amp, 10*audio.SampleRate), func(s bool) { done <- s })
			tick(e, 25)
			tc.end(l, nil, stop)
			if stopped := waitFor(t, done, "playback done"); !stopped {
				t.Error("done(false) for a stopped playback")
			}
			r.reset()
			tick(e, 25)
			if n := len(r.heard()); n > 0 {
				checkTones(t, "after stop", r.heard())
			}
			stop()
			tick(e, 2)
			if len(done) != 0 {
				t.Error("done ran twice")
			}
		})
	}
}

func TestPlayOnClosed(t *testing.T) {
	e := manualEngine(t)
	l := e.NewLeg("x")
	l.Close()
	done := make(chan bool, 1)
	stop := l.Play([]int16{1, 2, 3}, func(s bool) { done <- s })
	if !waitFor(t, done, "done on a closed leg") {
		t.Error("done(false) on a closed leg")
	}
	stop()
	b := e.NewBridge("b")
	b.Close()
	b.Play([]int16{1}, func(s bool) { done <- s })
	if !waitFor(t, done, "done on a closed bridge") {
		t.Error("done(false) on a closed bridge")
	}
}

func TestBridgePlay(t *testing.T) {
	e := manualEngine(t)
	b := e.NewBridge("b")
	caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
	caller.SetSource(Tone(callerHz, amp))
	b.Add(caller)
	b.Add(agent)
	rc, ra := listenTo(caller), listenTo(agent)
	done := make(chan bool, 1)
	b.Play(audio.Tone(supervisorHz, amp, audio.SampleRate), func(s bool) { done <- s })
	tick(e, 50)
	if waitFor(t, done, "bridge playback done") {
		t.Error("done(true) for a finished bridge playback")
	}
	checkTones(t, "caller", rc.heard(), supervisorHz)
	checkTones(t, "agent", ra.heard(), callerHz, supervisorHz)
}
