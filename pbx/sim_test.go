package pbx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"hotline/audio"
	"hotline/pbx"
	"hotline/pbx/sim"
)

// Behaviour tests: the real ARI client library, through the adapter, against
// the simulated Asterisk over loopback. Each follows a numbered sequence of
// ARI-NOTES.md and the golden trace of the same name.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type rig struct {
	sim *sim.Server
	c   *pbx.Client
	cfg pbx.Config
}

func startSim(t *testing.T) *sim.Server {
	t.Helper()
	sounds := t.TempDir()
	// sound:hotline-beep, as on the trace rig: 1 s of 440 Hz.
	if err := audio.WriteWAVFile(filepath.Join(sounds, "hotline-beep.wav"), audio.Tone(440, 8000, 8000)); err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{Username: "hotline", Password: "secret", SoundsDir: sounds, RecordingsDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func simConfig(s *sim.Server) pbx.Config {
	return pbx.Config{
		URL: s.URL() + "/ari", Application: "hotline", Username: "hotline", Password: "secret",
		RequestTimeout: 3 * time.Second, DialTimeout: time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		ReplacedDelay: 100 * time.Millisecond,
		Logger:        quiet,
	}
}

func newRig(t *testing.T, ctx context.Context, edit func(*pbx.Config)) *rig {
	t.Helper()
	s := startSim(t)
	cfg := simConfig(s)
	if edit != nil {
		edit(&cfg)
	}
	c, err := pbx.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &rig{sim: s, c: c, cfg: cfg}
	waitNotice(t, ctx, c, pbx.NoticeResynced)
	return r
}

// call places a simulated caller and returns it with the adapter's view of it.
func (r *rig) call(t *testing.T, ctx context.Context, steps string) (*sim.Call, *pbx.InboundCall) {
	t.Helper()
	sc, err := r.sim.Call(ctx, sim.CallSpec{Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	in := recv(t, ctx, r.c.Incoming(), "inbound call")
	if in.Channel.ID != sc.ChannelID() {
		t.Fatalf("inbound %s, placed %s", in.Channel.ID, sc.ChannelID())
	}
	return sc, in
}

func recv[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: stream closed", what)
		}
		return v
	case <-ctx.Done():
		t.Fatalf("%s: nothing before the deadline", what)
	}
	var zero T
	return zero
}

func waitNotice(t *testing.T, ctx context.Context, c *pbx.Client, typ pbx.NoticeType) pbx.Notice {
	t.Helper()
	for {
		if n := recv(t, ctx, c.Notices(), "notice "+typ.String()); n.Type == typ {
			return n
		}
	}
}

// until reads events until one of type typ (and matching ok, if given).
func until(t *testing.T, ctx context.Context, sub *pbx.Subscription, typ pbx.EventType, ok func(pbx.Event) bool) pbx.Event {
	t.Helper()
	var seen []string
	for {
		ev := recv(t, ctx, sub.Events(), "waiting for "+string(typ)+" after "+strings.Join(seen, ","))
		if ev.Type == typ && (ok == nil || ok(ev)) {
			return ev
		}
		seen = append(seen, string(ev.Type))
	}
}

// rest reads every remaining event until the stream closes, and returns
// their types without the ChannelVarset noise.
func rest(t *testing.T, ctx context.Context, sub *pbx.Subscription) []pbx.EventType {
	t.Helper()
	var out []pbx.EventType
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				return out
			}
			if ev.Type != pbx.ChannelVarset {
				out = append(out, ev.Type)
			}
		case <-ctx.Done():
			t.Fatalf("stream not closed; so far %v", out)
		}
	}
}

