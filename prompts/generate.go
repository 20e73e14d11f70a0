// Package prompts generates the IVR's development prompts from the menu's texts, the single
// source of what each prompt says, with espeak-ng and sox.
//
// Files go where Asterisk looks for them: DIR/<language>/<prompt name>.wav, so prompt
// hotline/welcome in Mandarin is DIR/zh/hotline/welcome.wav, played as sound:hotline/welcome
// on a channel whose language is zh. The format is 8 kHz 16-bit mono PCM WAV.
//
// A manifest in DIR records what each file was made from and its hash: a file whose text,
// voice and synthesizer are unchanged is not made again, and a file that this generator did
// not write (a production recording by a person, in the same layout) is never overwritten.
package prompts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotline/audio"
)

// Prompt is one prompt with its text per language (the shape of ivr.Prompt).
type Prompt struct {
	Name string
	Text map[string]string
}

// DefaultBeeps are the tones generated for every language: hotline/beep for the menu, and
// beep, the file Asterisk plays for an ARI recording with beep=true (without it such a
// recording ends at once and stores nothing).
var DefaultBeeps = []string{"hotline/beep", "beep"}

// Options control Generate.
type Options struct {
	// Dir is the sounds directory.
	Dir string
	// Voices maps language codes to voices; nil means DefaultVoices.
	Voices map[string]Voice
	// Beeps names the beep files; nil means DefaultBeeps.
	Beeps []string
	// Force overwrites files that this generator did not write.
	Force bool
	Synth Synth
}

// Report says what Generate did, with paths relative to Dir.
type Report struct {
	Generated []string // written now
	Current   []string // already up to date
	Kept      []string // not written by this generator (e.g. recorded by a person): left alone
}

// MinDuration is the shortest prompt accepted from the synthesizer.
const MinDuration = 100 * time.Millisecond

var (
	// Each segment starts with a letter, digit or _, so "." and ".." cannot occur.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)
	langPattern = regexp.MustCompile(`^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$`)
)

// job is one file to make.
type job struct {
	rel    string    // path under Dir
	spoken []Segment // none for a beep
	input  string    // hash of what the file is made from
}

// plan lists the files for ps: every prompt in every language it has text for, then the
// beeps in every language seen.
func plan(ps []Prompt, voices map[string]Voice, beeps []string, synthID string) ([]job, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("no prompts")
	}
	var jobs []job
	seen := map[string]string{}
	add := func(j job, what string) error {
		if prev, dup := seen[j.rel]; dup {
			return fmt.Errorf("%s and %s both make %s", prev, what, j.rel)
		}
		seen[j.rel] = what
		jobs = append(jobs, j)
		return nil
	}
	langs := map[string]bool{}
	for _, p := range ps {
		if !namePattern.MatchString(p.Name) {
			return nil, fmt.Errorf("prompt %q: want a relative path of letters, digits, _ . - such as hotline/welcome", p.Name)
		}
		if len(p.Text) == 0 {
			return nil, fmt.Errorf("prompt %s: no text", p.Name)
		}
		for _, lang := range sortedKeys(p.Text) {
			if !langPattern.MatchString(lang) {
				return nil, fmt.Errorf("prompt %s: language %q is not a language code such as zh or en", p.Name, lang)
			}
			v, ok := voices[lang]
			if !ok {
				return nil, fmt.Errorf("prompt %s: no voice for language %s (voices: %v)", p.Name, lang, sortedKeys(voices))
			}
			spoken, err := v.Spoken(p.Text[lang])
			if err != nil {
				return nil, fmt.Errorf("prompt %s (%s): %w", p.Name, lang, err)
			}
			langs[lang] = true
			in := []string{synthID, "speak"}
			for _, s := range spoken {
				in = append(in, s.Voice.Name, strconv.Itoa(s.Voice.Speed), s.Text)
			}
			j := job{rel: filepath.Join(lang, filepath.FromSlash(p.Name)+".wav"), spoken: spoken, input: hashStrings(in...)}
			if err := add(j, "prompt "+p.Name); err != nil {
				return nil, err
			}
		}
	}
	for _, lang := range sortedKeys(langs) {
		for _, b := range beeps {
			if !namePattern.MatchString(b) {
				return nil, fmt.Errorf("beep %q: want a relative path such as hotline/beep", b)
			}
			j := job{rel: filepath.Join(lang, filepath.FromSlash(b)+".wav"), input: hashStrings(synthID, "beep")}
			if err := add(j, "beep "+b); err != nil {
				return nil, err
			}
		}
	}
	return jobs, nil
}

