package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/audio"
	"hotline/pbx/steps"
)

func TestParseSteps(t *testing.T) {
	cases := []struct {
		in    string
		kinds []steps.Kind
		bad   bool
	}{
		{in: "m200 1 w1 2 w1 h", kinds: []steps.Kind{steps.Pause, steps.DTMF, steps.Pause, steps.DTMF, steps.Pause, steps.Hangup}},
		{in: "m500 t3 #", kinds: []steps.Kind{steps.Pause, steps.Tone, steps.DTMF}},
		{in: "123*", kinds: []steps.Kind{steps.DTMF, steps.DTMF, steps.DTMF, steps.DTMF}},
		{in: "p s0.5 T880:2 f/tmp/x.wav", kinds: []steps.Kind{steps.Prompt, steps.Silence, steps.Tone, steps.File}},
		{in: "", kinds: nil},
		{in: "x", bad: true},
		{in: "wabc", bad: true},
		{in: "T880", bad: true},
		{in: "m-5", bad: true},
	}
	for _, c := range cases {
		got, err := steps.Parse(c.in)
		if (err != nil) != c.bad {
			t.Errorf("steps.Parse(%q) error %v, want bad=%v", c.in, err, c.bad)
			continue
		}
		var kinds []steps.Kind
		for _, s := range got {
			kinds = append(kinds, s.Kind)
		}
		if !c.bad && !equalKinds(kinds, c.kinds) {
			t.Errorf("steps.Parse(%q) = %v, want %v", c.in, kinds, c.kinds)
		}
	}
	st, _ := steps.Parse("T880:2 t1.5")
	if st[0].Freq != 880 || st[0].D != 2*time.Second || st[1].Freq != 440 || st[1].D != 1500*time.Millisecond {
		t.Errorf("tone steps parsed as %+v", st)
	}
}

func equalKinds(a, b []steps.Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// answeredCall places a call and answers it as the app, returning its id.
func answeredCall(t *testing.T, d *driver, conn string, spec CallSpec) (*Call, string) {
	t.Helper()
	c, err := d.srv.Call(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	id := c.ChannelID()
	d.waitEvent(conn, "StasisStart", id)
	st, _ := d.rest("POST", "/channels/"+id+"/answer", nil)
	mustStatus(t, st, http.StatusNoContent, "answer")
	return c, id
}

// TestRecordingHoldsCallerTone: the caller's 440 Hz tone is in the stored
// recording fetched over /recordings/stored/{name}/file, and nothing else is.
func TestRecordingHoldsCallerTone(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	caller, id := answeredCall(t, d, "ws", CallSpec{Steps: "m300 t2 #", Listen: true})
	st, _ := d.rest("POST", "/channels/"+id+"/record", map[string]string{"name": "vm/tone", "format": "wav", "terminateOn": "#", "maxDurationSeconds": "10"})
	mustStatus(t, st, http.StatusCreated, "record")
	fin := d.waitEvent("ws", "RecordingFinished", "")
	if dur, _ := fin["recording"].(map[string]any)["duration"].(float64); dur < 2 || dur > 3 {
		t.Errorf("RecordingFinished duration %v, want 2", fin["recording"])
	}
	resp := get(t, srv, "/ari/recordings/stored/vm%2Ftone/file")
	if resp.ct != "audio/wav" || resp.status != 200 {
		t.Fatalf("file: %d %s", resp.status, resp.ct)
	}
	samples, err := audio.ReadWAV(bytes.NewReader(resp.body))
	if err != nil {
		t.Fatal(err)
	}
	// About 2.4 s; a loaded machine can make the media clock lose frames.
	if dur := audio.Duration(len(samples)); dur < time.Second || dur > 3500*time.Millisecond {
		t.Errorf("recording lasts %v, want about 2.4 s", dur)
	}
	if !audio.HasTone(samples, 440) || audio.HasTone(samples, 880) {
		t.Errorf("recording: 440 Hz %v (want true), 880 Hz %v (want false)", audio.HasTone(samples, 440), audio.HasTone(samples, 880))
	}
	// recording:NAME plays the stored take back.
	if heardTone(caller.Heard(), 440) {
		t.Fatal("the caller heard 440 Hz before the playback")
	}
	_, pb := d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "recording:vm/tone"})
	d.waitFor(func(e logEntry) bool {
		return e.Type == "PlaybackFinished" && e.Event["playback"].(map[string]any)["id"] == chanID(pb)
	}, "the recording's playback to end")
	if !heardTone(caller.Heard(), 440) {
		t.Error("recording:vm/tone did not play the take")
	}
}

