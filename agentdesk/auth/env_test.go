package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases/casestest"
)

// clock is the injected time: tests move it, nothing sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingVerifier counts password checks, to prove that refused attempts never reach one.
type countingVerifier struct {
	next  auth.Verifier
	calls atomic.Int64
}

func (v *countingVerifier) Verify(ctx context.Context, login, password string) (accounts.Account, error) {
	v.calls.Add(1)
	return v.next.Verify(ctx, login, password)
}

const (
	agentPassword      = "agent password 1"
	supervisorPassword = "supervisor password 1"
	defaultIP          = "198.51.100.10"
)

type env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	accounts *accounts.Store
	audit    *audit.Log
	svc      *auth.Service
	clock    *clock
	verifier *countingVerifier
	srv      *httptest.Server
	// seen receives the principal of every request the guarded handlers serve.
	seen chan auth.Principal
}

type envOptions struct {
	tls    bool
	config func(*auth.Config)
}

// newEnv starts the auth service on a real HTTP server over a fresh database with two
// accounts: alice (agent) and sam (supervisor). Requests come through a trusted proxy on
// loopback, so tests choose the client address with X-Forwarded-For.
func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, pool: casestest.NewPool(t), clock: &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)},
		seen: make(chan auth.Principal, 100)}
	e.audit = audit.New(e.pool, audit.WithClock(e.clock.Now))
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.accounts = accounts.NewStore(e.pool, h, e.audit)
	e.verifier = &countingVerifier{next: e.accounts}
	ctx := context.Background()
	for _, n := range []accounts.NewAccount{
		{Login: "alice", DisplayName: "Alice", Role: accounts.RoleAgent, Password: agentPassword},
		{Login: "sam", DisplayName: "Sam", Role: accounts.RoleSupervisor, Password: supervisorPassword},
	} {
		if _, err := e.accounts.Create(ctx, "test", n); err != nil {
			t.Fatal(err)
		}
	}
	cfg := auth.DefaultConfig()
	cfg.Now = e.clock.Now
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	if o.config != nil {
		o.config(&cfg)
	}
	e.svc, err = auth.New(e.pool, e.verifier, e.audit, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}

	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			http.Error(w, "no principal in the context", http.StatusInternalServerError)
			return
		}
		e.seen <- p
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"login": p.Login, "role": p.Role, "agent_id": p.AgentID})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/login", e.svc.Login)
	mux.HandleFunc("POST /api/auth/logout", e.svc.Logout)
	mux.HandleFunc("GET /api/auth/session", e.svc.Session)
	mux.Handle("GET /api/cases", e.svc.RequireRole()(echo))
	mux.Handle("POST /api/cases/{number}/notes", e.svc.RequireRole(accounts.RoleAgent, accounts.RoleSupervisor)(echo))
	mux.Handle("GET /api/supervisor/queues", e.svc.RequireRole(accounts.RoleSupervisor, accounts.RoleAdmin)(echo))
	mux.Handle("GET /ws/live", e.svc.RequireWebSocket(accounts.RoleSupervisor)(websocketEcho(e)))
	if o.tls {
		e.srv = httptest.NewTLSServer(mux)
	} else {
		e.srv = httptest.NewServer(mux)
	}
	t.Cleanup(e.srv.Close)
	return e
}

// request is one HTTP exchange's inputs.
type request struct {
	method, path string
	body         string
	contentType  string // default application/json when there is a body
	cookie       *http.Cookie
	csrf         string
	ip           string // X-Forwarded-For; default defaultIP
	header       map[string]string
}

type response struct {
	*http.Response
	body []byte
	json map[string]any
}

func (e *env) do(r request) response {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	if r.csrf != "" {
		req.Header.Set(auth.CSRFHeader, r.csrf)
	}
	ip := r.ip
	if ip == "" {
		ip = defaultIP
	}
	req.Header.Set("X-Forwarded-For", ip)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := response{Response: resp}
	out.body, err = io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.body, &out.json); err != nil {
			e.t.Fatalf("%s %s: body %q is not a JSON object: %v", r.method, r.path, out.body, err)
		}
	}
	return out
}

func loginBody(login, password string) string {
	b, _ := json.Marshal(map[string]string{"login": login, "password": password})
	return string(b)
}

func (e *env) login(login, password, ip string) response {
	e.t.Helper()
	return e.do(request{method: "POST", path: "/api/auth/login", body: loginBody(login, password), ip: ip})
}

// session is a signed-in browser: its cookie and CSRF token.
type session struct {
	cookie *http.Cookie
	csrf   string
}

func (e *env) signIn(login, password string) session {
	e.t.Helper()
	r := e.login(login, password, "")
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("sign in as %s: %d %s", login, r.StatusCode, r.body)
	}
	return session{cookie: sessionCookie(e.t, r), csrf: r.json["csrf_token"].(string)}
}

func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == "hotline_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", r.Header.Values("Set-Cookie"))
	return nil
}

// retryAfterMS is the wait the server asked for, as the JSON answer states it.
func retryAfterMS(r response) int64 {
	v, _ := r.json["retry_after_ms"].(float64)
	return int64(v)
}

func (e *env) auditTrail(q audit.Query) []audit.Entry {
	e.t.Helper()
	q.Limit = audit.MaxLimit
	got, err := e.audit.Find(context.Background(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}
