package prompts

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/audio"
)

// wavFormat reads the fmt chunk of a WAV file by hand, independently of package audio.
func wavFormat(t *testing.T, path string) (format, channels uint16, rate uint32, bits uint16, dataBytes uint32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not RIFF/WAVE", path)
	}
	le := binary.LittleEndian
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), le.Uint32(b[off+4:])
		body := b[off+8:]
		switch id {
		case "fmt ":
			format, channels, rate, bits = le.Uint16(body[0:]), le.Uint16(body[2:]), le.Uint32(body[4:]), le.Uint16(body[14:])
		case "data":
			return format, channels, rate, bits, size
		}
		off += 8 + int(size) + int(size%2)
	}
	t.Fatalf("%s: no data chunk", path)
	return
}

// TestEspeak runs the real espeak-ng and sox (scripts/prompts installs them).
func TestEspeak(t *testing.T) {
	synth, err := FindEspeak()
	if err != nil {
		t.Fatalf("%v (this test needs them; it is not skipped)", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	menu := append(tinyMenu(), Prompt{Name: "hotline/choose-language", Text: map[string]string{
		"zh": "普通话服务请按一。For English, please press 2.", "en": "For Mandarin, press 1. For English, press 2."}})
	rep, err := Generate(ctx, menu, Options{Dir: dir, Synth: synth})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Generated) != len(tinyFiles)+2 {
		t.Fatalf("generated %v", rep.Generated)
	}
	minDur := map[string]time.Duration{
		"zh/hotline/welcome.wav": 1500 * time.Millisecond, "en/hotline/welcome.wav": 1000 * time.Millisecond,
		"zh/hotline/goodbye.wav": 400 * time.Millisecond, "en/hotline/goodbye.wav": 400 * time.Millisecond,
		// Two voices joined: longer than either half.
		"zh/hotline/choose-language.wav": 3 * time.Second, "en/hotline/choose-language.wav": 2 * time.Second,
		"zh/beep.wav": 290 * time.Millisecond, "zh/hotline/beep.wav": 290 * time.Millisecond,
		"en/beep.wav": 290 * time.Millisecond, "en/hotline/beep.wav": 290 * time.Millisecond,
	}
	for rel, min := range minDur {
		t.Run(rel, func(t *testing.T) {
			path := filepath.Join(dir, rel)
			format, channels, rate, bits, data := wavFormat(t, path)
			if format != 1 || channels != 1 || rate != 8000 || bits != 16 {
				t.Fatalf("format %d, %d channels, %d Hz, %d bits; want PCM mono 8000 Hz 16 bits", format, channels, rate, bits)
			}
			samples, err := audio.ReadWAVFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dur := time.Duration(len(samples)) * time.Second / 8000
			if int(data) != 2*len(samples) || dur < min || dur > 30*time.Second {
				t.Errorf("%v of audio (%d data bytes), want at least %v", dur, data, min)
			}
			if rms := audio.RMS(samples); rms < 1000 {
				t.Errorf("RMS %.0f: too quiet for speech normalized to -3 dBFS", rms)
			}
			isBeep := filepath.Base(rel) == "beep.wav"
			if got := audio.HasTone(samples, 1000); got != isBeep {
				t.Errorf("1 kHz tone present = %v, want %v", got, isBeep)
			}
		})
	}

	stamp := map[string]time.Time{}
	for rel := range minDur {
		fi, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		stamp[rel] = fi.ModTime()
	}
	rep, err = Generate(ctx, menu, Options{Dir: dir, Synth: synth})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Generated) != 0 || len(rep.Current) != len(minDur) {
		t.Errorf("second run: %+v, want everything current", rep)
	}
	for rel, was := range stamp {
		if fi, err := os.Stat(filepath.Join(dir, rel)); err != nil || !fi.ModTime().Equal(was) {
			t.Errorf("%s was rewritten", rel)
		}
	}
}
