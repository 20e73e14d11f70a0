package pbxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/audio"
	"hotline/pbx"
	"hotline/pbx/sim"
)

var quiet = slog.New(slog.DiscardHandler)

// The frequencies that tell who is heard where: the caller's tone (440),
// its spoken file (660), the controller's prompt (880).
const (
	callerTone  = 440
	callerFile  = 660
	promptTone  = 880
	promptSound = "pbxtest/prompt"
)

// writeSounds puts the test's prompt (1.5 s of 880 Hz) and the caller's
// file (1 s of 660 Hz) under dir, and returns the file's path.
func writeSounds(t *testing.T, dir string) string {
	t.Helper()
	if dir == "" {
		t.Fatalf("the PBX has no sounds directory the test can write: set %s", EnvSoundsDir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pbxtest"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAVFile(filepath.Join(dir, promptSound+".wav"), audio.Tone(promptTone, 0.3, 12000)); err != nil {
		t.Fatal(err)
	}
	speech := filepath.Join(dir, "pbxtest", "speech.wav")
	if err := audio.WriteWAVFile(speech, audio.Tone(callerFile, 0.3, 8000)); err != nil {
		t.Fatal(err)
	}
	return speech
}

// toneSeconds is how long freq is present in samples, in 200 ms windows.
func toneSeconds(samples []int16, freq float64) float64 {
	n := 0
	for _, share := range audio.ToneShares(samples, freq) {
		if share >= audio.PresentShare {
			n++
		}
	}
	return float64(n) * 0.2
}

// seen is what the test's controller saw of one call.
type seen struct {
	channel    pbx.Channel
	promptEnd  time.Time // PlaybackFinished of the prompt
	digits     string
	firstDigit time.Time
	recording  []int16 // what the caller sent after the prompt
	stasisEnd  bool
	err        error
}

// control is a small controller on app "hotline": it answers each caller,
// plays the prompt, records the caller until the call ends, and collects
// the DTMF. With hangupOn, it hangs the call up when that digit arrives.
func control(ctx context.Context, c *pbx.Client, hangupOn string) <-chan seen {
	out := make(chan seen, 4)
	go func() {
		for in := range c.Incoming() {
			go func() { out <- handle(ctx, c, in, hangupOn) }()
		}
	}()
	return out
}

func handle(ctx context.Context, c *pbx.Client, in *pbx.InboundCall, hangupOn string) (s seen) {
	s.channel = in.Channel
	id := in.Channel.ID
	// StasisStart as the library decodes it carries no language: ask.
	if lang, err := c.GetVariable(ctx, id, "CHANNEL(language)"); err == nil {
		s.channel.Language = lang
	}
	if err := c.Answer(ctx, id); err != nil {
		s.err = err
		return s
	}
	// A caller may hang up at any moment: an operation on a channel that
	// is gone fails with ErrNotFound, and its StasisEnd follows.
	gone := func(err error) bool { return errors.Is(err, pbx.ErrNotFound) }
	pb, err := c.Play(ctx, id, "sound:"+promptSound, "")
	if err != nil && !gone(err) {
		s.err = err
		return s
	}
	rec := "ctl-" + id
	recording := false
	for {
		ev, open, err := nextEvent(ctx, in)
		if err != nil {
			s.err = err
			return s
		}
		if !open {
			break
		}
		switch ev.Type {
		case pbx.PlaybackFinished:
			if ev.PlaybackID == pb && ev.PlaybackState == "done" {
				s.promptEnd = time.Now()
				err := c.Record(ctx, id, pbx.RecordOptions{Name: rec, Format: "wav", MaxDuration: 30 * time.Second})
				recording = err == nil
				if err != nil && !gone(err) {
					s.err = err
				}
			}
		case pbx.ChannelDtmfReceived:
			if s.digits == "" {
				s.firstDigit = time.Now()
			}
			s.digits += ev.Digit
			if ev.Digit == hangupOn {
				if err := c.Hangup(ctx, id, pbx.HangupNormal); err != nil && !gone(err) {
					s.err = err
				}
			}
		case pbx.StasisEnd:
			s.stasisEnd = true
		}
	}
	if !recording {
		return s
	}
	wav, err := c.RecordingFile(ctx, rec)
	if err != nil {
		s.err = fmt.Errorf("recording: %w", err)
		return s
	}
	_ = c.DeleteRecording(ctx, rec)
	s.recording, s.err = audio.ReadWAV(bytes.NewReader(wav))
	return s
}

func wait[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("%s: nothing before the deadline", what)
	}
	var zero T
	return zero
}

