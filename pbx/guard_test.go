package pbx

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The seven event types Asterisk 22 can emit that v5.3.1 cannot decode.
var asterisk22Only = []string{
	"ApplicationRegistered", "ApplicationUnregistered", "CallBroadcast", "CallClaimed",
	"ChannelToneDetected", "ChannelTransfer", "RESTResponse",
}

func TestKnownEventTypesComeFromTheLibrary(t *testing.T) {
	known := KnownEventTypes()
	for _, want := range []string{"StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackFinished", "RecordingFinished", "ApplicationReplaced", "Dial", "ChannelDestroyed"} {
		if !slices.Contains(known, want) {
			t.Errorf("known types lack %s", want)
		}
	}
	for _, bad := range append([]string{"all"}, asterisk22Only...) {
		if slices.Contains(known, bad) {
			t.Errorf("known types include %s", bad)
		}
	}
	// v5.3.1's decoder has 41 cases.
	if len(known) != 41 {
		t.Errorf("got %d known types, want 41 (library changed?): %v", len(known), known)
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name, frame, wantType, wantReason string
	}{
		{"known", stasisStart("1.1", "PJSIP/x-1"), "StasisStart", ""},
		{"tone detected", `{"type":"ChannelToneDetected","channel":{"id":"1.1"}}`, "ChannelToneDetected", dropUnknownType},
		{"rest response", `{"type":"RESTResponse","transaction_id":"x"}`, "RESTResponse", dropUnknownType},
		{"known type, bad field", `{"type":"ChannelDtmfReceived","digit":5}`, "ChannelDtmfReceived", dropUndecodable},
		{"bad timestamp", `{"type":"StasisEnd","timestamp":"yesterday","channel":{"id":"1"}}`, "StasisEnd", dropUndecodable},
		{"not json", `hello`, "", dropMalformed},
		{"no type", `{"channel":{}}`, "", dropMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, typ, reason, _ := inspect([]byte(tt.frame))
			if typ != tt.wantType || reason != tt.wantReason {
				t.Errorf("inspect = (%q, %q), want (%q, %q)", typ, reason, tt.wantType, tt.wantReason)
			}
		})
	}
}

// Every type v5.3.1 does not know goes through the real library via the
// relay: the process survives, the drop is counted by type, and the events
// around it still arrive.
func TestGuardKeepsUnknownEventsFromTheLibrary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	reg := prometheus.NewRegistry()
	cfg := fake.config()
	cfg.Registerer = reg
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fake.waitSocket(ctx, 1)
	nextNotice(t, ctx, c, NoticeResynced)

	// A caller's StasisStart first: the library now has a subscription, which
	// is when a nil event would crash it.
	fake.send(stasisStart("100.1", "PJSIP/hotline-client-1"))
	call := next(t, ctx, c.Incoming(), "first caller")
	for _, typ := range asterisk22Only {
		fake.send(`{"type":"` + typ + `","timestamp":"2026-11-27T07:27:30.000+0000","channel":{"id":"100.1"},"application":"hotline"}`)
	}
	fake.send(channelEvent("ChannelDtmfReceived", "100.1", `"digit":"5","duration_ms":280`))
	fake.send(stasisStart("100.2", "PJSIP/hotline-client-2"))

	if ev := next(t, ctx, call.Events.Events(), "StasisStart"); ev.Type != StasisStart {
		t.Fatalf("first event %s", ev.Type)
	}
	ev := next(t, ctx, call.Events.Events(), "DTMF after the unknown events")
	if ev.Type != ChannelDtmfReceived || ev.Digit != "5" || ev.DurationMs != 280 {
		t.Fatalf("got %+v, want DTMF 5", ev)
	}
	if second := next(t, ctx, c.Incoming(), "second caller"); second.Channel.ID != "100.2" {
		t.Fatalf("second caller %q", second.Channel.ID)
	}

	dropped := c.DroppedEvents()
	for _, typ := range asterisk22Only {
		if dropped[typ] != 1 {
			t.Errorf("dropped[%s] = %d, want 1", typ, dropped[typ])
		}
		if got := testutil.ToFloat64(c.m.eventsDropped.WithLabelValues(typ, dropUnknownType)); got != 1 {
			t.Errorf("prometheus dropped{%s} = %v, want 1", typ, got)
		}
	}
	if got := testutil.ToFloat64(c.m.eventsIn.WithLabelValues("StasisStart")); got != 2 {
		t.Errorf("received StasisStart = %v, want 2", got)
	}
	// Only the one upstream socket: the library's connection was never cycled.
	if n := fake.dialCount(); n != 1 {
		t.Errorf("upstream dials = %d, want 1", n)
	}
	if n, err := testutil.GatherAndCount(reg, "hotline_pbx_events_dropped_total"); err != nil || n != len(asterisk22Only) {
		t.Errorf("registered dropped series = %d, %v", n, err)
	}
}
