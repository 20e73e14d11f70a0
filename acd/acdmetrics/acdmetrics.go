// Package acdmetrics exports the distributor's queue statistics and error counts to
// Prometheus.
package acdmetrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/acd"
)

// Source builds the wallboard a scrape reports, e.g. acd.BuildWallboard over the store.
type Source func(ctx context.Context) (acd.Wallboard, error)

// Collector reports a wallboard as gauges, computed afresh on each scrape.
type Collector struct {
	source  Source
	timeout time.Duration

	waiting, callbacks, longest, answered, abandoned, diverted *prometheus.Desc
	sl, abandonRate, asa, aht, ewt, agents                     *prometheus.Desc
	failures                                                   prometheus.Counter
}

// NewCollector returns a collector reading source, each read bounded by timeout.
func NewCollector(source Source, timeout time.Duration) *Collector {
	q := []string{"queue"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("hotline_acd_"+name, help, labels, nil)
	}
	return &Collector{
		source: source, timeout: timeout,
		waiting:     d("queue_waiting_calls", "Calls waiting in the queue.", q...),
		callbacks:   d("queue_waiting_callbacks", "Callback tasks waiting in the queue.", q...),
		longest:     d("queue_longest_wait_seconds", "Wait of the longest waiting call.", q...),
		answered:    d("queue_answered_calls", "Calls answered in the statistics window.", q...),
		abandoned:   d("queue_abandoned_calls", "Calls abandoned in the statistics window.", q...),
		diverted:    d("queue_diverted_calls", "Calls that left for voicemail or a callback in the statistics window.", q...),
		sl:          d("queue_service_level_ratio", "Calls answered within the threshold, over answered (definition=answered) or answered plus abandoned (definition=with_abandons).", "queue", "definition"),
		abandonRate: d("queue_abandon_ratio", "Abandoned over answered plus abandoned calls in the window.", q...),
		asa:         d("queue_asa_seconds", "Average speed of answer in the window.", q...),
		aht:         d("queue_aht_seconds", "Average handle time (talk plus wrap-up) in the window.", q...),
		ewt:         d("queue_estimated_wait_seconds", "Estimated wait of a new caller, from recent answered waits.", q...),
		agents:      d("agents", "Logged-in agents by state.", "state"),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_acd_wallboard_failures_total",
			Help: "Scrapes that could not read the distributor's state.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.callbacks, c.longest, c.answered, c.abandoned, c.diverted,
		c.sl, c.abandonRate, c.asa, c.aht, c.ewt, c.agents} {
		ch <- d
	}
	c.failures.Describe(ch)
}

// Collect implements prometheus.Collector. A failed read counts a failure and reports no
// queue gauges, rather than failing the whole scrape.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	defer c.failures.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	w, err := c.source(ctx)
	if err != nil {
		c.failures.Inc()
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range w.Queues {
		q := string(s.Queue)
		gauge(c.waiting, float64(s.Waiting), q)
		gauge(c.callbacks, float64(s.CallbacksWaiting), q)
		gauge(c.longest, s.LongestWait.Seconds(), q)
		gauge(c.answered, float64(s.Answered), q)
		gauge(c.abandoned, float64(s.Abandoned), q)
		gauge(c.diverted, float64(s.Diverted), q)
		// Undefined ratios (nothing answered yet) are left out rather than shown as 0 or 1.
		if s.ServiceLevel.Defined {
			gauge(c.sl, s.ServiceLevel.Value, q, "answered")
		}
		if s.ServiceLevelAbandons.Defined {
			gauge(c.sl, s.ServiceLevelAbandons.Value, q, "with_abandons")
		}
		if s.AbandonRate.Defined {
			gauge(c.abandonRate, s.AbandonRate.Value, q)
		}
		if s.Answered > 0 {
			gauge(c.asa, s.ASA.Seconds(), q)
		}
		if s.Handled > 0 {
			gauge(c.aht, s.AHT.Seconds(), q)
		}
		if s.EstimatedWaitKnown {
			gauge(c.ewt, s.EstimatedWait.Seconds(), q)
		}
	}
	for state, n := range w.Agents {
		gauge(c.agents, float64(n), state)
	}
}

// Errors counts the distributor's errors by operation and kind, so that state conflicts,
// which callers log and go on from, stay visible.
type Errors struct {
	vec *prometheus.CounterVec
}

// Error kinds, the "kind" label.
var kinds = []struct {
	err  error
	name string
}{
	{acd.ErrStateConflict, "state_conflict"},
	{acd.ErrIllegalTransition, "illegal_transition"},
	{acd.ErrContention, "contention"},
	{acd.ErrQueueFull, "queue_full"},
	{acd.ErrNotEligible, "not_eligible"},
	{acd.ErrUnknownAgent, "unknown_agent"},
	{acd.ErrUnknownItem, "unknown_item"},
	{acd.ErrInvalid, "invalid"},
	{context.DeadlineExceeded, "timeout"},
}

// Kind names an error's kind: state_conflict, illegal_transition, contention, queue_full,
// not_eligible, unknown_agent, unknown_item, invalid, timeout or other.
func Kind(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

// Count counts err, if any, as an error of the operation op (e.g. "offer").
func (e *Errors) Count(op string, err error) {
	if err != nil {
		e.vec.WithLabelValues(op, Kind(err)).Inc()
	}
}

// Register registers a Collector over source and the error counter with reg.
func Register(reg prometheus.Registerer, source Source, timeout time.Duration) (*Errors, error) {
	e := &Errors{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_acd_errors_total",
		Help: "Distributor errors by operation and kind; state_conflict counts compare-and-set misses.",
	}, []string{"op", "kind"})}
	if err := reg.Register(NewCollector(source, timeout)); err != nil {
		return nil, err
	}
	if err := reg.Register(e.vec); err != nil {
		return nil, err
	}
	return e, nil
}
