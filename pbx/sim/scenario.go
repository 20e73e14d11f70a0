package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"hotline/pbx/steps"
)

// Scenario is a set of simulated people loaded from a text file, one per line:
//
//	# comment
//	endpoint PJSIP/agent-1001 behavior=answer after=2s steps="T880:5 h"
//	endpoint PJSIP/officer-1 behavior=noanswer
//	call from=13800000001 at=0s steps="p 2 w3 h"
//	call from=13800000002 at=1.5s language=zh steps="p 1 p h"
//
// behavior is answer (default), noanswer, busy or unavailable; after is the
// ringing time; at is when the call is placed, from the scenario's start.
type Scenario struct {
	Endpoints []EndpointSpec
	Calls     []ScheduledCall
}

// ScheduledCall is a call placed At after the scenario starts.
type ScheduledCall struct {
	At   time.Duration
	Spec CallSpec
}

// ParseScenario reads the scenario format.
func ParseScenario(r io.Reader) (Scenario, error) {
	var sc Scenario
	lines := bufio.NewScanner(r)
	n := 0
	for lines.Scan() {
		n++
		line := strings.TrimSpace(lines.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		toks, err := splitQuoted(line)
		if err != nil {
			return sc, fmt.Errorf("line %d: %w", n, err)
		}
		kw := map[string]string{}
		var positional []string
		for _, tok := range toks[1:] {
			if k, v, ok := strings.Cut(tok, "="); ok {
				kw[k] = v
			} else {
				positional = append(positional, tok)
			}
		}
		dur := func(key string) (time.Duration, error) {
			v, ok := kw[key]
			if !ok {
				return 0, nil
			}
			if d, err := time.ParseDuration(v); err == nil {
				return d, nil
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: %s=%q is not a duration", n, key, v)
			}
			return time.Duration(f * float64(time.Second)), nil
		}
		if _, err := steps.Parse(kw["steps"]); err != nil {
			return sc, fmt.Errorf("line %d: %w", n, err)
		}
		switch toks[0] {
		case "endpoint":
			if len(positional) != 1 {
				return sc, fmt.Errorf("line %d: endpoint needs one name", n)
			}
			b, ok := ParseBehavior(kw["behavior"])
			if !ok {
				return sc, fmt.Errorf("line %d: unknown behavior %q", n, kw["behavior"])
			}
			after, err := dur("after")
			if err != nil {
				return sc, err
			}
			sc.Endpoints = append(sc.Endpoints, EndpointSpec{Name: positional[0], Behavior: b, AnswerAfter: after, Steps: kw["steps"]})
		case "call":
			at, err := dur("at")
			if err != nil {
				return sc, err
			}
			sc.Calls = append(sc.Calls, ScheduledCall{At: at, Spec: CallSpec{
				From: kw["from"], Name: kw["name"], To: kw["to"], Language: kw["language"], Steps: kw["steps"]}})
		default:
			return sc, fmt.Errorf("line %d: unknown keyword %q (want endpoint or call)", n, toks[0])
		}
	}
	if err := lines.Err(); err != nil {
		return sc, fmt.Errorf("read scenario: %w", err)
	}
	return sc, nil
}

// splitQuoted splits on spaces, keeping key="quoted value" together.
func splitQuoted(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case (r == ' ' || r == '\t') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// RunScenario registers the scenario's endpoints and places its calls at
// their times. It returns the calls once all are placed, or ctx's error.
func (s *Server) RunScenario(ctx context.Context, sc Scenario) ([]*Call, error) {
	for _, ep := range sc.Endpoints {
		s.RegisterEndpoint(ep)
	}
	start := time.Now()
	var calls []*Call
	for _, c := range sc.Calls {
		if wait := time.Until(start.Add(c.At)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return calls, fmt.Errorf("run scenario: %w", ctx.Err())
			}
		}
		call, err := s.Call(ctx, c.Spec)
		if err != nil {
			return calls, fmt.Errorf("run scenario: %w", err)
		}
		calls = append(calls, call)
	}
	return calls, nil
}
