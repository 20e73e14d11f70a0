package media

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"hotline/rtp"
)

// silence is µ-law digital silence (the code for 0 is 0xFF), the payload
// sent in place of muted or held audio.
var silence = func() (b [1500]byte) {
	for i := range b {
		b[i] = 0xFF
	}
	return b
}()

// seat is one agent's seat: the current peer connection, the attached
// call, and the counters, which outlive both.
type seat struct {
	s     *Seats
	agent AgentID
	log   *slog.Logger

	mu      sync.Mutex
	peer    *peer
	state   SeatState // 0 until the first peer connection is installed
	reason  string
	since   time.Time
	closed  bool
	pending int // Opens in progress

	track atomic.Pointer[webrtc.TrackLocalStaticRTP] // nil while down
	call  atomic.Pointer[attachment]

	// The stream to the browser stays one stream across calls.
	outMu sync.Mutex
	out   *sequencer

	inMu sync.Mutex
	in   inboundStats

	rrMu sync.Mutex
	rr   StreamStats // loss and jitter from the browser's receiver reports

	fromAgentPackets, fromAgentBytes atomic.Uint64
	toAgentPackets, toAgentBytes     atomic.Uint64
	fromPBX, toPBX, dropped          atomic.Uint64
}

func newSeat(s *Seats, agent AgentID) *seat {
	return &seat{s: s, agent: agent, log: s.log.With("agent", string(agent)), out: newSequencer()}
}

// setState records a state change; st.mu is held.
func (st *seat) setState(next SeatState, reason string) {
	st.state, st.reason, st.since = next, reason, time.Now()
}

// install makes p the seat's peer connection and returns the one it
// replaces.
func (st *seat) install(p *peer) (*peer, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pending--
	if st.closed {
		return nil, errors.New("seat closed while opening")
	}
	old := st.peer
	st.peer = p
	st.track.Store(p.track)
	return old, nil
}

func (st *seat) drop() {
	st.dropped.Add(1)
	st.s.metrics.dropped.Add(1)
}

// fromAgent takes one RTP packet from the browser.
func (st *seat) fromAgent(p *rtp.Packet, at time.Time) {
	st.fromAgentPackets.Add(1)
	st.fromAgentBytes.Add(uint64(len(p.Payload)))
	st.inMu.Lock()
	st.in.add(p.SSRC, p.SequenceNumber, p.Timestamp, at)
	st.inMu.Unlock()
	if a := st.call.Load(); a != nil {
		a.toPBX(p, at)
	}
}

// toAgent sends one packet from Asterisk to the browser, re-stamped into
// the seat's continuous stream; out is the caller's scratch packet.
func (st *seat) toAgent(in *rtp.Packet, at time.Time, held bool, out *pionrtp.Packet) {
	track := st.track.Load()
	if track == nil {
		st.drop()
		return
	}
	payload := in.Payload
	if held && len(payload) <= len(silence) {
		payload = silence[:len(payload)]
	}
	st.outMu.Lock()
	seq, ts, first := st.out.next(in.SSRC, in.SequenceNumber, in.Timestamp, at)
	st.outMu.Unlock()
	// TrackLocalStaticRTP sets the SSRC and payload type negotiated for
	// the browser.
	out.Header = pionrtp.Header{Version: 2, Marker: first || in.Marker, SequenceNumber: seq, Timestamp: ts}
	out.Payload = payload
	if err := track.WriteRTP(out); err != nil {
		st.drop()
		return
	}
	st.s.metrics.latency[ToAgent].observe(time.Since(at))
	st.s.metrics.packets[ToAgent].Add(1)
	st.toAgentPackets.Add(1)
	st.toAgentBytes.Add(uint64(len(payload)))
}

// noteReports records the browser's receiver report about our stream.
func (st *seat) noteReports(ssrc uint32, reports []rtcp.ReceptionReport) {
	for _, r := range reports {
		if r.SSRC != ssrc {
			continue
		}
		st.rrMu.Lock()
		st.rr.Reports++
		st.rr.Lost = int64(r.TotalLost)
		if r.TotalLost&0x800000 != 0 { // 24-bit signed
			st.rr.Lost -= 1 << 24
		}
		st.rr.FractionLost = float64(r.FractionLost) / 256
		st.rr.Jitter = time.Duration(float64(r.Jitter) * float64(time.Second) / clockRate)
		st.rrMu.Unlock()
	}
}

func (st *seat) health() Health {
	st.mu.Lock()
	h := Health{Agent: st.agent, State: st.state, Reason: st.reason, Since: st.since}
	p := st.peer
	st.mu.Unlock()
	if p != nil {
		h.ICEState = p.pc.ICEConnectionState().String()
	}
	if a := st.call.Load(); a != nil {
		h.Call, h.RelayAddr = a.call, a.local
		if r := a.remote.Load(); r != nil {
			h.PBXAddr = *r
		}
		h.Muted, h.Held = a.muted.Load(), a.held.Load()
	}
	st.inMu.Lock()
	h.FromAgent.Lost, h.FromAgent.Jitter = st.in.lost(), st.in.jitterDuration()
	st.inMu.Unlock()
	h.FromAgent.Packets, h.FromAgent.Bytes = st.fromAgentPackets.Load(), st.fromAgentBytes.Load()
	st.rrMu.Lock()
	h.ToAgent = st.rr
	st.rrMu.Unlock()
	h.ToAgent.Packets, h.ToAgent.Bytes = st.toAgentPackets.Load(), st.toAgentBytes.Load()
	h.Relay = RelayCounts{FromPBX: st.fromPBX.Load(), ToPBX: st.toPBX.Load(), Dropped: st.dropped.Load()}
	return h
}
