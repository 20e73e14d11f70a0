package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/pion/webrtc/v4"
)

// Seats holds every agent's seat. It is safe for concurrent use.
type Seats struct {
	cfg     config
	api     *webrtc.API
	log     *slog.Logger
	events  *dispatcher
	metrics relayMetrics

	// Lock order: mu, then a seat's mu, then portMu.
	mu       sync.Mutex
	seats    map[AgentID]*seat
	shutdown bool
	wg       sync.WaitGroup // peer connections closing after a failure

	portMu   sync.Mutex
	nextPort uint16 // cursor in the RTP port range
}

// New returns an empty set of seats.
func New(opts ...Option) (*Seats, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	api, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	return &Seats{
		cfg:    cfg,
		api:    api,
		log:    cfg.log,
		events: newDispatcher(cfg.events),
		seats:  make(map[AgentID]*seat),
	}, nil
}

// Open answers the browser's offer for agent's seat and returns the answer
// SDP, with every candidate in it (ICE gathering is waited for, bounded by
// ctx and the gathering timeout, so signalling needs no trickle). An agent
// who already has a seat gets a new peer connection in place of the old
// one, and an attached call carries on over the new one: that is how a
// browser reconnects. Errors wrapping ErrBadOffer are the offer's fault.
func (s *Seats) Open(ctx context.Context, agent AgentID, offer string) (string, error) {
	if err := checkOffer(offer); err != nil {
		return "", fmt.Errorf("media: open seat for %s: %w", agent, err)
	}
	st, err := s.seatForOpen(agent)
	if err != nil {
		return "", err
	}
	p, answer, err := s.negotiate(ctx, st, offer)
	if err != nil {
		s.abandon(st)
		return "", fmt.Errorf("media: open seat for %s: %w", agent, err)
	}
	old, err := st.install(p)
	if err != nil {
		p.close()
		return "", fmt.Errorf("media: open seat for %s: %w", agent, err)
	}
	if old != nil {
		old.close()
	}
	s.onPeerState(st, p)
	st.log.Info("seat opened", "replaced", old != nil)
	return answer, nil
}

// Close closes agent's seat: the peer connection and any attached call's
// socket. It emits a SeatClosed event naming the call, if there was one.
// Closing an agent without a seat does nothing.
func (s *Seats) Close(agent AgentID) {
	s.mu.Lock()
	st := s.seats[agent]
	delete(s.seats, agent)
	s.mu.Unlock()
	if st != nil {
		s.closeSeat(st, "closed by controller")
	}
}

// Shutdown closes every seat, delivers the remaining events and waits for
// the seats' goroutines, or for ctx.
func (s *Seats) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	all := make([]*seat, 0, len(s.seats))
	for _, st := range s.seats {
		all = append(all, st)
	}
	clear(s.seats)
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		// Closing a peer connection waits for its goroutines; do a few at
		// a time rather than hundreds in a row.
		sem := make(chan struct{}, 16)
		var wg sync.WaitGroup
		for _, st := range all {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				s.closeSeat(st, "shutdown")
			})
		}
		wg.Wait()
		s.wg.Wait()
		s.events.close()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("media: shutdown: %w", ctx.Err())
	}
}