// exercise is the end-to-end test both PBXs must pass: a caller waits for
// the prompt, presses 1 2, sends a 440 Hz tone and a 660 Hz file, and hangs
// up; another presses 3 and the controller hangs up; a third is hung up by
// the test.
func exercise(t *testing.T, p PBX) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	speech := writeSounds(t, p.SoundsDir())
	ctl, err := pbx.Connect(ctx, p.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	calls := control(ctx, ctl, "3")

	t.Run("caller hangs up", func(t *testing.T) {
		call, err := p.Call(ctx, CallSpec{From: "13800000042", Steps: "p 1 2 t1.5 f" + speech + " h", Listen: true})
		if err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, call.Answered(), "answer")
		wait(t, ctx, call.Done(), "the call's end")
		s := wait(t, ctx, calls, "the controller's view")
		if s.err != nil {
			t.Fatalf("controller: %v", s.err)
		}
		if s.channel.ID != call.ChannelID() || s.channel.CallerNumber != "13800000042" || s.channel.CallerName != "caller" {
			t.Errorf("controller got %s from %q <%s>; placed %s from 13800000042", s.channel.ID, s.channel.CallerName, s.channel.CallerNumber, call.ChannelID())
		}
		if s.digits != "12" {
			t.Errorf("controller got digits %q, want 12", s.digits)
		}
		// "p": the first key comes after the 1.5 s prompt, not during it.
		if s.firstDigit.Before(s.promptEnd) {
			t.Errorf("first digit %v before the prompt ended", s.promptEnd.Sub(s.firstDigit))
		}
		if !s.stasisEnd {
			t.Error("no StasisEnd after the caller hung up")
		}
		got := map[float64]float64{}
		for _, f := range []float64{callerTone, callerFile, promptTone} {
			got[f] = toneSeconds(s.recording, f)
		}
		if got[callerTone] < 1 || got[callerFile] < 0.6 || got[promptTone] > 0 {
			t.Errorf("controller recorded %v s of 440/660/880 Hz, want >= 1.0, >= 0.6, 0", got)
		}
		heard := call.Heard()
		if h := toneSeconds(heard, promptTone); h < 1 || toneSeconds(heard, callerTone) > 0 {
			t.Errorf("caller heard %.1f s of the prompt (want >= 1) and %.1f s of its own tone (want 0), in %v",
				h, toneSeconds(heard, callerTone), audio.Duration(len(heard)))
		}
	})

	t.Run("controller hangs up", func(t *testing.T) {
		// zh: what the [hotline] dialplan of a real Asterisk sets anyway.
		call, err := p.Call(ctx, CallSpec{Steps: "p 3", Language: "zh"})
		if err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, call.Done(), "the call's end")
		s := wait(t, ctx, calls, "the controller's view")
		if s.digits != "3" || !s.stasisEnd || s.err != nil || s.channel.Language != "zh" {
			t.Errorf("controller saw digits %q, StasisEnd %v, err %v, language %q", s.digits, s.stasisEnd, s.err, s.channel.Language)
		}
		if call.Heard() != nil {
			t.Error("Heard without Listen")
		}
	})

	t.Run("test hangs up", func(t *testing.T) {
		call, err := p.Call(ctx, CallSpec{})
		if err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, call.Answered(), "answer")
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, call.Done(), "the call's end")
		if s := wait(t, ctx, calls, "the controller's view"); !s.stasisEnd || s.err != nil {
			t.Errorf("controller saw StasisEnd %v, err %v", s.stasisEnd, s.err)
		}
		if err := call.Hangup(ctx); err != nil {
			t.Errorf("hanging up an ended call: %v", err)
		}
	})
}

