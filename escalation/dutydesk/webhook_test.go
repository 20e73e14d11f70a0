package dutydesk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWebhook(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // answered in turn; the last repeats
		wantErr  string
		tries    int32
	}{
		{"ok at once", []int{204}, "", 1},
		{"503 then ok", []int{503, 200}, "", 2},
		{"429 is retried", []int{429, 429, 201}, "", 3},
		{"5xx until the attempts run out", []int{500}, "attempt 3 of 3: status 500", 3},
		{"4xx is not retried", []int{401}, "attempt 1 of 3: status 401", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tries atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(tries.Add(1)) - 1
				var a Alert
				if err := json.NewDecoder(r.Body).Decode(&a); err != nil || a.CaseNumber != "620000-20261127-000001" ||
					r.Header.Get("Authorization") != "Bearer tok" || r.Method != http.MethodPost {
					t.Errorf("request %d: %s %v %+v", n, r.Method, err, a)
				}
				w.WriteHeader(tc.statuses[min(n, len(tc.statuses)-1)])
			}))
			defer srv.Close()
			w, err := NewWebhook(srv.URL, "tok")
			if err != nil {
				t.Fatal(err)
			}
			w.Backoff = time.Millisecond
			err = w.Alert(context.Background(), Alert{Type: "escalation.exhausted", CaseNumber: "620000-20261127-000001", Round: 1})
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if got := tries.Load(); got != tc.tries {
				t.Errorf("%d requests, want %d", got, tc.tries)
			}
		})
	}
}

func TestWebhookTimeoutAndURL(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	w, _ := NewWebhook(srv.URL, "")
	w.Timeout, w.Attempts, w.Backoff = 50*time.Millisecond, 2, time.Millisecond
	start := time.Now()
	err := w.Alert(context.Background(), Alert{})
	if err == nil || !strings.Contains(err.Error(), "attempt 2 of 2") || time.Since(start) > 5*time.Second {
		t.Errorf("a server that never answers: %v after %s", err, time.Since(start))
	}
	for _, bad := range []string{"", "ftp://x/y", "http://", "::"} {
		if _, err := NewWebhook(bad, ""); err == nil {
			t.Errorf("NewWebhook(%q) accepted", bad)
		}
	}
}