type httpResult struct {
	status int
	ct     string
	body   []byte
}

func get(t *testing.T, srv *Server, path string) httpResult {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL()+path, nil)
	req.SetBasicAuth(srv.cfg.Username, srv.cfg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// TestPromptReachesCaller: a channel playback is heard by the caller for
// its real duration.
func TestPromptReachesCaller(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	c, id := answeredCall(t, d, "ws", CallSpec{Steps: "p h", Listen: true})
	start := time.Now()
	d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "sound:hotline-beep"})
	d.waitEvent("ws", "PlaybackFinished", "")
	if el := time.Since(start); el < 900*time.Millisecond || el > 2*time.Second {
		t.Errorf("a 1 s prompt took %v", el)
	}
	if _, err := c.Wait(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if r := c.Result(); r.HungUpBy != "party" {
		t.Errorf("step p then h: %+v", r)
	}
	if !heardTone(c.Heard(), 440) {
		t.Error("the caller did not hear the 440 Hz prompt")
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// rtpPeer is the far end of an ExternalMedia channel: a UDP socket that
// collects the PCMU it receives.
type rtpPeer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []int16
	from *net.UDPAddr
}

func newRTPPeer(t *testing.T) *rtpPeer {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n <= 12 || buf[1]&0x7f != 0 {
				continue
			}
			p.mu.Lock()
			p.got = audio.DecodePCMU(p.got, buf[12:n])
			p.from = from
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *rtpPeer) samples() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.got...)
}

// TestExternalMediaCarriesAudio: the caller's 440 Hz reaches the external
// socket as RTP, and 880 Hz sent into the ExternalMedia port reaches the
// caller's ear.
func TestExternalMediaCarriesAudio(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	peer := newRTPPeer(t)
	c, caller := answeredCall(t, d, "ws", CallSpec{Steps: "T440:4", Listen: true})
	st, em := d.rest("POST", "/channels/externalMedia", map[string]string{"app": "hotline",
		"external_host": peer.conn.LocalAddr().String(), "format": "ulaw"})
	mustStatus(t, st, http.StatusOK, "externalMedia")
	ext := chanID(em)
	port, _ := strconv.Atoi(em.(map[string]any)["channelvars"].(map[string]any)["UNICASTRTP_LOCAL_PORT"].(string))
	_, b := d.rest("POST", "/bridges", map[string]string{"type": "mixing"})
	d.rest("POST", "/bridges/"+chanID(b)+"/addChannel", map[string]string{"channel": caller + "," + ext})

	tone := audio.Tone(880, 0.3, audio.SampleRate)
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range 50 {
		<-tick.C
		payload := audio.EncodePCMU(nil, tone[i*160:(i+1)*160])
		if _, err := peer.conn.WriteToUDP(rtpPacket(uint16(i), uint32(i*160), 77, payload), dst); err != nil {
			t.Fatal(err)
		}
	}
	// The engine plays received audio with a little delay: let it drain.
	deadline := time.Now().Add(2 * time.Second)
	for !audio.HasTone(lastSamples(c.Heard(), 4000), 880) && time.Now().Before(deadline) {
		<-tick.C
	}
	got := peer.samples()
	if len(got) < 4000 || !audio.HasTone(got, 440) || audio.HasTone(got, 880) {
		t.Errorf("external socket got %d samples; 440 Hz %v (want true), 880 Hz %v (want false)", len(got), audio.HasTone(got, 440), audio.HasTone(got, 880))
	}
	peer.mu.Lock()
	from := peer.from
	peer.mu.Unlock()
	if from == nil || from.Port != port {
		t.Errorf("RTP came from %v, want port %d (UNICASTRTP_LOCAL_PORT)", from, port)
	}
	heard := c.Heard()
	if !heardTone(heard, 880) {
		t.Error("the caller did not hear the 880 Hz sent into the ExternalMedia port")
	}
}

