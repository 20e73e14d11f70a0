package audio

import (
	"math"
	"testing"
)

func TestULawKnownValues(t *testing.T) {
	tests := []struct {
		name string
		in   int16
		want byte
	}{
		{"zero", 0, 0xff},
		{"max", math.MaxInt16, 0x80},
		{"min", math.MinInt16, 0x00},
		{"small positive", 100, 0xf2},
		{"small negative", -100, 0x72},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EncodeULaw(tc.in); got != tc.want {
				t.Errorf("EncodeULaw(%d) = %#02x, want %#02x", tc.in, got, tc.want)
			}
		})
	}
	decodes := []struct {
		in   byte
		want int16
	}{{0xff, 0}, {0x7f, 0}, {0x80, 32124}, {0x00, -32124}, {0xf2, 104}, {0x72, -104}}
	for _, d := range decodes {
		if got := DecodeULaw(d.in); got != d.want {
			t.Errorf("DecodeULaw(%#02x) = %d, want %d", d.in, got, d.want)
		}
	}
}

// Every code decodes to a value that encodes back to the same code (except
// µ-law's negative zero, which becomes positive zero).
func TestULawCodesRoundTrip(t *testing.T) {
	for b := 0; b < 256; b++ {
		got := EncodeULaw(DecodeULaw(byte(b)))
		want := byte(b)
		if b == 0x7f {
			want = 0xff
		}
		if got != want {
			t.Errorf("EncodeULaw(DecodeULaw(%#02x)) = %#02x", b, got)
		}
	}
}

// G.711 reconstructs at the middle of each quantization step, so the error
// is at most half a step: (|x|+132)/32, until the clipping level 32635.
func TestULawErrorBound(t *testing.T) {
	for x := math.MinInt16; x <= math.MaxInt16; x++ {
		got := int(DecodeULaw(EncodeULaw(int16(x))))
		errAbs := math.Abs(float64(got - x))
		mag := math.Abs(float64(x))
		bound := (mag + 132) / 32
		if mag > ulawClip {
			bound = mag - 32124
		}
		if errAbs > bound {
			t.Fatalf("x=%d decodes to %d: error %.0f > bound %.1f", x, got, errAbs, bound)
		}
		if (x > 0 && got < 0) || (x < 0 && got > 0) {
			t.Fatalf("x=%d decodes to %d: sign flipped", x, got)
		}
	}
}

func TestPCMUSlices(t *testing.T) {
	in := Tone(440, 0.5, FrameSamples)
	enc := EncodePCMU(nil, in)
	if len(enc) != FrameSamples {
		t.Fatalf("encoded %d bytes, want %d", len(enc), FrameSamples)
	}
	dec := DecodePCMU(nil, enc)
	if len(dec) != FrameSamples {
		t.Fatalf("decoded %d samples, want %d", len(dec), FrameSamples)
	}
	// Signal to quantization noise of µ-law on a loud tone is about 38 dB.
	var sig, noise float64
	for i := range in {
		d := float64(dec[i]) - float64(in[i])
		sig += float64(in[i]) * float64(in[i])
		noise += d * d
	}
	if snr := 10 * math.Log10(sig/noise); snr < 30 {
		t.Errorf("SNR after PCMU round trip = %.1f dB, want >= 30", snr)
	}
}

func BenchmarkEncodePCMUFrame(b *testing.B) {
	in := Tone(440, 0.5, FrameSamples)
	out := make([]byte, 0, FrameSamples)
	for b.Loop() {
		out = EncodePCMU(out[:0], in)
	}
}
