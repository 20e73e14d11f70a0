package media_test

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
)

// candidates returns the host:port of the answer's candidates.
func candidates(t *testing.T, sdp string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(sdp, "\r\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "a=candidate:")); len(f) >= 6 && strings.HasPrefix(line, "a=candidate:") {
			out = append(out, net.JoinHostPort(f[4], f[5]))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no candidates in\n%s", sdp)
	}
	return out
}

// freePortRange finds n consecutive loopback UDP ports above from that are
// free now.
func freePortRange(t *testing.T, from, n int) (uint16, uint16) {
	t.Helper()
	for base := from; base < 60000; base += 97 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				ok = false
				continue
			}
			_ = c.Close()
		}
		if ok {
			return uint16(base), uint16(base + n - 1)
		}
	}
	t.Fatal("no free port range")
	return 0, 0
}

func TestOptions(t *testing.T) {
	t.Run("public IP replaces host candidates", func(t *testing.T) {
		checkLeaks(t)
		// The answer is only read, never applied: no packet goes to the
		// documentation address.
		seats, _ := newSeats(t, media.WithPublicIPs("192.0.2.10"))
		c, err := mediatest.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		offer, err := c.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := seats.Open(ctx, "a1", offer)
		if err != nil {
			t.Fatal(err)
		}
		for _, hp := range candidates(t, answer) {
			if host, _, _ := net.SplitHostPort(hp); host != "192.0.2.10" {
				t.Errorf("candidate %s, want the public IP only", hp)
			}
		}
	})

	t.Run("ICE and RTP port ranges", func(t *testing.T) {
		checkLeaks(t)
		iceLo, iceHi := freePortRange(t, 42000, 4)
		rtpLo, rtpHi := freePortRange(t, int(iceHi)+1, 2)
		seats, ev := newSeats(t, media.WithICEPortRange(iceLo, iceHi), media.WithRTPPortRange(rtpLo, rtpHi))
		inRange := func(port int, lo, hi uint16) bool { return port >= int(lo) && port <= int(hi) }
		for i, agent := range []media.AgentID{"a1", "a2", "a3"} {
			_, answer := connect(t, seats, ev, agent)
			for _, hp := range candidates(t, answer) {
				_, p, _ := net.SplitHostPort(hp)
				if port, _ := strconv.Atoi(p); !inRange(port, iceLo, iceHi) {
					t.Errorf("ICE candidate %s outside %d-%d", hp, iceLo, iceHi)
				}
			}
			udp, err := seats.AttachCall(context.Background(), agent, "c")
			if i < 2 {
				if err != nil {
					t.Fatal(err)
				}
				if !inRange(udp.Port, rtpLo, rtpHi) {
					t.Errorf("relay port %d outside %d-%d", udp.Port, rtpLo, rtpHi)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "no free RTP port") {
				t.Errorf("third call with two RTP ports: %v, want no free port", err)
			}
		}
		// A detached call frees its port for the next.
		seats.DetachCall("a1", "c")
		if _, err := seats.AttachCall(context.Background(), "a3", "c"); err != nil {
			t.Errorf("attach after a port was freed: %v", err)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, opts := range [][]media.Option{
			{media.WithICEPortRange(5000, 4000)},
			{media.WithRTPPortRange(5000, 4000)},
			{media.WithRTPPortRange(0, 4000)},
			{media.WithRTPHost(netip.Addr{})},
			{media.WithGatherTimeout(0)},
		} {
			if _, err := media.New(opts...); err == nil {
				t.Errorf("New accepted an invalid option")
			}
		}
	})
}
