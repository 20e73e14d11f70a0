package sim

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/audio"
)

// TestPlaybackStop: DELETE /playbacks/{id} stops a playing prompt (204,
// PlaybackFinished done) and 404s once it is gone; queued prompts follow.
func TestPlaybackStop(t *testing.T) {
	t.Parallel()
	sounds := rigSounds(t)
	if err := audio.WriteWAVFile(filepath.Join(sounds, "long.wav"), audio.Tone(440, 0.3, 5*audio.SampleRate)); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{SoundsDir: sounds})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	_, id := answeredCall(t, d, "ws", CallSpec{})
	_, first := d.rest("POST", "/channels/"+id+"/play/first", map[string]string{"media": "sound:long"})
	st, second := d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "sound:hotline-beep"})
	mustStatus(t, st, http.StatusCreated, "queue a second prompt")
	if state := second.(map[string]any)["state"]; state != "queued" {
		t.Errorf("second playback %v", state)
	}
	d.waitEvent("ws", "PlaybackStarted", "")
	start := time.Now()
	st, _ = d.rest("DELETE", "/playbacks/"+chanID(first), nil)
	mustStatus(t, st, http.StatusNoContent, "stop while playing")
	fin := d.waitEvent("ws", "PlaybackFinished", "")
	// The prompt lasts 5 s: finishing well before proves the stop ended it.
	if time.Since(start) > 2500*time.Millisecond || fin["playback"].(map[string]any)["id"] != "first" {
		t.Errorf("stop took %v: %v", time.Since(start), fin)
	}
	st, _ = d.rest("DELETE", "/playbacks/first", nil)
	mustStatus(t, st, http.StatusNotFound, "stop after the end")
	started := d.waitFor(func(e logEntry) bool {
		return e.Type == "PlaybackStarted" && e.Event["playback"].(map[string]any)["id"] == chanID(second)
	}, "the queued prompt to start")
	_ = started
	st, _ = d.rest("GET", "/playbacks/"+chanID(second), nil)
	mustStatus(t, st, http.StatusOK, "get a playing prompt")
}

// TestRecordErrors covers record's status codes.
func TestRecordErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	_, a := answeredCall(t, d, "ws", CallSpec{Steps: "T440:5"})
	_, b := answeredCall(t, d, "ws", CallSpec{})
	rec := func(ch string, q map[string]string) int {
		st, _ := d.rest("POST", "/channels/"+ch+"/record", q)
		return st
	}
	cases := []struct {
		name   string
		ch     string
		q      map[string]string
		status int
	}{
		{"unknown format", a, map[string]string{"name": "x", "format": "mp3"}, 422},
		{"bad terminateOn", a, map[string]string{"name": "x", "format": "wav", "terminateOn": "5"}, 400},
		{"bad ifExists", a, map[string]string{"name": "x", "format": "wav", "ifExists": "maybe"}, 400},
		{"negative duration", a, map[string]string{"name": "x", "format": "wav", "maxDurationSeconds": "-1"}, 400},
		{"unknown channel", "nope", map[string]string{"name": "x", "format": "wav"}, 404},
		{"starts", a, map[string]string{"name": "taken", "format": "wav"}, 201},
		{"name in use", b, map[string]string{"name": "taken", "format": "wav"}, 409},
	}
	for _, c := range cases {
		if st := rec(c.ch, c.q); st != c.status {
			t.Errorf("%s: %d, want %d", c.name, st, c.status)
		}
	}
	st, live := d.rest("GET", "/recordings/live/taken", nil)
	if st != 200 || live.(map[string]any)["state"] != "recording" {
		t.Errorf("live recording: %d %v", st, live)
	}
	d.pause(300 * time.Millisecond)
	st, _ = d.rest("POST", "/recordings/live/taken/stop", nil)
	mustStatus(t, st, 204, "stop")
	d.waitEvent("ws", "RecordingFinished", "")
	if st := rec(b, map[string]string{"name": "taken", "format": "wav"}); st != 409 {
		t.Errorf("stored name with ifExists=fail: %d, want 409", st)
	}
	if st := rec(b, map[string]string{"name": "taken", "format": "wav", "ifExists": "overwrite"}); st != 201 {
		t.Errorf("ifExists=overwrite: %d, want 201", st)
	}
	st, _ = d.rest("DELETE", "/recordings/live/taken", nil)
	mustStatus(t, st, 204, "cancel")
	ev := d.waitFor(func(e logEntry) bool {
		return e.Type == "RecordingFinished" && eventTarget(e.Event) == "channel:"+b
	}, "the cancelled take to finish").Event
	if ev["recording"].(map[string]any)["state"] != "canceled" {
		t.Errorf("cancel gave %v", ev)
	}
	// The first take is still stored, with the tone.
	res := get(t, srv, "/ari/recordings/stored/taken/file")
	smp, err := audio.ReadWAV(bytes.NewReader(res.body))
	if err != nil || !audio.HasTone(smp, 440) {
		t.Errorf("stored take: %v, 440 Hz %v", err, audio.HasTone(smp, 440))
	}

	_, br := d.rest("POST", "/bridges", nil)
	d.rest("POST", "/bridges/"+chanID(br)+"/addChannel", map[string]string{"channel": a})
	if st := rec(a, map[string]string{"name": "bridged", "format": "wav"}); st != 409 {
		t.Errorf("record a bridged channel: %d, want 409", st)
	}
}

