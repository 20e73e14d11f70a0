package sim

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/audio"
)

// eventsOf lists, in order, the types of the events conn got about channel id.
func (d *driver) eventsOf(conn, id string) []string {
	var out []string
	for _, e := range d.entries() {
		if e.Kind == "event" && e.Conn == conn && eventChannelID(e.Event) == id {
			out = append(out, e.Type)
		}
	}
	return out
}

// recordedSamples fetches a stored recording as samples.
func recordedSamples(t *testing.T, srv *Server, name string) []int16 {
	t.Helper()
	resp := get(t, srv, "/ari/recordings/stored/"+name+"/file")
	if resp.status != http.StatusOK {
		t.Fatalf("recording %s: status %d", name, resp.status)
	}
	s, err := audio.ReadWAV(bytes.NewReader(resp.body))
	if err != nil {
		t.Fatalf("recording %s: %v", name, err)
	}
	return s
}

// TestLocalOriginate: an ARI originate of Local/12315@hotline into app
// hotline-test makes the pair as Asterisk does: ;2 runs the dialplan into
// the hotline app with the caller id, ;1 enters hotline-test once ;2 is
// answered, DTMF and audio cross the pair both ways, the originating app
// sees ;2's channel events (not its StasisStart/End), and hanging up ;1
// ends ;2.
func TestLocalOriginate(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ctl", "hotline")
	d.connect("rig", "hotline-test")

	st, body := d.rest("POST", "/channels", map[string]string{
		"endpoint": "Local/12315@hotline", "app": "hotline-test",
		"channelId": "cid-1", "otherChannelId": "cid-2", "callerId": "13800000009",
	})
	mustStatus(t, st, http.StatusOK, "originate Local")
	one := body.(map[string]any)
	if one["id"] != "cid-1" || one["state"] != "Down" || !strings.HasPrefix(one["name"].(string), "Local/12315@hotline-") || !strings.HasSuffix(one["name"].(string), ";1") {
		t.Errorf("originate answered %s", prettyJSON(one))
	}
	start := d.waitEvent("ctl", "StasisStart", "cid-2")
	two := start["channel"].(map[string]any)
	if name := two["name"].(string); name != strings.TrimSuffix(one["name"].(string), ";1")+";2" {
		t.Errorf(";2 is named %s, ;1 %s", name, one["name"])
	}
	if num := two["caller"].(map[string]any)["number"]; num != "13800000009" || two["state"] != "Ring" {
		t.Errorf(";2 entered Stasis as %s", prettyJSON(two))
	}
	if dp := two["dialplan"].(map[string]any); dp["context"] != "hotline" || dp["exten"] != "12315" || dp["app_name"] != "Stasis" {
		t.Errorf(";2 dialplan %v", dp)
	}
	// The originating app is subscribed to ;2 from the start.
	st, app := d.rest("GET", "/applications/hotline-test", nil)
	mustStatus(t, st, http.StatusOK, "get app")
	if ids := app.(map[string]any)["channel_ids"].([]any); !slices.Contains(ids, any("cid-2")) || !slices.Contains(ids, any("cid-1")) {
		t.Errorf("hotline-test is subscribed to %v, want both halves", ids)
	}
	st, _ = d.rest("POST", "/channels", map[string]string{"endpoint": "Local/12315@hotline", "app": "hotline-test", "channelId": "cid-3", "otherChannelId": "cid-1"})
	mustStatus(t, st, http.StatusConflict, "otherChannelId in use")
	// Subscribing again (as a harness does to be sure) changes nothing.
	st, _ = d.rest("POST", "/applications/hotline-test/subscription", map[string]string{"eventSource": "channel:cid-2"})
	mustStatus(t, st, http.StatusOK, "subscribe")

	st, _ = d.rest("POST", "/channels/cid-2/answer", nil)
	mustStatus(t, st, http.StatusNoContent, "answer ;2")
	d.waitEvent("rig", "StasisStart", "cid-1")
	if up := d.waitEvent("rig", "ChannelStateChange", "cid-2"); up["channel"].(map[string]any)["state"] != "Up" {
		t.Errorf("rig saw ;2 go %v", up["channel"])
	}

	// DTMF sent out of ;1 is read by ;2, and the other way round.
	st, _ = d.rest("POST", "/channels/cid-1/dtmf", map[string]string{"dtmf": "12"})
	mustStatus(t, st, http.StatusNoContent, "dtmf ;1")
	st, _ = d.rest("POST", "/channels/cid-2/dtmf", map[string]string{"dtmf": "5", "duration": "250"})
	mustStatus(t, st, http.StatusNoContent, "dtmf ;2")
	d.waitFor(func(e logEntry) bool {
		return e.Type == "ChannelDtmfReceived" && e.Conn == "ctl" && e.Event["digit"] == "2"
	}, "digit 2 on ;2")
	five := d.waitEvent("rig", "ChannelDtmfReceived", "cid-1")
	if five["digit"] != "5" || five["duration_ms"] != float64(250) {
		t.Errorf(";1 read DTMF %v (%v ms)", five["digit"], five["duration_ms"])
	}
	var digits []string
	for _, e := range d.entries() {
		if e.Type == "ChannelDtmfReceived" && e.Conn == "ctl" {
			digits = append(digits, e.Event["digit"].(string))
			if e.Event["duration_ms"] != float64(100) || eventChannelID(e.Event) != "cid-2" {
				t.Errorf("controller got %s", prettyJSON(e.Event))
			}
		}
	}
	if strings.Join(digits, "") != "12" {
		t.Errorf("controller got digits %v, want 1 then 2", digits)
	}

	// Audio: a tone played to one half is what the other half sends.
	for _, q := range []map[string]string{
		{"ch": "cid-2", "name": "rec-two"}, {"ch": "cid-1", "name": "rec-one"},
	} {
		st, _ = d.rest("POST", "/channels/"+q["ch"]+"/record", map[string]string{"name": q["name"], "format": "wav"})
		mustStatus(t, st, http.StatusCreated, "record "+q["ch"])
	}
	st, _ = d.rest("POST", "/channels/cid-1/play/tone-one", map[string]string{"media": "tone:!440/1000"})
	mustStatus(t, st, http.StatusCreated, "tone to ;1")
	st, _ = d.rest("POST", "/channels/cid-2/play/tone-two", map[string]string{"media": "tone:880"})
	mustStatus(t, st, http.StatusCreated, "tone to ;2")
	d.pause(1200 * time.Millisecond)
	for _, name := range []string{"rec-two", "rec-one"} {
		st, _ = d.rest("POST", "/recordings/live/"+name+"/stop", nil)
		mustStatus(t, st, http.StatusNoContent, "stop "+name)
	}
	recTwo, recOne := recordedSamples(t, srv, "rec-two"), recordedSamples(t, srv, "rec-one")
	if !heardTone(recTwo, 440) || heardTone(recTwo, 880) {
		t.Errorf(";2 sent 440 Hz %v (want true), 880 Hz %v (want false)", heardTone(recTwo, 440), heardTone(recTwo, 880))
	}
	if !heardTone(recOne, 880) || heardTone(recOne, 440) {
		t.Errorf(";1 sent 880 Hz %v (want true), 440 Hz %v (want false)", heardTone(recOne, 880), heardTone(recOne, 440))
	}
	// Tone playbacks never finish on their own, even a "!" one.
	st, pb := d.rest("GET", "/playbacks/tone-one", nil)
	if st != http.StatusOK || pb.(map[string]any)["state"] != "playing" {
		t.Errorf("tone:!440/1000 after its tone: %d %v", st, pb)
	}

	st, _ = d.rest("DELETE", "/channels/cid-1", nil)
	mustStatus(t, st, http.StatusNoContent, "hang up ;1")
	d.waitEvent("ctl", "StasisEnd", "cid-2")
	d.waitEvent("rig", "ChannelDestroyed", "cid-2")
	d.waitEvent("rig", "ChannelDestroyed", "cid-1")

	want := map[string][]string{
		"rig cid-1": {"Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart", "ChannelDtmfReceived",
			"ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"},
		"ctl cid-2": {"StasisStart", "ChannelStateChange", "ChannelDtmfReceived", "ChannelDtmfReceived", "ChannelHangupRequest", "StasisEnd"},
		"rig cid-2": {"ChannelStateChange", "ChannelDtmfReceived", "ChannelDtmfReceived", "ChannelHangupRequest", "ChannelDestroyed"},
		"ctl cid-1": nil,
	}
	for k, w := range want {
		conn, id, _ := strings.Cut(k, " ")
		if got := d.eventsOf(conn, id); !slices.Equal(got, w) {
			t.Errorf("%s events about %s:\n got %v\nwant %v", conn, id, got, w)
		}
	}
	for _, e := range d.entries() {
		if e.Conn == "rig" && e.Type == "Dial" {
			if ds := e.Event["dialstring"]; ds != "12315@hotline" {
				t.Errorf("Dial dialstring %v", ds)
			}
		}
		if e.Type == "ChannelHangupRequest" && eventChannelID(e.Event) == "cid-2" && e.Event["cause"] != float64(16) {
			t.Errorf(";2 hung up with %s, want cause 16", prettyJSON(e.Event))
		}
	}
	if st := srv.Stats(); st.Channels != 0 {
		t.Errorf("%d channels left", st.Channels)
	}
}

