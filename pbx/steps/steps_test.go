package steps

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec string
		n    int
		bad  bool
	}{
		{"", 0, false}, {"m200 1 w1 2 w1 h", 6, false}, {"m500 t3 #", 3, false}, {"123*ABCD", 8, false},
		{"p s0.5 T880:2 f/tmp/x.wav", 4, false}, {"t1.5 w0", 2, false}, {"hh", 0, true}, {"pp", 0, true},
		{"x", 0, true}, {"wabc", 0, true}, {"T880", 0, true}, {"T0:1", 0, true}, {"Tx:1", 0, true},
		{"m-5", 0, true}, {"m1.5", 0, true}, {"w-1", 0, true}, {"f", 0, true}, {"1x", 0, true}, {"E", 0, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.spec)
		if (err != nil) != tt.bad || (!tt.bad && len(got) != tt.n) {
			t.Errorf("Parse(%q) = %d steps, err %v; want %d, bad %v", tt.spec, len(got), err, tt.n, tt.bad)
		}
	}
	st, err := Parse("T880:2 t1.5 m300 f/a.wav 7")
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Kind: Tone, D: 2 * time.Second, Freq: 880}, {Kind: Tone, D: 1500 * time.Millisecond, Freq: 440},
		{Kind: Pause, D: 300 * time.Millisecond}, {Kind: File, Path: "/a.wav"}, {Kind: DTMF, Digit: "7"},
	}
	for i := range want {
		if st[i] != want[i] {
			t.Errorf("step %d: %+v, want %+v", i, st[i], want[i])
		}
	}
}