func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// 1-4, 6: inbound call, answer, play, DTMF during and after the playback,
// caller hangs up (01-inbound-answer-play-dtmf-hangup).
func TestInboundAnswerPlayDTMFHangup(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	// "p" waits for the prompt to end (the trace rig used wall-clock pauses).
	sc, in := r.call(t, ctx, "m200 1 p 2 w1 h")
	start := recv(t, ctx, in.Events.Events(), "StasisStart")
	if start.Type != pbx.StasisStart || start.Channel.State != "Ring" || start.Channel.CallerNumber != "13800000001" || start.Channel.Exten != "12315" {
		t.Fatalf("StasisStart = %+v", start)
	}
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.ChannelStateChange, func(e pbx.Event) bool { return e.Channel.State == "Up" })
	pb, err := r.c.Play(ctx, in.Channel.ID, "sound:hotline-beep", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for ev := range in.Events.Events() {
		switch ev.Type {
		case pbx.PlaybackStarted, pbx.PlaybackFinished:
			if ev.PlaybackID != pb {
				t.Errorf("%s for playback %q, want %q", ev.Type, ev.PlaybackID, pb)
			}
			got = append(got, string(ev.Type)+":"+ev.PlaybackState)
		case pbx.ChannelDtmfReceived:
			got = append(got, "DTMF:"+ev.Digit)
		case pbx.ChannelHangupRequest:
			if ev.Cause != 0 || ev.Soft {
				t.Errorf("far-end hangup has cause %d soft %v", ev.Cause, ev.Soft)
			}
			got = append(got, string(ev.Type))
		case pbx.StasisEnd:
			got = append(got, string(ev.Type))
		}
	}
	want := []string{"PlaybackStarted:playing", "DTMF:1", "PlaybackFinished:done", "DTMF:2", "ChannelHangupRequest", "StasisEnd"}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if res, err := sc.Wait(ctx); err != nil || res.HungUpBy != "party" {
		t.Errorf("caller result %+v, %v", res, err)
	}
}

// Barge-in: stopping a playback while it plays, 404 once it has finished.
func TestStopPlayback(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	_, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	pb, err := r.c.Play(ctx, in.Channel.ID, "sound:hotline-beep", "barge-1")
	if err != nil || pb != "barge-1" {
		t.Fatalf("play %q: %v", pb, err)
	}
	until(t, ctx, in.Events, pbx.PlaybackStarted, nil)
	if err := r.c.StopPlayback(ctx, pb); err != nil {
		t.Fatal(err)
	}
	fin := until(t, ctx, in.Events, pbx.PlaybackFinished, nil)
	if fin.PlaybackID != pb {
		t.Errorf("finished %q", fin.PlaybackID)
	}
	if err := r.c.StopPlayback(ctx, pb); !errors.Is(err, pbx.ErrNotFound) {
		t.Errorf("stop after finish: %v, want ErrNotFound", err)
	}
	// 04: a missing sound still starts, then fails.
	if _, err := r.c.Play(ctx, in.Channel.ID, "sound:does-not-exist", ""); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.PlaybackStarted, nil)
	if fin := until(t, ctx, in.Events, pbx.PlaybackFinished, nil); fin.PlaybackState != "failed" {
		t.Errorf("missing media finished %q, want failed", fin.PlaybackState)
	}
}