// TestLocalOriginateEndings: every way a Local originate ends before or
// without an answer takes both halves down, with the Dial status of ;1.
func TestLocalOriginateEndings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		endpoint string
		query    map[string]string
		act      func(d *driver) // after ;2 entered Stasis
		dial     string          // last Dial status of ;1
		cause    float64         // ;1's ChannelDestroyed cause
		stasis2  bool            // ;2 reached the hotline app
	}{
		{name: "controller hangs up ;2", endpoint: "Local/12315@hotline", stasis2: true,
			act: func(d *driver) { d.rest("DELETE", "/channels/loc-2", nil) }, dial: "CANCEL", cause: 16},
		{name: "caller gives up", endpoint: "Local/12315@hotline", stasis2: true,
			act: func(d *driver) { d.rest("DELETE", "/channels/loc-1", nil) }, dial: "CANCEL", cause: 16},
		{name: "no answer", endpoint: "Local/12315@hotline", query: map[string]string{"timeout": "1"}, stasis2: true,
			dial: "NOANSWER", cause: 19},
		{name: "no such extension", endpoint: "Local/999@hotline", dial: "CHANUNAVAIL", cause: 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, Config{})
			d := newDriver(t, srv)
			d.connect("ctl", "hotline")
			d.connect("rig", "hotline-test")
			q := map[string]string{"endpoint": c.endpoint, "app": "hotline-test", "channelId": "loc-1", "otherChannelId": "loc-2"}
			for k, v := range c.query {
				q[k] = v
			}
			st, _ := d.rest("POST", "/channels", q)
			mustStatus(t, st, http.StatusOK, "originate")
			if c.stasis2 {
				d.waitEvent("ctl", "StasisStart", "loc-2")
				st, _ = d.rest("POST", "/channels/loc-2/ring", nil)
				mustStatus(t, st, http.StatusNoContent, "ring")
				if rg := d.waitEvent("rig", "ChannelStateChange", "loc-1"); rg["channel"].(map[string]any)["state"] != "Ringing" {
					t.Errorf(";1 state %v after ;2 rang", rg["channel"])
				}
			}
			if c.act != nil {
				c.act(d)
			}
			gone := d.waitEvent("rig", "ChannelDestroyed", "loc-1")
			if gone["cause"] != c.cause {
				t.Errorf(";1 destroyed with cause %v, want %v", gone["cause"], c.cause)
			}
			var dials []string
			for _, e := range d.entries() {
				if e.Conn == "rig" && e.Type == "Dial" {
					dials = append(dials, e.Event["dialstatus"].(string))
				}
			}
			if len(dials) == 0 || dials[len(dials)-1] != c.dial {
				t.Errorf("Dial statuses %v, want last %s", dials, c.dial)
			}
			if c.stasis2 {
				d.waitEvent("ctl", "StasisEnd", "loc-2")
			}
			d.waitEvent("rig", "ChannelDestroyed", "loc-2")
			if slices.Contains(d.eventsOf("rig", "loc-1"), "StasisStart") {
				t.Error(";1 entered Stasis without an answer")
			}
			if !c.stasis2 && len(d.eventsOf("ctl", "loc-2")) > 0 {
				t.Errorf("the controller saw %v", d.eventsOf("ctl", "loc-2"))
			}
			if st := srv.Stats(); st.Channels != 0 {
				t.Errorf("%d channels left", st.Channels)
			}
		})
	}
}

