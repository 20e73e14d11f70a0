package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"hotline/accounts"
	"hotline/audit"
)

// CSRFHeader carries the session's CSRF token on every state-changing request. The token is
// returned by Login and Session; a page on another site can neither read it nor set the header
// without a CORS preflight, which this server does not grant.
const CSRFHeader = "X-CSRF-Token"

// anonymous is the audit actor of a request that did not even name a login.
const anonymous = "anonymous"

// maxLoginLen bounds the login a request may name, so that junk cannot grow the throttle table.
const maxLoginLen = 128

// sessionView is what Login and Session answer.
type sessionView struct {
	Principal
	CSRFToken          string `json:"csrf_token"`
	IdleTimeoutSeconds int    `json:"idle_timeout_seconds"`
}

func (s *Service) view(p Principal) sessionView {
	return sessionView{Principal: p, CSRFToken: p.csrf, IdleTimeoutSeconds: int(s.cfg.IdleTimeout / time.Second)}
}

// Login handles POST {"login": "...", "password": "..."} (Content-Type application/json).
// Answers: 200 with the session (and the cookie); 400 malformed; 401 wrong login or password,
// with retry_after_ms, the wait before the next attempt is admitted; 403 cross-origin or a
// disabled account; 415 not JSON; 429 throttled or locked, with Retry-After, the password
// unchecked. Every request is written to the audit log.
func (s *Service) Login(w http.ResponseWriter, r *http.Request) {
	// The bookkeeping (throttle counts, audit records, the session) is finished even when the
	// client hangs up mid-way: a dropped connection must not skip a record.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
	defer cancel()
	now := s.cfg.Now()
	ip := s.ClientIP(r)
	detail := map[string]any{"ip": ip.String(), "user_agent": truncate(r.UserAgent(), 256)}
	refuse := func(actor string, action audit.Action, reason string, code int, msg string) {
		detail["reason"] = reason
		s.record(ctx, audit.Record{Actor: actor, Action: action, Target: target(actor), Detail: detail})
		writeError(w, code, msg)
	}

	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		refuse(anonymous, audit.LoginRefused, "not json", http.StatusUnsupportedMediaType, "send the login as application/json")
		return
	}
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil {
		refuse(anonymous, audit.LoginRefused, "malformed", http.StatusBadRequest, "body must be {\"login\": ..., \"password\": ...}")
		return
	}
	login := strings.ToLower(strings.TrimSpace(req.Login))
	switch {
	// Control characters (NUL above all) cannot be stored as text, and no login has them;
	// the length bound keeps junk out of the throttle table.
	case len(login) > maxLoginLen || strings.IndexFunc(login, unicode.IsControl) >= 0:
		refuse(anonymous, audit.LoginRefused, "malformed login", http.StatusBadRequest, "login is not a login")
		return
	case login == "" || req.Password == "":
		actor := login
		if actor == "" {
			actor = anonymous
		}
		refuse(actor, audit.LoginRefused, "missing login or password", http.StatusBadRequest, "login and password are required")
		return
	}
	// A sign-in form posted from another site would sign the victim in as the attacker.
	if err := s.origins.Check(r); err != nil {
		refuse(login, audit.LoginRefused, "cross origin", http.StatusForbidden, ErrCrossOrigin.Error())
		return
	}

	keys := []throttleKey{{"login:" + login, s.cfg.PerLogin}, {"ip:" + ipKey(ip), s.cfg.PerIP}}
	att, ref, err := s.throttle.begin(ctx, keys, now)
	if err != nil {
		s.log.Error("sign-in", "agent", login, "err", err)
		refuse(login, audit.LoginRefused, "internal error", http.StatusInternalServerError, "sign-in is not available, try again")
		return
	}
	if ref != nil {
		reason, msg := "slow down", "too many failed sign-ins: wait before trying again"
		if ref.locked {
			reason, msg = "locked", "too many failed sign-ins: sign-in is locked for a while"
		}
		detail["key"], detail["retry_after_ms"] = strings.SplitN(ref.key, ":", 2)[0], ref.retryAfter.Milliseconds()
		detail["reason"] = reason
		s.record(ctx, audit.Record{Actor: login, Action: audit.LoginRefused, Target: target(login), Detail: detail})
		s.log.Warn("sign-in refused", "agent", login, "ip", ip, "reason", reason, "retry_after", ref.retryAfter)
		setRetryAfter(w, ref.retryAfter)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": msg, "retry_after_ms": ref.retryAfter.Milliseconds()})
		return
	}

	acct, err := s.verifier.Verify(r.Context(), login, req.Password)
	switch {
	case errors.Is(err, accounts.ErrBadCredentials):
		wait, locked, terr := s.throttle.failed(ctx, att, s.cfg.Now())
		if terr != nil {
			s.log.Error("sign-in", "agent", login, "err", terr)
		}
		detail["reason"] = strings.TrimPrefix(err.Error(), "verify "+login+": ")
		detail["retry_after_ms"], detail["locked"] = wait.Milliseconds(), locked
		s.record(ctx, audit.Record{Actor: login, Action: audit.LoginFailed, Target: target(login), Detail: detail})
		s.log.Info("sign-in failed", "agent", login, "ip", ip, "locked", locked, "retry_after", wait)
		setRetryAfter(w, wait)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "wrong login or password", "retry_after_ms": wait.Milliseconds()})
		return
	case errors.Is(err, accounts.ErrDisabled):
		s.settleNeutral(ctx, att, login)
		refuse(login, audit.LoginFailed, "account disabled", http.StatusForbidden, "this account is disabled")
		return
	case err != nil:
		s.settleNeutral(ctx, att, login)
		s.log.Error("sign-in", "agent", login, "err", err)
		refuse(login, audit.LoginFailed, "internal error", http.StatusInternalServerError, "sign-in is not available, try again")
		return
	}

	if err := s.throttle.succeeded(ctx, att); err != nil {
		s.log.Error("sign-in", "agent", login, "err", err)
	}
	// A new session on every sign-in, and the old one (if the browser sent one) ended: a
	// session id planted before sign-in never becomes a signed-in one.
	if c, err := r.Cookie(s.cfg.CookieName); err == nil {
		if h, ok := hashToken(c.Value); ok {
			if err := s.sessions.revoke(ctx, h); err != nil {
				s.log.Error("sign-in: end the previous session", "agent", login, "err", err)
			}
		}
	}
	ns, err := s.sessions.create(ctx, acct, ip.String(), truncate(r.UserAgent(), 256), now)
	if err != nil {
		s.log.Error("sign-in", "agent", login, "err", err)
		refuse(login, audit.LoginFailed, "internal error", http.StatusInternalServerError, "sign-in is not available, try again")
		return
	}
	detail["role"], detail["agent_id"] = string(acct.Role), int64(acct.ID)
	if _, err := s.audit.Append(ctx, audit.Record{Actor: login, Action: audit.LoginSucceeded, Target: target(login), Detail: detail}); err != nil {
		// No sign-in without its audit record.
		s.log.Error("sign-in: audit", "agent", login, "err", err)
		if err := s.sessions.revoke(ctx, ns.principal.tokenHash); err != nil {
			s.log.Error("sign-in: end the unaudited session", "agent", login, "err", err)
		}
		writeError(w, http.StatusInternalServerError, "sign-in is not available, try again")
		return
	}
	s.log.Info("signed in", "agent", login, "ip", ip, "role", acct.Role)
	http.SetCookie(w, s.cookie(r, ns.token))
	writeJSON(w, http.StatusOK, s.view(ns.principal))
}

