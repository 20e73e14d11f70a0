package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/cases/casestest"
	"hotline/pbx/sim"
)

// TestServeDrainsOnSIGTERM: on SIGTERM serve stops being ready, hands new calls back to
// the dialplan, lets the call in progress run to its own end, and only then stops.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	if os.Getenv("HOTLINE_REDIS_URL") == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`")
	}
	addr := freeAddr(t)
	pbxSim, err := sim.New(sim.Config{Password: "drain-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pbxSim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pbxSim.Close() })
	t.Setenv("HOTLINE_ARI_URL", pbxSim.URL()+"/ari")
	t.Setenv("HOTLINE_ARI_PASSWORD", "drain-test")
	t.Setenv("HOTLINE_ARI_DRAIN_TIMEOUT", "30s")
	t.Setenv("HOTLINE_RECORDINGS_DIR", t.TempDir())
	dbURL := casestest.NewDatabase(t)
	t.Setenv("HOTLINE_DATABASE_URL", dbURL)
	t.Setenv("HOTLINE_HTTP_LISTEN", addr)
	t.Setenv("HOTLINE_LOG_LEVEL", "warn")
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, io.Discard, []string{"-config", "../../hotline.example.yaml"}) }()
	base := "http://" + addr
	waitFor(t, 30*time.Second, "ready", done, func() bool { return status(base+"/readyz") == http.StatusOK })

	// The first caller listens to the menu for 4 s and then hangs up.
	first, err := pbxSim.Call(context.Background(), sim.CallSpec{From: "13800000051", Steps: "w4 h"})
	if err != nil {
		t.Fatal(err)
	}
	countCases := func(number string) int {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE caller_number = $1`, number).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, 10*time.Second, "the first caller's case", done, func() bool { return countCases("13800000051") == 1 })

	cancel() // SIGTERM
	waitFor(t, 5*time.Second, "not ready while draining", done, func() bool { return status(base+"/readyz") == http.StatusServiceUnavailable })

	second, err := pbxSim.Call(context.Background(), sim.CallSpec{From: "13800000052", Steps: "w10 h"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call placed while draining was not handed back to the dialplan")
	}
	if r := second.Result(); r.Answered || r.HungUpBy != "pbx" {
		t.Errorf("call placed while draining: %+v, want ended by the dialplan unanswered", r)
	}
	metrics := body(base + "/metrics")
	if !strings.Contains(metrics, "hotline_callflow_turned_away_total 1") {
		t.Errorf("turned-away calls not counted in /metrics")
	}
	checkMetricsDocumented(t, metrics)
	select {
	case err := <-done:
		t.Fatalf("serve stopped with a call in progress: %v", err)
	case <-first.Done():
		t.Fatal("the call in progress was cut off by the drain")
	default:
	}

	<-first.Done()
	if r := first.Result(); r.HungUpBy != "party" {
		t.Errorf("first call: %+v, want ended by the caller", r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its last call")
	}
	var kind, st, outcome string
	if err := pool.QueryRow(context.Background(), `SELECT c.kind, c.status, k.outcome FROM cases c JOIN calls k ON k.case_id = c.id
		WHERE c.caller_number = '13800000051'`).Scan(&kind, &st, &outcome); err != nil {
		t.Fatal(err)
	}
	if kind != "invalid" || st != "closed" || outcome == "aborted" {
		t.Errorf("first caller's case: %s %s, call outcome %q; want a closed invalid case ended by the caller", kind, st, outcome)
	}
	if n := countCases("13800000052"); n != 0 {
		t.Errorf("the turned-away caller has %d cases here, want 0 (the controller that takes the call makes it)", n)
	}
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func body(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitFor polls cond until it holds, failing after d or when serve exits.
func waitFor(t *testing.T, d time.Duration, what string, done <-chan error, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("serve exited while waiting for %s: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
