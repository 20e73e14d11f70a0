package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/audit"
)

func TestRoles(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.signIn("alice", agentPassword)
	sam := e.signIn("sam", supervisorPassword)
	garbage := &http.Cookie{Name: "hotline_session", Value: "not-a-session"}
	forged := &http.Cookie{Name: "hotline_session", Value: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}

	for _, tc := range []struct {
		name   string
		path   string
		cookie *http.Cookie
		want   int
		login  string
	}{
		{"no session", "/api/cases", nil, 401, ""},
		{"garbage cookie", "/api/cases", garbage, 401, ""},
		{"well-formed unknown token", "/api/cases", forged, 401, ""},
		{"agent, any role", "/api/cases", alice.cookie, 200, "alice"},
		{"supervisor, any role", "/api/cases", sam.cookie, 200, "sam"},
		{"agent on a supervisor route", "/api/supervisor/queues", alice.cookie, 403, ""},
		{"supervisor on a supervisor route", "/api/supervisor/queues", sam.cookie, 200, "sam"},
		{"no session on a supervisor route", "/api/supervisor/queues", nil, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(request{method: "GET", path: tc.path, cookie: tc.cookie})
			if r.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", r.StatusCode, r.body, tc.want)
			}
			if tc.want == 200 && r.json["login"] != tc.login {
				t.Errorf("handler saw principal %v, want %s", r.json, tc.login)
			}
			if tc.want == 403 && !strings.Contains(r.json["error"].(string), "needs role supervisor or admin") {
				t.Errorf("403 says %q", r.json["error"])
			}
			if tc.want == 401 && tc.cookie != nil {
				cleared := false
				for _, c := range r.Cookies() {
					cleared = cleared || (c.Name == "hotline_session" && c.MaxAge < 0)
				}
				if !cleared {
					t.Errorf("a dead cookie was not cleared: %v", r.Header.Values("Set-Cookie"))
				}
			}
		})
	}

	r := e.do(request{method: "GET", path: "/api/auth/session", cookie: sam.cookie})
	if r.StatusCode != 200 || r.json["login"] != "sam" || r.json["role"] != "supervisor" || r.json["csrf_token"] != sam.csrf {
		t.Errorf("GET session: %d %s", r.StatusCode, r.body)
	}
	if r := e.do(request{method: "GET", path: "/api/auth/session"}); r.StatusCode != 401 {
		t.Errorf("GET session without a cookie: %d", r.StatusCode)
	}
}

