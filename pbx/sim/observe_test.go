package sim

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestObserveRequests: the observer sees every ARI request as it arrives, refused ones
// included, with the time it arrived; nil stops it.
func TestObserveRequests(t *testing.T) {
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	type seen struct {
		method, path string
		at           time.Time
	}
	var mu sync.Mutex
	var got []seen
	srv.ObserveRequests(func(r *http.Request, at time.Time) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, at})
		mu.Unlock()
	})
	before := time.Now()
	status, _ := d.rest(http.MethodGet, "/asterisk/info", nil)
	mustStatus(t, status, http.StatusOK, "info")
	status, _ = d.restAuth(http.MethodDelete, "/playbacks/pb-1", nil, false)
	mustStatus(t, status, http.StatusUnauthorized, "without credentials")
	after := time.Now()
	srv.ObserveRequests(nil)
	status, _ = d.rest(http.MethodGet, "/asterisk/info", nil)
	mustStatus(t, status, http.StatusOK, "info, unobserved")
	mu.Lock()
	defer mu.Unlock()
	want := []seen{{http.MethodGet, "/ari/asterisk/info", time.Time{}}, {http.MethodDelete, "/ari/playbacks/pb-1", time.Time{}}}
	if len(got) != len(want) {
		t.Fatalf("observed %+v, want %+v", got, want)
	}
	for i, w := range want {
		if got[i].method != w.method || got[i].path != w.path || got[i].at.Before(before) || got[i].at.After(after) {
			t.Errorf("request %d: %+v, want %s %s between %v and %v", i, got[i], w.method, w.path, before, after)
		}
	}
}
