package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tinyMenu = `start: bye
languages: [zh, en]
nodes:
  bye:
    kind: hangup
    prompts: [hotline/goodbye]
    case_kind: invalid
prompts:
  hotline/goodbye:
    zh: 感谢您的来电，再见。
    en: Thank you for calling. Goodbye.
`

func TestRunPrompts(t *testing.T) {
	dir := t.TempDir()
	menu := filepath.Join(dir, "menu.yaml")
	if err := os.WriteFile(menu, []byte(tinyMenu), 0o600); err != nil {
		t.Fatal(err)
	}
	sounds := filepath.Join(dir, "sounds")
	var out bytes.Buffer
	if err := runPrompts(context.Background(), &out, []string{"-menu", menu, "-out", sounds}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// The menu's prompt in both languages, four beeps, and digits/0-9 in both languages.
	for _, f := range []string{"zh/hotline/goodbye.wav", "en/hotline/goodbye.wav", "zh/hotline/beep.wav", "en/beep.wav", "zh/digits/7.wav", "en/digits/0.wav"} {
		if _, err := os.Stat(filepath.Join(sounds, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "prompts: 26 generated, 0 up to date, 0 kept") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := runPrompts(context.Background(), &out, []string{"-menu", menu, "-out", sounds}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "prompts: 0 generated, 26 up to date, 0 kept, in "+sounds+"\n" {
		t.Errorf("second run output:\n%s", got)
	}
}

func TestRunPromptsErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(tinyMenu, "hotline/goodbye]", "hotline/goodby]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"unknown flag", []string{"-menus", "x"}, true, "-menus"},
		{"extra argument", []string{"x"}, true, `unexpected argument "x"`},
		{"missing menu", []string{"-menu", filepath.Join(dir, "none.yaml")}, false, "read menu"},
		{"invalid menu", []string{"-menu", bad, "-out", dir}, false, bad + ":6:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runPrompts(context.Background(), &bytes.Buffer{}, tt.args)
			if err == nil || errors.Is(err, errUsage) != tt.usage || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want usage=%v containing %q", err, tt.usage, tt.want)
			}
		})
	}
}

// The built-in menu generates: every prompt in both languages is speakable.
func TestRunPromptsDefaultMenu(t *testing.T) {
	sounds := t.TempDir()
	var out bytes.Buffer
	if err := runPrompts(context.Background(), &out, []string{"-out", sounds}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " generated, 0 up to date, 0 kept") {
		t.Errorf("output:\n%s", out.String())
	}
}
