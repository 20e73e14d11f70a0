package media_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
)

func TestOpenRejectsBadOffers(t *testing.T) {
	session := func(media ...string) string {
		return strings.Join(append([]string{"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0"}, media...), "\r\n") + "\r\n"
	}
	tests := []struct {
		name  string
		offer func(t *testing.T) string
		why   string
	}{
		{"empty", func(*testing.T) string { return "" }, "empty"},
		{"not SDP", func(*testing.T) string { return "{\"type\":\"offer\"}" }, "syntax error"},
		{"video only", func(*testing.T) string {
			return session("m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=rtpmap:96 VP8/90000")
		}, "no audio"},
		{"opus only", func(*testing.T) string {
			return session("m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtpmap:111 opus/48000/2")
		}, "without PCMU"},
		// Passes the codec check, fails in pion after a peer connection
		// exists: that one must be cleaned up too.
		{"PCMU without ICE credentials", func(*testing.T) string {
			return session("m=audio 9 UDP/TLS/RTP/SAVPF 0", "c=IN IP4 0.0.0.0", "a=rtpmap:0 PCMU/8000", "a=sendrecv", "a=mid:0")
		}, "ice-ufrag"},
		{"a real offer without its DTLS fingerprint", func(t *testing.T) string {
			c, err := mediatest.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			offer, err := c.Offer(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, line := range strings.Split(offer, "\r\n") {
				if !strings.HasPrefix(line, "a=fingerprint") {
					kept = append(kept, line)
				}
			}
			return strings.Join(kept, "\r\n")
		}, "fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer := tt.offer(t)
			checkLeaks(t)
			seats, ev := newSeats(t)
			_, err := seats.Open(context.Background(), "a1", offer)
			if !errors.Is(err, media.ErrBadOffer) {
				t.Fatalf("Open = %v, want ErrBadOffer", err)
			}
			if !contains(err.Error(), tt.why) || !contains(err.Error(), "a1") {
				t.Errorf("error %q should name the agent and say %q", err, tt.why)
			}
			if all := seats.HealthAll(); len(all) != 0 {
				t.Errorf("a rejected offer left seats: %+v", all)
			}
			if _, err := seats.AttachCall(context.Background(), "a1", "c1"); !errors.Is(err, media.ErrNoSeat) {
				t.Errorf("attach after a rejected offer: %v, want ErrNoSeat", err)
			}
			if n := ev.len(); n != 0 {
				t.Errorf("a rejected offer sent %d events", n)
			}
		})
	}
}

