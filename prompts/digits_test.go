package prompts

import "testing"

func TestDigitsCoverEveryDigitInBothLanguages(t *testing.T) {
	ds := Digits()
	if len(ds) != 10 {
		t.Fatalf("%d digit prompts, want 10", len(ds))
	}
	for i, d := range ds {
		if want := "digits/" + string(rune('0'+i)); d.Name != want {
			t.Errorf("prompt %d is %s, want %s", i, d.Name, want)
		}
		if d.Text["zh"] == "" || d.Text["en"] == "" {
			t.Errorf("%s lacks a language: %v", d.Name, d.Text)
		}
	}
}
