package audio

import "math"

// ToneGenerator produces a continuous sine tone across successive frames
// (the phase carries over, so frames join without clicks).
type ToneGenerator struct {
	step  float64 // phase increment per sample, radians
	peak  float64 // peak amplitude in sample units
	phase float64
}

// NewToneGenerator returns a generator of freqHz at amplitude, a fraction of
// full scale (0..1; values outside are clamped).
func NewToneGenerator(freqHz, amplitude float64) *ToneGenerator {
	amplitude = math.Max(0, math.Min(1, amplitude))
	return &ToneGenerator{
		step: 2 * math.Pi * freqHz / SampleRate,
		peak: amplitude * math.MaxInt16,
	}
}

// Fill writes the next len(frame) samples of the tone into frame.
func (g *ToneGenerator) Fill(frame []int16) {
	// Rotate a phasor instead of calling math.Sin per sample (the engine
	// fills hundreds of frames per tick); it restarts from an exact
	// math.Sincos each call, so rounding never accumulates.
	s, c := math.Sincos(g.phase)
	ds, dc := math.Sincos(g.step)
	for i := range frame {
		v := g.peak * s
		if v >= 0 {
			frame[i] = int16(v + 0.5)
		} else {
			frame[i] = int16(v - 0.5)
		}
		s, c = s*dc+c*ds, c*dc-s*ds
	}
	// Keep the phase small so precision does not drift over long calls.
	g.phase = math.Mod(g.phase+g.step*float64(len(frame)), 2*math.Pi)
}

// Tone returns n samples of a freqHz sine at amplitude (fraction of full scale).
func Tone(freqHz, amplitude float64, n int) []int16 {
	s := make([]int16, n)
	NewToneGenerator(freqHz, amplitude).Fill(s)
	return s
}

// Mix returns the sample-wise sum of the inputs, clipped to 16 bits. The
// result has the length of the longest input.
func Mix(inputs ...[]int16) []int16 {
	n := 0
	for _, in := range inputs {
		n = max(n, len(in))
	}
	acc := make([]int32, n)
	for _, in := range inputs {
		for i, s := range in {
			acc[i] += int32(s)
		}
	}
	out := make([]int16, n)
	for i, v := range acc {
		out[i] = Clip(v)
	}
	return out
}

// Clip saturates a 32-bit sum to the 16-bit sample range.
func Clip(v int32) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
