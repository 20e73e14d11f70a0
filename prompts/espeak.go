package prompts

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Synth makes the audio files. Both methods write an 8 kHz 16-bit mono WAV to out.
type Synth interface {
	// Speak reads the segments one after the other.
	Speak(ctx context.Context, segs []Segment, out string) error
	Beep(ctx context.Context, out string) error
	// ID names the synthesizer and its settings; a change regenerates every file.
	ID() string
}

// Espeak speaks with espeak-ng and converts and makes tones with sox (Debian packages
// espeak-ng and sox).
type Espeak struct {
	EspeakNG, Sox string // paths of the programs
}

// FindEspeak looks espeak-ng and sox up in PATH.
func FindEspeak() (Espeak, error) {
	var e Espeak
	var missing []string
	var err error
	if e.EspeakNG, err = exec.LookPath("espeak-ng"); err != nil {
		missing = append(missing, "espeak-ng")
	}
	if e.Sox, err = exec.LookPath("sox"); err != nil {
		missing = append(missing, "sox")
	}
	if len(missing) > 0 {
		return Espeak{}, fmt.Errorf("%s not found in PATH: run scripts/prompts, which installs them, or apt-get install -y %s",
			strings.Join(missing, " and "), strings.Join(missing, " "))
	}
	return e, nil
}

// ID changes whenever the commands below change what they produce.
func (e Espeak) ID() string {
	return "espeak-ng+sox/v1: 8000 Hz s16 mono, gain -n -3, pad 0.1 0.2; beep 1000 Hz 0.3 s"
}

// soxOut is the output format Asterisk's wav format module reads.
var soxOut = []string{"-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"}

// Speak implements Synth.
func (e Espeak) Speak(ctx context.Context, segs []Segment, out string) error {
	tmp, err := os.MkdirTemp("", "hotline-prompt-")
	if err != nil {
		return fmt.Errorf("speak: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"-R"}
	for i, s := range segs {
		// The text goes through a file, so that text starting with "-" is never an option.
		text, raw := filepath.Join(tmp, fmt.Sprintf("%d.txt", i)), filepath.Join(tmp, fmt.Sprintf("%d.wav", i))
		if err := os.WriteFile(text, []byte(s.Text+"\n"), 0o600); err != nil {
			return fmt.Errorf("speak: %w", err)
		}
		if err := run(ctx, e.EspeakNG, "-v", s.Voice.Name, "-s", strconv.Itoa(s.Voice.Speed), "-w", raw, "-f", text); err != nil {
			return err
		}
		args = append(args, raw)
	}
	// sox joins the segments (espeak-ng writes them all at 22050 Hz), normalizes with
	// headroom for the resampler, and pads so that the first and last syllables are not
	// clipped by a playback start or a barge-in.
	args = append(args, soxOut...)
	return run(ctx, e.Sox, append(args, out, "gain", "-n", "-3", "pad", "0.1", "0.2")...)
}

// Beep implements Synth: 0.3 s of 1 kHz at half scale, with 10 ms fades against clicks.
func (e Espeak) Beep(ctx context.Context, out string) error {
	args := append([]string{"-R", "-n"}, soxOut...)
	return run(ctx, e.Sox, append(args, out, "synth", "0.3", "sine", "1000", "vol", "0.5", "fade", "q", "0.01", "0.3", "0.01")...)
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
