package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"hotline/agentdesk/auth"
)

// websocketEcho accepts the upgrade and sends the principal's login. It skips the library's
// own origin check on purpose: the test is that RequireWebSocket refuses first.
func websocketEcho(e *env) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		e.seen <- p
		if err := wsjson.Write(r.Context(), c, map[string]string{"login": p.Login}); err != nil {
			return
		}
		_, _, _ = c.Read(r.Context()) // until the client closes
	})
}

func TestWebSocketUpgrade(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *auth.Config) { c.TrustedOrigins = []string{"https://desk.example.cn"} }})
	alice := e.signIn("alice", agentPassword)
	sam := e.signIn("sam", supervisorPassword)
	self := e.srv.URL // http://127.0.0.1:port, the page's own origin
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws/live"

	dial := func(cookie *http.Cookie, origin string) (*websocket.Conn, int, error) {
		h := http.Header{"X-Forwarded-For": {defaultIP}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		if cookie != nil {
			h.Set("Cookie", cookie.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: h})
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		return c, code, err
	}
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		origin string
		want   int
	}{
		{"no origin", sam.cookie, "", 403},
		{"another site", sam.cookie, "https://evil.example", 403},
		{"look-alike host", sam.cookie, "http://127.0.0.1.evil.example", 403},
		{"no session", nil, self, 401},
		{"agent on a supervisor feed", alice.cookie, self, 403},
		{"supervisor, same origin", sam.cookie, self, 101},
		{"supervisor, trusted origin", sam.cookie, "https://desk.example.cn", 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, code, err := dial(tc.cookie, tc.origin)
			if tc.want != 101 {
				if err == nil || code != tc.want {
					if c != nil {
						c.CloseNow()
					}
					t.Fatalf("upgrade: %d, %v; want refused with %d", code, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("upgrade: %d, %v", code, err)
			}
			defer c.CloseNow()
			var msg map[string]string
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := wsjson.Read(ctx, c, &msg); err != nil || msg["login"] != "sam" {
				t.Errorf("first message %v, %v", msg, err)
			}
			c.Close(websocket.StatusNormalClosure, "")
		})
	}

	// A long-lived connection rechecks its session: after sign-out it is refused.
	var p auth.Principal
	select {
	case p = <-e.seen:
	default:
		t.Fatal("the WebSocket handler saw no principal")
	}
	ctx := context.Background()
	if got, err := e.svc.Recheck(ctx, p); err != nil || got.Login != "sam" {
		t.Fatalf("Recheck of a live session: %+v, %v", got, err)
	}
	if r := e.do(request{method: "POST", path: "/api/auth/logout", cookie: sam.cookie, csrf: sam.csrf}); r.StatusCode != 204 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if _, err := e.svc.Recheck(ctx, p); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Recheck after logout: %v", err)
	}
	if _, err := e.svc.Recheck(ctx, auth.Principal{Login: "sam"}); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Recheck of a principal made up outside a session: %v", err)
	}
}
