package media

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/audio"
)

func TestRecord(t *testing.T) {
	tests := []struct {
		name       string
		source     func() Source
		opt        RecordOptions
		ticks      int // ticks before the end is forced (0: wait for a limit)
		end        func(l *Leg, e *Engine, stop func())
		wantReason EndReason
		wantDur    time.Duration
		wantSilent bool
		tones      []float64
	}{
		{
			name: "stopped", source: func() Source { return Tone(callerHz, amp) },
			ticks: 50, end: func(_ *Leg, _ *Engine, stop func()) { stop(); stop() },
			wantReason: EndStopped, wantDur: time.Second, tones: []float64{callerHz},
		},
		{
			name: "max duration", source: func() Source { return Tone(agentHz, amp) },
			opt:        RecordOptions{MaxDuration: 700 * time.Millisecond},
			wantReason: EndMaxDuration, wantDur: 700 * time.Millisecond, tones: []float64{agentHz},
		},
		{
			name: "hang-up keeps the partial file", source: func() Source { return Tone(callerHz, amp) },
			opt:   RecordOptions{MaxDuration: 10 * time.Second},
			ticks: 30, end: func(l *Leg, _ *Engine, _ func()) { l.Close() },
			wantReason: EndHangup, wantDur: 600 * time.Millisecond, tones: []float64{callerHz},
		},
		{
			name: "engine close keeps the partial file", source: func() Source { return Tone(callerHz, amp) },
			ticks: 20, end: func(_ *Leg, e *Engine, _ func()) { e.Close() },
			wantReason: EndHangup, wantDur: 400 * time.Millisecond, tones: []float64{callerHz},
		},
		{
			name: "max silence on a silent leg", source: Silence,
			opt:        RecordOptions{MaxSilence: 500 * time.Millisecond, MaxDuration: 10 * time.Second},
			wantReason: EndMaxSilence, wantDur: 500 * time.Millisecond, wantSilent: true,
		},
		{
			name: "max silence after speech",
			source: func() Source {
				return Samples(audio.Tone(callerHz, amp, audio.SamplesFor(time.Second)))
			},
			opt:        RecordOptions{MaxSilence: 400 * time.Millisecond},
			wantReason: EndMaxSilence, wantDur: 1400 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(WithManualClock())
			defer e.Close()
			l := e.NewLeg("caller")
			l.SetSource(tc.source())
			path := filepath.Join(t.TempDir(), "rec.wav")
			results := make(chan RecordResult, 2)
			stop, err := l.Record(path, tc.opt, func(r RecordResult) { results <- r })
			if err != nil {
				t.Fatal(err)
			}
			var res RecordResult
			if tc.ticks > 0 {
				tick(e, tc.ticks)
				tc.end(l, e, stop)
				res = waitFor(t, results, "recording done")
			} else {
				for i := 0; ; i++ {
					if i > 1000 {
						t.Fatal("recording never ended")
					}
					e.Tick()
					if len(results) > 0 {
						break
					}
					// The result is posted by the tick that ended it; let
					// the callback goroutine deliver it before ticking on.
					eventually(t, "callback queue drained", e.cb.idle)
					if len(results) > 0 {
						break
					}
				}
				res = <-results
			}
			if res.Reason != tc.wantReason || res.Err != nil {
				t.Errorf("reason %v err %v, want %v", res.Reason, res.Err, tc.wantReason)
			}
			if res.Duration != tc.wantDur {
				t.Errorf("duration %v, want %v", res.Duration, tc.wantDur)
			}
			if res.Silent != tc.wantSilent {
				t.Errorf("silent %v, want %v", res.Silent, tc.wantSilent)
			}
			if res.Path != path {
				t.Errorf("path %q, want %q", res.Path, path)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != res.Bytes || res.Bytes != 44+2*int64(audio.SamplesFor(tc.wantDur)) {
				t.Errorf("file %d bytes, result says %d, want %d", fi.Size(), res.Bytes, 44+2*audio.SamplesFor(tc.wantDur))
			}
			samples, err := audio.ReadWAVFile(path)
			if err != nil {
				t.Fatalf("recording is not a valid WAV: %v", err)
			}
			if got := audio.Duration(len(samples)); got != tc.wantDur {
				t.Errorf("WAV holds %v, want %v", got, tc.wantDur)
			}
			if tc.tones != nil {
				checkTones(t, "recording", samples, tc.tones...)
			}
			if tc.wantSilent && !audio.IsSilent(samples) {
				t.Errorf("silent recording has RMS %.0f", audio.RMS(samples))
			}
			tick(e, 5)
			select {
			case r := <-results:
				t.Errorf("done ran twice: %+v", r)
			default:
			}
		})
	}
}

// A leg's recording is what the party sends, not what it hears; a bridge's
// recording is the whole mix.
func TestRecordWhatIsSent(t *testing.T) {
	e := manualEngine(t)
	dir := t.TempDir()
	b := e.NewBridge("b")
	caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
	caller.SetSource(Tone(callerHz, amp))
	agent.SetSource(Tone(agentHz, amp))
	b.Add(caller)
	b.Add(agent)
	results := make(chan RecordResult, 2)
	done := func(r RecordResult) { results <- r }
	stopLeg, err := caller.Record(filepath.Join(dir, "caller.wav"), RecordOptions{}, done)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Record(filepath.Join(dir, "bridge.wav"), RecordOptions{}, done)
	if err != nil {
		t.Fatal(err)
	}
	tick(e, 25)
	stopLeg()
	b.Close()
	got := map[string]RecordResult{}
	for i := 0; i < 2; i++ {
		r := waitFor(t, results, "recording done")
		got[filepath.Base(r.Path)] = r
	}
	if got["caller.wav"].Reason != EndStopped || got["bridge.wav"].Reason != EndHangup {
		t.Errorf("reasons: caller %v, bridge %v", got["caller.wav"].Reason, got["bridge.wav"].Reason)
	}
	for name, tones := range map[string][]float64{"caller.wav": {callerHz}, "bridge.wav": {callerHz, agentHz}} {
		s, err := audio.ReadWAVFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		checkTones(t, name, s, tones...)
	}
}

func TestRecordErrors(t *testing.T) {
	e := manualEngine(t)
	l := e.NewLeg("x")
	never := func(RecordResult) { t.Error("done ran for a failed Record") }
	if _, err := l.Record(filepath.Join(t.TempDir(), "no", "such", "dir.wav"), RecordOptions{}, never); err == nil {
		t.Error("Record into a missing directory succeeded")
	}
	l.Close()
	if _, err := l.Record(filepath.Join(t.TempDir(), "a.wav"), RecordOptions{}, never); !errors.Is(err, ErrClosed) {
		t.Errorf("Record on a closed leg: %v, want ErrClosed", err)
	}
	tick(e, 2)
}
