package ivr

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// baseMenu is a small valid menu; each validator test breaks it in one way. Line numbers in
// the wanted messages count from "start: a" as line 1.
const baseMenu = `start: a
languages: [zh, en]
defaults:
  fallback: q
nodes:
  a:
    kind: menu
    prompts: [p/menu]
    choices:
      "1": q
      "2": b
  b:
    kind: play
    prompts: [p/menu]
    next: q
  q:
    kind: queue
    queue: general
    priority: consult
    case_kind: consult
prompts:
  p/menu:
    zh: 菜单
    en: menu
`

// edit applies replacements (old, new, old, new, ...) to the base menu, each of which must
// match exactly once.
func edit(tb testing.TB, pairs ...string) string {
	tb.Helper()
	s := baseMenu
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(s, pairs[i]); n != 1 {
			tb.Fatalf("edit %q matches %d times", pairs[i], n)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestBaseMenuIsValid(t *testing.T) {
	if _, err := Load("m.yaml", []byte(baseMenu)); err != nil {
		t.Fatal(err)
	}
}

func TestValidatorRejects(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		want  []string
	}{
		{
			name:  "unknown node kind",
			edits: []string{"kind: play", "kind: dial"},
			want:  []string{`m.yaml:13: node "b": unknown kind "dial"`},
		},
		{
			name:  "node without kind",
			edits: []string{"    kind: play\n", ""},
			want:  []string{`m.yaml:12: node "b": missing kind`},
		},
		{
			name:  "unknown target, and the node it left unreachable",
			edits: []string{`"2": b`, `"2": bb`},
			want: []string{
				`m.yaml:11: node "a": digit "2" goes to unknown node "bb"`,
				`m.yaml:12: node "b": unreachable from start node "a"`,
			},
		},
		{
			name:  "unknown next",
			edits: []string{"next: q", "next: z"},
			want:  []string{`m.yaml:15: node "b": next goes to unknown node "z"`},
		},
		{
			name:  "unknown fallback in defaults",
			edits: []string{"fallback: q", "fallback: agent"},
			want:  []string{`m.yaml:4: defaults: fallback goes to unknown node "agent"`},
		},
		{
			name:  "unknown start",
			edits: []string{"start: a", "start: welcome"},
			want:  []string{`m.yaml:1: start: unknown node "welcome"`},
		},
		{
			name:  "missing target",
			edits: []string{"    next: q\n", ""},
			want:  []string{`m.yaml:12: node "b": missing next`},
		},
		{
			name:  "missing fallback",
			edits: []string{"defaults:\n  fallback: q\n", "defaults: {}\n"},
			want:  []string{`m.yaml:5: node "a": missing fallback (set it on the node or in defaults)`},
		},
		{
			name:  "unreachable node",
			edits: []string{`"2": b`, `"2": q`},
			want:  []string{`m.yaml:12: node "b": unreachable from start node "a"`},
		},
		{
			name:  "duplicate digit",
			edits: []string{`      "2": b` + "\n", `      "2": b` + "\n" + `      "2": q` + "\n"},
			want:  []string{`m.yaml:12: node "a": digit "2" defined twice (first at line 11)`},
		},
		{
			name:  "duplicate node",
			edits: []string{"prompts:\n  p/menu:", "  q:\n    kind: hangup\nprompts:\n  p/menu:"},
			want:  []string{`m.yaml:21: node "q" defined twice (first at line 16)`},
		},
		{
			name:  "duplicate field",
			edits: []string{"    next: q\n", "    next: q\n    next: a\n"},
			want:  []string{`m.yaml:16: node "b": key "next" defined twice (first at line 15)`},
		},
		{
			name:  "duplicate prompt",
			edits: []string{"    en: menu\n", "    en: menu\n  p/menu: {zh: 菜单, en: menu}\n"},
			want:  []string{`m.yaml:25: prompt "p/menu" defined twice (first at line 22)`},
		},
		{
			name:  "digit outside 0-9*#",
			edits: []string{`"1": q`, `"12": q`},
			want:  []string{`m.yaml:10: node "a": choice "12" is not a digit (0-9, * or #)`},
		},
		{
			name:  "DTMF letter as a choice",
			edits: []string{`"1": q`, `"A": q`},
			want:  []string{`m.yaml:10: node "a": choice "A" is not a digit (0-9, * or #)`},
		},
		{
			name:  "loop that never waits for input",
			edits: []string{"next: q", "next: b"},
			want:  []string{`m.yaml:12: node "b": loop b -> b never waits for caller input`},
		},
		{
			name: "loop through an hours node",
			edits: []string{"  b:\n    kind: play\n    prompts: [p/menu]\n    next: q\n",
				"  b:\n    kind: hours\n    open: c\n    closed: q\n  c:\n    kind: play\n    prompts: [p/menu]\n    next: b\n"},
			want: []string{`m.yaml:12: node "b": loop b -> c -> b never waits for caller input`},
		},
		{
			name:  "loop a silent caller never leaves",
			edits: []string{"fallback: q", "fallback: b", "next: q", "next: a"},
			want:  []string{`m.yaml:6: node "a": a caller who presses no key goes round a -> b -> a forever`},
		},
		{
			name:  "unknown prompt",
			edits: []string{"prompts: [p/menu]\n    choices", "prompts: [p/mneu]\n    choices"},
			want:  []string{`m.yaml:8: node "a": unknown prompt "p/mneu"`},
		},
		{
			name:  "unknown prompt in defaults",
			edits: []string{"  fallback: q\n", "  fallback: q\n  invalid_prompt: p/sorry\n"},
			want:  []string{`m.yaml:5: defaults: unknown prompt "p/sorry"`},
		},
		{
			name:  "prompt without text for an offered language",
			edits: []string{"    en: menu\n", ""},
			want:  []string{`m.yaml:22: prompt "p/menu": no text for language "en"`},
		},
		{
			name:  "prompt text for a language not offered",
			edits: []string{"    en: menu\n", "    en: menu\n    fr: menu\n"},
			want:  []string{`m.yaml:25: prompt "p/menu": language "fr" is not offered (languages: zh, en)`},
		},
		{
			name:  "node with no prompts where the caller must hear one",
			edits: []string{"    prompts: [p/menu]\n    next: q\n", "    next: q\n"},
			want:  []string{`m.yaml:12: node "b": missing prompts: a play node must tell the caller something`},
		},
		{
			name:  "timeout out of range",
			edits: []string{"    choices:\n", "    timeout: 0s\n    choices:\n"},
			want:  []string{`m.yaml:9: node "a": timeout 0s is out of range 500ms..2m0s`},
		},
		{
			name:  "timeout without a unit",
			edits: []string{"    choices:\n", "    timeout: 8\n    choices:\n"},
			want:  []string{`m.yaml:9: node "a": timeout "8" is not a duration like 5s`},
		},
		{
			name:  "timeout in defaults out of range",
			edits: []string{"  fallback: q\n", "  fallback: q\n  timeout: 1h\n"},
			want:  []string{`m.yaml:5: defaults: timeout 1h0m0s is out of range 500ms..2m0s`},
		},
		{
			name:  "negative retries",
			edits: []string{"    choices:\n", "    retries: -1\n    choices:\n"},
			want:  []string{`m.yaml:9: node "a": retries -1 is out of range 0..9`},
		},
		{
			name:  "too many retries",
			edits: []string{"    choices:\n", "    retries: 10\n    choices:\n"},
			want:  []string{`m.yaml:9: node "a": retries 10 is out of range 0..9`},
		},
		{
			name:  "retries not a number",
			edits: []string{"    choices:\n", "    retries: three\n    choices:\n"},
			want:  []string{`m.yaml:9: node "a": retries "three" is not a whole number`},
		},
		{
			name:  "unknown field",
			edits: []string{"    next: q\n", "    next: q\n    nxet: a\n"},
			want:  []string{`m.yaml:16: node "b": unknown field "nxet" for a play node`},
		},
		{
			name:  "unknown top-level field",
			edits: []string{"defaults:", "default:"},
			want: []string{
				`m.yaml:3: unknown top-level field "default"`,
				`m.yaml:6: node "a": missing fallback (set it on the node or in defaults)`,
			},
		},
		{
			name:  "unknown priority and case kind",
			edits: []string{"priority: consult", "priority: urgent", "case_kind: consult", "case_kind: gripe"},
			want: []string{
				`m.yaml:19: node "q": unknown priority "urgent" (emergency, complaint, report, consult or callback)`,
				`m.yaml:20: node "q": unknown case_kind "gripe" (consult, complaint, report, suggestion, opinion, help or invalid)`,
			},
		},
		{
			name:  "queued call with no content",
			edits: []string{"case_kind: consult", "case_kind: invalid"},
			want:  []string{`m.yaml:20: node "q": case_kind invalid is only for hangup nodes: a queue node gives the call content`},
		},
		{
			name:  "queue without its fields",
			edits: []string{"    queue: general\n    priority: consult\n    case_kind: consult\n", ""},
			want: []string{
				`m.yaml:16: node "q": missing queue`,
				`m.yaml:16: node "q": missing priority`,
				`m.yaml:16: node "q": missing case_kind`,
			},
		},
		{
			name: "collect with min above max",
			edits: []string{"  b:\n    kind: play\n    prompts: [p/menu]\n    next: q\n",
				"  b:\n    kind: collect\n    prompts: [p/menu]\n    min_digits: 8\n    max_digits: 4\n    terminator: \"5\"\n    next: q\n"},
			want: []string{
				`m.yaml:15: node "b": min_digits 8 is more than max_digits 4`,
				`m.yaml:17: node "b": terminator "5" must be "#" or "*"`,
			},
		},
		{
			name: "voicemail silence longer than the message",
			edits: []string{"  q:\n    kind: queue\n    queue: general\n    priority: consult\n",
				"  q:\n    kind: voicemail\n    max_length: 30s\n    max_silence: 1m\n"},
			want: []string{`m.yaml:19: node "q": max_silence 1m0s is longer than max_length 30s`},
		},
		{
			name:  "language choice the menu does not offer",
			edits: []string{"kind: menu", "kind: language", `"1": q`, `"1": zh`, `"2": b`, `"2": fr`, "    choices:\n", "    next: b\n    choices:\n"},
			want:  []string{`m.yaml:12: node "a": digit "2" chooses language "fr", which the menu does not offer (languages: zh, en)`},
		},
		{
			name:  "transfer to something that is not a number",
			edits: []string{"  q:\n    kind: queue\n    queue: general\n    priority: consult\n", "  q:\n    kind: transfer\n    number: twelve345\n"},
			want:  []string{`m.yaml:18: node "q": number "twelve345" is not a phone number (digits, optionally a leading +)`},
		},
		{
			name:  "YAML anchors and aliases",
			edits: []string{"  q:\n", "  q: &q\n", "prompts:\n", "  r: *q\nprompts:\n"},
			want:  []string{`m.yaml:21: node "r": aliases are not supported`},
		},
		{
			name:  "YAML syntax error",
			edits: []string{"    next: q\n", "    next: q\n\tx: y\n"},
			// yaml.v3 names the line before the tab, where its block began.
			want: []string{`m.yaml:15: found a tab character that violates indentation`},
		},
		{
			name:  "YAML syntax error without a line",
			edits: []string{"start: a", "start: a: b"},
			want:  []string{`m.yaml: mapping values are not allowed in this context`},
		},
		{
			name:  "not a mapping",
			edits: []string{baseMenu, "- a\n- b\n"},
			want:  []string{`m.yaml:1: a menu must be a mapping with start, languages, nodes and prompts`},
		},
		{
			name:  "empty file",
			edits: []string{baseMenu, ""},
			want:  []string{`m.yaml: empty menu`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("m.yaml", []byte(edit(t, tt.edits...)))
			var bad *InvalidMenuError
			if !errors.As(err, &bad) {
				t.Fatalf("error %v, want an *InvalidMenuError", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("problems\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestTooLargeMenu(t *testing.T) {
	_, err := Load("m.yaml", make([]byte, MaxMenuBytes+1))
	if want := "m.yaml: menu is 1048577 bytes, more than the 1048576 allowed"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func TestValidatorReportsEveryProblem(t *testing.T) {
	text := edit(t, `"2": b`, `"2": bb`, "prompts: [p/menu]\n    next", "prompts: [p/nope]\n    next", "    en: menu\n", "", "priority: consult", "priority: now")
	_, err := Load("m.yaml", []byte(text))
	want := strings.Join([]string{
		`m.yaml:11: node "a": digit "2" goes to unknown node "bb"`,
		`m.yaml:12: node "b": unreachable from start node "a"`,
		`m.yaml:14: node "b": unknown prompt "p/nope"`,
		`m.yaml:19: node "q": unknown priority "now" (emergency, complaint, report, consult or callback)`,
		`m.yaml:22: prompt "p/menu": no text for language "en"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("problems\n got:\n%v\nwant:\n%s", err, want)
	}
}

func TestSoundsCheck(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{
			name:  "all present",
			files: fstest.MapFS{"zh/p/menu.wav": {}, "en/p/menu.ulaw": {}},
		},
		{
			name:  "one language missing",
			files: fstest.MapFS{"zh/p/menu.wav": {}, "en/p/other.wav": {}},
			want:  `m.yaml:22: prompt "p/menu": no sound file for language "en" (looked for en/p/menu.{wav,ulaw,alaw,sln,sln16,g722,gsm})`,
		},
		{
			name:  "a directory is not a sound",
			files: fstest.MapFS{"zh/p/menu.wav": {}, "en/p/menu.wav/x": {}},
			want:  `m.yaml:22: prompt "p/menu": no sound file for language "en" (looked for en/p/menu.{wav,ulaw,alaw,sln,sln16,g722,gsm})`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("m.yaml", []byte(baseMenu), WithSounds(tt.files))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDefaultMenu(t *testing.T) {
	menu, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if menu.File != "ivr/menus/12315.yaml" || menu.Start != "welcome" {
		t.Errorf("file %q start %q", menu.File, menu.Start)
	}
	if got := menu.Languages; len(got) != 2 || got[0] != "zh" || got[1] != "en" {
		t.Errorf("languages %v, want [zh en]", got)
	}
	main := menu.Nodes["main"]
	want := map[Digit]NodeID{'1': "consult", '2': "complaint", '3': "report", '4': "progress", '5': "lines", '9': "emergency", '0': "agent"}
	if len(main.Choices) != len(want) {
		t.Errorf("main menu choices %v, want %v", main.Choices, want)
	}
	for d, to := range want {
		if main.Choices[d] != to {
			t.Errorf("main menu %s -> %q, want %q", d, main.Choices[d], to)
		}
	}
	if p := menu.Nodes["progress"].Digits; p.Min != 20 || p.Max != 20 || p.Terminator != '#' {
		t.Errorf("case number entry %+v, want 20 digits then #", p)
	}
	prompts := menu.Prompts()
	for i, p := range prompts {
		if !strings.HasPrefix(p.Name, "hotline/") {
			t.Errorf("prompt %q is not under hotline/", p.Name)
		}
		if i > 0 && prompts[i-1].Name >= p.Name {
			t.Errorf("prompts not sorted: %q before %q", prompts[i-1].Name, p.Name)
		}
		for _, lang := range []string{"zh", "en"} {
			if strings.TrimSpace(p.Text[lang]) == "" {
				t.Errorf("prompt %q has no %s text", p.Name, lang)
			}
		}
	}
	// Prompts() hands out copies: the generator may not change the menu.
	prompts[0].Text["zh"] = "changed"
	if menu.Prompts()[0].Text["zh"] == "changed" {
		t.Error("Prompts shares its maps with the menu")
	}
}

func TestParseDigit(t *testing.T) {
	for _, s := range []string{"0", "9", "*", "#", "A", "D"} {
		if d, err := ParseDigit(s); err != nil || d.String() != s {
			t.Errorf("ParseDigit(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "10", "E", "a", " "} {
		if _, err := ParseDigit(s); err == nil {
			t.Errorf("ParseDigit(%q) accepted", s)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{KindStatusLookup.String(), "status_lookup"},
		{Kind(99).String(), "Kind(99)"},
		{PriorityCallback.String(), "callback"},
		{Priority(0).String(), "Priority(0)"},
		{OutcomeHungUpInMenu.String(), "hung_up_in_menu"},
		{Outcome(42).String(), "Outcome(42)"},
		{StepNoInput.String(), "no_input"},
		{StepKind(0).String(), "StepKind(0)"},
		{CaseComplaint.String(), "complaint"},
		{PromptName("hotline/welcome").Media(), "sound:hotline/welcome"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
