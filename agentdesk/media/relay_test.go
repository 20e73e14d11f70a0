package media_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
	"hotline/audio"
)

const second = audio.SampleRate // samples

// TestRelayBothWays is the seat's main story: a Go agent on a pion peer, a
// fake Asterisk on a UDP socket, tones each way; then detach, and a second
// call on the same seat.
func TestRelayBothWays(t *testing.T) {
	tests := []struct {
		name   string
		client []mediatest.ClientOption
	}{
		{"PCMU-only client", nil},
		// Chromium lists Opus first; the seat must still pick G.711.
		{"Opus-first client", []mediatest.ClientOption{mediatest.OfferOpusFirst()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			seats, ev := newSeats(t)
			client, answer := connect(t, seats, ev, "a1", tt.client...)
			if !strings.Contains(answer, "PCMU/8000") || contains(answer, "opus") {
				t.Fatalf("answer does not pick PCMU alone:\n%s", answer)
			}
			ctx := context.Background()

			// Call 1.
			udp, err := seats.AttachCall(ctx, "a1", "c1")
			if err != nil {
				t.Fatal(err)
			}
			relay := addrPort(t, udp)
			if !relay.Addr().IsLoopback() {
				t.Fatalf("relay socket on %s, want loopback", relay)
			}
			pbx := newPBX(t)
			stopPBX := run(t, func(ctx context.Context) error { return pbx.SendTone(ctx, relay, callerHz) })
			stopAgent := run(t, func(ctx context.Context) error { return client.SendTone(ctx, agentHz) })
			waitFor(t, 10*time.Second, "a second of audio each way", func() bool {
				return client.SampleCount() >= second && pbx.SampleCount() >= second
			})
			assertHears(t, "agent", tail(client.Samples(), second), callerHz, agentHz)
			assertHears(t, "asterisk", tail(pbx.Samples(), second), agentHz, callerHz)
			// Replies come from the socket Asterisk was told to send to.
			for from := range pbx.Sources() {
				if from != relay {
					t.Errorf("asterisk got RTP from %s, want only from %s", from, relay)
				}
			}
			h, _ := seats.Health("a1")
			if h.State != media.SeatConnected || h.Call != "c1" || h.RelayAddr != relay || h.PBXAddr != pbx.Addr() {
				t.Errorf("health during call: %+v", h)
			}
			if h.FromAgent.Packets == 0 || h.ToAgent.Packets == 0 || h.Relay.FromPBX == 0 || h.Relay.ToPBX == 0 {
				t.Errorf("health counts nothing: %+v", h)
			}
			if h.FromAgent.Lost != 0 || h.FromAgent.Jitter > 20*time.Millisecond {
				t.Errorf("loopback shows loss %d or jitter %s from the agent", h.FromAgent.Lost, h.FromAgent.Jitter)
			}
			// The browser's receiver reports come about once a second.
			waitFor(t, 5*time.Second, "a receiver report from the browser", func() bool {
				h, _ := seats.Health("a1")
				return h.ToAgent.Reports > 0
			})
			if h, _ := seats.Health("a1"); h.ToAgent.Lost != 0 || h.ToAgent.FractionLost != 0 || h.ToAgent.Jitter > 20*time.Millisecond {
				t.Errorf("the browser reports loss or jitter on loopback: %+v", h.ToAgent)
			}

			// Detach: once it returns, nothing more is relayed either way,
			// though both ends keep sending.
			seats.DetachCall("a1", "c1")
			h, _ = seats.Health("a1")
			if h.Call != "" {
				t.Errorf("call still attached after detach: %+v", h)
			}
			waitFor(t, 5*time.Second, "in-flight packets to land", func() bool {
				return client.Packets() == h.ToAgent.Packets && pbx.Packets() == h.Relay.ToPBX
			})
			agentGot, pbxGot := client.Packets(), pbx.Packets()
			pbxSent, agentSent := pbx.Sent(), client.Sent()
			waitFor(t, 5*time.Second, "both ends to send 25 more packets", func() bool {
				return pbx.Sent() >= pbxSent+25 && client.Sent() >= agentSent+25
			})
			if client.Packets() != agentGot || pbx.Packets() != pbxGot {
				t.Errorf("relaying went on after detach: agent %d -> %d packets, asterisk %d -> %d",
					agentGot, client.Packets(), pbxGot, pbx.Packets())
			}
			seats.DetachCall("a1", "c1") // idempotent
			stopPBX()

			// Call 2 on the same seat, another caller with another tone.
			udp, err = seats.AttachCall(ctx, "a1", "c2")
			if err != nil {
				t.Fatal(err)
			}
			relay2 := addrPort(t, udp)
			pbx2 := newPBX(t)
			run(t, func(ctx context.Context) error { return pbx2.SendTone(ctx, relay2, otherHz) })
			from := client.SampleCount()
			waitFor(t, 10*time.Second, "a second of audio each way on call 2", func() bool {
				return client.SampleCount() >= from+second && pbx2.SampleCount() >= second
			})
			seats.DetachCall("a1", "c1") // stale: must not touch call 2
			if h, _ := seats.Health("a1"); h.Call != "c2" {
				t.Fatalf("a stale detach removed call 2: %+v", h)
			}
			assertHears(t, "agent on call 2", tail(client.Samples()[from:], second), otherHz, callerHz, agentHz)
			assertHears(t, "asterisk on call 2", tail(pbx2.Samples(), second), agentHz, callerHz, otherHz)
			stopAgent()
			seats.DetachCall("a1", "c2")

			// One stream to the browser across both calls.
			checkContinuity(t, client.ReceivedPackets(), 2)

			// The figures are exported.
			reg := prometheus.NewRegistry()
			reg.MustRegister(seats)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, mf := range mfs {
				got[mf.GetName()] = true
				if mf.GetName() == "hotline_seat_relay_latency_seconds" {
					for _, m := range mf.GetMetric() {
						if m.GetHistogram().GetSampleCount() == 0 {
							t.Errorf("latency histogram %v is empty", m.GetLabel())
						}
					}
				}
			}
			for _, name := range []string{"hotline_seat_relay_latency_seconds", "hotline_seat_relay_packets_total", "hotline_seats"} {
				if !got[name] {
					t.Errorf("metric %s not exported", name)
				}
			}
			for _, d := range []media.Direction{media.ToAgent, media.ToCaller} {
				if l := seats.RelayLatency(d); l.Count == 0 || l.P99 <= 0 {
					t.Errorf("relay latency %s: %+v", d, l)
				}
			}
		})
	}
}

