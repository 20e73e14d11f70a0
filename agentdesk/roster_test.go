package agentdesk_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/agentdesk"
	"hotline/audit"
	"hotline/cases"
	"hotline/escalation"
)

// flags records the desk's emergency flags; a case flagged twice is refused.
type flags struct {
	mu  sync.Mutex
	got []string
}

func (f *flags) FlagEmergency(_ context.Context, number cases.Number, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if number == "620000-20261127-999999" {
		return cases.ErrNotFound
	}
	for _, g := range f.got {
		if strings.HasPrefix(g, string(number)+" ") {
			return agentdesk.ErrAlreadyEscalating
		}
	}
	f.got = append(f.got, string(number)+" "+actor)
	return nil
}

func TestRosterAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	roster := cases.NewRosterStore(e.pool, e.audit)
	fl := &flags{}
	api := &agentdesk.RosterAPI{Auth: e.auth, Store: roster, Flag: fl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	opts := append([]agentdesk.Option{agentdesk.WithDesk(e.desk)}, api.Routes()...)
	e.srv.Close()
	e.srv = httptest.NewServer(agentdesk.New(e.cases, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler), opts...))
	ada, alice := e.signIn("ada"), e.signIn("alice")
	night := time.Date(2026, 11, 27, 18, 0, 0, 0, shanghaiLoc)
	body := map[string]any{"name": "Officer Wang", "phone": "13900000001", "from": night, "to": night.Add(15 * time.Hour), "order": 1}

	for _, tc := range []struct {
		name   string
		s      *session
		method string
		path   string
		body   any
		csrf   bool
		want   int
	}{
		{"no session", nil, "GET", "/api/admin/roster", nil, false, http.StatusUnauthorized},
		{"an agent may not read it", &alice, "GET", "/api/admin/roster", nil, false, http.StatusForbidden},
		{"an agent may not add", &alice, "POST", "/api/admin/roster", body, true, http.StatusForbidden},
		{"no CSRF token", &ada, "POST", "/api/admin/roster", body, false, http.StatusForbidden},
		{"bad entry", &ada, "POST", "/api/admin/roster", map[string]any{"name": "x", "phone": "12a"}, true, http.StatusBadRequest},
		{"unknown field", &ada, "POST", "/api/admin/roster", map[string]any{"name": "x", "phone": "139", "shift": 1}, true, http.StatusBadRequest},
		{"admin adds", &ada, "POST", "/api/admin/roster", body, true, http.StatusCreated},
		{"no such entry", &ada, "DELETE", "/api/admin/roster/999", nil, true, http.StatusNotFound},
		{"bad id", &ada, "DELETE", "/api/admin/roster/x", nil, true, http.StatusBadRequest},
		{"an admin is no desk agent", &ada, "POST", "/api/cases/620000-20261127-000001/emergency", nil, true, http.StatusForbidden},
		{"agent flags a case", &alice, "POST", "/api/cases/620000-20261127-000001/emergency", nil, true, http.StatusAccepted},
		{"flagged twice", &alice, "POST", "/api/cases/620000-20261127-000001/emergency", nil, true, http.StatusConflict},
		{"no such case", &alice, "POST", "/api/cases/620000-20261127-999999/emergency", nil, true, http.StatusNotFound},
	} {
		if code, b := e.do(tc.s, tc.method, tc.path, tc.body, tc.csrf); code != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, code, b, tc.want)
		}
	}

	code, b := e.do(&ada, "GET", "/api/admin/roster", nil, false)
	var out struct{ Entries []escalation.Entry }
	if err := json.Unmarshal(b, &out); code != 200 || err != nil || len(out.Entries) != 1 || out.Entries[0].Name != "Officer Wang" || !out.Entries[0].Active {
		t.Fatalf("list: %d %s", code, b)
	}
	id := out.Entries[0].ID
	path := "/api/admin/roster/" + strconv.FormatInt(int64(id), 10)
	body["active"], body["order"] = false, 3
	if code, b := e.do(&ada, "PUT", path, body, true); code != 200 || !strings.Contains(string(b), `"active":false`) {
		t.Errorf("update: %d %s", code, b)
	}
	if code, b := e.do(&ada, "DELETE", path, nil, true); code != http.StatusNoContent {
		t.Errorf("delete: %d %s", code, b)
	}
	es, err := e.audit.Find(context.Background(), audit.Query{Actor: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range es {
		if strings.HasPrefix(string(x.Action), "roster.") {
			got = append(got, string(x.Action)+" "+x.Target)
		}
	}
	target := cases.RosterTarget(id)
	if want := []string{"roster.deleted " + target, "roster.updated " + target, "roster.added " + target}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit log of ada: %v, want %v", got, want)
	}
	if strings.Join(fl.got, ",") != "620000-20261127-000001 alice" {
		t.Errorf("flags: %v", fl.got)
	}
}
