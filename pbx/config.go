package pbx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReplacedPolicy says what the adapter does after Asterisk told it that another
// socket took over its Stasis application.
type ReplacedPolicy int

const (
	// ReplacedReconnect closes the superseded socket and, after ReplacedDelay,
	// connects again, which takes the application back. Two controllers with
	// this policy on one app name will fight: the alarm is there to be seen.
	ReplacedReconnect ReplacedPolicy = iota
	// ReplacedStandBy closes the superseded socket and stays disconnected
	// until Close; a supervisor decides what happens next.
	ReplacedStandBy
)

func (p ReplacedPolicy) String() string {
	switch p {
	case ReplacedReconnect:
		return "reconnect"
	case ReplacedStandBy:
		return "standby"
	}
	return fmt.Sprintf("ReplacedPolicy(%d)", int(p))
}

// Config is everything the adapter needs to reach one Asterisk. Nothing is
// read from the environment: the library's ARI_* variables are never consulted.
type Config struct {
	// URL is the ARI REST root, e.g. http://127.0.0.1:8088/ari. Required.
	URL string
	// WebSocketURL is the ARI events endpoint, e.g. ws://127.0.0.1:8088/ari/events.
	// Default: URL with ws(s):// and /events appended.
	WebSocketURL string
	// Application is the Stasis application name. Required.
	Application string
	// Username and Password are the ARI user's credentials. Required.
	Username string
	Password string

	// RequestTimeout bounds every REST request (the library's HTTP client has
	// none of its own). Default 5s.
	RequestTimeout time.Duration
	// DialTimeout bounds one WebSocket handshake with Asterisk. Default 5s.
	DialTimeout time.Duration
	// PingInterval is how often the relay pings Asterisk; a socket that
	// answers nothing for 3 intervals is treated as dropped (a half-open TCP
	// connection would otherwise look alive for ever). Default 10s.
	PingInterval time.Duration
	// BackoffMin and BackoffMax bound the wait between reconnect attempts;
	// the wait doubles from Min to Max. Defaults 100ms and 5s.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// OnReplaced is the policy after ApplicationReplaced. Default ReplacedReconnect.
	OnReplaced ReplacedPolicy
	// ReplacedDelay is how long to wait before reconnecting after
	// ApplicationReplaced under ReplacedReconnect. Default 2s.
	ReplacedDelay time.Duration
	// WebSocketOrigin is the Origin header the library sends to the relay.
	// Default http://localhost/.
	WebSocketOrigin string

	// Logger receives the adapter's logs; nil means slog.Default().
	Logger *slog.Logger

	// Registerer receives the adapter's metrics; nil registers nowhere
	// (counters still work, e.g. for tests).
	Registerer prometheus.Registerer
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url is required"))
	}
	if c.Application == "" {
		errs = append(errs, errors.New("application is required"))
	}
	if c.Username == "" || c.Password == "" {
		errs = append(errs, errors.New("username and password are required"))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("pbx config: %w", errors.Join(errs...))
	}
	c.URL = strings.TrimRight(c.URL, "/")
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("pbx config: URL %q: want http(s)://host:port/ari", c.URL)
	}
	if c.WebSocketURL == "" {
		ws := *u
		ws.Scheme = "ws"
		if u.Scheme == "https" {
			ws.Scheme = "wss"
		}
		ws.Path = strings.TrimRight(u.Path, "/") + "/events"
		c.WebSocketURL = ws.String()
	}
	if w, err := url.Parse(c.WebSocketURL); err != nil || (w.Scheme != "ws" && w.Scheme != "wss") {
		return c, fmt.Errorf("pbx config: WebSocketURL %q: want ws(s)://host:port/ari/events", c.WebSocketURL)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RequestTimeout, 5*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.PingInterval, 10*time.Second)
	def(&c.BackoffMin, 100*time.Millisecond)
	def(&c.BackoffMax, 5*time.Second)
	def(&c.ReplacedDelay, 2*time.Second)
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.WebSocketOrigin == "" {
		c.WebSocketOrigin = "http://localhost/"
	}
	return c, nil
}