// checkContinuity checks that the packets the browser got form one stream:
// sequence numbers one apart throughout (loopback loses nothing),
// timestamps advancing with the sequence within a call and by the elapsed
// time across calls, and a marker at the start of each of the calls.
func checkContinuity(t *testing.T, pkts []mediatest.Received, calls int) {
	t.Helper()
	if len(pkts) < 2 {
		t.Fatalf("only %d packets", len(pkts))
	}
	markers := 0
	if pkts[0].Marker {
		markers++
	}
	for i := 1; i < len(pkts); i++ {
		prev, p := pkts[i-1], pkts[i]
		if p.SSRC != prev.SSRC {
			t.Fatalf("packet %d: SSRC changed %d -> %d", i, prev.SSRC, p.SSRC)
		}
		if d := p.Seq - prev.Seq; d != 1 {
			t.Fatalf("packet %d: sequence moved by %d", i, int16(d))
		}
		dts := int64(int32(p.TS - prev.TS))
		if !p.Marker {
			if dts != 160 {
				t.Fatalf("packet %d: timestamp moved by %d within a call", i, dts)
			}
			continue
		}
		markers++
		// Across calls the timestamp follows the wall clock: compare with
		// the arrival gap, allowing for scheduling.
		gap := p.At.Sub(prev.At)
		tsGap := time.Duration(dts) * time.Second / 8000
		if dts < 160 || (tsGap-gap).Abs() > 200*time.Millisecond {
			t.Errorf("packet %d starts a call: timestamp moved %s, arrivals %s apart", i, tsGap, gap)
		}
	}
	if markers != calls {
		t.Errorf("%d packets with the marker bit, want %d (one per call)", markers, calls)
	}
}