// Barge-in with both requests in flight at once: whichever the PBX takes first, the old
// playback finishes before the new one starts, and a stop that comes too late is a 404
// that does not keep the new prompt from playing. Events say when they were received.
// TestPlayWritten: under WithPlayWritten, a play reports when its request was written out,
// after it was made and before the PBX handled it; a stop made with the same context (a
// barge-in's) reports nothing.
func TestPlayWritten(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	_, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	arrived := map[string]time.Time{} // request path -> when the PBX handled it
	r.sim.ObserveRequests(func(req *http.Request, at time.Time) {
		mu.Lock()
		arrived[req.Method+" "+req.URL.Path] = at
		mu.Unlock()
	})
	defer r.sim.ObserveRequests(nil)
	// One context per play: the report may come after the play has returned.
	written := make([]chan time.Time, 2)
	wctx := make([]context.Context, 2)
	for i := range written {
		ch := make(chan time.Time, 2) // room for a wrong second report
		written[i] = ch
		wctx[i] = pbx.WithPlayWritten(ctx, func(at time.Time) { ch <- at })
	}
	before := time.Now()
	if _, err := r.c.Play(wctx[0], in.Channel.ID, "sound:hotline-beep", "w-0"); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.PlaybackStarted, nil)
	if _, stopErr, err := r.c.StopAndPlay(wctx[1], "w-0", in.Channel.ID, "sound:hotline-beep", "w-1"); err != nil || stopErr != nil {
		t.Fatalf("swap: stop %v, play %v", stopErr, err)
	}
	for i, id := range []string{"w-0", "w-1"} {
		at := recv(t, ctx, written[i], "play "+id+" written")
		mu.Lock()
		handled, ok := arrived["POST /ari/channels/"+in.Channel.ID+"/play/"+id]
		mu.Unlock()
		if !ok {
			t.Fatalf("play %s not seen at the PBX", id)
		}
		if at.Before(before) || at.After(handled) {
			t.Errorf("play %s written at %v: want after %v and before the PBX handled it at %v", id, at, before, handled)
		}
	}
	// The swap's stop went out under the same context: it must not have reported.
	select {
	case at := <-written[1]:
		t.Errorf("a second report under the swap's context (the stop's?) at %v", at)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestStopAndPlay(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	_, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.Play(ctx, in.Channel.ID, "sound:hotline-beep", "swap-0"); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.PlaybackStarted, nil)
	for i := 1; i <= 20; i++ {
		old, next := fmt.Sprintf("swap-%d", i-1), fmt.Sprintf("swap-%d", i)
		id, stopErr, err := r.c.StopAndPlay(ctx, old, in.Channel.ID, "sound:hotline-beep", next)
		if err != nil || stopErr != nil || id != next {
			t.Fatalf("swap %d: id %q, stop %v, play %v", i, id, stopErr, err)
		}
		var got []string
		for len(got) < 2 {
			ev := recv(t, ctx, in.Events.Events(), "the swap's events")
			// Received is our clock when the frame came in: after Asterisk's timestamp
			// (whole milliseconds), before we got the event.
			if ev.Received.IsZero() || ev.Received.Before(ev.Time) || ev.Received.After(time.Now()) {
				t.Errorf("%s at %v received at %v", ev.Type, ev.Time, ev.Received)
			}
			if ev.Type == pbx.PlaybackStarted || ev.Type == pbx.PlaybackFinished {
				got = append(got, string(ev.Type)+":"+ev.PlaybackID)
			}
		}
		want := []string{"PlaybackFinished:" + old, "PlaybackStarted:" + next}
		if !slices.Equal(got, want) {
			t.Fatalf("swap %d: events %v, want %v", i, got, want)
		}
	}
	_, stopErr, err := r.c.StopAndPlay(ctx, "swap-0", in.Channel.ID, "sound:hotline-beep", "swap-late")
	if err != nil || !errors.Is(stopErr, pbx.ErrNotFound) {
		t.Fatalf("late stop: stop %v (want ErrNotFound), play %v", stopErr, err)
	}
}

// 7 and 8: the app hangs up (02), or sends the caller back to the dialplan (03).
func TestAppEndsTheCall(t *testing.T) {
	tests := []struct {
		name      string
		end       func(ctx context.Context, c *pbx.Client, id string) error
		wantTypes []pbx.EventType
		wantCause int
	}{
		{"hangup", func(ctx context.Context, c *pbx.Client, id string) error { return c.Hangup(ctx, id, pbx.HangupNormal) },
			[]pbx.EventType{pbx.ChannelHangupRequest, pbx.StasisEnd}, 32},
		{"continue", func(ctx context.Context, c *pbx.Client, id string) error { return c.Continue(ctx, id) },
			[]pbx.EventType{pbx.StasisEnd}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := deadline(t)
			r := newRig(t, ctx, nil)
			sc, in := r.call(t, ctx, "")
			if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
				t.Fatal(err)
			}
			until(t, ctx, in.Events, pbx.ChannelStateChange, nil)
			if err := tt.end(ctx, r.c, in.Channel.ID); err != nil {
				t.Fatal(err)
			}
			var types []pbx.EventType
			for ev := range in.Events.Events() {
				if ev.Type == pbx.ChannelVarset {
					continue
				}
				if ev.Type == pbx.ChannelHangupRequest && (ev.Cause != tt.wantCause || !ev.Soft) {
					t.Errorf("hangup request cause %d soft %v, want %d soft", ev.Cause, ev.Soft, tt.wantCause)
				}
				types = append(types, ev.Type)
			}
			if !slices.Equal(types, tt.wantTypes) {
				t.Errorf("events %v, want %v", types, tt.wantTypes)
			}
			if res, err := sc.Wait(ctx); err != nil || res.HungUpBy != "pbx" {
				t.Errorf("caller result %+v, %v", res, err)
			}
			// The channel is gone: later operations are classified.
			if err := r.c.Answer(ctx, in.Channel.ID); !errors.Is(err, pbx.ErrNotFound) {
				t.Errorf("answer after end: %v, want ErrNotFound", err)
			}
		})
	}
}