// TestLocalOriginateAppDown: with the hotline app down, ;2's Stasis fails
// and the originate ends; one id for both halves is refused.
func TestLocalOriginateAppDown(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("rig", "hotline-test")
	q := map[string]string{"endpoint": "Local/12315@hotline", "app": "hotline-test", "channelId": "x-1", "otherChannelId": "x-1"}
	st, _ := d.rest("POST", "/channels", q)
	mustStatus(t, st, http.StatusConflict, "one id for both halves")

	q["otherChannelId"] = "x-2"
	st, _ = d.rest("POST", "/channels", q)
	mustStatus(t, st, http.StatusOK, "originate")
	d.waitEvent("rig", "ChannelDestroyed", "x-1")
	d.waitEvent("rig", "ChannelDestroyed", "x-2")
	if n := srv.FailedStasisCalls(); n != 1 {
		t.Errorf("FailedStasisCalls %d, want 1", n)
	}
	if got, want := d.eventsOf("rig", "x-2"), []string{"ChannelVarset", "ChannelDestroyed"}; !slices.Equal(got, want) {
		t.Errorf("rig saw ;2 %v, want %v", got, want)
	}
}

// TestOriginateLocalCarriesAudio: the CLI-style pair also passes audio.
func TestOriginateLocalCarriesAudio(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("ctl", "hotline")
	_, two, err := srv.OriginateLocal(context.Background(), "Wait 5")
	if err != nil {
		t.Fatal(err)
	}
	d.waitEvent("ctl", "StasisStart", two)
	d.rest("POST", "/channels/"+two+"/answer", nil)
	st, _ := d.rest("POST", "/channels/"+two+"/record", map[string]string{"name": "cli-two", "format": "wav"})
	mustStatus(t, st, http.StatusCreated, "record")
	d.pause(500 * time.Millisecond)
	d.rest("POST", "/recordings/live/cli-two/stop", nil)
	if s := recordedSamples(t, srv, "cli-two"); !audio.IsSilent(s) {
		t.Error(";2 of a Wait sent sound")
	}
}