func lastSamples(s []int16, n int) []int16 {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSnoopRecordsCaller: a spy snoop channel records what the caller says.
func TestSnoopRecordsCaller(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	_, caller := answeredCall(t, d, "ws", CallSpec{Steps: "T440:3"})
	_, sn := d.rest("POST", "/channels/"+caller+"/snoop", map[string]string{"app": "hotline", "spy": "in"})
	snoop := chanID(sn)
	d.waitEvent("ws", "StasisStart", snoop)
	st, _ := d.rest("POST", "/channels/"+snoop+"/record", map[string]string{"name": "spy", "format": "wav", "maxDurationSeconds": "1"})
	mustStatus(t, st, http.StatusCreated, "record snoop")
	d.waitEvent("ws", "RecordingFinished", "")
	res := get(t, srv, "/ari/recordings/stored/spy/file")
	samples, err := audio.ReadWAV(bytes.NewReader(res.body))
	if err != nil {
		t.Fatal(err)
	}
	if !audio.HasTone(samples, 440) {
		t.Error("the snoop recording does not hold the caller's 440 Hz")
	}
}

// TestSocketDrop: after a server-side drop, channels stay controllable,
// new calls take the STASISSTATUS=FAILED fallback, and a new socket gets
// later events with nothing replayed.
func TestSocketDrop(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws1", "hotline")
	c, id := answeredCall(t, d, "ws1", CallSpec{})
	if n := srv.DropAppSockets("hotline"); n != 1 {
		t.Fatalf("DropAppSockets closed %d sockets", n)
	}
	d.waitFor(func(e logEntry) bool { return e.Kind == "ws_closed" && e.Conn == "ws1" }, "ws1 to drop")
	waitUntil(t, func() bool { return srv.Stats().ActiveApps == 0 }, "app deactivated")

	st, _ := d.rest("GET", "/channels/"+id, nil)
	mustStatus(t, st, http.StatusOK, "channel during the drop")
	st, _ = d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "sound:hotline-beep"})
	mustStatus(t, st, http.StatusCreated, "play during the drop")

	declined, err := srv.Call(context.Background(), CallSpec{Steps: "w1 h"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := declined.Wait(ctxTimeout(t, 5*time.Second))
	if err != nil || !r.Declined || r.SIPStatus != 603 || srv.FailedStasisCalls() != 1 {
		t.Fatalf("call during the drop: %+v %v, failed=%d", r, err, srv.FailedStasisCalls())
	}

	d.connect("ws2", "hotline")
	if err := c.Press(ctxTimeout(t, 5*time.Second), "5"); err != nil {
		t.Fatal(err)
	}
	ev := d.waitEvent("ws2", "ChannelDtmfReceived", id)
	if ev["digit"] != "5" {
		t.Errorf("digit %v", ev["digit"])
	}
	for _, e := range d.entries() {
		if e.Conn == "ws2" && (e.Type == "StasisStart" || e.Type == "PlaybackStarted" || e.Type == "PlaybackFinished") {
			t.Errorf("ws2 got a replayed or missed event %s", e.Type)
		}
	}
	c.Hangup()
	d.waitEvent("ws2", "StasisEnd", id)
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TestAppReplaced: the older socket gets ApplicationReplaced and then
// nothing; once the newer one closes, the app is gone.
func TestAppReplaced(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("old", "hotline")
	d.connect("new", "hotline")
	d.waitEvent("old", "ApplicationReplaced", "")
	c, id := answeredCall(t, d, "new", CallSpec{})
	c.Hangup()
	d.waitEvent("new", "StasisEnd", id)
	if !srv.EmitRaw("hotline", json.RawMessage(`{"type":"Probe"}`)) {
		t.Fatal("EmitRaw found no socket")
	}
	d.waitEvent("new", "Probe", "")
	for _, e := range d.entries() {
		if e.Conn == "old" && e.Kind == "event" && e.Type != "ApplicationReplaced" {
			t.Errorf("replaced socket got %s", e.Type)
		}
	}
	d.closeConn("new")
	waitUntil(t, func() bool {
		_, body := d.rest("GET", "/applications", nil)
		list, _ := body.([]any)
		return len(list) == 0
	}, "GET /applications to be empty")
}

// TestEmitRaw: a raw event reaches the socket byte for byte, including a
// type the ARI client library does not know.
func TestEmitRaw(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	if srv.EmitRaw("hotline", json.RawMessage(`{}`)) {
		t.Fatal("EmitRaw succeeded with no socket")
	}
	d.connect("ws", "hotline")
	raw := `{"type":"ChannelToneDetected","timestamp":"2026-11-27T07:27:29.420+0000","channel":{"id":"1.1"},"asterisk_id":"02:fc:00:00:00:01","application":"hotline"}`
	if !srv.EmitRaw("hotline", json.RawMessage(raw)) {
		t.Fatal("EmitRaw found no socket")
	}
	e := d.waitFor(func(e logEntry) bool { return e.Type == "ChannelToneDetected" }, "raw event")
	if string(e.Raw) != raw {
		t.Errorf("got %s", e.Raw)
	}
}

// TestOriginateOutcomes: endpoint behaviours give Asterisk's Dial statuses.
func TestOriginateOutcomes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/busy", Behavior: Busy})
	srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/away", Behavior: Unavailable})
	srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/slow", Behavior: NoAnswer})
	agent := srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/agent-1001", AnswerAfter: 100 * time.Millisecond, Steps: "4 h"})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	cases := []struct {
		endpoint, timeout string
		status            int
		dial              string
		cause             float64
	}{
		{"PJSIP/busy", "", 200, "BUSY", 17},
		{"PJSIP/away", "", 200, "CHANUNAVAIL", 20},
		{"PJSIP/slow", "1", 200, "NOANSWER", 19},
		{"PJSIP/nobody", "", 500, "", 0},
		{"nonsense", "", 400, "", 0},
	}
	for _, c := range cases {
		q := map[string]string{"endpoint": c.endpoint, "app": "hotline"}
		if c.timeout != "" {
			q["timeout"] = c.timeout
		}
		st, body := d.rest("POST", "/channels", q)
		if st != c.status {
			t.Errorf("%s: status %d, want %d (%v)", c.endpoint, st, c.status, body)
			continue
		}
		if st != 200 {
			continue
		}
		id := chanID(body)
		ev := d.waitEvent("ws", "ChannelDestroyed", id)
		if ev["cause"] != c.cause {
			t.Errorf("%s: ChannelDestroyed cause %v, want %v", c.endpoint, ev["cause"], c.cause)
		}
		var statuses []string
		for _, e := range d.entries() {
			if e.Type == "Dial" && eventChannelID(e.Event) == id {
				statuses = append(statuses, e.Event["dialstatus"].(string))
			}
		}
		if statuses[len(statuses)-1] != c.dial {
			t.Errorf("%s: Dial statuses %v, want last %s", c.endpoint, statuses, c.dial)
		}
	}

	st, body := d.rest("POST", "/channels", map[string]string{"endpoint": "PJSIP/agent-1001", "app": "hotline", "appArgs": "agent"})
	mustStatus(t, st, 200, "originate agent")
	id := chanID(body)
	start := d.waitEvent("ws", "StasisStart", id)
	if args, _ := start["args"].([]any); len(args) != 1 || args[0] != "agent" {
		t.Errorf("StasisStart args %v", start["args"])
	}
	call := <-agent.Calls()
	if call.ChannelID() != id {
		t.Errorf("endpoint call %s, originated %s", call.ChannelID(), id)
	}
	if d := d.waitEvent("ws", "ChannelDtmfReceived", id); d["digit"] != "4" {
		t.Errorf("agent pressed %v", d["digit"])
	}
	d.waitEvent("ws", "ChannelDestroyed", id)
	<-call.Done()
	if r := call.Result(); !r.Answered || r.HungUpBy != "party" {
		t.Errorf("agent call %+v", r)
	}
}