func eventTarget(ev map[string]any) string {
	for _, k := range []string{"recording", "playback"} {
		if m, ok := ev[k].(map[string]any); ok {
			s, _ := m["target_uri"].(string)
			return s
		}
	}
	return ""
}

// TestRecordMaxSilence: a silent caller ends a recording after
// maxSilenceSeconds with RecordingFinished.
func TestRecordMaxSilence(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	_, id := answeredCall(t, d, "ws", CallSpec{Steps: "s5"})
	start := time.Now()
	d.rest("POST", "/channels/"+id+"/record", map[string]string{"name": "quiet", "format": "wav", "maxSilenceSeconds": "1"})
	ev := d.waitEvent("ws", "RecordingFinished", "")
	if el := time.Since(start); el < 900*time.Millisecond || el > 3*time.Second {
		t.Errorf("silence ended the recording after %v", el)
	}
	if _, ok := ev["recording"].(map[string]any)["duration"]; !ok {
		t.Errorf("no duration: %v", ev)
	}
}

// TestBridgeMixRecordAndPlay: a bridge recording holds both parties'
// tones, and a bridge playback reaches every member.
func TestBridgeMixRecordAndPlay(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/agent-1001", Steps: "T880:4", Listen: true})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	caller, a := answeredCall(t, d, "ws", CallSpec{Steps: "T440:4", Listen: true})
	_, ag := d.rest("POST", "/channels", map[string]string{"endpoint": "PJSIP/agent-1001", "app": "hotline"})
	agent := chanID(ag)
	d.waitEvent("ws", "StasisStart", agent)
	_, br := d.rest("POST", "/bridges", map[string]string{"type": "mixing"})
	bid := chanID(br)
	d.rest("POST", "/bridges/"+bid+"/addChannel", map[string]string{"channel": a + "," + agent})
	st, _ := d.rest("POST", "/bridges/"+bid+"/record", map[string]string{"name": "mix", "format": "wav", "maxDurationSeconds": "1"})
	mustStatus(t, st, 201, "record bridge")
	d.waitEvent("ws", "RecordingFinished", "")
	res := get(t, srv, "/ari/recordings/stored/mix/file")
	mix, err := audio.ReadWAV(bytes.NewReader(res.body))
	if err != nil || !audio.HasTone(mix, 440) || !audio.HasTone(mix, 880) {
		t.Errorf("bridge recording: %v; 440 %v 880 %v", err, audio.HasTone(mix, 440), audio.HasTone(mix, 880))
	}
	if !heardTone(caller.Heard(), 880) {
		t.Error("the caller did not hear the agent")
	}
	st, _ = d.rest("POST", "/bridges/"+bid+"/play", map[string]string{"media": "tone:1300"})
	mustStatus(t, st, 201, "play to bridge")
	waitUntil(t, func() bool { return audio.HasTone(lastSamples(caller.Heard(), 2400), 1300) }, "the caller to hear the bridge tone")
}