func (s *Service) settleNeutral(ctx context.Context, att attempt, login string) {
	if err := s.throttle.neutral(ctx, att); err != nil {
		s.log.Error("sign-in", "agent", login, "err", err)
	}
}

// Session handles GET: the current principal and its CSRF token (a reloaded page needs it
// again), or 401.
func (s *Service) Session(w http.ResponseWriter, r *http.Request) {
	p, err := s.Authenticate(r)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(p))
}

// Logout handles POST: ends the session (CSRF token required) and clears the cookie. Without
// a live session it only clears the cookie. Answers 204.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request) {
	p, err := s.Authenticate(r)
	if errors.Is(err, ErrNoSession) || errors.Is(err, ErrExpired) {
		http.SetCookie(w, s.clearCookie(r))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err == nil {
		err = s.checkCSRF(r, p)
	}
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	if err := s.sessions.revoke(r.Context(), p.tokenHash); err != nil {
		s.refuse(w, r, err)
		return
	}
	s.record(r.Context(), audit.Record{Actor: p.Login, Action: audit.Logout, Target: target(p.Login),
		Detail: map[string]any{"ip": s.ClientIP(r).String()}})
	s.log.Info("signed out", "agent", p.Login)
	http.SetCookie(w, s.clearCookie(r))
	w.WriteHeader(http.StatusNoContent)
}

// Authenticate returns the principal of the request's session cookie, or an error carrying
// 401 (ErrNoSession, ErrExpired) or 500.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil {
		return Principal{}, ErrNoSession
	}
	h, ok := hashToken(c.Value)
	if !ok {
		return Principal{}, ErrNoSession
	}
	return s.sessions.lookup(r.Context(), h, s.cfg.Now())
}

// Recheck confirms that p's session is still live (not signed out, expired, or its account
// disabled) and counts as activity; it returns the principal as it is now (the role may have
// changed). Long-lived connections such as WebSockets call it from time to time.
func (s *Service) Recheck(ctx context.Context, p Principal) (Principal, error) {
	if p.tokenHash == nil {
		return Principal{}, ErrNoSession
	}
	return s.sessions.lookup(ctx, p.tokenHash, s.cfg.Now())
}

