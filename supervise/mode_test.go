package supervise

import (
	"testing"

	"hotline/pbx"
)

func TestModes(t *testing.T) {
	for _, tt := range []struct {
		in           string
		spy, whisper pbx.Direction
		audible      bool
		err          string
	}{
		{"listen", pbx.DirBoth, pbx.DirNone, false, ""},
		{"whisper", pbx.DirBoth, pbx.DirOut, true, ""},
		{"barge", pbx.DirBoth, pbx.DirBoth, true, ""},
		{"", "", "", false, `mode "" is not one of listen, whisper, barge`},
		{"Listen", "", "", false, `mode "Listen" is not one of listen, whisper, barge`},
		{"coach", "", "", false, `mode "coach" is not one of listen, whisper, barge`},
	} {
		m, err := ParseMode(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseMode(%q) = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseMode(%q): %v", tt.in, err)
		}
		spy, whisper := m.Directions()
		if spy != tt.spy || whisper != tt.whisper || m.Audible() != tt.audible {
			t.Errorf("%s: spy %s whisper %s audible %v; want %s %s %v", m, spy, whisper, m.Audible(), tt.spy, tt.whisper, tt.audible)
		}
	}
}
