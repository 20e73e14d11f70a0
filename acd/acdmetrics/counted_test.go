package acdmetrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/acd"
	"hotline/acd/acdmetrics"
	"hotline/acd/memstore"
)

// TestCountedStore: a compare-and-set miss (two controllers moving the same agent) and an
// illegal move are counted by operation and kind; successes and reads are not.
func TestCountedStore(t *testing.T) {
	router, err := acd.NewRouter(acd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	errs, err := acdmetrics.Register(reg, func(context.Context) (acd.Wallboard, error) { return acd.Wallboard{}, nil }, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := acdmetrics.Count(memstore.New(router, acd.SystemClock{}), errs)
	ctx := context.Background()
	if _, err := s.Login(ctx, acd.Agent{ID: "amy", Name: "Amy"}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	// Another controller thought amy was not ready: refused, counted.
	if _, err := s.SetState(ctx, "amy", acd.StateNotReady, acd.StateReady, ""); err == nil {
		t.Fatal("a stale compare-and-set succeeded")
	}
	if _, err := s.Login(ctx, acd.Agent{ID: "amy"}, acd.StateReady, ""); err == nil {
		t.Fatal("a second login succeeded")
	}
	if _, err := s.Agent(ctx, "nobody"); err == nil {
		t.Fatal("read of an unknown agent succeeded")
	}
	want := `
# HELP hotline_acd_errors_total Distributor errors by operation and kind; state_conflict counts compare-and-set misses.
# TYPE hotline_acd_errors_total counter
hotline_acd_errors_total{kind="state_conflict",op="login"} 1
hotline_acd_errors_total{kind="state_conflict",op="set_state"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "hotline_acd_errors_total"); err != nil {
		t.Error(err)
	}
}
