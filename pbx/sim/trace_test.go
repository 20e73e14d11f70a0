package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"hotline/audio"
)

// Each scenario drives the sim the way the capture program drove Asterisk
// (see shared/asterisk-traces/README.md); the result is compared with the
// golden trace and every event is validated against events.json.
var scenarios = map[string]func(d *driver){
	"00-shapes": func(d *driver) {
		d.connect("ws1", "hotline")
		c := d.call("")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.waitEvent("ws1", "ChannelStateChange", id)
		d.rest("GET", "/asterisk/info", nil)
		d.rest("GET", "/channels", nil)
		d.rest("GET", "/channels/"+id, nil)
		d.rest("GET", "/bridges", nil)
		_, b := d.rest("POST", "/bridges", map[string]string{"type": "mixing", "name": "shapes-bridge"})
		bid := chanID(b)
		d.rest("POST", "/bridges/"+bid+"/addChannel", map[string]string{"channel": id})
		d.waitEvent("ws1", "ChannelEnteredBridge", id)
		d.rest("GET", "/bridges", nil)
		d.rest("GET", "/bridges/"+bid, nil)
		d.rest("GET", "/applications/hotline", nil)
		d.rest("GET", "/applications", nil)
		d.rest("DELETE", "/channels/"+id, nil)
		d.waitEvent("ws1", "StasisEnd", id)
		d.rest("DELETE", "/bridges/"+bid, nil)
		d.waitEvent("ws1", "BridgeDestroyed", "")
		<-c.Done()
	},
	"01-inbound-answer-play-dtmf-hangup": func(d *driver) {
		d.connect("ws1", "hotline")
		c := d.call("m200 1 w1 2 w1 h")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "sound:hotline-beep"})
		d.waitEvent("ws1", "StasisEnd", id)
		<-c.Done()
		if r := c.Result(); r.HungUpBy != "party" {
			d.t.Errorf("caller result %+v, want hung up by the caller", r)
		}
	},
	"02-app-hangup": func(d *driver) {
		d.connect("ws1", "hotline")
		c := d.call("")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.pause(time.Second)
		d.rest("DELETE", "/channels/"+id, map[string]string{"reason": "normal"})
		d.waitEvent("ws1", "StasisEnd", id)
		<-c.Done()
	},
	"03-continue": func(d *driver) {
		d.connect("ws1", "hotline")
		c := d.call("")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.pause(time.Second)
		d.rest("POST", "/channels/"+id+"/continue", nil)
		d.waitEvent("ws1", "StasisEnd", id)
		<-c.Done()
		if r := c.Result(); r.HungUpBy != "pbx" {
			d.t.Errorf("after continue the dialplan's Hangup() should end the call, got %+v", r)
		}
	},
	"04-play-missing-media": func(d *driver) {
		d.connect("ws1", "hotline")
		d.call("")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "sound:does-not-exist"})
		d.waitEvent("ws1", "PlaybackFinished", "")
		d.pause(time.Second)
		d.rest("DELETE", "/channels/"+id, nil)
		d.waitEvent("ws1", "StasisEnd", id)
	},
	"05-record-voicemail":         func(d *driver) { recordVoicemail(d, true) },
	"05b-record-voicemail-nobeep": func(d *driver) { recordVoicemail(d, false) },
	"06-record-caller-hangup": func(d *driver) {
		d.connect("ws1", "hotline")
		d.call("m500 t2 h")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		name := fmt.Sprintf("golden-vm-hup-%d", time.Now().UnixNano())
		d.rest("POST", "/channels/"+id+"/record", map[string]string{"beep": "false", "format": "wav",
			"maxDurationSeconds": "10", "name": name, "terminateOn": "#"})
		d.waitEvent("ws1", "StasisEnd", id)
		d.pause(600 * time.Millisecond)
		d.rest("GET", "/recordings/stored/"+name, nil)
		d.rest("GET", "/recordings/stored/"+name+"/file", nil)
		d.rest("DELETE", "/recordings/stored/"+name, nil)
	},
	"07-bridge-originate": func(d *driver) {
		d.srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/sipp-uas"})
		d.connect("ws1", "hotline")
		d.call("w5 h")
		caller := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+caller+"/answer", nil)
		_, body := d.rest("POST", "/channels", map[string]string{"app": "hotline", "appArgs": "agent",
			"callerId": "12315", "endpoint": "PJSIP/sipp-uas"})
		agent := chanID(body)
		d.waitEvent("ws1", "StasisStart", agent)
		_, b := d.rest("POST", "/bridges", map[string]string{"type": "mixing"})
		bid := chanID(b)
		d.rest("POST", "/bridges/"+bid+"/addChannel", map[string]string{"channel": caller})
		d.rest("POST", "/bridges/"+bid+"/addChannel", map[string]string{"channel": agent})
		d.waitEvent("ws1", "StasisEnd", caller)
		d.pause(500 * time.Millisecond)
		d.rest("DELETE", "/channels/"+agent, nil)
		d.waitEvent("ws1", "ChannelDestroyed", agent)
		d.rest("DELETE", "/bridges/"+bid, nil)
		d.waitEvent("ws1", "BridgeDestroyed", "")
	},
	"08-external-media": externalMediaScenario,
	"09-errors":         errorsScenario,
	"10-socket-drop": func(d *driver) {
		d.connect("ws1", "hotline")
		d.connect("ws-test", "hotline-test")
		d.call("w8 5 w1 h")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.pause(time.Second)
		d.closeConn("ws1")
		d.pause(200 * time.Millisecond)
		_, apps := d.rest("GET", "/applications", nil)
		if list, _ := apps.([]any); len(list) != 2 {
			d.t.Errorf("while the socket is closed GET /applications = %v, want hotline (with its channel) and hotline-test", apps)
		}
		d.rest("GET", "/channels/"+id, nil)
		second := d.call("w1 h")
		<-second.Done()
		if r := second.Result(); !r.Declined || r.SIPStatus != 603 {
			d.t.Errorf("call while the app is down: %+v, want declined with 603", r)
		}
		if n := d.srv.FailedStasisCalls(); n != 1 {
			d.t.Errorf("FailedStasisCalls = %d, want 1", n)
		}
		d.pause(300 * time.Millisecond)
		d.connect("ws1-reconnected", "hotline")
		d.pause(200 * time.Millisecond)
		d.rest("GET", "/applications/hotline", nil)
		d.waitEvent("ws1-reconnected", "StasisEnd", id)
	},
	"11-app-replaced": func(d *driver) {
		d.connect("ws1", "hotline")
		d.pause(500 * time.Millisecond)
		d.connect("ws2", "hotline")
		d.waitEvent("ws1", "ApplicationReplaced", "")
		d.pause(time.Second)
		d.rest("GET", "/applications/hotline", nil)
		d.call("")
		id := chanID(d.waitEvent("ws2", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		d.pause(500 * time.Millisecond)
		d.rest("DELETE", "/channels/"+id, nil)
		d.waitEvent("ws2", "StasisEnd", id)
		d.pause(500 * time.Millisecond)
		d.closeConn("ws2")
		d.pause(500 * time.Millisecond)
		d.rest("GET", "/applications", nil)
		d.closeConn("ws1")
	},
	"12-snoop": func(d *driver) {
		d.connect("ws1", "hotline")
		d.call("m300 t2")
		id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
		d.rest("POST", "/channels/"+id+"/answer", nil)
		_, sn := d.rest("POST", "/channels/"+id+"/snoop", map[string]string{"app": "hotline",
			"appArgs": "snoop-spy-both", "spy": "both", "whisper": "none"})
		d.waitEvent("ws1", "StasisStart", chanID(sn))
		d.pause(1500 * time.Millisecond)
		d.rest("DELETE", "/channels/"+chanID(sn), nil)
		d.waitEvent("ws1", "StasisEnd", chanID(sn))
		_, sn2 := d.rest("POST", "/channels/"+id+"/snoop", map[string]string{"app": "hotline",
			"appArgs": "snoop-whisper-out", "whisper": "out"})
		d.waitEvent("ws1", "StasisStart", chanID(sn2))
		d.pause(1500 * time.Millisecond)
		d.rest("DELETE", "/channels/"+chanID(sn2), nil)
		d.waitEvent("ws1", "StasisEnd", chanID(sn2))
		d.rest("DELETE", "/channels/"+id, nil)
		d.waitEvent("ws1", "StasisEnd", id)
	},
}

func recordVoicemail(d *driver, beep bool) {
	d.connect("ws1", "hotline")
	d.call("m500 t3 #")
	id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
	d.rest("POST", "/channels/"+id+"/answer", nil)
	name := fmt.Sprintf("golden-vm-%d", time.Now().UnixNano())
	d.rest("POST", "/channels/"+id+"/record", map[string]string{"beep": strconv.FormatBool(beep), "format": "wav",
		"maxDurationSeconds": "10", "name": name, "terminateOn": "#"})
	d.waitEvent("ws1", "ChannelDtmfReceived", id)
	if !beep {
		d.waitEvent("ws1", "RecordingFinished", "")
	}
	d.pause(600 * time.Millisecond)
	d.rest("GET", "/recordings/stored/"+name, nil)
	d.rest("GET", "/recordings/stored/"+name+"/file", nil)
	d.rest("DELETE", "/channels/"+id, nil)
	d.waitEvent("ws1", "StasisEnd", id)
	d.rest("DELETE", "/recordings/stored/"+name, nil)
}

// rtpPacket builds a PCMU RTP packet (PT 0).
func rtpPacket(seq uint16, ts, ssrc uint32, payload []byte) []byte {
	pkt := make([]byte, 12+len(payload))
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	copy(pkt[12:], payload)
	return pkt
}

func externalMediaScenario(d *driver) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		d.t.Fatal(err)
	}
	defer udp.Close()
	var received, badPT atomic.Int64
	var fromPort atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := udp.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[1]&0x7f != 0 {
				badPT.Add(1)
			}
			fromPort.Store(int64(from.Port))
			received.Add(1)
		}
	}()
	d.connect("ws1", "hotline")
	d.call("m200 t2")
	caller := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
	d.rest("POST", "/channels/"+caller+"/answer", nil)
	_, em := d.rest("POST", "/channels/externalMedia", map[string]string{"app": "hotline",
		"external_host": udp.LocalAddr().String(), "format": "ulaw"})
	ext := chanID(em)
	d.waitEvent("ws1", "StasisStart", ext)
	d.rest("GET", "/channels/"+ext+"/variable", map[string]string{"variable": "UNICASTRTP_LOCAL_ADDRESS"})
	_, portBody := d.rest("GET", "/channels/"+ext+"/variable", map[string]string{"variable": "UNICASTRTP_LOCAL_PORT"})
	port, _ := strconv.Atoi(fmt.Sprint(portBody.(map[string]any)["value"]))
	_, b := d.rest("POST", "/bridges", map[string]string{"type": "mixing"})
	bid := chanID(b)
	before := received.Load()
	d.rest("POST", "/bridges/"+bid+"/addChannel", map[string]string{"channel": caller + "," + ext})
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = audio.EncodeULaw(0)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	for i := range 100 {
		<-tick.C
		if _, err := udp.WriteToUDP(rtpPacket(uint16(i), uint32(i*160), 0x1234, payload), dst); err != nil {
			d.t.Errorf("send rtp: %v", err)
		}
	}
	tick.Stop()
	if before != 0 {
		d.t.Errorf("%d RTP packets before the bridge, want 0", before)
	}
	if n := received.Load(); n < 50 || badPT.Load() != 0 || fromPort.Load() != int64(port) {
		d.t.Errorf("RTP from the sim: %d packets (want about 90), %d not PT 0, from port %d (want %d)", n, badPT.Load(), fromPort.Load(), port)
	}
	d.rest("GET", "/channels/"+ext, nil)
	d.rest("DELETE", "/channels/"+ext, nil)
	d.waitEvent("ws1", "ChannelDestroyed", ext)
	d.pause(time.Second)
	d.rest("DELETE", "/channels/"+caller, nil)
	d.waitEvent("ws1", "StasisEnd", caller)
	d.rest("DELETE", "/bridges/"+bid, nil)
	d.waitEvent("ws1", "BridgeDestroyed", "")
}

