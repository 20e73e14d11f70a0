package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Option configures Seats.
type Option func(*config)

type config struct {
	log    *slog.Logger
	events func(Event)

	interfaceFilter func(name string) bool
	loopback        bool
	publicIPs       []string
	icePortMin      uint16
	icePortMax      uint16
	iceDisconnected time.Duration
	iceFailed       time.Duration
	iceKeepalive    time.Duration
	gatherTimeout   time.Duration

	rtpHost    netip.Addr
	rtpPortMin uint16
	rtpPortMax uint16
}

func defaultConfig() config {
	return config{
		log: slog.Default(),
		// Faster than pion's 5 s / 25 s: an agent whose audio is gone for
		// ten seconds should have the caller put on hold, not kept talking
		// to nobody.
		iceDisconnected: 3 * time.Second,
		iceFailed:       10 * time.Second,
		iceKeepalive:    time.Second,
		gatherTimeout:   5 * time.Second,
		rtpHost:         netip.AddrFrom4([4]byte{127, 0, 0, 1}),
	}
}

func (c *config) validate() error {
	if c.icePortMin > c.icePortMax {
		return fmt.Errorf("media: ICE port range %d-%d is empty", c.icePortMin, c.icePortMax)
	}
	if c.rtpPortMin > c.rtpPortMax || (c.rtpPortMax > 0 && c.rtpPortMin == 0) {
		return fmt.Errorf("media: RTP port range %d-%d is not usable", c.rtpPortMin, c.rtpPortMax)
	}
	if !c.rtpHost.IsValid() {
		return fmt.Errorf("media: RTP host is not set")
	}
	if c.gatherTimeout <= 0 {
		return fmt.Errorf("media: ICE gathering timeout %s must be positive", c.gatherTimeout)
	}
	return nil
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithEventHandler sets the function called with every seat state change.
// Events are delivered in order from one goroutine, outside every lock, so
// the handler may call back into Seats; a slow handler delays later events
// but never the audio.
func WithEventHandler(fn func(Event)) Option { return func(c *config) { c.events = fn } }

// WithInterfaceFilter chooses the network interfaces ICE gathers host
// candidates on (default: all).
func WithInterfaceFilter(keep func(name string) bool) Option {
	return func(c *config) { c.interfaceFilter = keep }
}

// WithLoopbackCandidates makes ICE offer loopback candidates (default off).
// Needed when browser and controller share one host, as on a developer
// machine or in tests.
func WithLoopbackCandidates(include bool) Option { return func(c *config) { c.loopback = include } }

// LoopbackOnly is the test and single-host configuration: ICE on the "lo"
// interface only, loopback candidates included, and relay sockets on
// 127.0.0.1. (mDNS, STUN and TURN are never used.)
func LoopbackOnly() Option {
	return func(c *config) {
		c.loopback = true
		c.interfaceFilter = func(name string) bool { return name == "lo" }
		c.rtpHost = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
}

// WithPublicIPs announces these addresses as host candidates instead of the
// interface addresses, for a controller behind 1:1 NAT.
func WithPublicIPs(ips ...string) Option { return func(c *config) { c.publicIPs = ips } }

// WithICEPortRange limits the UDP ports ICE binds for the seats (default:
// any ephemeral port), so a firewall can open just that range.
func WithICEPortRange(lo, hi uint16) Option {
	return func(c *config) { c.icePortMin, c.icePortMax = lo, hi }
}

// WithICETimeouts sets how long without traffic before a seat counts as
// disconnected (default 3 s) and failed (default 10 s), and the keepalive
// interval (default 1 s).
func WithICETimeouts(disconnected, failed, keepalive time.Duration) Option {
	return func(c *config) {
		c.iceDisconnected, c.iceFailed, c.iceKeepalive = disconnected, failed, keepalive
	}
}

// WithGatherTimeout bounds ICE candidate gathering in Open (default 5 s).
func WithGatherTimeout(d time.Duration) Option { return func(c *config) { c.gatherTimeout = d } }

// WithRTPHost sets the address the call relay sockets bind to (default
// 127.0.0.1); Asterisk must reach it, it is the ExternalMedia external_host.
func WithRTPHost(a netip.Addr) Option { return func(c *config) { c.rtpHost = a } }

// WithRTPPortRange limits the relay sockets' UDP ports (default: any
// ephemeral port).
func WithRTPPortRange(lo, hi uint16) Option {
	return func(c *config) { c.rtpPortMin, c.rtpPortMax = lo, hi }
}
