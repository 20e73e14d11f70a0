package prompts

import (
	"fmt"
	"strings"
	"unicode"
)

// Voice is how espeak-ng speaks one language.
type Voice struct {
	// Name is the espeak-ng voice.
	Name string
	// Speed is in words per minute (espeak-ng -s).
	Speed int
	// Pinyin converts Chinese text to tone-numbered pinyin first: espeak-ng's cmn voice
	// reads characters badly, its cmn-latn-pinyin voice reads pinyin well.
	Pinyin bool
	// Latin, for a pinyin voice, reads the Latin-script parts of a text (the English half
	// of a bilingual prompt, a word such as APP); nil reads them as pinyin.
	Latin *Voice
}

var english = Voice{Name: "en-us", Speed: 160}

// DefaultVoices maps Asterisk language codes to voices.
var DefaultVoices = map[string]Voice{
	"zh": {Name: "cmn-latn-pinyin", Speed: 190, Pinyin: true, Latin: &english},
	"en": english,
}

// Segment is a stretch of a prompt read by one voice.
type Segment struct {
	Voice Voice
	Text  string // what espeak-ng is given
}

// Spoken splits text into what espeak-ng reads, voice by voice.
func (v Voice) Spoken(text string) ([]Segment, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("empty text")
	}
	if !v.Pinyin {
		return []Segment{{Voice: v, Text: strings.Join(strings.Fields(EnglishNumbers(text)), " ")}}, nil
	}
	var segs []Segment
	plain := v
	plain.Latin = nil
	for _, part := range splitLatin(text, v.Latin != nil) {
		if part.latin {
			s, err := v.Latin.Spoken(part.text)
			if err != nil {
				return nil, err
			}
			segs = append(segs, s...)
			continue
		}
		py, err := Pinyin(part.text)
		if err != nil {
			return nil, err
		}
		// A run of punctuation alone gives espeak-ng nothing to say.
		if strings.IndexFunc(py, unicode.IsLetter) < 0 {
			continue
		}
		segs = append(segs, Segment{Voice: plain, Text: py})
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("nothing to say in %q", text)
	}
	return segs, nil
}

type part struct {
	text  string
	latin bool
}

// splitLatin cuts text into Chinese and Latin-script runs. A Latin run starts at an ASCII
// letter and goes on through ASCII letters, digits, spaces and punctuation.
func splitLatin(text string, split bool) []part {
	if !split {
		return []part{{text: text}}
	}
	var parts []part
	rs := []rune(text)
	start := 0
	for i := 0; i < len(rs); {
		if !(rs[i] < unicode.MaxASCII && unicode.IsLetter(rs[i])) {
			i++
			continue
		}
		j := i
		for j < len(rs) && rs[j] < unicode.MaxASCII {
			j++
		}
		if s := strings.TrimSpace(string(rs[start:i])); s != "" {
			parts = append(parts, part{text: s})
		}
		parts = append(parts, part{text: strings.TrimSpace(string(rs[i:j])), latin: true})
		start, i = j, j
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		parts = append(parts, part{text: s})
	}
	return parts
}