// 5: voicemail ended by '#' (05b), and by the caller hanging up (06), which
// still finishes the recording and keeps the file.
func TestRecordVoicemail(t *testing.T) {
	tests := []struct {
		name     string
		steps    string
		wantDTMF bool
	}{
		{"terminated by #", "m500 t3 #", true},
		{"caller hangs up", "m500 t2 h", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := deadline(t)
			r := newRig(t, ctx, nil)
			_, in := r.call(t, ctx, tt.steps)
			if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
				t.Fatal(err)
			}
			name := "vm-" + strings.ReplaceAll(tt.name, " ", "-")
			name = strings.ReplaceAll(name, "#", "hash")
			err := r.c.Record(ctx, in.Channel.ID, pbx.RecordOptions{Name: name, Format: "wav", MaxDuration: 10 * time.Second, TerminateOn: "#"})
			if err != nil {
				t.Fatal(err)
			}
			until(t, ctx, in.Events, pbx.RecordingStarted, func(e pbx.Event) bool { return e.RecordingName == name })
			var sawDTMF bool
			var fin pbx.Event
			for ev := range in.Events.Events() {
				if ev.Type == pbx.ChannelDtmfReceived && ev.Digit == "#" {
					sawDTMF = true
				}
				if ev.Type == pbx.RecordingFinished {
					fin = ev
					break
				}
				if ev.Type == pbx.RecordingFailed {
					t.Fatalf("recording failed: %+v", ev)
				}
			}
			if fin.RecordingState != "done" || fin.RecordingDuration < time.Second {
				t.Errorf("finished %+v, want done with a duration", fin)
			}
			if sawDTMF != tt.wantDTMF {
				t.Errorf("saw # before the finish: %v, want %v", sawDTMF, tt.wantDTMF)
			}
			wav, err := r.c.RecordingFile(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			samples, err := audio.ReadWAV(bytes.NewReader(wav))
			if err != nil || len(samples) < 8000 {
				t.Fatalf("recording: %d samples, %v", len(samples), err)
			}
			if !audio.HasTone(samples, 440) {
				t.Error("the caller's 440 Hz tone is not in the recording")
			}
			if err := r.c.DeleteRecording(ctx, name); err != nil {
				t.Fatal(err)
			}
			if _, err := r.c.RecordingFile(ctx, name); !errors.Is(err, pbx.ErrNotFound) {
				t.Errorf("file after delete: %v, want ErrNotFound", err)
			}
			_ = r.c.Hangup(ctx, in.Channel.ID, pbx.HangupNormal)
		})
	}
}