// TestSeatDropDuringCall: the seat goes away while a call is attached, and
// the call flow is told which call lost its agent.
func TestSeatDropDuringCall(t *testing.T) {
	tests := []struct {
		name   string
		client []mediatest.ClientOption
		opts   []media.Option
		drop   func(t *testing.T, s *media.Seats, c *mediatest.Client)
		// The events expected, in order, each naming the call.
		states []media.SeatState
		reason string
		// Whether the attachment survives for the agent's browser to come
		// back to.
		survives bool
	}{
		{
			name: "browser closes its peer connection",
			drop: func(t *testing.T, _ *media.Seats, c *mediatest.Client) {
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			},
			states: []media.SeatState{media.SeatFailed}, reason: "closed by browser", survives: true,
		},
		{
			name:   "browser vanishes without a goodbye",
			client: []mediatest.ClientOption{mediatest.Vanishable()},
			opts:   []media.Option{media.WithICETimeouts(300*time.Millisecond, 800*time.Millisecond, 100*time.Millisecond)},
			drop: func(t *testing.T, _ *media.Seats, c *mediatest.Client) {
				if err := c.Vanish(); err != nil {
					t.Fatal(err)
				}
			},
			states: []media.SeatState{media.SeatDisconnected, media.SeatFailed}, reason: "ice failed", survives: true,
		},
		{
			name:   "controller closes the seat",
			drop:   func(_ *testing.T, s *media.Seats, _ *mediatest.Client) { s.Close("a1") },
			states: []media.SeatState{media.SeatClosed}, reason: "closed by controller",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			seats, ev := newSeats(t, tt.opts...)
			client, _ := connect(t, seats, ev, "a1", tt.client...)
			udp, err := seats.AttachCall(context.Background(), "a1", "c1")
			if err != nil {
				t.Fatal(err)
			}
			relay := addrPort(t, udp)
			pbx := newPBX(t)
			stopPBX := run(t, func(ctx context.Context) error { return pbx.SendTone(ctx, relay, callerHz) })
			waitFor(t, 10*time.Second, "the agent to hear the caller", func() bool { return client.SampleCount() >= second/2 })

			from := ev.len()
			tt.drop(t, seats, client)
			var last media.Event
			for _, want := range tt.states {
				last, from = ev.wait(t, from, 10*time.Second, isState("a1", want))
				if last.Call != "c1" {
					t.Errorf("%s event names call %q, want c1", want, last.Call)
				}
			}
			if last.Reason != tt.reason {
				t.Errorf("reason %q, want %q", last.Reason, tt.reason)
			}

			if !tt.survives {
				if _, ok := seats.Health("a1"); ok {
					t.Error("closed seat still has health")
				}
				if !udpFree(relay) {
					t.Errorf("relay socket %s still open after the seat closed", relay)
				}
				if _, err := seats.AttachCall(context.Background(), "a1", "c2"); !errors.Is(err, media.ErrNoSeat) {
					t.Errorf("attach after close: %v, want ErrNoSeat", err)
				}
				return
			}

			h, _ := seats.Health("a1")
			if h.State != media.SeatFailed || h.Call != "c1" || h.RelayAddr != relay {
				t.Fatalf("health after the drop: %+v", h)
			}
			// The browser comes back: the call resumes on the same socket,
			// the ExternalMedia channel needs no change.
			from = ev.len()
			back, _ := connect(t, seats, ev, "a1")
			if e, _ := ev.wait(t, from, 5*time.Second, isState("a1", media.SeatConnected)); e.Call != "c1" {
				t.Errorf("reconnect event names call %q, want c1", e.Call)
			}
			run(t, func(ctx context.Context) error { return back.SendTone(ctx, agentHz) })
			waitFor(t, 10*time.Second, "a second of audio each way after the reconnect", func() bool {
				return back.SampleCount() >= second && pbx.SampleCount() >= second
			})
			assertHears(t, "agent after reconnect", tail(back.Samples(), second), callerHz, agentHz)
			assertHears(t, "caller after reconnect", tail(pbx.Samples(), second), agentHz, callerHz)

			// Or the call flow rebuilds the ExternalMedia channel: it
			// deletes the old one, attaches the same call again and points
			// the new channel (another source port) at the same socket.
			stopPBX()
			waitFor(t, 5*time.Second, "the old channel's packets to be consumed", func() bool {
				h, _ := seats.Health("a1")
				return h.Relay.FromPBX+h.Relay.Dropped >= pbx.Sent()
			})
			again, err := seats.AttachCall(context.Background(), "a1", "c1")
			if err != nil || addrPort(t, again) != relay {
				t.Fatalf("re-attach: %v %v, want %s", again, err, relay)
			}
			rebuilt := newPBX(t)
			run(t, func(ctx context.Context) error { return rebuilt.SendTone(ctx, relay, otherHz) })
			from = back.SampleCount()
			waitFor(t, 10*time.Second, "a second of audio each way on the rebuilt channel", func() bool {
				return back.SampleCount() >= from+second && rebuilt.SampleCount() >= second
			})
			assertHears(t, "agent on the rebuilt channel", tail(back.Samples(), second), otherHz, callerHz, agentHz)
			assertHears(t, "caller on the rebuilt channel", tail(rebuilt.Samples(), second), agentHz, callerHz)
			if h, _ := seats.Health("a1"); h.PBXAddr != rebuilt.Addr() {
				t.Errorf("health names %s as asterisk, want the rebuilt channel %s", h.PBXAddr, rebuilt.Addr())
			}
		})
	}
}

// TestReopenReplacesPeer: a second Open for the same agent (a page reload)
// replaces the peer connection; the old one stops carrying audio.
func TestReopenReplacesPeer(t *testing.T) {
	checkLeaks(t)
	seats, ev := newSeats(t)
	first, _ := connect(t, seats, ev, "a1")
	udp, err := seats.AttachCall(context.Background(), "a1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	pbx := newPBX(t)
	run(t, func(ctx context.Context) error { return pbx.SendTone(ctx, addrPort(t, udp), callerHz) })
	waitFor(t, 10*time.Second, "audio on the first peer", func() bool { return first.SampleCount() >= second/2 })

	second2, _ := connect(t, seats, ev, "a1")
	got := first.Packets()
	waitFor(t, 10*time.Second, "audio on the second peer", func() bool { return second2.SampleCount() >= second })
	if first.Packets() > got+2 {
		t.Errorf("the replaced peer still gets audio: %d -> %d packets", got, first.Packets())
	}
	assertHears(t, "agent on the new peer", tail(second2.Samples(), second), callerHz, agentHz)
	if n := len(seats.HealthAll()); n != 1 {
		t.Errorf("%d seats, want 1", n)
	}
}
