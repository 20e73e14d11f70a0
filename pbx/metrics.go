package pbx

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons an event from Asterisk does not reach the library.
const (
	dropUnknownType = "unknown_type" // a type v5.3.1 cannot decode: it would crash the library
	dropUndecodable = "undecodable"  // known type, but the library's decoder fails on it
	dropMalformed   = "malformed"    // not JSON or no type
)

// metrics are the adapter's Prometheus series plus plain counters the tests
// (and a status page) can read without scraping.
type metrics struct {
	eventsIn      *prometheus.CounterVec
	eventsDropped *prometheus.CounterVec
	reconnects    prometheus.Counter
	replaced      prometheus.Counter
	unrouted      prometheus.Counter
	resyncVanish  prometheus.Counter
	resyncOrphan  prometheus.Counter

	mu      sync.Mutex
	dropped map[string]int // by event type
}

func newMetrics(app string, reg prometheus.Registerer) (*metrics, error) {
	labels := prometheus.Labels{"app": app}
	m := &metrics{
		eventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_pbx_events_received_total", Help: "ARI events received from Asterisk, by type.", ConstLabels: labels,
		}, []string{"type"}),
		eventsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_pbx_events_dropped_total", Help: "ARI events the guard kept from the client library, by type and reason.", ConstLabels: labels,
		}, []string{"type", "reason"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_pbx_reconnects_total", Help: "Event socket reconnections to Asterisk after the first connect.", ConstLabels: labels,
		}),
		replaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_pbx_application_replaced_total", Help: "ApplicationReplaced alarms: another socket took our Stasis app.", ConstLabels: labels,
		}),
		unrouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_pbx_events_unrouted_total", Help: "Events for channels or bridges nobody subscribed to.", ConstLabels: labels,
		}),
		resyncVanish: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_pbx_resync_vanished_total", Help: "Channels and bridges found gone by a resync.", ConstLabels: labels,
		}),
		resyncOrphan: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_pbx_resync_orphans_total", Help: "Channels and bridges in our app that the controller did not know.", ConstLabels: labels,
		}),
		dropped: map[string]int{},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.eventsIn, m.eventsDropped, m.reconnects, m.replaced, m.unrouted, m.resyncVanish, m.resyncOrphan} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("pbx metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) drop(typ, reason string) {
	m.eventsDropped.WithLabelValues(typ, reason).Inc()
	m.mu.Lock()
	m.dropped[typ]++
	m.mu.Unlock()
}

func (m *metrics) droppedSnapshot() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.dropped))
	for k, v := range m.dropped {
		out[k] = v
	}
	return out
}
