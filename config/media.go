package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Media configures the agents' WebRTC seats (agentdesk/media) and what a call does when a
// seat drops.
type Media struct {
	// LoopbackOnly keeps ICE on the loopback interface with loopback candidates: the
	// browser and the controller on one host (development, a single-host demo). Turn it off
	// when agents' browsers run on other machines.
	LoopbackOnly bool `key:"loopback_only" default:"true"`
	// ICEPublicIPs, comma-separated, are announced as the seats' host candidates instead of
	// the interface addresses, for a controller behind 1:1 NAT. Empty: the interfaces'.
	ICEPublicIPs string `key:"ice_public_ips"`
	// ICEPortMin and ICEPortMax bound the UDP ports ICE binds for the seats, so that a
	// firewall can open just that range. 0 and 0: any ephemeral port.
	ICEPortMin int `key:"ice_port_min" default:"0"`
	ICEPortMax int `key:"ice_port_max" default:"0"`
	// RTPHost is the address the call relay sockets bind to: Asterisk sends the call's RTP
	// there (the ExternalMedia channel's external_host), so it must reach it.
	RTPHost string `key:"rtp_host" default:"127.0.0.1"`
	// RTPPortMin and RTPPortMax bound the relay sockets' UDP ports. 0 and 0: any.
	RTPPortMin int `key:"rtp_port_min" default:"0"`
	RTPPortMax int `key:"rtp_port_max" default:"0"`
	// SeatReconnectGrace is how long a caller whose agent's seat dropped mid-call hears the
	// hold message while the seat may reconnect; then the call goes back to the front of
	// its queue and the agent becomes not ready (seat_lost).
	SeatReconnectGrace time.Duration `key:"seat_reconnect_grace" default:"20s"`
}

// PublicIPs is ICEPublicIPs as a list.
func (m Media) PublicIPs() []string {
	var out []string
	for _, s := range strings.Split(m.ICEPublicIPs, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// problems checks the section; each problem names its key.
func (m Media) problems() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, ip := range m.PublicIPs() {
		if _, err := netip.ParseAddr(ip); err != nil {
			fail("media.ice_public_ips: %q is not an IP address (e.g. 203.0.113.7, comma-separated)", ip)
		}
	}
	checkRange := func(lo, hi int, keys string) {
		switch {
		case lo < 0 || hi < 0 || lo > 65535 || hi > 65535:
			fail("media.%s: %d-%d is not a UDP port range (1 to 65535)", keys, lo, hi)
		case (lo == 0) != (hi == 0):
			fail("media.%s: set both ends of the range, or neither (%d-%d)", keys, lo, hi)
		case lo > hi:
			fail("media.%s: %d-%d is empty (the minimum is above the maximum)", keys, lo, hi)
		}
	}
	checkRange(m.ICEPortMin, m.ICEPortMax, "ice_port_min and ice_port_max")
	checkRange(m.RTPPortMin, m.RTPPortMax, "rtp_port_min and rtp_port_max")
	if a, err := netip.ParseAddr(m.RTPHost); err != nil || a.IsUnspecified() {
		fail("media.rtp_host: %q is not an IP address Asterisk can send to (e.g. 127.0.0.1)", m.RTPHost)
	}
	if m.SeatReconnectGrace <= 0 || m.SeatReconnectGrace > 5*time.Minute {
		fail("media.seat_reconnect_grace: %s is out of range (above zero, at most 5m)", m.SeatReconnectGrace)
	}
	return errs
}