// 9: originate to an agent and bridge it with the caller (07).
func TestOriginateAndBridge(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	r.sim.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/agent-1001", AnswerAfter: 100 * time.Millisecond})
	caller, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	agent, err := r.c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/agent-1001", ChannelID: "agent-leg-1", AppArgs: "agent", CallerID: "12315", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dial := until(t, ctx, agent, pbx.Dial, nil)
	if dial.Channel.ID != "agent-leg-1" {
		t.Errorf("Dial for %q", dial.Channel.ID)
	}
	st := until(t, ctx, agent, pbx.StasisStart, nil)
	if !slices.Equal(st.Args, []string{"agent"}) {
		t.Errorf("agent StasisStart args %v", st.Args)
	}
	bridge, err := r.c.CreateBridge(ctx, "", "call-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.AddToBridge(ctx, bridge.ID(), in.Channel.ID, "agent-leg-1"); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*pbx.Subscription{in.Events, agent} {
		if ev := until(t, ctx, sub, pbx.ChannelEnteredBridge, nil); ev.BridgeID != bridge.ID() {
			t.Errorf("%s entered %q", sub.ID(), ev.BridgeID)
		}
	}
	// The caller hangs up; the agent stays in the bridge.
	caller.Hangup()
	until(t, ctx, in.Events, pbx.StasisEnd, nil)
	if _, open := <-in.Events.Events(); open {
		t.Error("caller stream open after StasisEnd")
	}
	if err := r.c.Hangup(ctx, "agent-leg-1", pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	got := rest(t, ctx, agent)
	if !slices.Equal(got[len(got)-3:], []pbx.EventType{pbx.ChannelLeftBridge, pbx.StasisEnd, pbx.ChannelDestroyed}) {
		t.Errorf("agent end %v, want ... ChannelLeftBridge StasisEnd ChannelDestroyed", got)
	}
	if err := r.c.DestroyBridge(ctx, bridge.ID()); err != nil {
		t.Fatal(err)
	}
	if got := rest(t, ctx, bridge); !slices.Equal(got, []pbx.EventType{pbx.BridgeDestroyed}) {
		t.Errorf("bridge events %v", got)
	}
	// No originated channel was ever offered as a caller.
	select {
	case c := <-r.c.Incoming():
		t.Errorf("app-created channel offered as caller: %+v", c.Channel)
	default:
	}
}

// ExternalMedia (08): the adapter reads the local RTP address back, the
// channel is not a caller, and once bridged Asterisk streams RTP from that
// very address.
func TestExternalMedia(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	_, in := r.call(t, ctx, "t3")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	em, err := r.c.ExternalMedia(ctx, pbx.ExternalMediaRequest{ExternalHost: udp.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(em.LocalAddr)
	if err != nil || net.ParseIP(host) == nil || port == "0" {
		t.Fatalf("LocalAddr %q: %v", em.LocalAddr, err)
	}
	st := until(t, ctx, em.Events, pbx.StasisStart, nil)
	if !strings.HasPrefix(st.Channel.Name, "UnicastRTP/") {
		t.Errorf("external media channel named %q", st.Channel.Name)
	}
	bridge, err := r.c.CreateBridge(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.AddToBridge(ctx, bridge.ID(), in.Channel.ID, em.ChannelID); err != nil {
		t.Fatal(err)
	}
	_ = udp.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := udp.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no RTP after bridging: %v", err)
	}
	if from.String() != em.LocalAddr {
		t.Errorf("RTP from %s, LocalAddr says %s", from, em.LocalAddr)
	}
	if n < 12 || buf[1]&0x7f != 0 {
		t.Errorf("not PCMU RTP: %d bytes, PT %d", n, buf[1]&0x7f)
	}
	if err := r.c.Hangup(ctx, em.ChannelID, pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	if got := rest(t, ctx, em.Events); !slices.Contains(got, pbx.ChannelDestroyed) {
		t.Errorf("external media end %v lacks ChannelDestroyed", got)
	}
	select {
	case c := <-r.c.Incoming():
		t.Errorf("ExternalMedia channel offered as caller: %+v", c.Channel)
	default:
	}
}

// Snoop (12): a Snoop/ channel enters the app with our args and is not a caller.
func TestSnoop(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	_, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	snoop, err := r.c.Snoop(ctx, in.Channel.ID, pbx.SnoopRequest{Spy: pbx.DirBoth, Whisper: pbx.DirNone, AppArgs: "listen"})
	if err != nil {
		t.Fatal(err)
	}
	st := until(t, ctx, snoop, pbx.StasisStart, nil)
	if !strings.HasPrefix(st.Channel.Name, "Snoop/") || !slices.Equal(st.Args, []string{"listen"}) {
		t.Errorf("snoop StasisStart %+v", st)
	}
	if err := r.c.Hangup(ctx, snoop.ID(), pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	if got := rest(t, ctx, snoop); !slices.Equal(got, []pbx.EventType{pbx.ChannelHangupRequest, pbx.StasisEnd}) {
		t.Errorf("snoop end %v", got)
	}
	select {
	case c := <-r.c.Incoming():
		t.Errorf("snoop offered as caller: %+v", c.Channel)
	default:
	}
}

// 09-errors: Asterisk's status codes come back as classified errors.
func TestSimErrorsAreClassified(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	_, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	id := in.Channel.ID
	// A Local channel pair: ;1 runs Wait() in the dialplan, so it is not in Stasis.
	local1, _, err := r.sim.OriginateLocal(ctx, "Wait 15")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func() error
		want   error
		status int
	}{
		{"answer unknown channel", func() error { return r.c.Answer(ctx, "no-such") }, pbx.ErrNotFound, 404},
		{"hangup unknown channel", func() error { return r.c.Hangup(ctx, "no-such", "") }, pbx.ErrNotFound, 404},
		{"record unknown format", func() error {
			return r.c.Record(ctx, id, pbx.RecordOptions{Name: "bad-format", Format: "nosuchformat"})
		}, pbx.ErrUnprocessable, 422},
		{"play without media", func() error { _, err := r.c.Play(ctx, id, "", ""); return err }, pbx.ErrServer, 500},
		{"add unknown channel to bridge", func() error {
			b, err := r.c.CreateBridge(ctx, "", "")
			if err != nil {
				return err
			}
			defer b.Close()
			return r.c.AddToBridge(ctx, b.ID(), "no-such")
		}, pbx.ErrBadRequest, 400},
		{"unknown bridge", func() error { return r.c.AddToBridge(ctx, "no-such-bridge", id) }, pbx.ErrNotFound, 404},
		{"stop unknown playback", func() error { return r.c.StopPlayback(ctx, "no-such-playback") }, pbx.ErrNotFound, 404},
		{"originate with the id of a channel Asterisk has", func() error {
			_, err := r.c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/nobody", ChannelID: local1})
			return err
		}, pbx.ErrConflict, 409},
		{"originate with the id of a channel we own", func() error {
			_, err := r.c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/nobody", ChannelID: id})
			return err
		}, pbx.ErrConflict, 0},
		{"play on a channel not in Stasis", func() error { _, err := r.c.Play(ctx, local1, "sound:hotline-beep", ""); return err }, pbx.ErrNotInStasis, 409},
		{"answer a channel not in Stasis", func() error { return r.c.Answer(ctx, local1) }, pbx.ErrNotInStasis, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got := pbx.StatusCode(err); got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			var oe *pbx.OpError
			if !errors.As(err, &oe) || oe.Op == "" {
				t.Errorf("%v is not an *OpError naming its operation", err)
			}
		})
	}
	// The "taken id" originate must not have stolen the caller's route.
	if err := r.c.Hangup(ctx, id, pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.StasisEnd, nil)
	// DELETE works outside Stasis.
	if err := r.c.Hangup(ctx, local1, pbx.HangupNormal); err != nil {
		t.Errorf("hangup of a channel outside Stasis: %v", err)
	}
}

// gate is a WebSocket-capable reverse proxy in front of the sim's event
// socket that the test can shut, so that "Asterisk unreachable" lasts exactly
// as long as the test wants.
type gate struct {
	srv  *httptest.Server
	shut atomic.Bool
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.shut.Load() {
			http.Error(w, "gate shut", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// Socket drop (10): channels survive, new callers are refused while the app
// is away, the adapter reconnects, and the resync reports the caller who hung
// up meanwhile as Vanished while the survivor is told to re-check and keeps
// receiving events.
func TestSocketDropAndResync(t *testing.T) {
	ctx := deadline(t)
	s := startSim(t)
	g := newGate(t, s.URL())
	cfg := simConfig(s)
	cfg.WebSocketURL = "ws://" + strings.TrimPrefix(g.srv.URL, "http://") + "/ari/events"
	c, err := pbx.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitNotice(t, ctx, c, pbx.NoticeResynced)
	r := &rig{sim: s, c: c, cfg: cfg}

	stays, inStays := r.call(t, ctx, "")
	leaves, inLeaves := r.call(t, ctx, "")
	for _, in := range []*pbx.InboundCall{inStays, inLeaves} {
		if err := c.Answer(ctx, in.Channel.ID); err != nil {
			t.Fatal(err)
		}
		until(t, ctx, in.Events, pbx.ChannelStateChange, nil)
	}

	g.shut.Store(true)
	if n := s.DropAppSockets("hotline"); n != 1 {
		t.Fatalf("dropped %d sockets, want 1", n)
	}
	waitNotice(t, ctx, c, pbx.NoticeDisconnected)
	leaves.Hangup()
	if _, err := leaves.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	refused, err := s.Call(ctx, sim.CallSpec{Steps: "w1 h"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := refused.Wait(ctx); err != nil || res.SIPStatus != 603 {
		t.Errorf("caller while the app is away: %+v, %v (want 603)", res, err)
	}
	// The surviving channel is still controllable over REST.
	if _, err := c.ChannelData(ctx, inStays.Channel.ID); err != nil {
		t.Errorf("survivor not reachable while the socket is down: %v", err)
	}

	g.shut.Store(false)
	waitNotice(t, ctx, c, pbx.NoticeReconnected)
	if n := waitNotice(t, ctx, c, pbx.NoticeResynced); n.Err != nil {
		t.Fatalf("resync: %v", n.Err)
	}
	if ev := until(t, ctx, inLeaves.Events, pbx.Vanished, nil); ev.Channel.ID != inLeaves.Channel.ID {
		t.Errorf("vanished %+v", ev)
	}
	if _, open := <-inLeaves.Events.Events(); open {
		t.Error("vanished caller's stream still open")
	}
	until(t, ctx, inStays.Events, pbx.Resynced, nil)
	if err := stays.Press(ctx, "5"); err != nil {
		t.Fatal(err)
	}
	if ev := until(t, ctx, inStays.Events, pbx.ChannelDtmfReceived, nil); ev.Digit != "5" {
		t.Errorf("DTMF after reconnect: %+v", ev)
	}
	// And new callers reach us again.
	_, fresh := r.call(t, ctx, "")
	if fresh.Channel.ID == "" {
		t.Error("no new caller after reconnect")
	}
}

// ApplicationReplaced (11): a second socket for our app is an alarm; the
// adapter reconnects deliberately and takes the app back.
func TestApplicationReplacedOnSim(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	wsURL := "ws://" + strings.TrimPrefix(r.sim.URL(), "http://") + "/ari/events?app=hotline"
	h := http.Header{}
	h.Set("Authorization", "Basic aG90bGluZTpzZWNyZXQ=") // hotline:secret
	intruder, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, h)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()

	waitNotice(t, ctx, r.c, pbx.NoticeReplaced)
	waitNotice(t, ctx, r.c, pbx.NoticeReconnected)
	// We took the app back: the intruder is told it was replaced.
	_ = intruder.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := intruder.ReadMessage()
		if err != nil {
			t.Fatalf("intruder never replaced: %v", err)
		}
		if bytes.Contains(msg, []byte(`"ApplicationReplaced"`)) {
			break
		}
	}
	// Callers come to us again.
	r.call(t, ctx, "")
}

// The event guard on the sim: ChannelToneDetected (unknown to v5.3.1) is
// kept from the library, counted, and the call goes on.
func TestGuardOnSim(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	sc, in := r.call(t, ctx, "")
	if err := r.c.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	raw := `{"type":"ChannelToneDetected","timestamp":"2026-11-27T07:27:30.000+0000","channel":{"id":"` + in.Channel.ID + `","name":"x","state":"Up"},"asterisk_id":"02:fc:00:00:00:01","application":"hotline"}`
	if !r.sim.EmitRaw("hotline", []byte(raw)) {
		t.Fatal("sim had no socket for the raw event")
	}
	if err := sc.Press(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	if ev := until(t, ctx, in.Events, pbx.ChannelDtmfReceived, nil); ev.Digit != "3" {
		t.Errorf("got %+v", ev)
	}
	if got := r.c.DroppedEvents()["ChannelToneDetected"]; got != 1 {
		t.Errorf("dropped ChannelToneDetected = %d, want 1", got)
	}
	if !r.c.Connected() {
		t.Error("disconnected by an unknown event")
	}
}

// The remaining operations, each checked by its effect on the simulated PBX:
// variables, DTMF to the caller, stopping a recording, bridge recording,
// bridge playback and leaving a bridge.
func TestMoreOperationsOnSim(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	r.sim.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/agent-2001", Steps: "T880:5"})
	sc, in := r.call(t, ctx, "t5")
	id := in.Channel.ID
	if err := r.c.Answer(ctx, id); err != nil {
		t.Fatal(err)
	}

	if err := r.c.SetVariable(ctx, id, "HOTLINE_CASE", "C-42"); err != nil {
		t.Fatal(err)
	}
	if v, err := r.c.GetVariable(ctx, id, "HOTLINE_CASE"); err != nil || v != "C-42" {
		t.Errorf("variable read back %q, %v", v, err)
	}

	if err := r.c.SendDTMF(ctx, id, "12#"); err != nil {
		t.Fatal(err)
	}

	// A recording stopped by the app keeps what it has.
	if err := r.c.Record(ctx, id, pbx.RecordOptions{Name: "stopped-1", MaxDuration: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.RecordingStarted, nil)
	if err := r.c.StopRecording(ctx, "stopped-1"); err != nil {
		t.Fatal(err)
	}
	if fin := until(t, ctx, in.Events, pbx.RecordingFinished, nil); fin.RecordingName != "stopped-1" || fin.RecordingState != "done" {
		t.Errorf("stopped recording finished as %+v", fin)
	}
	if err := r.c.StopRecording(ctx, "stopped-1"); !errors.Is(err, pbx.ErrNotFound) {
		t.Errorf("stop of a finished recording: %v, want ErrNotFound", err)
	}

	// A bridged call is recorded through its bridge, whose events go to the
	// bridge's subscription.
	agent, err := r.c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/agent-2001", AppArgs: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	until(t, ctx, agent, pbx.StasisStart, nil)
	bridge, err := r.c.CreateBridge(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.AddToBridge(ctx, bridge.ID(), id, agent.ID()); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Record(ctx, id, pbx.RecordOptions{Name: "in-bridge"}); !errors.Is(err, pbx.ErrConflict) {
		t.Errorf("recording a bridged channel: %v, want ErrConflict (409)", err)
	}
	if err := r.c.RecordBridge(ctx, bridge.ID(), pbx.RecordOptions{Name: "bridge-1", MaxDuration: time.Second}); err != nil {
		t.Fatal(err)
	}
	if fin := until(t, ctx, bridge, pbx.RecordingFinished, nil); fin.BridgeID != bridge.ID() || fin.RecordingName != "bridge-1" {
		t.Errorf("bridge recording finished as %+v", fin)
	}
	wav, err := r.c.RecordingFile(ctx, "bridge-1")
	if err != nil {
		t.Fatal(err)
	}
	samples, err := audio.ReadWAV(bytes.NewReader(wav))
	if err != nil {
		t.Fatal(err)
	}
	if !audio.HasTone(samples, 440) || !audio.HasTone(samples, 880) {
		t.Error("bridge recording lacks the caller's 440 Hz or the agent's 880 Hz")
	}
	pb, err := r.c.PlayBridge(ctx, bridge.ID(), "sound:hotline-beep", "")
	if err != nil {
		t.Fatal(err)
	}
	if st := until(t, ctx, bridge, pbx.PlaybackStarted, nil); st.PlaybackID != pb {
		t.Errorf("bridge playback %q started, want %q", st.PlaybackID, pb)
	}

	if err := r.c.RemoveFromBridge(ctx, bridge.ID(), agent.ID()); err != nil {
		t.Fatal(err)
	}
	if ev := until(t, ctx, agent, pbx.ChannelLeftBridge, nil); ev.BridgeID != bridge.ID() {
		t.Errorf("agent left %q", ev.BridgeID)
	}
	if err := r.c.Hangup(ctx, agent.ID(), pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Hangup(ctx, id, pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	res, err := sc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.DTMF != "12#" {
		t.Errorf("caller heard DTMF %q, want 12#", res.DTMF)
	}
	if err := r.c.DestroyBridge(ctx, bridge.ID()); err != nil {
		t.Fatal(err)
	}
}

// Ids the library would put into a URL unescaped are refused up front.
func TestUnsafeIDsAreRefused(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	for _, id := range []string{"a#b", "../x", "a b", "a?b=c", ""} {
		if err := r.c.Answer(ctx, id); !errors.Is(err, pbx.ErrInvalidID) {
			t.Errorf("answer %q: %v, want ErrInvalidID", id, err)
		}
	}
	if err := r.c.Record(ctx, "1.1", pbx.RecordOptions{Name: "vm#1"}); !errors.Is(err, pbx.ErrInvalidID) {
		t.Errorf("record name with #: %v", err)
	}
	if _, err := r.c.Play(ctx, "1.1", "sound:x", "pb/1"); !errors.Is(err, pbx.ErrInvalidID) {
		t.Errorf("playback id with /: %v", err)
	}
}

func TestFeedDrivesASubscription(t *testing.T) {
	ctx := deadline(t)
	sub, feed := pbx.NewFeed(pbx.ChannelTarget("fake.1"))
	feed.Send(pbx.Event{Type: pbx.StasisStart, Channel: pbx.Channel{ID: "fake.1"}})
	feed.Send(pbx.Event{Type: pbx.ChannelDtmfReceived, Digit: "4"})
	feed.End()
	if ev := recv(t, ctx, sub.Events(), "first"); ev.Type != pbx.StasisStart || ev.Target != "channel:fake.1" {
		t.Errorf("first %+v", ev)
	}
	if ev := recv(t, ctx, sub.Events(), "second"); ev.Digit != "4" {
		t.Errorf("second %+v", ev)
	}
	if _, open := <-sub.Events(); open {
		t.Error("open after End")
	}
	sub.Close() // harmless after the end
}
