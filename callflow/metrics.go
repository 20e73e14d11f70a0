package callflow

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	calls      *prometheus.CounterVec // by outcome
	active     prometheus.Gauge
	cases      prometheus.Counter
	voicemails *prometheus.CounterVec // by silent
	errors     *prometheus.CounterVec // by operation
	panics     prometheus.Counter
	keyToPlay  prometheus.Histogram
	turnedAway prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "calls_total",
			Help: "Calls ended, by outcome.",
		}, []string{"outcome"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "active_calls",
			Help: "Calls being handled now.",
		}),
		cases: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "cases_created_total",
			Help: "Cases created for calls.",
		}),
		voicemails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "voicemails_stored_total",
			Help: "Voice messages stored on disk, by whether they were silent.",
		}, []string{"silent"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "errors_total",
			Help: "Failed operations during calls (ARI requests, database writes, storage), by operation.",
		}, []string{"op"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "panics_total",
			Help: "Call goroutines that panicked and were ended cleanly.",
		}),
		turnedAway: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "turned_away_total",
			Help: "New calls handed back to the dialplan while the controller was draining.",
		}),
		keyToPlay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "hotline", Subsystem: "callflow", Name: "key_to_prompt_seconds",
			Help:    "From a DTMF event reaching the call to the next playback accepted by Asterisk.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.calls, m.active, m.cases, m.voicemails, m.errors, m.panics, m.keyToPlay, m.turnedAway} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("callflow metrics (one Runner per registry): %w", err)
		}
	}
	return m, nil
}
