package pbx

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func newTestRouter(t *testing.T) *router {
	t.Helper()
	m, err := newMetrics("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	t.Cleanup(r.close)
	return r
}

func chEvent(typ EventType, id, name string) Event {
	return Event{Type: typ, Channel: Channel{ID: id, Name: name}, Target: ChannelTarget(id)}
}

// A caller whose owner never reads must not delay anyone else's events.
func TestSlowOwnerDoesNotBlockOthers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := newTestRouter(t)
	r.dispatch(chEvent(StasisStart, "slow", "PJSIP/a-1"))
	r.dispatch(chEvent(StasisStart, "fast", "PJSIP/a-2"))
	slow := next(t, ctx, r.incoming.out, "slow caller")
	fast := next(t, ctx, r.incoming.out, "fast caller")
	if slow.Channel.ID != "slow" || fast.Channel.ID != "fast" {
		t.Fatalf("callers out of order: %s, %s", slow.Channel.ID, fast.Channel.ID)
	}
	// Far more events than any buffer for the slow one, which reads nothing.
	for range 10_000 {
		r.dispatch(Event{Type: ChannelDtmfReceived, Digit: "1", Channel: Channel{ID: "slow"}, Target: ChannelTarget("slow")})
	}
	r.dispatch(Event{Type: ChannelDtmfReceived, Digit: "9", Channel: Channel{ID: "fast"}, Target: ChannelTarget("fast")})
	next(t, ctx, fast.Events.Events(), "fast StasisStart")
	if ev := next(t, ctx, fast.Events.Events(), "fast DTMF"); ev.Digit != "9" {
		t.Fatalf("fast got %+v", ev)
	}
	// The slow one still gets all of its own, in order.
	if ev := next(t, ctx, slow.Events.Events(), "slow StasisStart"); ev.Type != StasisStart {
		t.Fatalf("slow first event %s", ev.Type)
	}
	for i := range 10_000 {
		if ev := next(t, ctx, slow.Events.Events(), "slow DTMF"); ev.Digit != "1" {
			t.Fatalf("slow event %d: %+v", i, ev)
		}
	}
}

func TestRoutingByKind(t *testing.T) {
	tests := []struct {
		name       string
		id, chName string
		kind       ChannelKind
		subscribe  bool // the app created it and subscribed first
		events     []EventType
		wantClosed bool // stream closed after events
	}{
		{"caller ends with StasisEnd", "in.1", "PJSIP/hotline-client-1", KindInbound, false,
			[]EventType{StasisStart, ChannelHangupRequest, StasisEnd}, true},
		{"originated waits for ChannelDestroyed", "orig.1", "PJSIP/agent-1", KindOriginated, true,
			[]EventType{Dial, StasisStart, StasisEnd, ChannelVarset}, false},
		{"originated ends with ChannelDestroyed", "orig.2", "PJSIP/agent-2", KindOriginated, true,
			[]EventType{Dial, StasisStart, StasisEnd, ChannelVarset, ChannelDestroyed}, true},
		{"external media", "em.1", "UnicastRTP/127.0.0.1:4000-0x1", KindExternalMedia, true,
			[]EventType{Dial, StasisStart, StasisEnd, ChannelDestroyed}, true},
		{"snoop ends with StasisEnd", "sn.1", "Snoop/1-00000000", KindSnoop, true,
			[]EventType{StasisStart, ChannelHangupRequest, StasisEnd}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := newTestRouter(t)
			var sub *Subscription
			if tt.subscribe {
				var err error
				if sub, err = r.subscribe(ChannelTarget(tt.id), tt.kind, true); err != nil {
					t.Fatal(err)
				}
				r.confirm(sub)
			}
			for _, typ := range tt.events {
				r.dispatch(chEvent(typ, tt.id, tt.chName))
			}
			if !tt.subscribe {
				call := next(t, ctx, r.incoming.out, "caller")
				sub = call.Events
			}
			for _, want := range tt.events {
				if ev := next(t, ctx, sub.Events(), string(want)); ev.Type != want {
					t.Fatalf("got %s, want %s", ev.Type, want)
				}
			}
			if tt.wantClosed {
				select {
				case ev, open := <-sub.Events():
					if open {
						t.Fatalf("extra event %+v", ev)
					}
				case <-ctx.Done():
					t.Fatal("stream not closed")
				}
				if r.known(ChannelTarget(tt.id)) {
					t.Error("route kept after the last event")
				}
			} else if !r.known(ChannelTarget(tt.id)) {
				t.Error("route dropped too early")
			}
			// An app-made channel is never announced as a caller.
			if tt.subscribe {
				select {
				case c := <-r.incoming.out:
					t.Fatalf("app-created channel announced as caller: %+v", c)
				default:
				}
			}
		})
	}
}

// A StasisStart for an app-created channel we do not know (say, left by a
// previous run) is an orphan, not a caller to answer.
func TestUnknownAppChannelIsOrphanNotCaller(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := newTestRouter(t)
	r.dispatch(chEvent(StasisStart, "em.x", "UnicastRTP/127.0.0.1:4000-0x2"))
	r.dispatch(chEvent(StasisStart, "sn.x", "Snoop/PJSIP/a-00000001"))
	r.dispatch(chEvent(StasisStart, "caller", "PJSIP/hotline-client-9"))
	for _, want := range []ChannelKind{KindExternalMedia, KindSnoop} {
		n := next(t, ctx, r.notices.out, "orphan notice")
		if n.Type != NoticeOrphanChannel || n.Kind != want {
			t.Errorf("notice %+v, want orphan %s", n, want)
		}
	}
	if c := next(t, ctx, r.incoming.out, "caller"); c.Channel.ID != "caller" {
		t.Errorf("caller %q announced, want only 'caller'", c.Channel.ID)
	}
}

func TestSubscribeTwiceAndClose(t *testing.T) {
	r := newTestRouter(t)
	s, err := r.subscribe(BridgeTarget("b1"), KindInbound, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.subscribe(BridgeTarget("b1"), KindInbound, false); err == nil {
		t.Fatal("second owner accepted")
	}
	if s.ID() != "b1" || s.Target() != "bridge:b1" {
		t.Errorf("id %q target %q", s.ID(), s.Target())
	}
	s.Close()
	if _, open := <-s.Events(); open {
		t.Error("stream open after Close")
	}
	r.dispatch(Event{Type: BridgeDestroyed, BridgeID: "b1", Target: BridgeTarget("b1")})
	if _, err := r.subscribe(BridgeTarget("b1"), KindInbound, false); err != nil {
		t.Errorf("subscribe after Close: %v", err)
	}
}
