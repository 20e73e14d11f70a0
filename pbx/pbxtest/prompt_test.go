package pbxtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/audio"
	"hotline/pbx"
)

// twoPrompts is what a controller that plays two prompts one after the other
// saw of a call.
type twoPrompts struct {
	ended [2]time.Time // each prompt's PlaybackFinished
	keys  map[string]time.Time
	err   error
}

// playTwo answers the caller and plays first; on its PlaybackFinished it
// plays second, as the hotline plays the prompts of a menu path. It returns
// once the call has left the app.
func playTwo(ctx context.Context, c *pbx.Client, in *pbx.InboundCall, first, second string) (s twoPrompts) {
	s.keys = map[string]time.Time{}
	id := in.Channel.ID
	fine := func(err error) bool { return err == nil || errors.Is(err, pbx.ErrNotFound) }
	if err := c.Answer(ctx, id); err != nil {
		s.err = err
		return s
	}
	ids := [2]string{id + "-first", id + "-second"}
	if _, err := c.Play(ctx, id, first, ids[0]); !fine(err) {
		s.err = err
		return s
	}
	for {
		ev, open, err := nextEvent(ctx, in)
		if err != nil {
			s.err = err
			return s
		}
		if !open {
			return s
		}
		switch ev.Type {
		case pbx.PlaybackFinished:
			switch ev.PlaybackID {
			case ids[0]:
				s.ended[0] = time.Now()
				if _, err := c.Play(ctx, id, second, ids[1]); !fine(err) && s.err == nil {
					s.err = err
				}
			case ids[1]:
				s.ended[1] = time.Now()
			}
		case pbx.ChannelDtmfReceived:
			if _, dup := s.keys[ev.Digit]; !dup {
				s.keys[ev.Digit] = time.Now()
			}
		}
	}
}

// TestPromptStepPerPrompt: "p" ends with the prompt that plays, also when the
// controller starts the next one on its PlaybackFinished, a few milliseconds
// later: "p 1 p 2" keys 1 during the second prompt and 2 after it, on both
// PBXs. (The real harness once took the end of a prompt for the end of "p"
// only after 200 ms without a playback: its first "p" swallowed both prompts
// and its second waited 2 s for a third, so a caller's voicemail tone started
// seconds into the recording.)
func TestPromptStepPerPrompt(t *testing.T) {
	pbxs := []struct {
		name  string
		start func(t *testing.T) PBX
	}{
		{"sim", func(t *testing.T) PBX { return newSim(t, Options{Logger: quiet}) }},
		{"real harness on the sim", func(t *testing.T) PBX {
			srv := simServer(t)
			c := srv.Config()
			return newReal(t, realConfig{URL: srv.URL() + "/ari", Username: c.Username, Password: c.Password, SoundsDir: c.SoundsDir, Logger: quiet})
		}},
	}
	for _, pc := range pbxs {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p := pc.start(t)
			dir := p.SoundsDir()
			if dir == "" {
				t.Fatalf("the PBX has no sounds directory the test can write: set %s", EnvSoundsDir)
			}
			if err := os.MkdirAll(filepath.Join(dir, "pbxtest"), 0o755); err != nil {
				t.Fatal(err)
			}
			// 0.5 s, then 2 s: the first key lands well inside the second.
			for name, n := range map[string]int{"first": 4000, "second": 16000} {
				if err := audio.WriteWAVFile(filepath.Join(dir, "pbxtest", name+".wav"), audio.Tone(promptTone, 0.3, n)); err != nil {
					t.Fatal(err)
				}
			}
			ctl, err := pbx.Connect(ctx, p.Config())
			if err != nil {
				t.Fatal(err)
			}
			defer ctl.Close()
			seen := make(chan twoPrompts, 1)
			go func() {
				for in := range ctl.Incoming() {
					go func() { seen <- playTwo(ctx, ctl, in, "sound:pbxtest/first", "sound:pbxtest/second") }()
				}
			}()

			call, err := p.Call(ctx, CallSpec{Steps: "p 1 p 2 h"})
			if err != nil {
				t.Fatal(err)
			}
			wait(t, ctx, call.Done(), "the call's end")
			s := wait(t, ctx, seen, "the controller's view")
			if s.err != nil {
				t.Fatalf("controller: %v", s.err)
			}
			one, two := s.keys["1"], s.keys["2"]
			if s.ended[0].IsZero() || s.ended[1].IsZero() || one.IsZero() || two.IsZero() {
				t.Fatalf("prompts ended at %v, keys %v: want both prompts and keys 1 and 2", s.ended, s.keys)
			}
			if one.Before(s.ended[0]) || !one.Before(s.ended[1]) {
				t.Errorf("key 1 came %v after the first prompt's end and %v after the second's: want it during the second",
					one.Sub(s.ended[0]), one.Sub(s.ended[1]))
			}
			if two.Before(s.ended[1]) {
				t.Errorf("key 2 came %v before the second prompt ended", s.ended[1].Sub(two))
			}
		})
	}
}