// TestSoundLanguage: sound:NAME resolves under the channel's language
// first, then the sounds root; NAME may contain a slash.
func TestSoundLanguage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(rel string, freq float64) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := audio.WriteWAVFile(p, audio.Tone(freq, 0.3, audio.SampleRate/2)); err != nil {
			t.Fatal(err)
		}
	}
	write("hotline/welcome.wav", 440)
	write("zh/hotline/welcome.wav", 880)
	write("digits/1.wav", 1000)
	write("digits/2.wav", 1300)
	srv := startServer(t, Config{SoundsDir: dir})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	for _, c := range []struct {
		lang       string
		hear, miss float64
	}{{"zh", 880, 440}, {"en", 440, 880}} {
		call, id := answeredCall(t, d, "ws", CallSpec{Language: c.lang, Listen: true})
		_, pb := d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "sound:hotline/welcome"})
		d.waitFor(func(e logEntry) bool {
			return e.Type == "PlaybackFinished" && e.Event["playback"].(map[string]any)["id"] == chanID(pb)
		}, "prompt end")
		if lang := pb.(map[string]any)["language"]; lang != c.lang {
			t.Errorf("playback language %v, want %s", lang, c.lang)
		}
		heard := call.Heard()
		if !heardTone(heard, c.hear) || heardTone(heard, c.miss) {
			t.Errorf("%s caller: %v Hz %v, %v Hz %v", c.lang, c.hear, heardTone(heard, c.hear), c.miss, heardTone(heard, c.miss))
		}
		// digits: says each digit with digits/N.
		_, dg := d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "digits:21"})
		fin := d.waitFor(func(e logEntry) bool {
			return e.Type == "PlaybackFinished" && e.Event["playback"].(map[string]any)["id"] == chanID(dg)
		}, "digits end").Event
		if fin["playback"].(map[string]any)["state"] != "done" {
			t.Errorf("digits:21 %v", fin)
		}
		heard = call.Heard()
		if !heardTone(heard, 1000) || !heardTone(heard, 1300) {
			t.Errorf("digits:21 not heard: 1000 Hz %v, 1300 Hz %v", heardTone(heard, 1000), heardTone(heard, 1300))
		}
	}
	// digits without prompts fail as on a rig without core sounds.
	_, id := answeredCall(t, d, "ws", CallSpec{})
	_, pb := d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "digits:9"})
	fin := d.waitFor(func(e logEntry) bool {
		return e.Type == "PlaybackFinished" && e.Event["playback"].(map[string]any)["id"] == chanID(pb)
	}, "digits:9 end").Event
	if fin["playback"].(map[string]any)["state"] != "failed" {
		t.Errorf("digits:9 without digits/9: %v", fin)
	}
}

// TestHangupOrders checks event orders the traces do not show directly:
// a caller hanging up mid-prompt, and an agent hanging up in a two-party
// bridge (the caller gets the *BRIDGED QoS variables and stays bridged).
func TestHangupOrders(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/agent-1001", Steps: "w0.5 h"})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")

	c1, id1 := answeredCall(t, d, "ws", CallSpec{})
	d.rest("POST", "/channels/"+id1+"/play", map[string]string{"media": "sound:hotline-beep"})
	d.waitEvent("ws", "PlaybackStarted", "")
	c1.Hangup()
	d.waitEvent("ws", "StasisEnd", id1)

	_, id2 := answeredCall(t, d, "ws", CallSpec{})
	_, ag := d.rest("POST", "/channels", map[string]string{"endpoint": "PJSIP/agent-1001", "app": "hotline"})
	agent := chanID(ag)
	d.waitEvent("ws", "StasisStart", agent)
	_, br := d.rest("POST", "/bridges", nil)
	d.rest("POST", "/bridges/"+chanID(br)+"/addChannel", map[string]string{"channel": id2 + "," + agent})
	d.waitEvent("ws", "ChannelDestroyed", agent)

	seq := func(id string, from string) []string {
		var out []string
		started := from == ""
		for _, e := range d.entries() {
			if e.Kind != "event" || eventChannelID(e.Event) != id && !(e.Type == "PlaybackFinished" && id == id1) {
				continue
			}
			s := eventStep(e)
			if !started && s == from {
				started = true
			}
			if started {
				out = append(out, s)
			}
		}
		return out
	}
	want1 := "ws:ChannelVarset(RTPAUDIOQOS) ws:ChannelVarset(RTPAUDIOQOSJITTER) ws:ChannelVarset(RTPAUDIOQOSLOSS) ws:ChannelVarset(RTPAUDIOQOSRTT) ws:ChannelVarset(RTPAUDIOQOSMES) ws:ChannelHangupRequest ws:PlaybackFinished(failed) ws:StasisEnd"
	if got := strings.Join(seq(id1, "ws:ChannelVarset(RTPAUDIOQOS)"), " "); got != want1 {
		t.Errorf("caller hang-up mid-prompt:\n got %s\nwant %s", got, want1)
	}
	want2 := "ws:ChannelVarset(RTPAUDIOQOS) ws:ChannelVarset(RTPAUDIOQOSJITTER) ws:ChannelVarset(RTPAUDIOQOSLOSS) ws:ChannelVarset(RTPAUDIOQOSRTT) ws:ChannelVarset(RTPAUDIOQOSMES) ws:ChannelHangupRequest ws:ChannelVarset(BRIDGEPEER) ws:ChannelVarset(BRIDGEPVTCALLID) ws:ChannelLeftBridge ws:StasisEnd ws:ChannelVarset(STASISSTATUS) ws:ChannelDestroyed"
	if got := strings.Join(seq(agent, "ws:ChannelVarset(RTPAUDIOQOS)"), " "); got != want2 {
		t.Errorf("agent hang-up:\n got %s\nwant %s", got, want2)
	}
	bridged := 0
	for _, s := range seq(id2, "") {
		if strings.Contains(s, "BRIDGED") {
			bridged++
		}
	}
	if bridged != 5 {
		t.Errorf("caller got %d RTPAUDIOQOS*BRIDGED variables, want 5", bridged)
	}
	st, b := d.rest("GET", "/bridges/"+chanID(br), nil)
	if st != 200 || len(b.(map[string]any)["channels"].([]any)) != 1 {
		t.Errorf("the caller should stay in the bridge: %v", b)
	}
}