func TestMuteAndHold(t *testing.T) {
	checkLeaks(t)
	seats, ev := newSeats(t)
	client, _ := connect(t, seats, ev, "a1")
	ctx := context.Background()
	if err := seats.SetMuted("a1", true); !errors.Is(err, media.ErrNoCall) {
		t.Fatalf("mute without a call: %v, want ErrNoCall", err)
	}
	udp, err := seats.AttachCall(ctx, "a1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	pbx := newPBX(t)
	run(t, func(ctx context.Context) error { return pbx.SendTone(ctx, addrPort(t, udp), callerHz) })
	run(t, func(ctx context.Context) error { return client.SendTone(ctx, agentHz) })
	waitFor(t, 10*time.Second, "audio each way", func() bool {
		return client.SampleCount() >= second/2 && pbx.SampleCount() >= second/2
	})

	// after returns what a recorder got from a moment on, skipping 100 ms
	// for packets that were already on their way.
	type recorder interface {
		SampleCount() int
		Samples() []int16
	}
	after := func(r recorder, change func()) []int16 {
		change()
		from := r.SampleCount() + second/10
		waitFor(t, 10*time.Second, "a second of audio", func() bool { return r.SampleCount() >= from+second })
		return r.Samples()[from:]
	}
	steps := []struct {
		name    string
		change  func() error
		at      recorder
		silent  bool
		hear    float64
		muted   bool
		held    bool
		notHear float64
	}{
		{"muted: the caller gets silence", func() error { return seats.SetMuted("a1", true) }, pbx, true, 0, true, false, agentHz},
		{"unmuted: the caller hears the agent", func() error { return seats.SetMuted("a1", false) }, pbx, false, agentHz, false, false, callerHz},
		{"held: the agent gets silence", func() error { return seats.SetHeld("a1", true) }, client, true, 0, false, true, callerHz},
		{"resumed: the agent hears the caller", func() error { return seats.SetHeld("a1", false) }, client, false, callerHz, false, false, agentHz},
	}
	for _, st := range steps {
		var err error
		got := after(st.at, func() { err = st.change() })
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.silent {
			if !audio.IsSilent(got) {
				t.Errorf("%s: RMS %.0f, want silence", st.name, audio.RMS(got))
			}
		} else {
			assertHears(t, st.name, got, st.hear, st.notHear)
		}
		if h, _ := seats.Health("a1"); h.Muted != st.muted || h.Held != st.held {
			t.Errorf("%s: health says muted %v held %v", st.name, h.Muted, h.Held)
		}
	}
}

// TestPBXAddress covers how the relay finds Asterisk: from its first
// packet, from SetRemote, or both when they disagree; and that nobody
// else can talk into the call.
func TestPBXAddress(t *testing.T) {
	tests := []struct {
		name string
		// tell returns the address to pass to SetRemote, if any.
		tell      func(pbx, decoy *mediatest.PBX) (netip.AddrPort, bool)
		pbxSends  bool
		intruder  bool
		decoyHear bool
	}{
		{name: "learned from the first packet", pbxSends: true},
		{name: "told before asterisk sends", tell: func(pbx, _ *mediatest.PBX) (netip.AddrPort, bool) { return pbx.Addr(), true }},
		{name: "told wrong, corrected by the packets", pbxSends: true, decoyHear: true,
			tell: func(_, decoy *mediatest.PBX) (netip.AddrPort, bool) { return decoy.Addr(), true }},
		{name: "a foreign source is ignored", pbxSends: true, intruder: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			seats, ev := newSeats(t)
			client, _ := connect(t, seats, ev, "a1")
			udp, err := seats.AttachCall(context.Background(), "a1", "c1")
			if err != nil {
				t.Fatal(err)
			}
			relay := addrPort(t, udp)
			pbx, decoy := newPBX(t), newPBX(t)
			run(t, func(ctx context.Context) error { return client.SendTone(ctx, agentHz) })
			if tt.tell != nil {
				addr, _ := tt.tell(pbx, decoy)
				if err := seats.SetRemote("a1", "c1", addr); err != nil {
					t.Fatal(err)
				}
				if tt.decoyHear {
					waitFor(t, 5*time.Second, "audio at the told address", func() bool { return decoy.Packets() > 0 })
				}
			}
			if tt.pbxSends {
				run(t, func(ctx context.Context) error { return pbx.SendTone(ctx, relay, callerHz) })
				waitFor(t, 10*time.Second, "the agent to hear asterisk", func() bool { return client.SampleCount() >= second/2 })
			}
			if tt.intruder {
				intruder := newPBX(t)
				run(t, func(ctx context.Context) error { return intruder.SendTone(ctx, relay, otherHz) })
				waitFor(t, 5*time.Second, "the intruder to be dropped", func() bool {
					h, _ := seats.Health("a1")
					return h.Relay.Dropped >= 10
				})
			}
			from := pbx.SampleCount()
			waitFor(t, 10*time.Second, "asterisk to hear a second of the agent", func() bool {
				return pbx.SampleCount() >= from+second
			})
			assertHears(t, "asterisk", pbx.Samples()[from:], agentHz, callerHz)
			if tt.pbxSends {
				assertHears(t, "agent", tail(client.Samples(), second), callerHz, otherHz, agentHz)
			}
			h, _ := seats.Health("a1")
			if h.PBXAddr != pbx.Addr() {
				t.Errorf("health names %s as asterisk, want %s", h.PBXAddr, pbx.Addr())
			}
			if tt.decoyHear {
				got, base := decoy.Packets(), pbx.Packets()
				waitFor(t, 5*time.Second, "25 more packets to asterisk", func() bool { return pbx.Packets() >= base+25 })
				if decoy.Packets() != got {
					t.Errorf("the wrongly told address still gets audio")
				}
			}
		})
	}

	t.Run("rejects", func(t *testing.T) {
		seats, ev := newSeats(t)
		connect(t, seats, ev, "a1")
		if _, err := seats.AttachCall(context.Background(), "a1", "c1"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			call media.CallID
			addr netip.AddrPort
			want error
		}{
			{"c1", netip.MustParseAddrPort("0.0.0.0:4000"), nil},
			{"c1", netip.MustParseAddrPort("127.0.0.1:0"), nil},
			{"c9", netip.MustParseAddrPort("127.0.0.1:4000"), media.ErrNoCall},
		} {
			err := seats.SetRemote("a1", tc.call, tc.addr)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("SetRemote(%s, %s) = %v, want an error (%v)", tc.call, tc.addr, err, tc.want)
			}
		}
	})
}