// TestRESTBasics covers auth, methods and parameters in a JSON body.
func TestRESTBasics(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	do := func(method, path, body string, auth bool) (int, string) {
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		if auth {
			req.SetBasicAuth("hotline", "hotline")
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		method, path, body string
		auth               bool
		status             int
		contains           string
	}{
		{"GET", "/ari/channels", "", false, 401, `{"message":"Authentication required"}`},
		{"GET", "/ari/channels?api_key=hotline:hotline", "", false, 200, `[]`},
		{"GET", "/ari/channels?api_key=hotline:wrong", "", false, 401, "Authentication required"},
		{"GET", "/ari/no/such/thing", "", true, 404, `{"message":"Resource not found"}`},
		{"PUT", "/ari/channels", "", true, 405, "Invalid method"},
		{"POST", "/ari/bridges", `{"type":"mixing","name":"from-body"}`, true, 200, `"name":"from-body"`},
		{"POST", "/ari/bridges/b1", `{"type":"holding"}`, true, 200, `"bridge_type":"holding"`},
		{"POST", "/ari/bridges/b1", ``, true, 409, "already exists"},
		{"POST", "/ari/channels", `{"app":"hotline"}`, true, 400, "Endpoint must be specified"},
		{"GET", "/ari/asterisk/info?only=system", "", true, 200, `"version":"22.10.1"`},
		{"GET", "/ari/recordings/stored", "", true, 200, `[]`},
		{"GET", "/ari/recordings/live/nope", "", true, 404, "Recording not found"},
	}
	for _, c := range cases {
		st, body := do(c.method, c.path, c.body, c.auth)
		if st != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s: %d %s, want %d containing %s", c.method, c.path, st, body, c.status, c.contains)
		}
	}
}

