// Package auth signs agents, supervisors and admins in to the agent desk and keeps them
// signed in: a login endpoint, server-side sessions behind an opaque HttpOnly cookie, CSRF
// protection for state-changing requests, throttling and lock-out of password guessing, role
// checks, and the same session check for WebSocket upgrades. Every sign-in attempt is written
// to the audit log.
//
// Sessions and throttle counters live in PostgreSQL (tables sessions and login_throttle), not
// Redis: they are security state that must survive a restart and be shared by every
// controller, a session is checked with one primary-key look-up joined to the agent row (so
// disabling an account or changing a role takes effect at the next request), and the few
// hundred agents of a centre make that look-up cheap. Redis would add a second store to keep
// consistent with the agents table for no measurable gain.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/audit"
)

// Verifier checks a login and password (accounts.Store).
type Verifier interface {
	Verify(ctx context.Context, login, password string) (accounts.Account, error)
}

// Auditor writes to the audit log (audit.Log).
type Auditor interface {
	Append(ctx context.Context, rec audit.Record) (audit.Entry, error)
}

// Config tunes sessions, cookies, origins and throttling. Start from DefaultConfig.
type Config struct {
	// CookieName is the session cookie's name. Default "hotline_session".
	CookieName string
	// SecureCookie sets the cookie's Secure attribute on every response, for a controller
	// behind a TLS-terminating proxy. Without it, Secure is set when the request came over TLS.
	SecureCookie bool
	// IdleTimeout ends a session after this long without a request. Default 30m.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in, active or not. Default 12h
	// (a long shift).
	AbsoluteTimeout time.Duration
	// TrustedOrigins are origins ("https://desk.example.cn") allowed besides the request's own
	// host for state-changing requests and WebSocket upgrades.
	TrustedOrigins []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed when finding
	// the client's address. Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// PerLogin throttles guessing at one account, from anywhere.
	PerLogin Policy
	// PerIP throttles one client address, whatever logins it tries (IPv6: per /64).
	PerIP Policy
	// Now is the clock (tests inject one). Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults documented on Config and Policy.
func DefaultConfig() Config {
	return Config{
		CookieName:      "hotline_session",
		IdleTimeout:     30 * time.Minute,
		AbsoluteTimeout: 12 * time.Hour,
		// Five wrong passwords lock an account for 15 minutes; before that each failure
		// doubles the wait before the next try: 1s, 2s, 4s, 8s.
		PerLogin: Policy{MaxFailures: 5, Lock: 15 * time.Minute, BaseDelay: time.Second, MaxDelay: 30 * time.Second,
			Window: 15 * time.Minute, ResetOnSuccess: true},
		// A whole call centre often signs in from one NAT address, so the address gets a
		// higher limit and no slow-down: a colleague's typo must not slow everyone.
		PerIP: Policy{MaxFailures: 30, Lock: 15 * time.Minute, Window: 15 * time.Minute},
		Now:   time.Now,
	}
}

func (c Config) check() error {
	var errs []error
	if c.CookieName == "" {
		errs = append(errs, errors.New("cookie name is empty"))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("idle timeout must be above zero"))
	}
	if c.AbsoluteTimeout < c.IdleTimeout {
		errs = append(errs, fmt.Errorf("absolute timeout %s is shorter than the idle timeout %s", c.AbsoluteTimeout, c.IdleTimeout))
	}
	for _, o := range c.TrustedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("trusted origin %q is not scheme://host[:port]", o))
		}
	}
	if err := c.PerLogin.check(); err != nil {
		errs = append(errs, fmt.Errorf("per-login throttle: %w", err))
	}
	if err := c.PerIP.check(); err != nil {
		errs = append(errs, fmt.Errorf("per-IP throttle: %w", err))
	}
	return errors.Join(errs...)
}

// Service is the agent desk's authentication: handlers for sign-in, sign-out and the current
// session, and middleware that guards the other routes.
type Service struct {
	cfg      Config
	verifier Verifier
	audit    Auditor
	log      *slog.Logger
	origins  *http.CrossOriginProtection
	trusted  map[string]bool
	throttle *throttle
	sessions *sessions
}

// New returns the service. pool holds the sessions and login_throttle tables (migration 003).
func New(pool *pgxpool.Pool, verifier Verifier, auditor Auditor, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{cfg: cfg, verifier: verifier, audit: auditor, log: log,
		origins: http.NewCrossOriginProtection(), trusted: map[string]bool{}}
	for _, o := range cfg.TrustedOrigins {
		if err := s.origins.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("auth config: trusted origin %q: %w", o, err)
		}
		s.trusted[o] = true
	}
	s.throttle = &throttle{pool: pool}
	s.sessions = &sessions{pool: pool, idle: cfg.IdleTimeout, absolute: cfg.AbsoluteTimeout}
	return s, nil
}

// Principal is who a request acts for.
type Principal struct {
	AgentID     accounts.AgentID `json:"agent_id"`
	Login       string           `json:"login"`
	DisplayName string           `json:"display_name"`
	Role        accounts.Role    `json:"role"`
	// ExpiresAt is when the session ends at the latest (absolute timeout); a WebSocket
	// handler closes the connection then.
	ExpiresAt time.Time `json:"expires_at"`

	csrf      string
	tokenHash []byte
}

// HasRole reports whether p has one of roles; no roles means any signed-in principal.
func (p Principal) HasRole(roles ...accounts.Role) bool {
	return len(roles) == 0 || slices.Contains(roles, p.Role)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The middleware uses it; handler tests can too.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal a request was authenticated as, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Error is a refusal that knows its HTTP status.
type Error struct {
	msg    string
	status int
}

func (e *Error) Error() string { return e.msg }

// HTTPStatus is the status to answer with.
func (e *Error) HTTPStatus() int { return e.status }

// Refusals callers branch on.
var (
	ErrNoSession   = &Error{"sign in first", http.StatusUnauthorized}
	ErrExpired     = &Error{"session expired: sign in again", http.StatusUnauthorized}
	ErrForbidden   = &Error{"your role may not do this", http.StatusForbidden}
	ErrCSRF        = &Error{"missing or wrong X-CSRF-Token header", http.StatusForbidden}
	ErrCrossOrigin = &Error{"cross-origin request refused", http.StatusForbidden}
)

// HTTPStatus returns the status carried by err, or 500.
func HTTPStatus(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.status
	}
	return http.StatusInternalServerError
}