func TestLoginCookie(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tls        bool
		force      bool
		wantSecure bool
	}{
		{"plain HTTP", false, false, false},
		{"TLS", true, false, true},
		{"plain HTTP behind a TLS proxy", false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{tls: tc.tls, config: func(c *auth.Config) { c.SecureCookie = tc.force }})
			r := e.login("alice", agentPassword, "")
			if r.StatusCode != 200 {
				t.Fatalf("login: %d %s", r.StatusCode, r.body)
			}
			c := sessionCookie(t, r)
			raw := r.Header.Get("Set-Cookie")
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tc.wantSecure {
				t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/, Secure=%v", raw, tc.wantSecure)
			}
			if c.MaxAge != 0 || !c.Expires.IsZero() || c.Domain != "" {
				t.Errorf("cookie %q: want a browser-session cookie for this host only", raw)
			}
			token, err := base64.RawURLEncoding.DecodeString(c.Value)
			if err != nil || len(token) != 32 {
				t.Errorf("cookie value %q is not 32 random bytes", c.Value)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("login answer may be cached: %q", r.Header.Get("Cache-Control"))
			}
			if r.json["login"] != "alice" || r.json["role"] != "agent" || r.json["display_name"] != "Alice" ||
				r.json["idle_timeout_seconds"] != float64(1800) || len(r.json["csrf_token"].(string)) < 40 {
				t.Errorf("login answer %s", r.body)
			}
			if strings.Contains(string(r.body), c.Value) {
				t.Error("the session token is in the body, where scripts can read it")
			}
			// The database holds only the token's hash.
			sum := sha256.Sum256(token)
			var n int
			if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE token_hash = $1`, sum[:]).Scan(&n); err != nil || n != 1 {
				t.Errorf("sessions keyed by the token's SHA-256: %d rows (%v)", n, err)
			}
			if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE position($1 in sessions::text) > 0`, c.Value).Scan(&n); err != nil || n != 0 {
				t.Errorf("the raw token is stored: %d rows (%v)", n, err)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *auth.Config) { c.TrustedOrigins = []string{"https://desk.example.cn"} }})
	alice := e.signIn("alice", agentPassword)
	other := e.signIn("sam", supervisorPassword)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		csrf   string
		header map[string]string
		want   int
	}{
		{"no session", nil, alice.csrf, nil, 401},
		{"no token", alice.cookie, "", nil, 403},
		{"wrong token", alice.cookie, wrongToken(alice.csrf), nil, 403},
		{"another session's token", alice.cookie, other.csrf, nil, 403},
		{"right token", alice.cookie, alice.csrf, nil, 200},
		{"right token, same origin", alice.cookie, alice.csrf, map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"}, 200},
		{"right token, trusted origin", alice.cookie, alice.csrf, map[string]string{"Origin": "https://desk.example.cn"}, 200},
		{"right token, other origin", alice.cookie, alice.csrf, map[string]string{"Origin": "https://evil.example"}, 403},
		{"right token, cross-site fetch", alice.cookie, alice.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(request{method: "POST", path: "/api/cases/620000-20260302-000001/notes", body: `{}`,
				cookie: tc.cookie, csrf: tc.csrf, header: tc.header})
			if r.StatusCode != tc.want {
				t.Errorf("status %d (%s), want %d", r.StatusCode, r.body, tc.want)
			}
		})
	}
	// Reads need no token.
	if r := e.do(request{method: "GET", path: "/api/cases", cookie: alice.cookie}); r.StatusCode != 200 {
		t.Errorf("GET without token: %d", r.StatusCode)
	}
	// A sign-in form posted from another site is refused and audited.
	r := e.do(request{method: "POST", path: "/api/auth/login", body: loginBody("alice", agentPassword),
		header: map[string]string{"Origin": "https://evil.example"}})
	if r.StatusCode != 403 {
		t.Errorf("cross-origin login: %d %s", r.StatusCode, r.body)
	}
	if got := e.auditTrail(audit.Query{Action: audit.LoginRefused}); len(got) != 1 || got[0].Detail["reason"] != "cross origin" {
		t.Errorf("cross-origin login audited as %+v", got)
	}
}

// lockEnv has a per-login policy of 3 failures, 1s doubling to at most 4s, and a 10-minute
// lock, with the per-address limit out of the way.
func lockEnv(t *testing.T) *env {
	return newEnv(t, envOptions{config: func(c *auth.Config) {
		c.PerLogin = auth.Policy{MaxFailures: 3, Lock: 10 * time.Minute, BaseDelay: time.Second, MaxDelay: 4 * time.Second,
			Window: 15 * time.Minute, ResetOnSuccess: true}
		c.PerIP = auth.Policy{MaxFailures: 1000, Lock: time.Minute, Window: time.Minute}
	}})
}

