package acdmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/acd"
	"hotline/acd/acdmetrics"
)

func TestCollector(t *testing.T) {
	w := acd.Wallboard{
		Queues: []acd.QueueStats{
			{Queue: "general", Waiting: 3, CallbacksWaiting: 1, LongestWait: 42 * time.Second, Answered: 10, Abandoned: 2, Handled: 9,
				ServiceLevel: acd.Ratio{Value: 0.8, Defined: true}, ServiceLevelAbandons: acd.Ratio{Value: 8.0 / 12, Defined: true},
				AbandonRate: acd.Ratio{Value: 2.0 / 12, Defined: true}, ASA: 12 * time.Second, AHT: 5 * time.Minute,
				EstimatedWait: 15 * time.Second, EstimatedWaitKnown: true},
			{Queue: "price"},
		},
		Agents: map[string]int{"ready": 4, "on_call": 2},
	}
	var fail error
	reg := prometheus.NewPedanticRegistry()
	errs, err := acdmetrics.Register(reg, func(context.Context) (acd.Wallboard, error) { return w, fail }, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP hotline_acd_queue_waiting_calls Calls waiting in the queue.
# TYPE hotline_acd_queue_waiting_calls gauge
hotline_acd_queue_waiting_calls{queue="general"} 3
hotline_acd_queue_waiting_calls{queue="price"} 0
# HELP hotline_acd_queue_service_level_ratio Calls answered within the threshold, over answered (definition=answered) or answered plus abandoned (definition=with_abandons).
# TYPE hotline_acd_queue_service_level_ratio gauge
hotline_acd_queue_service_level_ratio{definition="answered",queue="general"} 0.8
hotline_acd_queue_service_level_ratio{definition="with_abandons",queue="general"} 0.6666666666666666
# HELP hotline_acd_queue_asa_seconds Average speed of answer in the window.
# TYPE hotline_acd_queue_asa_seconds gauge
hotline_acd_queue_asa_seconds{queue="general"} 12
# HELP hotline_acd_queue_estimated_wait_seconds Estimated wait of a new caller, from recent answered waits.
# TYPE hotline_acd_queue_estimated_wait_seconds gauge
hotline_acd_queue_estimated_wait_seconds{queue="general"} 15
# HELP hotline_acd_agents Logged-in agents by state.
# TYPE hotline_acd_agents gauge
hotline_acd_agents{state="on_call"} 2
hotline_acd_agents{state="ready"} 4
# HELP hotline_acd_wallboard_failures_total Scrapes that could not read the distributor's state.
# TYPE hotline_acd_wallboard_failures_total counter
hotline_acd_wallboard_failures_total 0
`
	names := []string{"hotline_acd_queue_waiting_calls", "hotline_acd_queue_service_level_ratio", "hotline_acd_queue_asa_seconds",
		"hotline_acd_queue_estimated_wait_seconds", "hotline_acd_agents", "hotline_acd_wallboard_failures_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}

	errs.Count("offer", fmt.Errorf("offer: %w", &acd.ConflictError{Op: "offer", Agent: "a1", Want: "reserved", Got: "ready"}))
	errs.Count("offer", nil)
	errs.Count("enqueue", acd.ErrQueueFull)
	errs.Count("reserve", errors.New("connection refused"))
	fail = errors.New("redis down")
	want = `
# HELP hotline_acd_errors_total Distributor errors by operation and kind; state_conflict counts compare-and-set misses.
# TYPE hotline_acd_errors_total counter
hotline_acd_errors_total{kind="other",op="reserve"} 1
hotline_acd_errors_total{kind="queue_full",op="enqueue"} 1
hotline_acd_errors_total{kind="state_conflict",op="offer"} 1
# HELP hotline_acd_wallboard_failures_total Scrapes that could not read the distributor's state.
# TYPE hotline_acd_wallboard_failures_total counter
hotline_acd_wallboard_failures_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "hotline_acd_errors_total", "hotline_acd_wallboard_failures_total", "hotline_acd_queue_waiting_calls"); err != nil {
		t.Fatal(err)
	}
}
