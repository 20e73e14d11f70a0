package ivr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Fuzz targets. Their seed corpora run with every `go test`; `go test -fuzz=FuzzMachine
// ./ivr` (or FuzzLoad) explores further.

var fuzzStatuses = []string{"registered", "accepted", "closed", "mediating", "unheard-of", ""}

// fuzzEvent turns one byte into an event for the call: mostly keys, also prompt ends,
// timer expiries (current or stale), look-up answers and, rarely, a hang-up.
func (c *call) fuzzEvent(b byte) {
	c.tb.Helper()
	c.now = c.now.Add(time.Duration(b) * 10 * time.Millisecond)
	hi := b >> 4
	switch op := b & 15; {
	case op < 12:
		c.send(DTMF{At: c.now, Digit: Digit("0123456789*#"[op])})
	case op == 12:
		id := c.playing
		if hi&1 == 1 || id == "" {
			id = "p1" // stale, or a playback that was stopped
		}
		c.send(PromptFinished{At: c.now, Playback: id})
	case op == 13:
		id := c.s.Timer()
		if hi&1 == 1 || id == "" {
			id = "t1"
		} else {
			c.now = c.now.Add(c.timers[id])
		}
		c.send(Timeout{At: c.now, Timer: id})
	case op == 14:
		switch {
		case hi < 6:
			c.send(LookupResult{At: c.now, Found: true, Status: fuzzStatuses[hi]})
		case hi < 11:
			c.send(LookupResult{At: c.now})
		default:
			c.send(LookupResult{At: c.now, Failed: true})
		}
	case hi == 0:
		c.send(CallerHangup{At: c.now})
	default:
		c.send(DTMF{At: c.now, Digit: Digit("ABCD\x00"[hi%5])})
	}
}

// fuzzScript encodes a driver script as fuzz bytes, for seeds.
func fuzzScript(script string) []byte {
	var out []byte
	for _, tok := range strings.Fields(script) {
		switch tok {
		case "fin":
			out = append(out, 12)
		case "tick":
			out = append(out, 13)
		case "found":
			out = append(out, 14|1<<4)
		case "notfound":
			out = append(out, 14|7<<4)
		case "lookupfail":
			out = append(out, 14|12<<4)
		case "hangup":
			out = append(out, 15)
		default:
			for _, r := range tok {
				out = append(out, byte(strings.IndexRune("0123456789*#", r)))
			}
		}
	}
	return out
}

func FuzzMachine(f *testing.F) {
	for _, script := range []string{
		"fin 1 1 fin",
		"fin 1 5 * 9 fin",
		"fin 2 4 " + caseNo + "# found fin fin tick fin",
		"fin 1 4 " + caseNo + "# notfound " + caseNo + "# lookupfail fin fin",
		"fin 1 4 123# 4 tick tick fin tick",
		"12 fin fin 3 fin",
		"fin 1 fin tick fin tick fin tick fin",
		"fin 1 hangup",
		"tick tick tick tick tick tick",
	} {
		f.Add(byte(1), fuzzScript(script)) // open, zh
		f.Add(byte(2), fuzzScript(script)) // closed, en
	}
	machines := map[bool]*Machine{true: defaultMachine(f, open), false: defaultMachine(f, closed)}
	langs := []Language{"zh", "en", "fr", ""}
	f.Fuzz(func(t *testing.T, setup byte, events []byte) {
		c := newCall(t, machines[setup&1 == 1])
		c.send(Start{At: c.now, Language: langs[setup>>1&3]})
		for _, b := range events {
			c.fuzzEvent(b)
		}
		// Whatever happened, a caller who now does nothing leaves the menu.
		c.silentFinish(500)
	})
}

func FuzzLoad(f *testing.F) {
	f.Add(defaultMenu)
	f.Add([]byte(baseMenu))
	f.Add([]byte(holidayMenu))
	f.Add([]byte(collectMenu))
	f.Add([]byte(edit(f, "next: q", "next: b")))
	f.Add([]byte(edit(f, "fallback: q", "fallback: b", "next: q", "next: a")))
	f.Add([]byte(edit(f, `"2": b`, `"2": bb`)))
	f.Add([]byte(edit(f, "  q:\n", "  q: &q\n", "prompts:\n", "  r: *q\nprompts:\n")))
	f.Add([]byte("start: [\n"))
	f.Add([]byte("{start: a, nodes: {a: {kind: hangup}}, languages: [zh], prompts: {}}"))
	f.Add([]byte("\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		menu, err := Load("fuzz.yaml", data)
		if err != nil {
			var bad *InvalidMenuError
			if !errors.As(err, &bad) || len(bad.Problems) == 0 {
				t.Fatalf("error %v is not a list of problems", err)
			}
			for _, p := range bad.Problems {
				if p.File != "fuzz.yaml" || p.What == "" || p.Line < 0 {
					t.Fatalf("malformed problem %+v", p)
				}
			}
			return
		}
		if menu == nil {
			t.Fatal("no menu and no error")
		}
		// A menu the validator accepts must run: a silent caller and one pressing the
		// input's bytes as keys both leave it, under every kind of hours.
		limit := 50 * (len(menu.Nodes) + 1) * (maxRetries + 1)
		for _, h := range []fixedHours{{open: true}, {open: false}, {open: false, holiday: true}} {
			m, err := NewMachine(menu, h)
			if err != nil {
				t.Fatalf("valid menu refused: %v", err)
			}
			c := newCall(t, m)
			c.send(Start{At: c.now, Language: menu.DefaultLanguage()})
			c.silentFinish(limit)

			c = newCall(t, m)
			c.send(Start{At: c.now, Language: menu.DefaultLanguage()})
			for i := 0; i < len(data) && i < 200 && !c.s.Done(); i++ {
				c.fuzzEvent(data[i])
			}
			c.silentFinish(limit)
		}
	})
}

func BenchmarkStep(b *testing.B) {
	m := defaultMachine(b, open)
	// Record the events of two whole calls once; ids are deterministic, so they replay.
	var events [][]Event
	for _, script := range []string{
		"fin 1 4 " + caseNo + "# found=accepted fin fin tick fin",
		"fin 1 7 fin tick 5 1 fin",
	} {
		c := newCall(b, m)
		c.run(script)
		events = append(events, c.events)
	}
	steps := 0
	for b.Loop() {
		for _, call := range events {
			var s State
			for _, e := range call {
				s, _ = m.Step(s, e)
			}
			if !s.Done() {
				b.Fatal("replayed call did not finish")
			}
			steps += len(call)
		}
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
}
