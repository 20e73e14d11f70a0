package sim

import (
	"slices"
	"testing"
	"unsafe"
)

// A prompt of several sounds is joined once and kept while its parts are the same cached
// samples; a changed part (a prompt file rewritten) or another language makes a new join.
func TestJoinSamples(t *testing.T) {
	s := &Server{wavCache: map[string]cachedWAV{}}
	medias := []string{"sound:hotline/welcome", "sound:hotline/recording-notice"}
	a, b := []int16{1, 2}, []int16{3}
	first := s.joinSamples(medias, "en", [][]int16{a, b})
	for _, tc := range []struct {
		name  string
		lang  string
		parts [][]int16
		same  bool // the first join is reused
	}{
		{"same parts", "en", [][]int16{a, b}, true},
		{"other language", "zh", [][]int16{a, b}, false},
		{"a part read again", "en", [][]int16{a, slices.Clone(b)}, false},
	} {
		got := s.joinSamples(medias, tc.lang, tc.parts)
		if !slices.Equal(got, []int16{1, 2, 3}) {
			t.Errorf("%s: joined %v, want [1 2 3]", tc.name, got)
		}
		if same := unsafe.SliceData(got) == unsafe.SliceData(first); same != tc.same {
			t.Errorf("%s: reused the first join = %v, want %v", tc.name, same, tc.same)
		}
	}
}
