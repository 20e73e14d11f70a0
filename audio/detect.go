package audio

import (
	"math"
	"sort"
)

const (
	// WindowSamples is the detector's window: 200 ms at 8 kHz. At this
	// length the bins are 5 Hz apart, so 440, 880 and 1300 Hz fall exactly
	// on bins and do not leak into one another.
	WindowSamples = 1600

	// SilenceRMS is the RMS level (in sample units, about -50 dBFS) below
	// which audio counts as silence. It sits above the µ-law quantization
	// noise of a silent stream and far below speech or test tones.
	SilenceRMS = 100

	// PresentShare is the share of a window's energy that a frequency must
	// carry for HasTone to call it present. Three equal tones mixed give
	// each about 0.33; a tone that is absent scores near 0.
	PresentShare = 0.2
)

// ToneShare returns the share (0..1) of window's energy that lies at freqHz,
// measured with the Goertzel algorithm. A pure tone at freqHz scores about
// 1, an equal mix of two tones about 0.5 each, and a window with no energy 0.
func ToneShare(window []int16, freqHz float64) float64 {
	n := len(window)
	if n == 0 {
		return 0
	}
	w := 2 * math.Pi * freqHz / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, x := range window {
		v := float64(x)
		energy += v * v
		s0 := v + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if energy == 0 {
		return 0
	}
	// |X(f)|^2 of the window; a sinusoid of amplitude A gives (A*N/2)^2
	// while its energy is A^2*N/2, hence the 2/N.
	power := s1*s1 + s2*s2 - coeff*s1*s2
	share := 2 * power / (float64(n) * energy)
	return math.Min(1, share)
}

// ToneShares splits samples into consecutive 200 ms windows (a trailing
// partial window is ignored) and returns each window's ToneShare. Windows
// quieter than SilenceRMS score 0: silence carries no tone.
func ToneShares(samples []int16, freqHz float64) []float64 {
	out := make([]float64, 0, len(samples)/WindowSamples)
	for i := 0; i+WindowSamples <= len(samples); i += WindowSamples {
		win := samples[i : i+WindowSamples]
		if RMS(win) < SilenceRMS {
			out = append(out, 0)
			continue
		}
		out = append(out, ToneShare(win, freqHz))
	}
	return out
}

// MedianToneShare returns the median of ToneShares, or 0 when samples are
// shorter than one window. The median ignores a window or two spoiled by a
// call starting or ending.
func MedianToneShare(samples []int16, freqHz float64) float64 {
	shares := ToneShares(samples, freqHz)
	if len(shares) == 0 {
		return 0
	}
	sort.Float64s(shares)
	m := len(shares) / 2
	if len(shares)%2 == 1 {
		return shares[m]
	}
	return (shares[m-1] + shares[m]) / 2
}

// HasTone reports whether freqHz is heard in samples: its median share over
// 200 ms windows is at least PresentShare.
func HasTone(samples []int16, freqHz float64) bool {
	return MedianToneShare(samples, freqHz) >= PresentShare
}

// RMS returns the root mean square of samples, in sample units.
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		v := float64(s)
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// IsSilent reports whether samples are below SilenceRMS.
func IsSilent(samples []int16) bool { return RMS(samples) < SilenceRMS }