// TestControlAPI places a call through /sim/calls while no app listens.
func TestControlAPI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	resp, err := http.Post(srv.URL()+"/sim/calls", "application/json", strings.NewReader(`{"from":"13900000000","steps":"2 h"}`))
	if err != nil {
		t.Fatal(err)
	}
	var info CallInfo
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 201 || !info.Declined || info.SIPStatus != 603 {
		t.Fatalf("POST /sim/calls: %d %+v", resp.StatusCode, info)
	}
	st := get(t, srv, "/sim/stats")
	var stats Stats
	json.Unmarshal(st.body, &stats)
	if stats.FailedStasisCalls != 1 || stats.Calls != 1 {
		t.Errorf("stats %+v", stats)
	}
}

func TestScenarioFile(t *testing.T) {
	t.Parallel()
	good := `# people for the demo
endpoint PJSIP/agent-1001 behavior=answer after=0.2s steps="T880:1 h"
endpoint PJSIP/officer-1 behavior=noanswer
call from=13800000001 at=0s steps="h"
call from=13800000002 at=50ms language=zh steps="p 2 w1 h"
`
	sc, err := ParseScenario(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Endpoints) != 2 || sc.Endpoints[0].AnswerAfter != 200*time.Millisecond || sc.Endpoints[1].Behavior != NoAnswer {
		t.Errorf("endpoints %+v", sc.Endpoints)
	}
	if len(sc.Calls) != 2 || sc.Calls[1].At != 50*time.Millisecond || sc.Calls[1].Spec.Language != "zh" || sc.Calls[1].Spec.Steps != "p 2 w1 h" {
		t.Errorf("calls %+v", sc.Calls)
	}
	for _, bad := range []string{"dance", `call steps="q"`, `endpoint a b`, `endpoint X behavior=sometimes`, `call at=soon`, `call steps="h`} {
		if _, err := ParseScenario(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseScenario(%q) accepted", bad)
		}
	}

	f, err := os.Open(filepath.Join("testdata", "demo.scenario"))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := ParseScenario(f)
	f.Close()
	if err != nil || len(demo.Endpoints) != 3 || len(demo.Calls) != 3 {
		t.Errorf("testdata/demo.scenario: %+v %v", demo, err)
	}

	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	calls, err := srv.RunScenario(ctxTimeout(t, 5*time.Second), sc)
	if err != nil || len(calls) != 2 {
		t.Fatalf("RunScenario: %v %v", calls, err)
	}
	ev := d.waitEvent("ws", "StasisStart", calls[1].ChannelID())
	if lang := ev["channel"].(map[string]any)["language"]; lang != "zh" {
		t.Errorf("language %v", lang)
	}
	if srv.endpoints["PJSIP/agent-1001"] == nil {
		t.Error("scenario endpoint not registered")
	}
}

// TestCloseStopsEverything: Close ends every goroutine the server started
// (sockets, parties, dials, media), even with calls up.
func TestCloseStopsEverything(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()
	srv, err := New(Config{SoundsDir: rigSounds(t), RecordingsDir: t.TempDir(), Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/slow", Behavior: NoAnswer})
	d := newDriver(t, srv)
	d.connect("ws", "hotline")
	c, id := answeredCall(t, d, "ws", CallSpec{Steps: "T440:30"})
	d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "tone:ring"})
	d.rest("POST", "/channels/"+id+"/record", map[string]string{"name": "r", "format": "wav"})
	d.rest("POST", "/channels", map[string]string{"endpoint": "PJSIP/slow", "app": "hotline"})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("a call is still up after Close")
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		<-tick.C
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