// simServer is a simulated Asterisk for the real harness to drive.
func simServer(t *testing.T) *sim.Server {
	t.Helper()
	srv, err := sim.New(sim.Config{Username: "hotline", Password: "s3cret", SoundsDir: t.TempDir(), RecordingsDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// TestSameTestBothPBXs runs exercise against the simulation and against the
// real harness pointed at a simulated Asterisk.
func TestSameTestBothPBXs(t *testing.T) {
	t.Run("sim", func(t *testing.T) {
		t.Parallel()
		p := newSim(t, Options{Logger: quiet})
		if p.Real() {
			t.Fatal("the simulation says it is real")
		}
		exercise(t, p)
	})
	t.Run("real harness on the sim", func(t *testing.T) {
		t.Parallel()
		srv := simServer(t)
		c := srv.Config()
		p := newReal(t, realConfig{URL: srv.URL() + "/ari", Username: c.Username, Password: c.Password, SoundsDir: c.SoundsDir, Logger: quiet})
		if !p.Real() {
			t.Fatal("the real harness says it is simulated")
		}
		exercise(t, p)
		if st := srv.Stats(); st.Channels != 0 || st.LiveRecordings != 0 {
			t.Errorf("left on the PBX: %+v", st)
		}
	})
}

// TestNewFollowsTheEnvironment: New is the simulation unless
// HOTLINE_TEST_ARI_URL is set; set, it is the real harness with the
// environment's app and credentials, and passes the same test.
func TestNewFollowsTheEnvironment(t *testing.T) {
	t.Setenv(EnvURL, "")
	if p := New(t, Options{Logger: quiet}); p.Real() {
		t.Error("New without " + EnvURL + " is real")
	}
	srv := simServer(t)
	c := srv.Config()
	t.Setenv(EnvURL, srv.URL()) // the ARI root's /ari is added
	t.Setenv(EnvUser, c.Username)
	t.Setenv(EnvPassword, c.Password)
	t.Setenv(EnvApp, "")
	t.Setenv(EnvSoundsDir, c.SoundsDir)
	p := New(t, Options{Logger: quiet})
	if !p.Real() {
		t.Fatal("New with " + EnvURL + " is simulated")
	}
	if cfg := p.Config(); cfg.URL != srv.URL()+"/ari" || cfg.Application != "hotline" || cfg.Username != c.Username || cfg.Password != c.Password {
		t.Errorf("controller config %+v", cfg)
	}
	exercise(t, p)
}

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want realConfig
		bad  bool
	}{
		{name: "full", env: map[string]string{EnvURL: "http://127.0.0.1:8088/ari/", EnvUser: "u", EnvPassword: "p", EnvApp: "hl", EnvSoundsDir: "/s"},
			want: realConfig{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", App: "hl", SoundsDir: "/s"}},
		{name: "no path", env: map[string]string{EnvURL: "http://127.0.0.1:8088", EnvUser: "u", EnvPassword: "p"},
			want: realConfig{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p"}},
		{name: "no password", env: map[string]string{EnvURL: "http://127.0.0.1:8088/ari", EnvUser: "u"}, bad: true},
		{name: "not a URL", env: map[string]string{EnvURL: "127.0.0.1:8088", EnvUser: "u", EnvPassword: "p"}, bad: true},
	}
	for _, c := range cases {
		got, err := configFromEnv(func(k string) string { return c.env[k] })
		if (err != nil) != c.bad {
			t.Errorf("%s: error %v, want bad=%v", c.name, err, c.bad)
			continue
		}
		if !c.bad && got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestRealFileSteps: on a real Asterisk "fFILE" must name a WAV under its
// sounds directory, and is refused before anything is dialled otherwise.
func TestRealFileSteps(t *testing.T) {
	dir := t.TempDir()
	p := &realPBX{rc: realConfig{SoundsDir: dir}}
	cases := []struct {
		path, media string
	}{
		{filepath.Join(dir, "en", "hotline", "welcome.wav"), "sound:en/hotline/welcome"},
		{filepath.Join(dir, "pbxtest", "speech.WAV"), "sound:pbxtest/speech"},
		{filepath.Join(dir, "..", "elsewhere.wav"), ""},
		{filepath.Join(dir, "notes.txt"), ""},
	}
	for _, c := range cases {
		got, err := p.fileMedia(c.path)
		if (err != nil) != (c.media == "") || got != c.media {
			t.Errorf("%s: %q, %v; want %q", c.path, got, err, c.media)
		}
	}
	if _, err := (&realPBX{}).fileMedia(filepath.Join(dir, "x.wav")); err == nil {
		t.Error("a file step without a sounds directory was accepted")
	}
	if _, err := p.Call(context.Background(), CallSpec{Steps: "1 f/elsewhere/x.wav h"}); err == nil {
		t.Error("Call accepted a file outside the sounds directory")
	}
}

// nextEvent is a test controller's next event on its call; open is false once the call's
// events have ended.
func nextEvent(ctx context.Context, in *pbx.InboundCall) (ev pbx.Event, open bool, err error) {
	select {
	case ev, open = <-in.Events.Events():
		return ev, open, nil
	case <-ctx.Done():
		return pbx.Event{}, false, ctx.Err()
	}
}