// TestToneList: tone:!F/ms plays F for ms and then silence, and the
// playback stays playing until stopped, as Asterisk's tone playbacks do.
func TestToneList(t *testing.T) {
	cases := []struct {
		spec         string
		once, repeat int // samples
		freq         float64
		bad          bool
	}{
		{spec: "440", once: 0, repeat: 8000, freq: 440},
		{spec: "!440/1000", once: 8000, repeat: 0, freq: 440},
		{spec: "!440/500,!0/500", once: 8000, repeat: 0, freq: 440},
		{spec: "440/200,0/200", once: 0, repeat: 3200, freq: 440},
		{spec: "!350+440/100,480", once: 800, repeat: 8000, freq: 480},
		{spec: "!440/100|880/100", once: 800, repeat: 800, freq: 880},
		{spec: "!440,880/100", once: 0, repeat: 8000, freq: 440},
		{spec: "x", bad: true},
		{spec: "440/-1", bad: true},
		{spec: "", bad: true},
	}
	for _, c := range cases {
		once, rep, err := parseToneList(c.spec)
		if (err != nil) != c.bad {
			t.Errorf("%q: error %v, want bad=%v", c.spec, err, c.bad)
			continue
		}
		if c.bad {
			continue
		}
		if len(once) != c.once || len(rep) != c.repeat || (c.repeat == 0) != (rep == nil) {
			t.Errorf("%q: once %d repeat %d (nil %v), want %d and %d", c.spec, len(once), len(rep), rep == nil, c.once, c.repeat)
		}
		tail := rep
		if tail == nil {
			tail = once
		}
		if len(tail) >= audio.WindowSamples && !audio.HasTone(tail, c.freq) {
			t.Errorf("%q: %v Hz missing", c.spec, c.freq)
		}
	}

	t.Run("on a call", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, Config{})
		d := newDriver(t, srv)
		d.connect("ws", "hotline")
		c, id := answeredCall(t, d, "ws", CallSpec{Listen: true})
		start := len(c.Heard())
		st, _ := d.rest("POST", "/channels/"+id+"/play/once", map[string]string{"media": "tone:!440/500"})
		mustStatus(t, st, http.StatusCreated, "play")
		deadline := time.Now().Add(10 * time.Second)
		for len(c.Heard()) < start+12000 && time.Now().Before(deadline) {
			d.pause(50 * time.Millisecond)
		}
		heard := c.Heard()
		if len(heard) < start+12000 {
			t.Fatalf("heard only %d samples", len(heard)-start)
		}
		if !heardTone(heard[start:start+4800], 440) {
			t.Error("the first 0.5 s had no 440 Hz")
		}
		if tail := heard[start+8000 : start+12000]; !audio.IsSilent(tail) {
			t.Errorf("after the tone the caller heard RMS %.0f, want silence", audio.RMS(tail))
		}
		st, pb := d.rest("GET", "/playbacks/once", nil)
		if st != http.StatusOK || pb.(map[string]any)["state"] != "playing" {
			t.Errorf("after its tone: %d %v, want still playing", st, pb)
		}
		st, _ = d.rest("DELETE", "/playbacks/once", nil)
		mustStatus(t, st, http.StatusNoContent, "stop")
		fin := d.waitEvent("ws", "PlaybackFinished", "")
		if fin["playback"].(map[string]any)["state"] != "done" {
			t.Errorf("stopped tone finished %v", fin["playback"])
		}
		d.rest("DELETE", "/channels/"+id, nil)
	})
}
