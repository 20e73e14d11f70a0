package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// loadTrace reads a golden trace file into log entries.
func loadTrace(t testing.TB, path string) []logEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var e logEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if e.Kind == "event" {
			e.Raw = raw["event"]
		}
		if e.Kind == "rest_response" {
			if _, ok := raw["body_bytes"]; ok {
				e.Body = nil
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// nameClass is a channel name without its run-specific suffix.
func nameClass(name string) string {
	switch {
	case strings.HasPrefix(name, "UnicastRTP/"):
		return "UnicastRTP"
	case strings.HasPrefix(name, "Snoop/"):
		return "Snoop"
	case strings.HasPrefix(name, "Local/"):
		_, half, _ := strings.Cut(name, ";")
		return "Local;" + half
	}
	if i := strings.LastIndex(name, "-"); i > 0 {
		return name[:i]
	}
	return name
}

// labeller names channels and bridges by class and order of appearance, so
// two runs with different ids can be compared.
type labeller struct {
	ids    map[string]string
	counts map[string]int
}

func newLabeller() *labeller { return &labeller{ids: map[string]string{}, counts: map[string]int{}} }

func (l *labeller) label(id, class string) string {
	if lb, ok := l.ids[id]; ok {
		return lb
	}
	l.counts[class]++
	lb := fmt.Sprintf("%s#%d", class, l.counts[class])
	l.ids[id] = lb
	return lb
}

// groupKey says whose sequence an event belongs to.
func (l *labeller) groupKey(e logEntry) string {
	ev := e.Event
	for _, k := range []string{"channel", "peer"} {
		if ch, ok := ev[k].(map[string]any); ok {
			name, _ := ch["name"].(string)
			return l.label(chanID(ch), nameClass(name))
		}
	}
	for _, k := range []string{"playback", "recording"} {
		if obj, ok := ev[k].(map[string]any); ok {
			target, _ := obj["target_uri"].(string)
			if id, ok := strings.CutPrefix(target, "channel:"); ok {
				if lb, ok := l.ids[id]; ok {
					return lb
				}
			}
			return l.label(target, "target")
		}
	}
	if b, ok := ev["bridge"].(map[string]any); ok {
		return l.label(chanID(b), "bridge")
	}
	return "conn:" + e.Conn
}

// eventStep is an event as compared: socket, type and the values that do
// not change run to run (states, variable names, dial status).
func eventStep(e logEntry) string {
	ev := e.Event
	s := e.Conn + ":" + e.Type
	switch e.Type {
	case "ChannelVarset":
		s += "(" + fmt.Sprint(ev["variable"]) + ")"
	case "Dial":
		s += "(" + fmt.Sprint(ev["dialstatus"]) + ")"
	case "ChannelStateChange":
		s += "(" + fmt.Sprint(ev["channel"].(map[string]any)["state"]) + ")"
	case "PlaybackStarted", "PlaybackFinished":
		s += "(" + fmt.Sprint(ev["playback"].(map[string]any)["state"]) + ")"
	case "RecordingStarted", "RecordingFinished":
		s += "(" + fmt.Sprint(ev["recording"].(map[string]any)["state"]) + ")"
	}
	return s
}

// shape maps every field path of a JSON value to its JSON type.
func shape(v any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch t := v.(type) {
		case map[string]any:
			out[path] = "object"
			for k, c := range t {
				walk(path+"."+k, c)
			}
		case []any:
			if len(t) == 0 {
				out[path] = "array(empty)"
			} else {
				out[path] = "array"
			}
			for _, c := range t {
				walk(path+"[]", c)
			}
		case string:
			out[path] = "string"
		case float64:
			out[path] = "number"
		case bool:
			out[path] = "bool"
		case nil:
			out[path] = "null"
		}
	}
	walk("", v)
	return out
}

func shapeDiff(want, got map[string]string) string {
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s is %s, want %s", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

type groupedEvent struct {
	step  string
	shape map[string]string
}

func groupEvents(entries []logEntry) (map[string][]groupedEvent, []string) {
	l := newLabeller()
	groups := map[string][]groupedEvent{}
	var order []string
	for _, e := range entries {
		if e.Kind != "event" {
			continue
		}
		k := l.groupKey(e)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], groupedEvent{step: eventStep(e), shape: shape(e.Event)})
	}
	return groups, order
}

var (
	reChanID = regexp.MustCompile(`^\d+\.\d+$`)
	reUUID   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func normPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case reChanID.MatchString(s):
			segs[i] = "{channel}"
		case reUUID.MatchString(s):
			segs[i] = "{uuid}"
		case strings.HasPrefix(s, "golden-"):
			segs[i] = "{recording}"
		}
	}
	return strings.Join(segs, "/")
}

