package media

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Direction names one way through the relay.
type Direction int

const (
	// ToAgent is Asterisk -> seat -> browser: from the return of the read
	// on the call socket to the return of the WebRTC track write (SRTP
	// and the send on the ICE socket included).
	ToAgent Direction = iota
	// ToCaller is browser -> seat -> Asterisk: from the return of the
	// track read (after SRTP) to the return of the UDP send.
	ToCaller
)

func (d Direction) String() string {
	if d == ToAgent {
		return "to_agent"
	}
	return "to_caller"
}

// relayMetrics are the process-wide relay figures; per-seat counts live
// on the seats.
type relayMetrics struct {
	latency [2]histogram
	// socketWait is how long Asterisk's packets waited in the call socket
	// before the relay read them (kernel receive timestamp to read), on
	// Linux: scheduling delay, which adds to ToAgent.
	socketWait histogram
	packets    [2]atomic.Uint64
	dropped    atomic.Uint64
}

var (
	descLatency = prometheus.NewDesc("hotline_seat_relay_latency_seconds",
		"Time a packet spends in the seat relay, by direction.", []string{"direction"}, nil)
	descWait = prometheus.NewDesc("hotline_seat_relay_socket_wait_seconds",
		"Time Asterisk's packets wait in the call socket before the relay reads them.", nil, nil)
	descPackets = prometheus.NewDesc("hotline_seat_relay_packets_total",
		"RTP packets relayed between Asterisk and agent seats, by direction.", []string{"direction"}, nil)
	descDropped = prometheus.NewDesc("hotline_seat_relay_dropped_total",
		"Datagrams the seat relay did not forward (not PCMU RTP, foreign source, seat down).", nil, nil)
	descSeats = prometheus.NewDesc("hotline_seats",
		"Agent seats, by state.", []string{"state"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Seats) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLatency
	ch <- descWait
	ch <- descPackets
	ch <- descDropped
	ch <- descSeats
}

// Collect implements prometheus.Collector.
func (s *Seats) Collect(ch chan<- prometheus.Metric) {
	for _, d := range []Direction{ToAgent, ToCaller} {
		ch <- s.metrics.latency[d].prometheus(descLatency, d.String())
		ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue,
			float64(s.metrics.packets[d].Load()), d.String())
	}
	ch <- s.metrics.socketWait.prometheus(descWait)
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(s.metrics.dropped.Load()))
	counts := make(map[SeatState]int)
	for _, h := range s.HealthAll() {
		counts[h.State]++
	}
	for _, st := range []SeatState{SeatConnecting, SeatConnected, SeatDisconnected, SeatFailed} {
		ch <- prometheus.MustNewConstMetric(descSeats, prometheus.GaugeValue, float64(counts[st]), st.String())
	}
}

// prometheus exports h with buckets at powers of two from 16 µs to 134 ms,
// which are exact bucket edges of the fine histogram.
func (h *histogram) prometheus(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64)
	var cum uint64
	next := 14 // 2^14 ns
	for i := range histBuckets {
		for next <= 27 && histUpper(i) > 1<<next {
			buckets[float64(uint64(1)<<next)/1e9] = cum
			next++
		}
		cum += h.counts[i].Load()
	}
	for ; next <= 27; next++ {
		buckets[float64(uint64(1)<<next)/1e9] = cum
	}
	return prometheus.MustNewConstHistogram(desc, cum, float64(h.sumNs.Load())/1e9, buckets, labels...)
}

// SocketWait summarises how long Asterisk's packets waited in the call
// sockets before the relay read them (Linux only; zero elsewhere). Add it
// to RelayLatency(ToAgent) for the time from arrival to the browser.
func (s *Seats) SocketWait() LatencySummary { return s.metrics.socketWait.summary() }

// RelayLatency summarises the relay latency of one direction since the
// start or the last ResetRelayLatency.
func (s *Seats) RelayLatency(d Direction) LatencySummary { return s.metrics.latency[d].summary() }

// ResetRelayLatency clears the latency and socket wait histograms (the Prometheus
// histograms then restart too; use it for measurements, not in production).
func (s *Seats) ResetRelayLatency() {
	s.metrics.latency[ToAgent].reset()
	s.metrics.latency[ToCaller].reset()
	s.metrics.socketWait.reset()
}
