package supervise

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases"
)

// testGuard stands in for auth.Service.RequireRole: the test names the principal in headers.
func testGuard(roles ...accounts.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			login := r.Header.Get("X-Login")
			if login == "" {
				http.Error(w, "no session", http.StatusUnauthorized)
				return
			}
			p := auth.Principal{Login: login, DisplayName: strings.ToUpper(login), Role: accounts.Role(r.Header.Get("X-Role"))}
			if !p.HasRole(roles...) {
				http.Error(w, "role", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
}

type noCalls struct{}

func (noCalls) CallOf(acd.AgentID) (Call, bool) { return Call{}, false }

type unusedPBX struct{ PBX }

type unusedStore struct{}

func (unusedStore) FindByNumber(context.Context, cases.Number) (cases.Detail, error) {
	return cases.Detail{}, cases.ErrNotFound
}
func (unusedStore) AppendEvent(context.Context, cases.CaseID, cases.NewEvent) (cases.Event, error) {
	return cases.Event{}, nil
}

type unusedAudit struct{}

func (unusedAudit) Append(context.Context, audit.Record) (audit.Entry, error) {
	return audit.Entry{}, nil
}

type unusedSeats struct{ Seats }

func TestHandlerRefusals(t *testing.T) {
	svc, err := New(Config{Calls: noCalls{}, PBX: unusedPBX{}, Seats: unusedSeats{}, Audit: unusedAudit{}, Cases: unusedStore{},
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(svc, testGuard, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for _, tt := range []struct {
		name, method, login, role, body string
		status                          int
		want                            string
	}{
		{"no session", "POST", "", "", `{"agent":"li.na","mode":"listen"}`, 401, "no session"},
		{"an agent", "POST", "li.na", "agent", `{"agent":"bob","mode":"listen"}`, 403, "role"},
		{"not JSON", "POST", "sam", "supervisor", `listen`, 400, "request body: invalid character"},
		{"unknown field", "POST", "sam", "supervisor", `{"agent":"li.na","mode":"listen","volume":3}`, 400, `unknown field \"volume\"`},
		{"no agent", "POST", "sam", "supervisor", `{"mode":"listen"}`, 400, "agent: missing"},
		{"bad mode", "POST", "sam", "supervisor", `{"agent":"li.na","mode":"spy"}`, 400, `mode \"spy\" is not one of listen, whisper, barge`},
		{"own call", "POST", "sam", "supervisor", `{"agent":"sam","mode":"listen"}`, 400, "cannot supervise their own call"},
		{"agent not on a call", "POST", "sam", "supervisor", `{"agent":"li.na","mode":"barge"}`, 409, "the agent is not on a call"},
		{"an admin", "POST", "ada", "admin", `{"agent":"li.na","mode":"listen"}`, 403, "role"},
		{"leave with nothing joined", "DELETE", "sam", "supervisor", ``, 404, "not supervising a call"},
		{"list", "GET", "sam", "supervisor", ``, 200, `{"supervisions":[]}`},
		{"list as an agent", "GET", "li.na", "agent", ``, 403, "role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/api/supervise", strings.NewReader(tt.body))
			if tt.login != "" {
				req.Header.Set("X-Login", tt.login)
				req.Header.Set("X-Role", tt.role)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, b, tt.status, tt.want)
			}
		})
	}
}