func restStep(e logEntry) string {
	ct, _, _ := strings.Cut(e.ContentType, ";")
	return fmt.Sprintf("%s %s -> %d %s", e.Method, normPath(e.Path), e.Status, ct)
}

// compareTraces checks the sim's log against Asterisk's: per channel the
// same events in the same order with the same field types; the same REST
// exchanges with the same statuses and body shapes.
func compareTraces(t *testing.T, golden, got []logEntry) {
	t.Helper()
	for _, d := range diffTraces(golden, got) {
		t.Error(d)
	}
}

func diffTraces(golden, got []logEntry) []string {
	var diffs []string
	errorf := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	wantG, order := groupEvents(golden)
	gotG, _ := groupEvents(got)
	for _, k := range order {
		w, g := wantG[k], gotG[k]
		var ws, gs []string
		for _, e := range w {
			ws = append(ws, e.step)
		}
		for _, e := range g {
			gs = append(gs, e.step)
		}
		if strings.Join(ws, "\n") != strings.Join(gs, "\n") {
			errorf("events of %s differ\nasterisk:\n  %s\nsim:\n  %s", k, strings.Join(ws, "\n  "), strings.Join(gs, "\n  "))
			continue
		}
		for i := range w {
			if d := shapeDiff(w[i].shape, g[i].shape); d != "" {
				errorf("%s event %d (%s) fields differ: %s", k, i+1, w[i].step, d)
			}
		}
	}
	for k := range gotG {
		if _, ok := wantG[k]; !ok {
			var gs []string
			for _, e := range gotG[k] {
				gs = append(gs, e.step)
			}
			errorf("sim sent events Asterisk did not, for %s: %v", k, gs)
		}
	}

	var wantR, gotR []logEntry
	for _, e := range golden {
		if e.Kind == "rest_response" {
			wantR = append(wantR, e)
		}
	}
	for _, e := range got {
		if e.Kind == "rest_response" {
			gotR = append(gotR, e)
		}
	}
	if len(wantR) != len(gotR) {
		var ws, gs []string
		for _, e := range wantR {
			ws = append(ws, restStep(e))
		}
		for _, e := range gotR {
			gs = append(gs, restStep(e))
		}
		errorf("REST exchanges differ\nasterisk:\n  %s\nsim:\n  %s", strings.Join(ws, "\n  "), strings.Join(gs, "\n  "))
		return diffs
	}
	for i := range wantR {
		w, g := wantR[i], gotR[i]
		if restStep(w) != restStep(g) {
			errorf("REST %d: asterisk %q, sim %q", i+1, restStep(w), restStep(g))
			continue
		}
		if w.BodyBytes > 0 || g.BodyBytes > 0 {
			if (w.BodyBytes > 0) != (g.BodyBytes > 0) {
				errorf("REST %d %s: body bytes %d, asterisk %d", i+1, restStep(w), g.BodyBytes, w.BodyBytes)
			}
			continue
		}
		if d := shapeDiff(shape(w.Body), shape(g.Body)); d != "" {
			errorf("REST %d %s: body differs: %s\nsim body: %s", i+1, restStep(w), d, prettyJSON(g.Body))
		}
	}
	return diffs
}

// TestCompareDetectsDifferences: the trace comparison is not vacuous.
func TestCompareDetectsDifferences(t *testing.T) {
	dir := sharedDir(t, "asterisk-traces")
	load := func(name string) []logEntry { return loadTrace(t, filepath.Join(dir, name+".jsonl")) }
	if d := diffTraces(load("01-inbound-answer-play-dtmf-hangup"), load("01-inbound-answer-play-dtmf-hangup")); len(d) != 0 {
		t.Fatalf("a trace differs from itself: %v", d)
	}
	cases := []struct{ a, b string }{
		{"01-inbound-answer-play-dtmf-hangup", "02-app-hangup"},
		{"05-record-voicemail", "05b-record-voicemail-nobeep"},
		{"07-bridge-originate", "08-external-media"},
	}
	for _, c := range cases {
		if d := diffTraces(load(c.a), load(c.b)); len(d) == 0 {
			t.Errorf("%s and %s compare equal", c.a, c.b)
		}
	}
	// A single changed field type is caught.
	mod := load("02-app-hangup")
	for i, e := range mod {
		if e.Kind == "event" && e.Type == "ChannelHangupRequest" {
			ev := map[string]any{}
			for k, v := range e.Event {
				ev[k] = v
			}
			ev["cause"] = "32"
			mod[i].Event = ev
		}
	}
	if d := diffTraces(load("02-app-hangup"), mod); len(d) == 0 {
		t.Error("a string cause compared equal to a numeric one")
	}
}
