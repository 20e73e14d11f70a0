package agentdesk_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/agentdesk"
	"hotline/cases"
	"hotline/cases/casestest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCaseAPIAgainstPostgres(t *testing.T) {
	store := casestest.NewStore(t)
	ctx := context.Background()
	c, err := store.CreateCase(ctx, cases.NewCase{Kind: cases.KindComplaint, Channel: cases.ChannelPhone,
		ReceivedAt: time.Now(), CallerNumber: "13800000001", Request: "refund"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(agentdesk.New(store, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)))
	defer srv.Close()

	tests := []struct {
		name     string
		path     string
		code     int
		contains []string
		absent   []string
	}{
		{"by number", "/api/cases/" + string(c.Number), 200, []string{`"number":"` + string(c.Number), `"caller_number":"138****0001"`, `"kind":"registered"`}, []string{"13800000001"}},
		{"unknown number", "/api/cases/620000-20200101-000001", 404, []string{"not found"}, nil},
		{"by caller", "/api/cases?caller=138-0000-0001", 200, []string{string(c.Number), "138****0001"}, []string{"13800000001"}},
		{"caller missing", "/api/cases", 400, []string{"caller is required"}, nil},
		{"caller not a number", "/api/cases?caller=abc", 400, []string{"not a phone number"}, nil},
		{"bad limit", "/api/cases?caller=138&limit=0", 400, []string{"limit"}, nil},
		{"write refused", "", 405, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var body string
			if tt.path == "" {
				resp, err := http.Post(srv.URL+"/api/cases/"+string(c.Number), "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				code = resp.StatusCode
			} else {
				code, body = get(t, srv.URL+tt.path)
			}
			if code != tt.code {
				t.Fatalf("status %d, want %d: %s", code, tt.code, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %s: %s", s, body)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("body shows %s: %s", s, body)
				}
			}
		})
	}
	code, body := get(t, srv.URL+"/metrics")
	if code != 200 || !strings.Contains(body, `hotline_http_requests_total{code="404",route="GET /api/cases/{number}"} 1`) {
		t.Errorf("metrics: %d %s", code, body)
	}
}

func TestReadiness(t *testing.T) {
	var fail error
	checks := []agentdesk.Check{
		{Name: "postgres", Check: func(context.Context) error { return nil }},
		{Name: "redis", Check: func(context.Context) error { return fail }},
	}
	s := agentdesk.New(nil, checks, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	defer srv.Close()

	code, body := get(t, srv.URL+"/readyz")
	if code != 200 || !strings.Contains(body, `"redis":"ok"`) {
		t.Fatalf("ready: %d %s", code, body)
	}
	fail = errors.New("connection refused")
	code, body = get(t, srv.URL+"/readyz")
	var out map[string]string
	_ = json.Unmarshal([]byte(body), &out)
	if code != 503 || out["redis"] != "down: connection refused" || out["postgres"] != "ok" {
		t.Fatalf("not ready: %d %s", code, body)
	}
	fail = nil
	s.Drain()
	if code, body = get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("draining: %d %s", code, body)
	}
	if code, _ = get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
}