// AttachCall binds a UDP socket for call on agent's seat and starts
// relaying: RTP arriving on the socket goes to the browser, and the
// browser's audio goes back from the same socket to wherever Asterisk
// sends from (or to the address given with SetRemote until then). The
// returned address is the ExternalMedia channel's external_host.
//
// Attaching the call that is already attached returns its address again
// and lets the relay learn Asterisk's address afresh from the next packet:
// that is how the call flow points a new ExternalMedia channel at the same
// socket (delete the old channel first, or its last packets may win).
func (s *Seats) AttachCall(ctx context.Context, agent AgentID, call CallID) (*net.UDPAddr, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("media: attach call %s to %s: %w", call, agent, err)
	}
	st := s.lookup(agent)
	if st == nil {
		return nil, fmt.Errorf("media: attach call %s: %w: %s", call, ErrNoSeat, agent)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, fmt.Errorf("media: attach call %s: %w: %s", call, ErrNoSeat, agent)
	}
	if a := st.call.Load(); a != nil {
		if a.call == call {
			// Re-attaching means a new ExternalMedia channel may be
			// talking to the socket (the call flow rebuilt it after the
			// seat dropped): learn Asterisk's address afresh.
			a.relearn()
			return net.UDPAddrFromAddrPort(a.local), nil
		}
		return nil, fmt.Errorf("media: attach call %s to %s: %w (%s)", call, agent, ErrSeatBusy, a.call)
	}
	if !st.state.live() {
		return nil, fmt.Errorf("media: attach call %s to %s: %w (%s)", call, agent, ErrSeatDown, st.state)
	}
	conn, err := s.listenRTP()
	if err != nil {
		return nil, fmt.Errorf("media: attach call %s to %s: %w", call, agent, err)
	}
	a := newAttachment(st, call, conn)
	st.outMu.Lock()
	st.out.restart()
	st.outMu.Unlock()
	st.call.Store(a)
	go a.run()
	a.log.Info("call attached", "rtp", a.local)
	return net.UDPAddrFromAddrPort(a.local), nil
}

// DetachCall stops relaying call and closes its socket; when it returns,
// no packet of the call will be sent either way. Detaching a call that is
// not attached (already detached, or another call) does nothing.
func (s *Seats) DetachCall(agent AgentID, call CallID) {
	st := s.lookup(agent)
	if st == nil {
		return
	}
	st.mu.Lock()
	a := st.call.Load()
	if a == nil || a.call != call {
		st.mu.Unlock()
		return
	}
	st.call.Store(nil)
	st.mu.Unlock()
	a.close()
	a.log.Info("call detached")
}

// SetRemote tells the relay where Asterisk receives the call's RTP (its
// UNICASTRTP_LOCAL_ADDRESS and _PORT), so the agent's audio can flow
// before Asterisk's first packet. The source of Asterisk's packets still
// wins: symmetric RTP is what Asterisk's strict RTP expects.
func (s *Seats) SetRemote(agent AgentID, call CallID, addr netip.AddrPort) error {
	if !addr.IsValid() || addr.Addr().IsUnspecified() || addr.Port() == 0 {
		return fmt.Errorf("media: set remote of call %s: unusable address %s", call, addr)
	}
	a, err := s.attached(agent, call)
	if err != nil {
		return err
	}
	a.setRemote(addr)
	return nil
}

// SetMuted mutes or unmutes the agent in the attached call: while muted,
// the caller gets silence instead of the agent's audio.
func (s *Seats) SetMuted(agent AgentID, muted bool) error {
	a, err := s.attached(agent, "")
	if err != nil {
		return err
	}
	a.muted.Store(muted)
	a.log.Info("mute", "muted", muted)
	return nil
}

// SetHeld holds or resumes the attached call on the agent's side: while
// held, the agent gets silence instead of the caller's audio. (What the
// caller hears on hold is the call flow's business.)
func (s *Seats) SetHeld(agent AgentID, held bool) error {
	a, err := s.attached(agent, "")
	if err != nil {
		return err
	}
	a.held.Store(held)
	a.log.Info("hold", "held", held)
	return nil
}

// Health returns agent's seat health, and false when agent has no seat.
func (s *Seats) Health(agent AgentID) (Health, bool) {
	st := s.lookup(agent)
	if st == nil {
		return Health{}, false
	}
	h := st.health()
	return h, h.State != 0
}

// HealthAll returns every seat's health, ordered by agent.
func (s *Seats) HealthAll() []Health {
	s.mu.Lock()
	all := make([]*seat, 0, len(s.seats))
	for _, st := range s.seats {
		all = append(all, st)
	}
	s.mu.Unlock()
	out := make([]Health, 0, len(all))
	for _, st := range all {
		if h := st.health(); h.State != 0 {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b Health) int {
		switch {
		case a.Agent < b.Agent:
			return -1
		case a.Agent > b.Agent:
			return 1
		}
		return 0
	})
	return out
}

func (s *Seats) lookup(agent AgentID) *seat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seats[agent]
}

