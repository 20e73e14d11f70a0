package wallboard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/memstore"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases/casestest"
)

const testPassword = "correct horse battery"

// wallServer serves sign-in and the wallboard's routes over a memory store, with an
// account of each role.
type wallServer struct {
	srv   *httptest.Server
	store *memstore.Store
	hub   *Hub
}

func newWallServer(t *testing.T, ctx context.Context) *wallServer {
	t.Helper()
	pool := casestest.NewPool(t)
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	auditLog := audit.New(pool)
	accts := accounts.NewStore(pool, h, auditLog)
	for _, n := range []accounts.NewAccount{
		{Login: "alice", DisplayName: "Alice", Role: accounts.RoleAgent, Password: testPassword},
		{Login: "sam", DisplayName: "Sam", Role: accounts.RoleSupervisor, Password: testPassword},
		{Login: "ada", DisplayName: "Ada", Role: accounts.RoleAdmin, Password: testPassword},
	} {
		if _, err := accts.Create(ctx, "test", n); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := auth.New(pool, accts, auditLog, auth.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, acd.SystemClock{})
	hub, err := NewHub(HubConfig{Source: store, ACD: cfg, Location: shanghai, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hub.Run(ctx) }()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/login", a.Login)
	s := &Server{Hub: hub, Auth: a, Log: log, Stats: &Handler{Source: store, Config: cfg}}
	for _, r := range s.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &wallServer{srv: srv, store: store, hub: hub}
}

// signIn returns the session cookie of login.
func (w *wallServer) signIn(t *testing.T, login string) *http.Cookie {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": testPassword})
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/api/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", w.srv.URL)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("sign in %s: %d %s", login, resp.StatusCode, b)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign in %s: no cookie", login)
	return nil
}

// TestServer runs the server's tests on one database (making one takes seconds).
func TestServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newWallServer(t, ctx)
	t.Run("roles", func(t *testing.T) { testRoles(t, ctx, w) })
	t.Run("pushes", func(t *testing.T) { testWebSocketPushes(t, ctx, w) })
}

// testRoles: only supervisors and admins see the wallboard, over HTTP and the WebSocket.
func testRoles(t *testing.T, ctx context.Context, w *wallServer) {
	cookies := map[string]*http.Cookie{"": nil}
	for _, l := range []string{"alice", "sam", "ada"} {
		cookies[l] = w.signIn(t, l)
	}
	tests := []struct {
		who  string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"alice", http.StatusForbidden},
		{"sam", http.StatusOK},
		{"ada", http.StatusOK},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/wallboard", "/api/wallboard/stats?window=15m"} {
			req, _ := http.NewRequest(http.MethodGet, w.srv.URL+path, nil)
			if c := cookies[tt.who]; c != nil {
				req.AddCookie(c)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s as %q: %d %s, want %d", path, tt.who, resp.StatusCode, body, tt.want)
				continue
			}
			if tt.want == http.StatusOK && !json.Valid(body) {
				t.Errorf("GET %s as %q: not JSON: %s", path, tt.who, body)
			}
		}

		code, err := dialCode(ctx, w, cookies[tt.who], w.srv.URL)
		want := tt.want
		if want == http.StatusOK {
			want = http.StatusSwitchingProtocols
		}
		if code != want {
			t.Errorf("WebSocket as %q: %d (%v), want %d", tt.who, code, err, want)
		}
	}
	// Another site's page cannot open the socket with a supervisor's cookie.
	if code, _ := dialCode(ctx, w, cookies["sam"], "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("WebSocket from another origin: %d, want 403", code)
	}
}

func dialCode(ctx context.Context, w *wallServer, c *http.Cookie, origin string) (int, error) {
	h := http.Header{"Origin": {origin}}
	if c != nil {
		h.Set("Cookie", c.String())
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(w.srv.URL, "http")+"/api/wallboard/ws", &websocket.DialOptions{HTTPHeader: h})
	if conn != nil {
		conn.CloseNow()
	}
	if resp == nil {
		return 0, err
	}
	return resp.StatusCode, err
}

// testWebSocketPushes: a supervisor's socket gets the board at once and again when told
// of a change.
func testWebSocketPushes(t *testing.T, ctx context.Context, w *wallServer) {
	cookie := w.signIn(t, "sam")
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(w.srv.URL, "http")+"/api/wallboard/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {w.srv.URL}, "Cookie": {cookie.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 22)
	next := func() pageBoard {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, data, err := conn.Read(rctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m struct {
			Type  string    `json:"type"`
			Board pageBoard `json:"board"`
		}
		if err := json.Unmarshal(data, &m); err != nil || m.Type != "board" {
			t.Fatalf("message %s: %v", data, err)
		}
		return m.Board
	}
	if b := next(); len(b.Queues) != 3 || queueOf(b, "general").Waiting != 0 {
		t.Fatalf("first board %+v", b)
	}
	if _, err := w.store.Enqueue(ctx, acd.Item{ID: "c1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh"}); err != nil {
		t.Fatal(err)
	}
	// The memory store publishes nothing: the test tells the hub, as Listen would.
	w.hub.Changed()
	if b := next(); queueOf(b, "general").Waiting != 1 {
		t.Fatalf("after the change %+v", b)
	}
}