// RequireRole guards a handler: 401 without a live session; for state-changing methods 403
// unless same-origin (or a trusted origin) with the session's X-CSRF-Token; 403 unless the
// principal has one of roles (none: any signed-in principal). The handler finds the principal
// with PrincipalFrom.
func (s *Service) RequireRole(roles ...accounts.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := s.Authenticate(r)
			if err == nil && !safeMethod(r.Method) {
				err = s.checkCSRF(r, p)
			}
			if err == nil {
				err = checkRole(p, roles)
			}
			if err != nil {
				s.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// RequireWebSocket guards a WebSocket upgrade. A browser cannot add headers to an upgrade, so
// instead of the CSRF token the Origin header is required and must be the page's own host or
// a trusted origin (another site's script could otherwise open the socket with the agent's
// cookie); then the session and the role are checked as RequireRole does.
func (s *Service) RequireWebSocket(roles ...accounts.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := s.checkUpgradeOrigin(r)
			var p Principal
			if err == nil {
				p, err = s.Authenticate(r)
			}
			if err == nil {
				err = checkRole(p, roles)
			}
			if err != nil {
				s.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// RevokeAgent ends every session of an account (after a password reset or disabling).
func (s *Service) RevokeAgent(ctx context.Context, id accounts.AgentID) (int64, error) {
	return s.sessions.revokeAgent(ctx, id)
}

// Purge deletes expired sessions and spent throttle counters; run it now and then (hourly).
func (s *Service) Purge(ctx context.Context) (sessions, counters int64, err error) {
	now := s.cfg.Now()
	if sessions, err = s.sessions.purge(ctx, now); err != nil {
		return 0, 0, err
	}
	counters, err = s.throttle.purge(ctx, now, max(s.cfg.PerLogin.Window, s.cfg.PerIP.Window))
	return sessions, counters, err
}

func checkRole(p Principal, roles []accounts.Role) error {
	if p.HasRole(roles...) {
		return nil
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return fmt.Errorf("%w: needs role %s", ErrForbidden, strings.Join(names, " or "))
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Service) checkCSRF(r *http.Request, p Principal) error {
	if err := s.origins.Check(r); err != nil {
		return fmt.Errorf("%w: %v", ErrCrossOrigin, err)
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.csrf)) != 1 {
		return ErrCSRF
	}
	return nil
}

func (s *Service) checkUpgradeOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return fmt.Errorf("%w: a WebSocket upgrade must carry Origin", ErrCrossOrigin)
	}
	if s.trusted[origin] {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("%w: origin %s", ErrCrossOrigin, origin)
	}
	return nil
}

// refuse answers err with its status; a 401 also clears a cookie that no longer works.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code := HTTPStatus(err)
	if code == http.StatusInternalServerError {
		s.log.Error("authenticate", "path", r.URL.Path, "err", err)
		writeError(w, code, "could not check the session")
		return
	}
	if code == http.StatusUnauthorized {
		if _, cerr := r.Cookie(s.cfg.CookieName); cerr == nil {
			http.SetCookie(w, s.clearCookie(r))
		}
	}
	writeError(w, code, err.Error())
}

// record writes an audit record; a failure is logged, the request answered anyway.
func (s *Service) record(ctx context.Context, rec audit.Record) {
	if _, err := s.audit.Append(ctx, rec); err != nil {
		s.log.Error("audit", "agent", rec.Actor, "action", rec.Action, "err", err)
	}
}

func target(login string) string {
	if login == anonymous {
		return ""
	}
	return audit.AgentTarget(login)
}

// cookie is the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site
// sends it), Secure on TLS, and without Max-Age so that it ends with the browser (shared
// workstations); the server enforces the idle and absolute timeouts.
func (s *Service) cookie(r *http.Request, token string) *http.Cookie {
	return &http.Cookie{Name: s.cfg.CookieName, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookie || r.TLS != nil}
}

func (s *Service) clearCookie(r *http.Request) *http.Cookie {
	c := s.cookie(r, "")
	c.MaxAge = -1
	return c
}

// ClientIP is the address a request came from: the TCP peer, or when that is a trusted proxy,
// the nearest address in X-Forwarded-For that is not one.
func (s *Service) ClientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trustedProxy(addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		addr = a.Unmap()
		if !s.trustedProxy(addr) {
			return addr
		}
	}
	return addr
}

func (s *Service) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ipKey is the throttle key of an address. An IPv6 client usually holds a whole /64, so it
// is counted as one.
func ipKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

// truncate makes a header value fit to store: at most n bytes of valid UTF-8 (PostgreSQL
// text refuses anything else, and a client controls these bytes).
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