func errorsScenario(d *driver) {
	d.srv.RegisterEndpoint(EndpointSpec{Name: "PJSIP/sipp-uas"})
	d.connect("ws1", "hotline")
	d.call("")
	id := chanID(d.waitEvent("ws1", "StasisStart", "")["channel"])
	d.rest("POST", "/channels/"+id+"/answer", nil)
	d.rest("POST", "/channels/no-such-channel-id/answer", nil)
	d.rest("POST", "/channels/no-such-channel-id/play", map[string]string{"media": "sound:hotline-beep"})
	d.rest("DELETE", "/channels/no-such-channel-id", nil)
	d.rest("GET", "/channels/no-such-channel-id", nil)
	d.rest("POST", "/channels/"+id+"/record", map[string]string{"format": "nosuchformat", "name": "golden-badfmt"})
	d.rest("POST", "/channels/"+id+"/play", nil)
	_, pb := d.rest("POST", "/channels/"+id+"/play", map[string]string{"media": "nosuchscheme:foo"})
	d.waitEvent("ws1", "PlaybackStarted", "")
	d.pause(500 * time.Millisecond)
	d.rest("GET", "/playbacks/"+chanID(pb), nil)
	_, b := d.rest("POST", "/bridges", map[string]string{"type": "mixing"})
	bid := chanID(b)
	d.rest("POST", "/bridges/"+bid+"/addChannel", map[string]string{"channel": "no-such-channel-id"})
	d.rest("POST", "/bridges/no-such-bridge/addChannel", map[string]string{"channel": id})
	d.rest("GET", "/playbacks/no-such-playback", nil)
	d.rest("POST", "/channels", map[string]string{"app": "hotline", "channelId": id, "endpoint": "PJSIP/sipp-uas"})
	d.restAuth("GET", "/channels", nil, false)
	d.rest("GET", "/no/such/resource", nil)

	one, two, err := d.srv.OriginateLocal(context.Background(), "Wait 15")
	if err != nil {
		d.t.Fatal(err)
	}
	d.waitEvent("ws1", "StasisStart", two)
	d.rest("POST", "/channels/"+two+"/answer", nil)
	d.pause(500 * time.Millisecond)
	d.rest("GET", "/channels", nil)
	d.rest("POST", "/channels/"+one+"/play", map[string]string{"media": "sound:hotline-beep"})
	d.rest("POST", "/channels/"+one+"/answer", nil)
	d.rest("GET", "/channels/"+one, nil)
	d.rest("DELETE", "/channels/"+one, nil)
	d.waitEvent("ws1", "StasisEnd", two)
	d.rest("DELETE", "/bridges/"+bid, nil)
	d.rest("DELETE", "/channels/"+id, nil)
	d.waitEvent("ws1", "StasisEnd", id)
}