// Generate makes the files of ps under opt.Dir that are missing or out of date.
func Generate(ctx context.Context, ps []Prompt, opt Options) (rep Report, err error) {
	if opt.Synth == nil {
		return rep, fmt.Errorf("generate prompts: no synthesizer")
	}
	if opt.Dir == "" {
		return rep, fmt.Errorf("generate prompts: no output directory")
	}
	voices, beeps := opt.Voices, opt.Beeps
	if voices == nil {
		voices = DefaultVoices
	}
	if beeps == nil {
		beeps = DefaultBeeps
	}
	jobs, err := plan(ps, voices, beeps, opt.Synth.ID())
	if err != nil {
		return rep, fmt.Errorf("generate prompts: %w", err)
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return rep, fmt.Errorf("generate prompts: %w", err)
	}
	m, err := readManifest(opt.Dir)
	if err != nil {
		return rep, err
	}
	// Whatever happens, record the files already made: unrecorded, they would look like
	// someone else's next time and never be regenerated.
	defer func() {
		if len(rep.Generated) == 0 {
			return
		}
		if werr := m.write(opt.Dir); werr != nil && err == nil {
			err = werr
		}
	}()
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("generate prompts: %w", err)
		}
		path := filepath.Join(opt.Dir, j.rel)
		sum, exists, err := hashFile(path)
		if err != nil {
			return rep, err
		}
		entry, known := m.Files[filepath.ToSlash(j.rel)]
		switch {
		case exists && (!known || entry.Output != sum) && !opt.Force:
			rep.Kept = append(rep.Kept, j.rel)
			continue
		case exists && known && entry.Output == sum && entry.Input == j.input:
			rep.Current = append(rep.Current, j.rel)
			continue
		}
		out, err := make1(ctx, opt.Synth, j, path)
		if err != nil {
			return rep, fmt.Errorf("generate %s: %w", j.rel, err)
		}
		m.Files[filepath.ToSlash(j.rel)] = manifestEntry{Input: j.input, Output: out, Spoken: describe(j.spoken)}
		rep.Generated = append(rep.Generated, j.rel)
	}
	return rep, nil
}

// make1 makes one file beside its final path, checks it and moves it into place.
func make1(ctx context.Context, s Synth, j job, path string) (sum string, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	// sox chooses the format by extension: the temporary file must end in .wav.
	f, err := os.CreateTemp(filepath.Dir(path), ".gen-*.wav")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if len(j.spoken) == 0 {
		err = s.Beep(ctx, tmp)
	} else {
		err = s.Speak(ctx, j.spoken, tmp)
	}
	if err != nil {
		return "", err
	}
	if err := CheckWAV(tmp); err != nil {
		return "", err
	}
	sum, _, err = hashFile(tmp)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return sum, nil
}

// CheckWAV checks that the file at path is an 8 kHz 16-bit mono PCM WAV of at least
// MinDuration that is not silent: what Asterisk can play and a caller can hear.
func CheckWAV(path string) error {
	samples, err := audio.ReadWAVFile(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if d := time.Duration(len(samples)) * time.Second / audio.SampleRate; d < MinDuration {
		return fmt.Errorf("check %s: %v of audio, want at least %v", path, d, MinDuration)
	}
	if audio.IsSilent(samples) {
		return fmt.Errorf("check %s: silent (RMS %.1f)", path, audio.RMS(samples))
	}
	return nil
}

// describe writes segments for the manifest, where a person checks what was said.
func describe(segs []Segment) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = "[" + s.Voice.Name + "] " + s.Text
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Digits are the sounds Asterisk says numbers with (media number:N, digits:N, as in a
// queue-position announcement): digits/0 to digits/9 in each language. A stock Asterisk
// ships English ones in its core sounds but no Mandarin ones, and the menu's texts hold no
// digits, so they are generated beside the menu's prompts.
func Digits() []Prompt {
	zh := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	en := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	out := make([]Prompt, 10)
	for i := range out {
		out[i] = Prompt{Name: fmt.Sprintf("digits/%d", i), Text: map[string]string{"zh": zh[i], "en": en[i]}}
	}
	return out
}