func TestBruteForceLocksTheAccount(t *testing.T) {
	e := lockEnv(t)
	step := func(name, password string, wantStatus int, wantRetryMS int64, wantChecked bool) {
		t.Helper()
		before := e.verifier.calls.Load()
		r := e.login("alice", password, "")
		checked := e.verifier.calls.Load() != before
		if r.StatusCode != wantStatus || retryAfterMS(r) != wantRetryMS || checked != wantChecked {
			t.Fatalf("%s: %d retry_after_ms %d checked %v (%s); want %d, %d, checked %v",
				name, r.StatusCode, retryAfterMS(r), checked, r.body, wantStatus, wantRetryMS, wantChecked)
		}
		if wantRetryMS > 0 {
			secs := (wantRetryMS + 999) / 1000
			if got := r.Header.Get("Retry-After"); got != strconv.FormatInt(secs, 10) {
				t.Fatalf("%s: Retry-After %q, want %d", name, got, secs)
			}
		}
	}
	step("first failure", "wrong password 1", 401, 1000, true)
	step("right password too soon", agentPassword, 429, 1000, false)
	e.clock.Advance(time.Second)
	step("second failure", "wrong password 2", 401, 2000, true)
	e.clock.Advance(1500 * time.Millisecond)
	step("half a second early", "wrong password 3", 429, 500, false)
	e.clock.Advance(500 * time.Millisecond)
	step("third failure locks", "wrong password 3", 401, 600000, true)
	step("right password while locked", agentPassword, 429, 600000, false)
	e.clock.Advance(10*time.Minute - time.Second)
	step("one second before the lock ends", agentPassword, 429, 1000, false)
	e.clock.Advance(time.Second)
	step("lock over", agentPassword, 200, 0, true)
	step("a success starts the count again", "wrong password 4", 401, 1000, true)

	// The lock holds for the login from any address.
	e.clock.Advance(time.Second)
	for range 2 {
		e.login("alice", "wrong again!", "")
		e.clock.Advance(4 * time.Second)
	}
	if r := e.login("alice", agentPassword, "203.0.113.99"); r.StatusCode != 429 {
		t.Errorf("locked login from another address: %d", r.StatusCode)
	}
	// Other accounts are not affected.
	if r := e.login("sam", supervisorPassword, ""); r.StatusCode != 200 {
		t.Errorf("another login during alice's lock: %d %s", r.StatusCode, r.body)
	}
}