// TestSupervisorListenAndWhisper: a snoop bridged with an ExternalMedia
// channel lets a supervisor hear the caller (spy) and speak to the caller
// alone (whisper), as agentdesk does with ARI snoop channels.
func TestSupervisorListenAndWhisper(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	caller, id := answeredCall(t, d, "ws", CallSpec{Steps: "T440:5", Listen: true})
	_, sn := d.rest("POST", "/channels/"+id+"/snoop", map[string]string{"app": "hotline", "spy": "in", "whisper": "out"})
	snoop := chanID(sn)
	d.waitEvent("ws", "StasisStart", snoop)
	peer := newRTPPeer(t)
	_, em := d.rest("POST", "/channels/externalMedia", map[string]string{"app": "hotline",
		"external_host": peer.conn.LocalAddr().String(), "format": "ulaw"})
	port, _ := strconv.Atoi(em.(map[string]any)["channelvars"].(map[string]any)["UNICASTRTP_LOCAL_PORT"].(string))
	_, br := d.rest("POST", "/bridges", map[string]string{"type": "mixing"})
	st, _ := d.rest("POST", "/bridges/"+chanID(br)+"/addChannel", map[string]string{"channel": snoop + "," + chanID(em)})
	mustStatus(t, st, 204, "bridge the snoop")

	tone := audio.Tone(1300, 0.3, audio.SampleRate)
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range 50 {
		<-tick.C
		payload := audio.EncodePCMU(nil, tone[i*160:(i+1)*160])
		if _, err := peer.conn.WriteToUDP(rtpPacket(uint16(i), uint32(i*160), 99, payload), dst); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool { return heardTone(caller.Heard(), 1300) }, "the caller to hear the whisper")
	if got := peer.samples(); !heardTone(got, 440) || heardTone(got, 1300) {
		t.Errorf("supervisor: caller 440 Hz %v (want true), own 1300 Hz %v (want false)", heardTone(got, 440), heardTone(got, 1300))
	}
}

// TestRecordBeep: with a beep prompt installed, beep=true plays it to the
// caller and then records (the normal path; trace 05 is the rig without it).
func TestRecordBeep(t *testing.T) {
	t.Parallel()
	sounds := rigSounds(t)
	if err := audio.WriteWAVFile(filepath.Join(sounds, "beep.wav"), audio.Tone(1000, 0.3, audio.SampleRate/2)); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{SoundsDir: sounds})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	caller, id := answeredCall(t, d, "ws", CallSpec{Steps: "T440:3 #", Listen: true})
	d.rest("POST", "/channels/"+id+"/record", map[string]string{"name": "beeped", "format": "wav", "beep": "true", "terminateOn": "#"})
	fin := d.waitEvent("ws", "RecordingFinished", "")
	if dur, _ := fin["recording"].(map[string]any)["duration"].(float64); dur < 2 {
		t.Errorf("recording after the beep: %v", fin["recording"])
	}
	if !heardTone(caller.Heard(), 1000) {
		t.Error("the caller did not hear the beep")
	}
	res := get(t, srv, "/ari/recordings/stored/beeped/file")
	smp, err := audio.ReadWAV(bytes.NewReader(res.body))
	if err != nil || !audio.HasTone(smp, 440) {
		t.Errorf("stored: %v, 440 Hz %v", err, audio.HasTone(smp, 440))
	}
}