// attached returns the call attached to agent's seat; call "" means any.
func (s *Seats) attached(agent AgentID, call CallID) (*attachment, error) {
	st := s.lookup(agent)
	if st == nil {
		return nil, fmt.Errorf("media: %w: %s", ErrNoSeat, agent)
	}
	a := st.call.Load()
	if a == nil || (call != "" && a.call != call) {
		return nil, fmt.Errorf("media: %w: call %q on %s", ErrNoCall, call, agent)
	}
	return a, nil
}

// seatForOpen returns agent's seat, creating it, and counts an Open in
// progress on it so that a failed Open does not remove a seat another Open
// is about to use.
func (s *Seats) seatForOpen(agent AgentID) (*seat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil, ErrShutdown
	}
	st := s.seats[agent]
	if st == nil {
		st = newSeat(s, agent)
		s.seats[agent] = st
	}
	st.mu.Lock()
	st.pending++
	st.mu.Unlock()
	return st, nil
}

// abandon undoes seatForOpen after a failed negotiation, removing a seat
// that never had a peer connection.
func (s *Seats) abandon(st *seat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pending--
	if st.pending == 0 && st.peer == nil && st.state == 0 && st.call.Load() == nil && s.seats[st.agent] == st {
		delete(s.seats, st.agent)
	}
}

func (s *Seats) closeSeat(st *seat, reason string) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	p := st.peer
	st.peer = nil
	st.track.Store(nil)
	a := st.call.Swap(nil)
	var call CallID
	if a != nil {
		call = a.call
	}
	if st.state != 0 {
		st.setState(SeatClosed, reason)
		s.events.push(Event{Agent: st.agent, State: SeatClosed, Call: call, Reason: reason, At: st.since})
	}
	st.mu.Unlock()
	if a != nil {
		a.close()
	}
	if p != nil {
		p.close()
	}
	st.log.Info("seat closed", "reason", reason, "call", call)
}

// onPeerState follows p's connection state onto its seat. pion calls
// handlers on goroutines of their own, so the state is read afresh under
// the seat's lock rather than taken from the callback's argument: that way
// callbacks that run out of order cannot leave a stale state behind.
func (s *Seats) onPeerState(st *seat, p *peer) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed || st.peer != p {
		return
	}
	var next SeatState
	var reason string
	switch p.pc.ConnectionState() {
	case webrtc.PeerConnectionStateConnected:
		next = SeatConnected
	case webrtc.PeerConnectionStateDisconnected:
		next, reason = SeatDisconnected, "no traffic from browser"
	case webrtc.PeerConnectionStateFailed:
		next, reason = SeatFailed, "ice failed"
	case webrtc.PeerConnectionStateClosed:
		next, reason = SeatFailed, "closed by browser"
	default:
		next = SeatConnecting
	}
	if next == st.state {
		return
	}
	st.setState(next, reason)
	if next == SeatFailed {
		st.track.Store(nil)
		// Closing waits for pion's goroutines, which must not be done
		// from inside one of its callbacks.
		s.wg.Go(p.close)
	}
	var call CallID
	if a := st.call.Load(); a != nil {
		call = a.call
	}
	level := slog.LevelInfo
	if next == SeatFailed || (next == SeatDisconnected && call != "") {
		level = slog.LevelWarn
	}
	st.log.Log(context.Background(), level, "seat state", "state", next, "reason", reason, "call", call)
	s.events.push(Event{Agent: st.agent, State: next, Call: call, Reason: reason, At: st.since})
}

// listenRTP binds a call socket on the RTP host, in the port range if one
// is configured.
func (s *Seats) listenRTP() (*net.UDPConn, error) {
	lo, hi := s.cfg.rtpPortMin, s.cfg.rtpPortMax
	if hi == 0 {
		return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.cfg.rtpHost, 0)))
	}
	s.portMu.Lock()
	defer s.portMu.Unlock()
	n := int(hi-lo) + 1
	for i := range n {
		port := lo + uint16((int(s.nextPort)+i)%n)
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.cfg.rtpHost, port)))
		if err == nil {
			s.nextPort = uint16((int(s.nextPort) + i + 1) % n)
			return conn, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("bind RTP port %d: %w", port, err)
		}
	}
	return nil, fmt.Errorf("no free RTP port in %d-%d", lo, hi)
}