// Unknown logins are throttled exactly like real ones, so the answers do not reveal which
// logins exist.
func TestUnknownLoginThrottledAlike(t *testing.T) {
	e := lockEnv(t)
	for i, login := range []string{"alice", "nobody"} {
		var got []int
		for range 4 {
			r := e.login(login, "wrong password", "")
			got = append(got, r.StatusCode)
			e.clock.Advance(5 * time.Second)
		}
		if want := []int{401, 401, 401, 429}; !equalInts(got, want) {
			t.Errorf("%d %s: statuses %v, want %v", i, login, got, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Guesses sent in parallel are counted before any is checked: no more than the limit reach a
// password check.
func TestParallelGuessesCannotSlipPastTheCount(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *auth.Config) {
		c.PerLogin = auth.Policy{MaxFailures: 3, Lock: 10 * time.Minute, Window: 15 * time.Minute, ResetOnSuccess: true}
	}})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for i := range 12 {
		wg.Go(func() {
			r := e.login("alice", "guess number "+strconv.Itoa(i), "")
			mu.Lock()
			statuses[r.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[401] != 3 || statuses[429] != 9 || e.verifier.calls.Load() != 3 {
		t.Errorf("statuses %v after %d password checks; want 3x401, 9x429, 3 checks", statuses, e.verifier.calls.Load())
	}
	if r := e.login("alice", agentPassword, ""); r.StatusCode != 429 {
		t.Errorf("right password after the parallel burst: %d", r.StatusCode)
	}
}

func TestPerAddressLimit(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *auth.Config) {
		c.PerLogin = auth.Policy{MaxFailures: 100, Lock: time.Minute, Window: time.Minute, ResetOnSuccess: true}
		c.PerIP = auth.Policy{MaxFailures: 4, Lock: 5 * time.Minute, Window: 15 * time.Minute}
	}})
	const spray = "203.0.113.7"
	// Successful sign-ins from the address do not count against it...
	for range 6 {
		if r := e.login("alice", agentPassword, spray); r.StatusCode != 200 {
			t.Fatalf("sign-in: %d %s", r.StatusCode, r.body)
		}
	}
	// ...nor wipe its count: a spray of one guess per login locks the address.
	for i, login := range []string{"user1", "user2", "alice"} {
		if r := e.login(login, "Winter2026!", spray); r.StatusCode != 401 {
			t.Fatalf("guess %d: %d", i, r.StatusCode)
		}
	}
	if r := e.login("sam", supervisorPassword, spray); r.StatusCode != 200 {
		t.Fatalf("sign-in between guesses: %d", r.StatusCode)
	}
	r := e.login("user4", "Winter2026!", spray)
	if r.StatusCode != 401 || retryAfterMS(r) != (5*time.Minute).Milliseconds() {
		t.Fatalf("fourth guess: %d retry %d, want 401 and a 5-minute lock", r.StatusCode, retryAfterMS(r))
	}
	before := e.verifier.calls.Load()
	if r := e.login("alice", agentPassword, spray); r.StatusCode != 429 || r.Header.Get("Retry-After") != "300" {
		t.Errorf("right password from the locked address: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if e.verifier.calls.Load() != before {
		t.Error("a locked address reached a password check")
	}
	if r := e.login("alice", agentPassword, "203.0.113.8"); r.StatusCode != 200 {
		t.Errorf("another address: %d %s", r.StatusCode, r.body)
	}
	refused := e.auditTrail(audit.Query{Action: audit.LoginRefused})
	if len(refused) != 1 || refused[0].Detail["key"] != "ip" || refused[0].Detail["reason"] != "locked" || refused[0].Detail["ip"] != spray {
		t.Errorf("refusal audited as %+v", refused)
	}
	e.clock.Advance(5 * time.Minute)
	if r := e.login("alice", agentPassword, spray); r.StatusCode != 200 {
		t.Errorf("after the lock: %d", r.StatusCode)
	}

	// An IPv6 client is counted per /64: rotating the low bits does not help.
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4"} {
		if r := e.login("user"+strconv.Itoa(i), "guess", ip); r.StatusCode != 401 {
			t.Fatalf("v6 guess %d: %d", i, r.StatusCode)
		}
	}
	if r := e.login("alice", agentPassword, "2001:db8:1:2::99"); r.StatusCode != 429 {
		t.Errorf("same /64 after four guesses: %d", r.StatusCode)
	}
	if r := e.login("alice", agentPassword, "2001:db8:1:3::1"); r.StatusCode != 200 {
		t.Errorf("another /64: %d", r.StatusCode)
	}
}

func TestDisabledAccount(t *testing.T) {
	e := lockEnv(t)
	ctx := context.Background()
	alice := e.signIn("alice", agentPassword)
	if _, err := e.accounts.SetDisabled(ctx, "test", "alice", true); err != nil {
		t.Fatal(err)
	}
	if r := e.do(request{method: "GET", path: "/api/cases", cookie: alice.cookie}); r.StatusCode != 401 {
		t.Errorf("session of a disabled account: %d", r.StatusCode)
	}
	r := e.login("alice", agentPassword, "")
	if r.StatusCode != 403 || r.json["error"] != "this account is disabled" {
		t.Errorf("sign-in to a disabled account: %d %s", r.StatusCode, r.body)
	}
	if r := e.login("alice", "wrong password", ""); r.StatusCode != 401 {
		t.Errorf("wrong password on a disabled account: %d", r.StatusCode)
	}
	if _, err := e.accounts.SetDisabled(ctx, "test", "alice", false); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if r := e.login("alice", agentPassword, ""); r.StatusCode != 200 {
		t.Errorf("enabled again: %d %s", r.StatusCode, r.body)
	}
	// The old session did not come back with the account.
	if r := e.do(request{method: "GET", path: "/api/cases", cookie: alice.cookie}); r.StatusCode != 401 {
		t.Errorf("old session after re-enabling: %d", r.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.signIn("alice", agentPassword)
	if r := e.do(request{method: "POST", path: "/api/auth/logout", cookie: alice.cookie}); r.StatusCode != 403 {
		t.Fatalf("logout without the CSRF token: %d", r.StatusCode)
	}
	if r := e.do(request{method: "GET", path: "/api/cases", cookie: alice.cookie}); r.StatusCode != 200 {
		t.Fatalf("session after a refused logout: %d", r.StatusCode)
	}
	r := e.do(request{method: "POST", path: "/api/auth/logout", cookie: alice.cookie, csrf: alice.csrf})
	if r.StatusCode != 204 {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	if c := sessionCookie(t, r); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout did not clear the cookie: %q", r.Header.Get("Set-Cookie"))
	}
	if r := e.do(request{method: "GET", path: "/api/cases", cookie: alice.cookie}); r.StatusCode != 401 {
		t.Errorf("session after logout: %d", r.StatusCode)
	}
	if r := e.do(request{method: "POST", path: "/api/auth/logout", cookie: alice.cookie, csrf: alice.csrf}); r.StatusCode != 204 {
		t.Errorf("second logout: %d", r.StatusCode)
	}
	if got := e.auditTrail(audit.Query{Actor: "alice", Action: audit.Logout}); len(got) != 1 {
		t.Errorf("logouts audited: %+v", got)
	}

	// Signing in again replaces the browser's previous session.
	first := e.signIn("alice", agentPassword)
	r = e.do(request{method: "POST", path: "/api/auth/login", body: loginBody("alice", agentPassword), cookie: first.cookie})
	if r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	if r := e.do(request{method: "GET", path: "/api/cases", cookie: first.cookie}); r.StatusCode != 401 {
		t.Errorf("previous session after signing in again: %d", r.StatusCode)
	}

	// RevokeAgent ends every session of an account.
	a, b := e.signIn("sam", supervisorPassword), e.signIn("sam", supervisorPassword)
	acct, err := e.accounts.Get(context.Background(), "sam")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.RevokeAgent(context.Background(), acct.ID); err != nil || n != 2 {
		t.Errorf("RevokeAgent: %d, %v", n, err)
	}
	for _, s := range []session{a, b} {
		if r := e.do(request{method: "GET", path: "/api/cases", cookie: s.cookie}); r.StatusCode != 401 {
			t.Errorf("session after RevokeAgent: %d", r.StatusCode)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *auth.Config) {
		c.IdleTimeout = 30 * time.Minute
		c.AbsoluteTimeout = 2 * time.Hour
	}})
	get := func(s session) int {
		return e.do(request{method: "GET", path: "/api/cases", cookie: s.cookie}).StatusCode
	}

	idle := e.signIn("alice", agentPassword)
	for i := range 3 {
		e.clock.Advance(29 * time.Minute)
		if code := get(idle); code != 200 {
			t.Fatalf("request %d, 29 minutes after the previous one: %d", i, code)
		}
	}
	e.clock.Advance(30 * time.Minute)
	r := e.do(request{method: "GET", path: "/api/cases", cookie: idle.cookie})
	if r.StatusCode != 401 || !strings.Contains(r.json["error"].(string), "expired") {
		t.Errorf("after 30 idle minutes: %d %s", r.StatusCode, r.body)
	}

	busy := e.signIn("alice", agentPassword)
	for elapsed := 20 * time.Minute; elapsed < 2*time.Hour; elapsed += 20 * time.Minute {
		e.clock.Advance(20 * time.Minute)
		if code := get(busy); code != 200 {
			t.Fatalf("active session at %s: %d", elapsed, code)
		}
	}
	e.clock.Advance(20 * time.Minute)
	if code := get(busy); code != 401 {
		t.Errorf("active session past the absolute timeout: %d", code)
	}

	// Expired rows are removed: on use, and by Purge for the ones nobody comes back to.
	e.signIn("sam", supervisorPassword)
	e.clock.Advance(31 * time.Minute)
	if n, _, err := e.svc.Purge(context.Background()); err != nil || n != 1 {
		t.Errorf("Purge removed %d sessions (%v), want the abandoned one", n, err)
	}
	var left int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d sessions left (%v)", left, err)
	}
}

// A role change takes effect at the next request: the session reads the account each time.
func TestRoleChangeApplies(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.signIn("alice", agentPassword)
	if r := e.do(request{method: "GET", path: "/api/supervisor/queues", cookie: alice.cookie}); r.StatusCode != 403 {
		t.Fatalf("agent on the supervisor route: %d", r.StatusCode)
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE agents SET role = 'supervisor' WHERE login = 'alice'`); err != nil {
		t.Fatal(err)
	}
	if r := e.do(request{method: "GET", path: "/api/supervisor/queues", cookie: alice.cookie}); r.StatusCode != 200 {
		t.Errorf("promoted agent on the supervisor route: %d", r.StatusCode)
	}
}

func TestEveryAttemptAudited(t *testing.T) {
	e := lockEnv(t)
	if _, err := e.accounts.Create(context.Background(), "test", accounts.NewAccount{Login: "gone", DisplayName: "Gone",
		Role: accounts.RoleAgent, Password: "gone password 1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.SetDisabled(context.Background(), "test", "gone", true); err != nil {
		t.Fatal(err)
	}
	type want struct {
		actor  string
		action audit.Action
		reason string
	}
	var wants []want
	attempt := func(r request, status int, w want) {
		t.Helper()
		r.method, r.path = "POST", "/api/auth/login"
		if got := e.do(r); got.StatusCode != status {
			t.Fatalf("%+v: %d %s, want %d", w, got.StatusCode, got.body, status)
		}
		wants = append(wants, w)
		e.clock.Advance(time.Minute)
	}
	attempt(request{body: loginBody("alice", agentPassword)}, 200, want{"alice", audit.LoginSucceeded, ""})
	attempt(request{body: loginBody("Alice ", "wrong password")}, 401, want{"alice", audit.LoginFailed, "wrong login or password: wrong password"})
	attempt(request{body: loginBody("nobody", "wrong password")}, 401, want{"nobody", audit.LoginFailed, "wrong login or password: unknown login"})
	attempt(request{body: loginBody("gone", "gone password 1")}, 403, want{"gone", audit.LoginFailed, "account disabled"})
	attempt(request{body: `{"login": "alice", "password":`}, 400, want{"anonymous", audit.LoginRefused, "malformed"})
	attempt(request{body: loginBody("alice", agentPassword), contentType: "application/x-www-form-urlencoded"}, 415,
		want{"anonymous", audit.LoginRefused, "not json"})
	attempt(request{body: loginBody("alice", "")}, 400, want{"alice", audit.LoginRefused, "missing login or password"})
	attempt(request{body: loginBody("", agentPassword)}, 400, want{"anonymous", audit.LoginRefused, "missing login or password"})
	attempt(request{body: `{"login": "al\u0000ice", "password": "x"}`}, 400, want{"anonymous", audit.LoginRefused, "malformed login"})
	attempt(request{body: loginBody(strings.Repeat("a", 129), agentPassword)}, 400, want{"anonymous", audit.LoginRefused, "malformed login"})
	// A client's bytes that are not UTF-8 are cleaned before they are stored.
	attempt(request{body: loginBody("nobody", "wrong password"), header: map[string]string{"User-Agent": "bad \xff\xfe agent"}}, 401,
		want{"nobody", audit.LoginFailed, "wrong login or password: unknown login"})
	attempt(request{body: loginBody("alice", agentPassword), header: map[string]string{"Origin": "https://evil.example"}}, 403,
		want{"alice", audit.LoginRefused, "cross origin"})
	// Two more failures lock alice (the first one above counts).
	attempt(request{body: loginBody("alice", "wrong password")}, 401, want{"alice", audit.LoginFailed, "wrong login or password: wrong password"})
	attempt(request{body: loginBody("alice", "wrong password")}, 401, want{"alice", audit.LoginFailed, "wrong login or password: wrong password"})
	attempt(request{body: loginBody("alice", agentPassword)}, 429, want{"alice", audit.LoginRefused, "locked"})

	got := e.auditTrail(audit.Query{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	var logins []audit.Entry
	for i := len(got) - 1; i >= 0; i-- { // oldest first
		if strings.HasPrefix(string(got[i].Action), "login.") {
			logins = append(logins, got[i])
		}
	}
	if len(logins) != len(wants) {
		t.Fatalf("%d sign-in entries for %d attempts: %+v", len(logins), len(wants), logins)
	}
	for i, w := range wants {
		g := logins[i]
		reason, _ := g.Detail["reason"].(string)
		if g.Actor != w.actor || g.Action != w.action || reason != w.reason || g.Detail["ip"] != defaultIP {
			t.Errorf("attempt %d: audited %s %s reason %q ip %v; want %s %s %q", i, g.Actor, g.Action, reason, g.Detail["ip"], w.actor, w.action, w.reason)
		}
		for k, v := range g.Detail {
			if s, ok := v.(string); ok && (strings.Contains(s, "password 1") || strings.Contains(s, "wrong password")) && k != "reason" {
				t.Errorf("attempt %d: detail %s holds a password: %q", i, k, s)
			}
		}
	}
	if ua := logins[len(logins)-5].Detail["user_agent"]; ua != "bad  agent" {
		t.Errorf("user agent stored as %q", ua)
	}
	if logins[0].Target != "agent:alice" || logins[0].Detail["role"] != "agent" {
		t.Errorf("success entry %+v", logins[0])
	}
}

func TestPolicyDelay(t *testing.T) {
	p := auth.Policy{MaxFailures: 10, Lock: time.Hour, BaseDelay: 250 * time.Millisecond, MaxDelay: 5 * time.Second, Window: time.Hour}
	for failures, want := range map[int]time.Duration{
		0: 0, 1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 3: time.Second, 4: 2 * time.Second,
		5: 4 * time.Second, 6: 5 * time.Second, 60: 5 * time.Second, 1 << 30: 5 * time.Second,
	} {
		if got := p.Delay(failures); got != want {
			t.Errorf("Delay(%d) = %s, want %s", failures, got, want)
		}
	}
	if got := (auth.Policy{MaxFailures: 3, Lock: time.Minute, Window: time.Minute}).Delay(5); got != 0 {
		t.Errorf("no base delay: Delay(5) = %s", got)
	}
}

// Failures older than the window are forgotten.
func TestFailuresDecay(t *testing.T) {
	e := lockEnv(t)
	for range 2 {
		e.login("alice", "wrong password", "")
		e.clock.Advance(5 * time.Second)
	}
	e.clock.Advance(15 * time.Minute)
	if r := e.login("alice", "wrong password", ""); r.StatusCode != 401 || retryAfterMS(r) != 1000 {
		t.Errorf("failure after the window: %d retry %d; want a fresh count (1000 ms)", r.StatusCode, retryAfterMS(r))
	}
}

func TestConfigRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	for name, edit := range map[string]func(*auth.Config){
		"no cookie name":        func(c *auth.Config) { c.CookieName = "" },
		"idle zero":             func(c *auth.Config) { c.IdleTimeout = 0 },
		"absolute before idle":  func(c *auth.Config) { c.AbsoluteTimeout = c.IdleTimeout / 2 },
		"origin with a path":    func(c *auth.Config) { c.TrustedOrigins = []string{"https://desk.example.cn/app"} },
		"origin without scheme": func(c *auth.Config) { c.TrustedOrigins = []string{"desk.example.cn"} },
		"no failures allowed":   func(c *auth.Config) { c.PerLogin.MaxFailures = 0 },
		"max below base delay":  func(c *auth.Config) { c.PerIP.BaseDelay, c.PerIP.MaxDelay = time.Second, 0 },
		"no window":             func(c *auth.Config) { c.PerIP.Window = 0 },
	} {
		cfg := auth.DefaultConfig()
		edit(&cfg)
		if _, err := auth.New(e.pool, e.verifier, e.audit, cfg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	for err, want := range map[error]int{
		auth.ErrNoSession: 401, auth.ErrExpired: 401, auth.ErrForbidden: 403, auth.ErrCSRF: 403, auth.ErrCrossOrigin: 403,
		errors.New("database down"): 500,
	} {
		if got := auth.HTTPStatus(err); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestClientIP(t *testing.T) {
	cfg := auth.DefaultConfig()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	svc, err := auth.New(nil, nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:5555", nil, "192.0.2.1"},
		{"192.0.2.1:5555", []string{"203.0.113.9"}, "192.0.2.1"}, // not a proxy: its header is ignored
		{"10.1.1.1:5555", []string{"203.0.113.9"}, "203.0.113.9"},
		{"10.1.1.1:5555", []string{"1.1.1.1, 203.0.113.9, 10.2.2.2"}, "203.0.113.9"}, // the client can forge the left part
		{"10.1.1.1:5555", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"10.1.1.1:5555", []string{"junk, 203.0.113.9"}, "203.0.113.9"},
		{"10.1.1.1:5555", []string{"203.0.113.9, junk"}, "10.1.1.1"},
		{"10.1.1.1:5555", nil, "10.1.1.1"},
		{"10.1.1.1:5555", []string{"10.3.3.3"}, "10.3.3.3"},
		{"[fd00::1]:5555", []string{"2001:db8::7"}, "2001:db8::7"},
		{"[::ffff:192.0.2.1]:5555", nil, "192.0.2.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := svc.ClientIP(r); got.String() != tc.want {
			t.Errorf("ClientIP(%s, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// wrongToken is token with its first character changed (always to another one).
func wrongToken(token string) string {
	if token[0] == 'x' {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}