// TestSeatsDoNotCrossTalk runs several seats at once, each with its own
// tones, and checks that everyone hears only their own party.
func TestSeatsDoNotCrossTalk(t *testing.T) {
	checkLeaks(t)
	seats, ev := newSeats(t)
	const n = 5
	type party struct {
		client *mediatest.Client
		pbx    *mediatest.PBX
	}
	// 5 Hz bins apart from one another, so the windows do not leak.
	callerTone := func(i int) float64 { return float64(400 + 150*i) }
	agentTone := func(i int) float64 { return float64(1500 + 150*i) }
	parties := make([]party, n)
	for i := range parties {
		agent := media.AgentID("a" + string(rune('0'+i)))
		c, _ := connect(t, seats, ev, agent)
		udp, err := seats.AttachCall(context.Background(), agent, media.CallID("c"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		p := newPBX(t)
		relay := addrPort(t, udp)
		run(t, func(ctx context.Context) error { return p.SendTone(ctx, relay, callerTone(i)) })
		run(t, func(ctx context.Context) error { return c.SendTone(ctx, agentTone(i)) })
		parties[i] = party{c, p}
	}
	waitFor(t, 15*time.Second, "a second of audio on every seat", func() bool {
		for _, p := range parties {
			if p.client.SampleCount() < second || p.pbx.SampleCount() < second {
				return false
			}
		}
		return true
	})
	for i, p := range parties {
		var otherCallers, otherAgents []float64
		for j := range n {
			if j != i {
				otherCallers = append(otherCallers, callerTone(j))
				otherAgents = append(otherAgents, agentTone(j))
			}
		}
		assertHears(t, "agent "+string(rune('0'+i)), tail(p.client.Samples(), second), callerTone(i), otherCallers...)
		assertHears(t, "caller "+string(rune('0'+i)), tail(p.pbx.Samples(), second), agentTone(i), otherAgents...)
	}
}

func TestAttachErrors(t *testing.T) {
	checkLeaks(t)
	seats, ev := newSeats(t)
	ctx := context.Background()
	if _, err := seats.AttachCall(ctx, "nobody", "c1"); !errors.Is(err, media.ErrNoSeat) {
		t.Errorf("attach to an agent without a seat: %v, want ErrNoSeat", err)
	}
	client, _ := connect(t, seats, ev, "a1")
	first, err := seats.AttachCall(ctx, "a1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := seats.AttachCall(ctx, "a1", "c1"); err != nil || again.String() != first.String() {
		t.Errorf("attaching the same call again: %v %v, want %v", again, err, first)
	}
	if _, err := seats.AttachCall(ctx, "a1", "c2"); !errors.Is(err, media.ErrSeatBusy) {
		t.Errorf("attaching a second call: %v, want ErrSeatBusy", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := seats.AttachCall(canceled, "a1", "c1"); !errors.Is(err, context.Canceled) {
		t.Errorf("attach with a canceled context: %v", err)
	}
	seats.DetachCall("a1", "c1")
	from := ev.len()
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, from, 10*time.Second, isState("a1", media.SeatFailed))
	if _, err := seats.AttachCall(ctx, "a1", "c3"); !errors.Is(err, media.ErrSeatDown) {
		t.Errorf("attach to a failed seat: %v, want ErrSeatDown", err)
	}
	seats.DetachCall("nobody", "c1") // no seat: nothing to do
}

// udpFree reports whether addr can be bound, that is, its socket is closed.
func udpFree(addr netip.AddrPort) bool {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
