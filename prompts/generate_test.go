package prompts

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hotline/audio"
)

// fakeSynth writes tones instead of speech: 0.5 s of 440 Hz per prompt, 0.3 s of 1 kHz
// per beep, or silence when silent is set. It counts its calls.
type fakeSynth struct {
	id     string
	silent bool
	calls  []string // the first segment's text, or "beep"
}

func (f *fakeSynth) ID() string { return f.id }

func (f *fakeSynth) Speak(_ context.Context, segs []Segment, out string) error {
	f.calls = append(f.calls, segs[0].Text)
	amp := 0.5
	if f.silent {
		amp = 0
	}
	return audio.WriteWAVFile(out, audio.Tone(440, amp, audio.SampleRate/2))
}

func (f *fakeSynth) Beep(_ context.Context, out string) error {
	f.calls = append(f.calls, "beep")
	return audio.WriteWAVFile(out, audio.Tone(1000, 0.5, audio.SampleRate*3/10))
}

func tinyMenu() []Prompt {
	return []Prompt{
		{Name: "hotline/welcome", Text: map[string]string{"zh": "您好，欢迎致电一二三一五。", "en": "Welcome to 12315."}},
		{Name: "hotline/goodbye", Text: map[string]string{"zh": "再见。", "en": "Goodbye."}},
	}
}

var tinyFiles = []string{
	"en/beep.wav", "en/hotline/beep.wav", "en/hotline/goodbye.wav", "en/hotline/welcome.wav",
	"zh/beep.wav", "zh/hotline/beep.wav", "zh/hotline/goodbye.wav", "zh/hotline/welcome.wav",
}

func sorted(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = filepath.ToSlash(x)
	}
	slices.Sort(out)
	return out
}

func TestGenerateSkipsWhatIsCurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	synth := &fakeSynth{id: "fake/1"}
	opt := Options{Dir: dir, Synth: synth}

	rep, err := Generate(ctx, tinyMenu(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(rep.Generated); !slices.Equal(got, tinyFiles) || len(rep.Current)+len(rep.Kept) != 0 {
		t.Fatalf("first run: %+v, want generated %v", rep, tinyFiles)
	}
	for _, f := range tinyFiles {
		if err := CheckWAV(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	var m manifest
	src, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(src, &m); err != nil {
		t.Fatal(err)
	}
	if e := m.Files["zh/hotline/welcome.wav"]; !strings.Contains(e.Spoken, "[cmn-latn-pinyin] nin2 hao3, huan1 ying2 zhi4 dian4 yi1 er4 san1 yi1 wu3.") {
		t.Errorf("manifest spoken = %q", e.Spoken)
	}

	synth.calls = nil
	rep, err = Generate(ctx, tinyMenu(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Generated) != 0 || len(rep.Current) != len(tinyFiles) || len(synth.calls) != 0 {
		t.Fatalf("second run: %+v, synth calls %v; want nothing generated", rep, synth.calls)
	}

	// A changed text remakes that file only.
	menu := tinyMenu()
	menu[1].Text["en"] = "Goodbye, and thank you."
	rep, err = Generate(ctx, menu, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(rep.Generated); !slices.Equal(got, []string{"en/hotline/goodbye.wav"}) {
		t.Errorf("after a text change: generated %v", got)
	}

	// A new synthesizer remakes everything.
	synth.id = "fake/2"
	rep, err = Generate(ctx, menu, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Generated) != len(tinyFiles) {
		t.Errorf("after a synthesizer change: generated %d files, want %d", len(rep.Generated), len(tinyFiles))
	}

	// A deleted file is made again.
	if err := os.Remove(filepath.Join(dir, "zh", "beep.wav")); err != nil {
		t.Fatal(err)
	}
	rep, err = Generate(ctx, menu, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(rep.Generated); !slices.Equal(got, []string{"zh/beep.wav"}) {
		t.Errorf("after a deletion: generated %v", got)
	}
}

func TestGenerateKeepsRecordingsByPeople(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		before func(t *testing.T, dir string, synth *fakeSynth) // sets up a file not made by the generator
		force  bool
		kept   []string
	}{
		{"recording in place before the first run", func(t *testing.T, dir string, _ *fakeSynth) {
			writeTone(t, filepath.Join(dir, "zh", "hotline", "welcome.wav"), 300)
		}, false, []string{"zh/hotline/welcome.wav"}},
		{"generated file replaced by a recording", func(t *testing.T, dir string, synth *fakeSynth) {
			if _, err := Generate(ctx, tinyMenu(), Options{Dir: dir, Synth: synth}); err != nil {
				t.Fatal(err)
			}
			writeTone(t, filepath.Join(dir, "en", "hotline", "goodbye.wav"), 300)
		}, false, []string{"en/hotline/goodbye.wav"}},
		{"force overwrites", func(t *testing.T, dir string, _ *fakeSynth) {
			writeTone(t, filepath.Join(dir, "zh", "hotline", "welcome.wav"), 300)
		}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			synth := &fakeSynth{id: "fake/1"}
			tt.before(t, dir, synth)
			var want []byte
			for _, k := range tt.kept {
				want, _ = os.ReadFile(filepath.Join(dir, k))
			}
			rep, err := Generate(ctx, tinyMenu(), Options{Dir: dir, Synth: synth, Force: tt.force})
			if err != nil {
				t.Fatal(err)
			}
			if got := sorted(rep.Kept); !slices.Equal(got, tt.kept) && !(len(got) == 0 && len(tt.kept) == 0) {
				t.Fatalf("kept %v, want %v", got, tt.kept)
			}
			for _, k := range tt.kept {
				if got, _ := os.ReadFile(filepath.Join(dir, k)); string(got) != string(want) {
					t.Errorf("%s was overwritten", k)
				}
			}
			// Kept stays kept on the next run too.
			rep, err = Generate(ctx, tinyMenu(), Options{Dir: dir, Synth: synth})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Generated) != 0 || len(rep.Kept) != len(tt.kept) {
				t.Errorf("next run: %+v", rep)
			}
		})
	}
}

func writeTone(t *testing.T, path string, hz float64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAVFile(path, audio.Tone(hz, 0.3, audio.SampleRate)); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateErrors(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		ps     []Prompt
		opt    Options
		want   string
		silent bool
	}{
		{"no prompts", ctx, nil, Options{}, "no prompts", false},
		{"bad name", ctx, []Prompt{{Name: "../etc/passwd", Text: map[string]string{"en": "x"}}}, Options{}, `prompt "../etc/passwd"`, false},
		{"absolute name", ctx, []Prompt{{Name: "/welcome", Text: map[string]string{"en": "x"}}}, Options{}, `prompt "/welcome"`, false},
		{"no voice", ctx, []Prompt{{Name: "hotline/welcome", Text: map[string]string{"fr": "Bonjour"}}}, Options{}, "no voice for language fr", false},
		{"bad language", ctx, []Prompt{{Name: "hotline/welcome", Text: map[string]string{"../x": "Bonjour"}}}, Options{}, `language "../x"`, false},
		{"empty text", ctx, []Prompt{{Name: "hotline/welcome", Text: map[string]string{"zh": " "}}}, Options{}, "prompt hotline/welcome (zh): empty text", false},
		{"no text", ctx, []Prompt{{Name: "hotline/welcome"}}, Options{}, "no text", false},
		{"clash with the beep", ctx, []Prompt{{Name: "hotline/beep", Text: map[string]string{"en": "beep"}}}, Options{}, "both make en/hotline/beep.wav", false},
		{"silent audio", ctx, tinyMenu(), Options{}, "silent", true},
		{"cancelled", cancelled, tinyMenu(), Options{}, "context canceled", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Dir = t.TempDir()
			opt.Synth = &fakeSynth{id: "fake", silent: tt.silent}
			_, err := Generate(tt.ctx, tt.ps, opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// Files made before a failure are recorded, so the next run does not take them for
// recordings by people.
func TestGenerateRecordsProgressOnFailure(t *testing.T) {
	dir := t.TempDir()
	synth := &failingSynth{fakeSynth: fakeSynth{id: "fake"}, failAt: 3}
	rep, err := Generate(context.Background(), tinyMenu(), Options{Dir: dir, Synth: synth})
	if err == nil || len(rep.Generated) != 2 {
		t.Fatalf("err = %v, generated %v; want a failure after 2 files", err, rep.Generated)
	}
	rep, err = Generate(context.Background(), tinyMenu(), Options{Dir: dir, Synth: &fakeSynth{id: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 0 || len(rep.Current) != 2 || len(rep.Generated) != len(tinyFiles)-2 {
		t.Errorf("next run: %+v", rep)
	}
}

type failingSynth struct {
	fakeSynth
	failAt int
}

func (f *failingSynth) Speak(ctx context.Context, segs []Segment, out string) error {
	if len(f.calls)+1 == f.failAt {
		return errors.New("synthesizer crashed")
	}
	return f.fakeSynth.Speak(ctx, segs, out)
}
