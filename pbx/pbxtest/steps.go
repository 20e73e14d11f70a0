package pbxtest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The caller's steps, in the simulated PBX's syntax (see hotline/pbx/sim).
// The real harness runs them itself, so it parses them itself; a test keeps
// this parser in step with sim.ParseSteps.

type stepKind int

const (
	stepPause stepKind = iota
	stepDTMF
	stepTone
	stepSilence
	stepFile
	stepPrompt
	stepHangup
)

type step struct {
	kind  stepKind
	d     time.Duration
	digit string
	freq  float64
	path  string
}

// The simulated caller's DTMF timing (the trace rig's): about 140 ms of key,
// then a 400 ms pause.
const (
	dtmfPress = 140 * time.Millisecond
	dtmfPause = 400 * time.Millisecond
)

func parseSteps(spec string) ([]step, error) {
	var out []step
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
			k := map[byte]stepKind{'w': stepPause, 's': stepSilence, 't': stepTone}[c]
			out = append(out, step{kind: k, d: d, freq: 440})
		case c == 'm':
			n, err := strconv.Atoi(tok[1:])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("step %q: bad number", tok)
			}
			out = append(out, step{kind: stepPause, d: time.Duration(n) * time.Millisecond})
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
			out = append(out, step{kind: stepTone, d: d, freq: freq})
		case c == 'f' && len(tok) > 1:
			out = append(out, step{kind: stepFile, path: tok[1:]})
		case tok == "p":
			out = append(out, step{kind: stepPrompt})
		case tok == "h":
			out = append(out, step{kind: stepHangup})
		case strings.Trim(tok, "0123456789#*ABCD") == "":
			for _, d := range tok {
				out = append(out, step{kind: stepDTMF, digit: string(d)})
			}
		default:
			return nil, fmt.Errorf("unknown step %q", tok)
		}
	}
	return out, nil
}