func TestGoldenTraces(t *testing.T) {
	dir := sharedDir(t, "asterisk-traces")
	models := loadModels(t)
	params := &paramRecorder{}
	t.Run("scenarios", func(t *testing.T) {
		for name, drive := range scenarios {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				golden := loadTrace(t, filepath.Join(dir, name+".jsonl"))
				srv, err := New(Config{SoundsDir: rigSounds(t), RecordingsDir: t.TempDir(), Logger: quietLog})
				if err != nil {
					t.Fatal(err)
				}
				srv.paramAudit = params.record
				if err := srv.Start("127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				d := newDriver(t, srv)
				drive(d)
				// Let trailing events arrive; nothing after this point is expected.
				d.pause(300 * time.Millisecond)
				got := d.entries()
				compareTraces(t, golden, got)
				for _, e := range got {
					if e.Kind == "event" {
						if err := models.validateEvent(e.Raw); err != nil {
							t.Errorf("%s: %v\n%s", e.Type, err, e.Raw)
						}
					}
				}
			})
		}
	})
	// Every parameter the sim read during the scenarios is a described one.
	params.check(t, models)
}

// TestValidatorAcceptsAsterisk checks the event validator on Asterisk's own
// events, so that a passing validation of the sim means something.
func TestValidatorAcceptsAsterisk(t *testing.T) {
	dir := sharedDir(t, "asterisk-traces")
	models := loadModels(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	n := 0
	for _, f := range files {
		for _, e := range loadTrace(t, f) {
			if e.Kind != "event" {
				continue
			}
			n++
			if err := models.validateEvent(e.Raw); err != nil {
				t.Errorf("%s %s: %v", filepath.Base(f), e.Type, err)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d golden events validated", n)
	}
	bad := []string{
		`{"type":"StasisStart","timestamp":"2026-11-27T07:27:29.420+0000","application":"x"}`,
		`{"type":"ChannelDtmfReceived","timestamp":"2026-11-27T07:27:29.420+0000","application":"x","digit":5,"duration_ms":280,"channel":{}}`,
		`{"type":"PlaybackStarted","timestamp":"yesterday","application":"x","playback":{"id":"a","media_uri":"b","target_uri":"c","state":"playing"}}`,
		`{"type":"NoSuchEvent","timestamp":"2026-11-27T07:27:29.420+0000","application":"x"}`,
	}
	for _, b := range bad {
		if err := models.validateEvent([]byte(b)); err == nil {
			t.Errorf("validator accepted %s", b)
		}
	}
}
