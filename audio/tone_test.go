package audio

import (
	"math"
	"testing"
)

// The generator's samples match the closed form sin() to within rounding,
// across many frames.
func TestToneGeneratorAccuracy(t *testing.T) {
	tests := []struct{ freq, amp float64 }{{440, 0.3}, {880, 1}, {1300, 0.5}, {3999, 0.9}, {0, 1}}
	for _, tc := range tests {
		g := NewToneGenerator(tc.freq, tc.amp)
		f := make([]int16, FrameSamples)
		for n := 0; n < 3000; n++ { // one minute
			g.Fill(f)
			for i, v := range f {
				k := float64(n*FrameSamples + i)
				want := tc.amp * math.MaxInt16 * math.Sin(2*math.Pi*tc.freq*k/SampleRate)
				if math.Abs(float64(v)-want) > 1.01 {
					t.Fatalf("%v Hz frame %d sample %d = %d, want %.1f", tc.freq, n, i, v, want)
				}
			}
		}
	}
}

func TestToneAmplitudeClamped(t *testing.T) {
	s := Tone(440, 3, 400)
	peak := 0
	for _, v := range s {
		peak = max(peak, int(math.Abs(float64(v))))
	}
	if peak != math.MaxInt16 {
		t.Errorf("peak of a clamped tone = %d, want %d", peak, math.MaxInt16)
	}
}
