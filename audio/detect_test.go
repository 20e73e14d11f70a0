package audio

import (
	"math/rand/v2"
	"testing"
)

func TestToneDetection(t *testing.T) {
	second := SampleRate
	tone440 := Tone(440, 0.3, second)
	tone880 := Tone(880, 0.3, second)
	tone1300 := Tone(1300, 0.3, second)
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]int16, second)
	for i := range noise {
		noise[i] = int16(rng.IntN(8001) - 4000)
	}
	pcmu := DecodePCMU(nil, EncodePCMU(nil, tone440))

	tests := []struct {
		name    string
		samples []int16
		present []float64
		absent  []float64
	}{
		{"440 alone", tone440, []float64{440}, []float64{880, 1300}},
		{"880 alone", tone880, []float64{880}, []float64{440, 1300}},
		{"440 and 880 mixed", Mix(tone440, tone880), []float64{440, 880}, []float64{1300}},
		{"three parties mixed", Mix(tone440, tone880, tone1300), []float64{440, 880, 1300}, []float64{600}},
		{"440 after PCMU", pcmu, []float64{440}, []float64{880, 1300}},
		{"quiet 440 under loud 880", Mix(Tone(440, 0.05, second), tone880), []float64{880}, []float64{440}},
		{"silence", make([]int16, second), nil, []float64{440, 880, 1300}},
		{"white noise", noise, nil, []float64{440, 880, 1300}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range tc.present {
				if !HasTone(tc.samples, f) {
					t.Errorf("%v Hz not detected (median share %.3f)", f, MedianToneShare(tc.samples, f))
				}
			}
			for _, f := range tc.absent {
				if HasTone(tc.samples, f) {
					t.Errorf("%v Hz detected (median share %.3f)", f, MedianToneShare(tc.samples, f))
				}
			}
		})
	}
}

func TestToneShareValues(t *testing.T) {
	w := Tone(440, 0.3, WindowSamples)
	if s := ToneShare(w, 440); s < 0.99 {
		t.Errorf("share of 440 in a pure 440 window = %.4f, want ~1", s)
	}
	if s := ToneShare(w, 880); s > 0.001 {
		t.Errorf("share of 880 in a pure 440 window = %.4f, want ~0", s)
	}
	mix := Mix(w, Tone(880, 0.3, WindowSamples))
	for _, f := range []float64{440, 880} {
		if s := ToneShare(mix, f); s < 0.45 || s > 0.55 {
			t.Errorf("share of %v in an equal mix = %.3f, want ~0.5", f, s)
		}
	}
	if s := ToneShare(make([]int16, WindowSamples), 440); s != 0 {
		t.Errorf("share in silence = %v, want 0", s)
	}
	if got := len(ToneShares(make([]int16, 3*WindowSamples+5), 440)); got != 3 {
		t.Errorf("ToneShares windows = %d, want 3", got)
	}
	if s := MedianToneShare(w[:WindowSamples-1], 440); s != 0 {
		t.Errorf("median share of less than a window = %v, want 0", s)
	}
}

func TestSilence(t *testing.T) {
	tests := []struct {
		name    string
		samples []int16
		silent  bool
	}{
		{"zeros", make([]int16, 160), true},
		{"empty", nil, true},
		{"ulaw idle noise", DecodePCMU(nil, []byte{0xfe, 0x7e, 0xff, 0x7f, 0xfe, 0x7e}), true},
		{"quiet tone -50 dBFS", Tone(440, 0.003, 160), true},
		{"tone -30 dBFS", Tone(440, 0.03, 160), false},
		{"loud tone", Tone(440, 0.5, 160), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsSilent(tc.samples); got != tc.silent {
				t.Errorf("IsSilent = %v (RMS %.1f), want %v", got, RMS(tc.samples), tc.silent)
			}
		})
	}
}

func TestToneGeneratorContinuity(t *testing.T) {
	// Frame by frame must equal one long tone: no phase jumps between frames.
	g := NewToneGenerator(440, 0.3)
	long := Tone(440, 0.3, 10*FrameSamples)
	f := make([]int16, FrameSamples)
	for i := 0; i < 10; i++ {
		g.Fill(f)
		for j, v := range f {
			if d := int(v) - int(long[i*FrameSamples+j]); d > 1 || d < -1 {
				t.Fatalf("frame %d sample %d = %d, want %d", i, j, v, long[i*FrameSamples+j])
			}
		}
	}
}

func TestMixClips(t *testing.T) {
	got := Mix([]int16{30000, -30000, 5}, []int16{30000, -30000}, []int16{1})
	want := []int16{32767, -32768, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Mix[%d] = %d, want %d", i, got[i], want[i])
		}
	}
}

func BenchmarkToneFill(b *testing.B) {
	g := NewToneGenerator(440, 0.3)
	f := make([]int16, FrameSamples)
	for b.Loop() {
		g.Fill(f)
	}
}
