// Package steps is the script syntax of test callers and endpoints: what a simulated party
// does once its call is answered. The simulated PBX plays these scripts itself; the
// end-to-end harness plays them on a real Asterisk's Local channels. Both read them here.
//
// "wN" pause N s, "mN" pause N ms, a digit, "#", "*" or A-D one DTMF, "tN" a 440 Hz tone for
// N s, "TF:N" a tone of F Hz for N s, "sN" silence for N s, "fFILE" speak a WAV file, "p"
// wait until the prompt playing ends, "h" hang up.
package steps

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what a step does.
type Kind int

// Step kinds.
const (
	Pause Kind = iota
	DTMF
	Tone
	Silence
	File
	Prompt
	Hangup
)

// The trace rig's DTMF: about 140 ms of RFC 4733 packets, then a 400 ms pause.
const (
	DTMFPress = 140 * time.Millisecond
	DTMFPause = 400 * time.Millisecond
)

// Step is one thing a party does.
type Step struct {
	Kind  Kind
	D     time.Duration // pauses, tones, silences
	Digit string        // DTMF
	Freq  float64       // tones
	Path  string        // files
}

// Parse reads a script.
func Parse(spec string) ([]Step, error) {
	var out []Step
	secs := func(tok, v string) (time.Duration, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("step %q: bad number", tok)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	for _, tok := range strings.Fields(spec) {
		switch c := tok[0]; {
		case c == 'w' || c == 's' || c == 't':
			d, err := secs(tok, tok[1:])
			if err != nil {
				return nil, err
			}
			k := map[byte]Kind{'w': Pause, 's': Silence, 't': Tone}[c]
			out = append(out, Step{Kind: k, D: d, Freq: 440})
		case c == 'm':
			n, err := strconv.Atoi(tok[1:])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("step %q: bad number", tok)
			}
			out = append(out, Step{Kind: Pause, D: time.Duration(n) * time.Millisecond})
		case c == 'T':
			f, n, ok := strings.Cut(tok[1:], ":")
			freq, err := strconv.ParseFloat(f, 64)
			if !ok || err != nil || freq <= 0 {
				return nil, fmt.Errorf("step %q: want TFREQ:SECONDS", tok)
			}
			d, err := secs(tok, n)
			if err != nil {
				return nil, err
			}
			out = append(out, Step{Kind: Tone, D: d, Freq: freq})
		case c == 'f' && len(tok) > 1:
			out = append(out, Step{Kind: File, Path: tok[1:]})
		case tok == "p":
			out = append(out, Step{Kind: Prompt})
		case tok == "h":
			out = append(out, Step{Kind: Hangup})
		case strings.Trim(tok, "0123456789#*ABCD") == "":
			for _, d := range tok {
				out = append(out, Step{Kind: DTMF, Digit: string(d)})
			}
		default:
			return nil, fmt.Errorf("unknown step %q", tok)
		}
	}
	return out, nil
}
