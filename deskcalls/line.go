// Package deskcalls connects the call flow's queue to agents on WebRTC seats of the agent
// desk. Line is both sides of that: a callflow.AgentLine (the queue rings an agent: the
// offer goes to the agent's desk, and an accepted offer becomes an ExternalMedia channel
// pointed at the agent's seat) and the agentdesk.Calls the desk drives (accept, reject,
// hang up, the disposition).
package deskcalls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"time"

	"hotline/acd"
	"hotline/agentdesk"
	"hotline/agentdesk/media"
	"hotline/callflow"
	"hotline/cases"
	"hotline/pbx"
)

// Desk is what the line tells the agent's desk: (*agentdesk.Desk).
type Desk interface {
	Ring(ctx context.Context, agent acd.AgentID, o agentdesk.Offer) error
	CancelOffer(ctx context.Context, agent acd.AgentID, offer agentdesk.OfferID, reason string)
	Connected(ctx context.Context, agent acd.AgentID, c agentdesk.Call) error
	Ended(ctx context.Context, agent acd.AgentID, call agentdesk.CallID, reason string) error
}

// Seats is the part of (*media.Seats) the line uses: the seat's RTP socket of a call.
type Seats interface {
	AttachCall(ctx context.Context, agent media.AgentID, call media.CallID) (*net.UDPAddr, error)
	DetachCall(agent media.AgentID, call media.CallID)
	SetRemote(agent media.AgentID, call media.CallID, addr netip.AddrPort) error
	Health(agent media.AgentID) (media.Health, bool)
}

// PBX is what the line needs of Asterisk: (*pbx.Client).
type PBX interface {
	ExternalMedia(ctx context.Context, req pbx.ExternalMediaRequest) (*pbx.ExternalMedia, error)
	Hangup(ctx context.Context, channelID string, reason pbx.HangupReason) error
}

// CaseStore is what a disposition writes: (*cases.Store). Register is the one writer of a
// case's kind, status and due time (the call flow registers through it too).
type CaseStore interface {
	FindByNumber(ctx context.Context, number cases.Number) (cases.Detail, error)
	Register(ctx context.Context, id cases.CaseID, r cases.Registration) error
}

// Config wires a Line. Desk, Seats, PBX, Cases and Deadlines are required.
type Config struct {
	Desk      Desk
	Seats     Seats
	PBX       PBX
	Cases     CaseStore
	Deadlines callflow.Deadlines
	// Fallback rings agents without a connected seat (a SIP phone); nil: such agents are
	// rung on the desk anyway, and a seat that is not up fails the answer.
	Fallback callflow.AgentLine
	// RequestTimeout bounds the PBX and seat requests of an answer. Default 5s.
	RequestTimeout time.Duration
	// SeatGrace is how long a caller whose agent's seat dropped mid-call waits for it to
	// come back before the call goes back to the queue. Default callflow.DefaultSeatGrace.
	SeatGrace time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

// Line rings agents on their desks and seats. Build it with New; give it to the queue as
// its callflow.AgentLine and to the desk as its agentdesk.Calls. Set the desk with SetDesk
// when the desk is made after the line (the desk needs the line as its Calls).
type Line struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	desk  Desk
	rings map[agentdesk.OfferID]*seatLeg // offers shown, not yet answered
	calls map[agentdesk.CallID]*seatLeg  // answered legs, until closed
}

var (
	_ callflow.AgentLine = (*Line)(nil)
	_ agentdesk.Calls    = (*Line)(nil)
)

// New checks cfg and returns the line. cfg.Desk may be nil here and set with SetDesk.
func New(cfg Config) (*Line, error) {
	var missing []string
	if cfg.Seats == nil {
		missing = append(missing, "Seats")
	}
	if cfg.PBX == nil {
		missing = append(missing, "PBX")
	}
	if cfg.Cases == nil {
		missing = append(missing, "Cases")
	}
	if cfg.Deadlines == nil {
		missing = append(missing, "Deadlines")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("desk calls: missing %v", missing)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.SeatGrace <= 0 {
		cfg.SeatGrace = callflow.DefaultSeatGrace
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Line{cfg: cfg, log: cfg.Log, desk: cfg.Desk, rings: map[agentdesk.OfferID]*seatLeg{},
		calls: map[agentdesk.CallID]*seatLeg{}}, nil
}

// SetDesk sets the desk offers go to.
func (l *Line) SetDesk(d Desk) {
	l.mu.Lock()
	l.desk = d
	l.mu.Unlock()
}

func (l *Line) getDesk() Desk {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.desk
}

// legSuffix is what the queue appends to the caller's channel id to name an agent's leg.
var legSuffix = regexp.MustCompile(`-a[0-9]+$`)

// CallOf is the call (the caller's channel id) an agent leg's channel id belongs to, for a
// ring that does not name it (AgentRing.CallID).
func CallOf(legChannelID string) agentdesk.CallID {
	return agentdesk.CallID(legSuffix.ReplaceAllString(legChannelID, ""))
}

// seatUp reports whether the agent's seat can carry a call now.
func (l *Line) seatUp(agent acd.AgentID) bool {
	h, ok := l.cfg.Seats.Health(media.AgentID(agent))
	return ok && h.State == media.SeatConnected
}

// Ring shows the offer on the agent's desk; the leg answers when the agent accepts (and
// the ExternalMedia channel to their seat is up) and fails when they reject or the offer
// rings out. Agents without a connected seat go to the fallback line when there is one.
func (l *Line) Ring(ctx context.Context, r callflow.AgentRing) (callflow.Leg, error) {
	if l.cfg.Fallback != nil && !l.seatUp(r.Agent) {
		l.log.Info("desk calls: no connected seat; ringing the fallback line", "agent", r.Agent, "leg", r.ChannelID)
		return l.cfg.Fallback.Ring(ctx, r)
	}
	desk := l.getDesk()
	if desk == nil {
		return nil, fmt.Errorf("ring agent %s: no desk", r.Agent)
	}
	call := agentdesk.CallID(r.CallID)
	if call == "" {
		call = CallOf(r.ChannelID)
	}
	leg := &seatLeg{l: l, desk: desk, id: r.ChannelID, current: r.ChannelID, agent: r.Agent, call: call,
		offer: agentdesk.OfferID(r.ChannelID), caseNumber: cases.Number(r.CaseNumber), out: make(chan callflow.LegEvent, 4),
		answer: make(chan bool, 1), stop: make(chan struct{}), done: make(chan struct{}),
		log: l.log.With("agent", r.Agent, "call", call, "case", r.CaseNumber, "leg", r.ChannelID)}
	l.mu.Lock()
	l.rings[leg.offer] = leg
	l.mu.Unlock()
	o := agentdesk.Offer{ID: leg.offer, Call: call, Kind: agentdesk.OfferCall, CaseNumber: leg.caseNumber,
		Caller: cases.Phone(r.CallerID), Queue: string(r.Queue), Note: r.Note, RingUntil: l.cfg.Now().Add(r.Timeout)}
	if err := desk.Ring(ctx, r.Agent, o); err != nil {
		l.forget(leg)
		return nil, fmt.Errorf("ring agent %s on the desk: %w", r.Agent, err)
	}
	go leg.run(r.Timeout)
	return leg, nil
}

func (l *Line) forget(leg *seatLeg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rings[leg.offer] == leg {
		delete(l.rings, leg.offer)
	}
	if l.calls[leg.call] == leg {
		delete(l.calls, leg.call)
	}
}

// statusError is a refusal with the HTTP status the desk shows.
type statusError struct {
	msg    string
	status int
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) HTTPStatus() int { return e.status }

// ErrNotSupported: the line was made without callbacks (see WithCallbacks).
var ErrNotSupported = &statusError{msg: "callbacks are not configured on this controller", status: http.StatusNotImplemented}

func gone(format string, args ...any) error {
	return &statusError{msg: fmt.Sprintf(format, args...), status: http.StatusConflict}
}

func (l *Line) ringing(agent acd.AgentID, offer agentdesk.OfferID) (*seatLeg, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	leg := l.rings[offer]
	if leg == nil || leg.agent != agent {
		return nil, gone("offer %s is not ringing for %s", offer, agent)
	}
	return leg, nil
}

// Accept answers a ringing offer: the leg attaches the seat and connects the ExternalMedia
// channel, then tells the queue (bridge) and the desk (Connected).
func (l *Line) Accept(_ context.Context, agent acd.AgentID, offer agentdesk.OfferID) error {
	leg, err := l.ringing(agent, offer)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	if !leg.decide(true) {
		return fmt.Errorf("accept: %w", gone("offer %s was already answered", offer))
	}
	return nil
}

// Reject turns a ringing offer down: the queue takes it as no answer.
func (l *Line) Reject(_ context.Context, agent acd.AgentID, offer agentdesk.OfferID) error {
	leg, err := l.ringing(agent, offer)
	if err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	if !leg.decide(false) {
		return fmt.Errorf("reject: %w", gone("offer %s was already answered", offer))
	}
	return nil
}

// Hangup ends the agent's call: the ExternalMedia channel is hung up, the queue ends the
// conversation (the caller is hung up, the agent goes to wrap-up) and the desk is told.
func (l *Line) Hangup(ctx context.Context, agent acd.AgentID, call agentdesk.CallID) error {
	l.mu.Lock()
	leg := l.calls[call]
	l.mu.Unlock()
	if leg == nil || leg.agent != agent {
		return fmt.Errorf("hang up: %w", gone("call %s is not connected to %s", call, agent))
	}
	leg.setEndReason("agent hung up")
	if err := l.cfg.PBX.Hangup(ctx, leg.ChannelID(), pbx.HangupNormal); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		return fmt.Errorf("hang up call %s of %s: %w", call, agent, err)
	}
	return nil
}

// connectedLeg returns the leg of call if agent talks on it.
func (l *Line) connectedLeg(agent acd.AgentID, call agentdesk.CallID) (*seatLeg, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	leg := l.calls[call]
	if leg == nil || leg.agent != agent {
		return nil, gone("call %s is not connected to %s", call, agent)
	}
	return leg, nil
}

// Hold puts the caller on hold or takes them off it: the call's goroutine takes the caller
// out of the bridge to the hold media, or back. (The desk silences the caller on the
// agent's seat itself.)
func (l *Line) Hold(ctx context.Context, agent acd.AgentID, call agentdesk.CallID, held bool) error {
	leg, err := l.connectedLeg(agent, call)
	if err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	if err := leg.command(ctx, callflow.LegEvent{Kind: callflow.LegHold, Held: held}); err != nil {
		return fmt.Errorf("hold %s: %w", call, err)
	}
	return nil
}

// Transfer sends the call on, blind, through the call's goroutine: to a queue, or to an
// agent who must be ready. The agent's leg is deleted and the desk told (Ended,
// "transferred") before it returns.
func (l *Line) Transfer(ctx context.Context, agent acd.AgentID, call agentdesk.CallID, to agentdesk.Transfer) error {
	leg, err := l.connectedLeg(agent, call)
	if err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	err = leg.command(ctx, callflow.LegEvent{Kind: callflow.LegTransfer,
		To: callflow.LegTransferTarget{Queue: acd.QueueName(to.Queue), Agent: to.Agent, Note: to.Note}})
	if err != nil {
		return fmt.Errorf("transfer %s: %w", call, err)
	}
	l.log.Info("desk calls: transferred", "agent", agent, "call", call, "queue", to.Queue, "to_agent", to.Agent)
	return nil
}

// SeatEvent passes a seat state change to the call its agent talks on, if any: a seat that
// drops puts the caller on hold for the grace period, a seat that comes back resumes the
// call. Give it to media.New with media.WithEventHandler, beside the desk's.
func (l *Line) SeatEvent(e media.Event) {
	l.mu.Lock()
	var leg *seatLeg
	for _, g := range l.calls {
		if g.agent == acd.AgentID(e.Agent) {
			leg = g
			break
		}
	}
	l.mu.Unlock()
	if leg != nil {
		leg.noteSeat(e.State, e.Reason)
	}
}

// WrapUpDone registers the agent's disposition on the call's case: kind, status and the
// due time of the kind's first statutory step (counted from the case's receipt), with a
// trail entry carrying the summary. The desk then moves the agent out of wrap-up.
func (l *Line) WrapUpDone(ctx context.Context, agent acd.AgentID, call agentdesk.CallID, d agentdesk.Disposition) error {
	det, err := l.cfg.Cases.FindByNumber(ctx, d.CaseNumber)
	if err != nil {
		return fmt.Errorf("wrap up %s: case %s: %w", call, d.CaseNumber, err)
	}
	reg := cases.Registration{Kind: d.Kind, Status: d.Status, Actor: string(agent), Event: cases.EventRegistered,
		Detail: map[string]any{"via": "wrapup", "call": string(call), "summary": d.Summary}, At: l.cfg.Now()}
	if d.Status == cases.StatusClosed {
		reg.Event = cases.EventClosed
	} else {
		due, err := l.cfg.Deadlines.CaseDue(d.Kind, det.Case.ReceivedAt)
		if err != nil {
			return fmt.Errorf("wrap up %s: due time of case %s: %w", call, d.CaseNumber, err)
		}
		reg.DueAt, reg.DeadlineRule = due.At, due.Rule
	}
	if err := l.cfg.Cases.Register(ctx, det.Case.ID, reg); err != nil {
		return fmt.Errorf("wrap up %s: %w", call, err)
	}
	l.log.Info("desk calls: disposition registered", "agent", agent, "call", call, "case", d.CaseNumber,
		"kind", d.Kind, "status", d.Status)
	return nil
}

// seatLeg is an offer on an agent's desk and, once accepted, the ExternalMedia channel
// between the caller's bridge and the agent's seat.
type seatLeg struct {
	l          *Line
	desk       Desk
	id         string // the first ExternalMedia channel's id: the leg's name
	agent      acd.AgentID
	call       agentdesk.CallID
	offer      agentdesk.OfferID
	caseNumber cases.Number
	log        *slog.Logger

	out    chan callflow.LegEvent
	answer chan bool // the agent's decision: true accept, false reject
	stop   chan struct{}
	done   chan struct{} // run has returned
	once   sync.Once

	// Made on first use (chans), so that every way of making a leg has them.
	chansOnce sync.Once
	cmds      chan callflow.LegEvent  // the agent's commands, to the call's goroutine
	seatKick  chan struct{}           // the seat's state changed (seatState)
	swap      chan (<-chan pbx.Event) // a reconnect's new channel events (nil: none for now)

	mu         sync.Mutex
	decided    bool
	connected  bool // the desk shows the call connected
	media      *pbx.ExternalMedia
	current    string // the ExternalMedia channel's id now (a new one after a reconnect)
	reconnects int
	endReason  string
	seatState  media.SeatState
	seatWhy    string
}

// ChannelID is the id of the leg's ExternalMedia channel now.
func (g *seatLeg) ChannelID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == "" {
		return g.id
	}
	return g.current
}

func (g *seatLeg) chans() {
	g.chansOnce.Do(func() {
		g.cmds = make(chan callflow.LegEvent)
		g.seatKick = make(chan struct{}, 1)
		g.swap = make(chan (<-chan pbx.Event))
	})
}

func (g *seatLeg) Events() <-chan callflow.LegEvent { return g.out }

func (g *seatLeg) decide(accept bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.decided {
		return false
	}
	g.decided = true
	g.answer <- accept
	return true
}

func (g *seatLeg) setEndReason(r string) {
	g.mu.Lock()
	if g.endReason == "" {
		g.endReason = r
	}
	g.mu.Unlock()
}

// NoteEnd is why the call leaves the agent (callflow.EndNoter): the desk shows it.
func (g *seatLeg) NoteEnd(reason string) { g.setEndReason(reason) }

// command hands an agent's command to the call's goroutine and waits for its outcome.
func (g *seatLeg) command(ctx context.Context, ev callflow.LegEvent) error {
	g.chans()
	out := make(chan error, 1)
	ev.Reply = out
	select {
	case g.cmds <- ev:
	case <-g.done:
		return gone("call %s has ended", g.call)
	case <-ctx.Done():
		return fmt.Errorf("the call did not take the command: %w", ctx.Err())
	}
	select {
	case err := <-out:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no outcome from the call: %w", ctx.Err())
	}
}

// noteSeat records the seat's state; the run loop tells the call what it means.
func (g *seatLeg) noteSeat(st media.SeatState, why string) {
	g.chans()
	g.mu.Lock()
	g.seatState, g.seatWhy = st, why
	g.mu.Unlock()
	select {
	case g.seatKick <- struct{}{}:
	default:
	}
}

// seatNotice says what a seat state means to a call whose caller has (lost) or has not lost
// the agent: a pure function. Disconnected counts as lost: the caller hears nothing of the
// agent, and ICE may or may not recover.
func seatNotice(st media.SeatState, lost bool) (callflow.LegEventKind, bool) {
	switch st {
	case media.SeatDisconnected, media.SeatFailed, media.SeatClosed:
		if !lost {
			return callflow.LegSeatLost, true
		}
	case media.SeatConnected:
		if lost {
			return callflow.LegSeatBack, true
		}
	}
	return 0, false
}

func (g *seatLeg) emit(e callflow.LegEvent) bool {
	select {
	case g.out <- e:
		return true
	case <-g.stop:
		return false
	}
}

// run waits for the agent's decision or the ring timeout, connects an accepted offer and
// then follows the ExternalMedia channel until it is gone.
func (g *seatLeg) run(timeout time.Duration) {
	g.chans()
	defer close(g.done)
	defer close(g.out)
	ring := time.NewTimer(timeout)
	defer ring.Stop()
	var accept bool
	select {
	case <-g.stop:
		return
	case <-ring.C:
		g.mu.Lock()
		late := g.decided
		g.decided = true
		g.mu.Unlock()
		if late { // answered (or hung up) just as the offer rang out: that wins
			var ok bool
			if accept, ok = g.lateAnswer(); !ok {
				return
			}
			break
		}
		g.l.forget(g)
		g.desk.CancelOffer(context.Background(), g.agent, g.offer, "no answer")
		g.log.Info("desk calls: offer rang out")
		g.emit(callflow.LegEvent{Kind: callflow.LegFailed, Reason: "NOANSWER"})
		return
	case accept = <-g.answer:
	}
	g.l.mu.Lock()
	delete(g.l.rings, g.offer)
	if accept {
		g.l.calls[g.call] = g
	}
	g.l.mu.Unlock()
	if !accept {
		g.log.Info("desk calls: offer rejected")
		g.emit(callflow.LegEvent{Kind: callflow.LegFailed, Reason: "REJECTED"})
		return
	}
	events, err := g.connect()
	if err != nil {
		g.log.Error("desk calls: connecting the seat failed", "err", err)
		g.l.forget(g)
		g.desk.CancelOffer(context.Background(), g.agent, g.offer, "the softphone could not be connected")
		g.emit(callflow.LegEvent{Kind: callflow.LegFailed, Reason: "CHANUNAVAIL"})
		return
	}
	// The desk shows the call connected as the queue bridges it: the seat is attached and
	// the channel up, so the agent hears the caller as soon as the bridge exists.
	ctx, cancel := context.WithTimeout(context.Background(), g.l.cfg.RequestTimeout)
	err = g.desk.Connected(ctx, g.agent, agentdesk.Call{ID: g.call, CaseNumber: g.caseNumber})
	cancel()
	if err != nil {
		g.log.Error("desk calls: desk not told of the connected call", "err", err)
	} else {
		g.mu.Lock()
		g.connected = true
		g.mu.Unlock()
	}
	if !g.emit(callflow.LegEvent{Kind: callflow.LegAnswered}) {
		return
	}
	lost := false
	for {
		select {
		case <-g.stop:
			return
		case cmd := <-g.cmds:
			if !g.emit(cmd) {
				cmd.Reply <- gone("call %s has ended", g.call)
				return
			}
		case <-g.seatKick:
			g.mu.Lock()
			st, why := g.seatState, g.seatWhy
			g.mu.Unlock()
			kind, ok := seatNotice(st, lost)
			if !ok {
				continue
			}
			lost = kind == callflow.LegSeatLost
			g.log.Info("desk calls: seat notice", "notice", kind, "seat", st, "reason", why)
			if !g.emit(callflow.LegEvent{Kind: kind, Reason: why, Grace: g.l.cfg.SeatGrace}) {
				return
			}
		case events = <-g.swap: // a reconnect: nil while the old channel goes
		case ev, ok := <-events:
			if !ok {
				g.emit(callflow.LegEvent{Kind: callflow.LegGone, Reason: "stream ended"})
				return
			}
			switch ev.Type {
			case pbx.ChannelDestroyed, pbx.StasisEnd, pbx.Vanished, pbx.ChannelHangupRequest:
				g.emit(callflow.LegEvent{Kind: callflow.LegGone, Reason: string(ev.Type)})
				return
			}
		}
	}
}

// swapEvents makes the run loop follow events (nil: nothing) from now on.
func (g *seatLeg) swapEvents(ctx context.Context, events <-chan pbx.Event) error {
	g.chans()
	select {
	case g.swap <- events:
		return nil
	case <-g.done:
		return gone("call %s has ended", g.call)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reconnect rebuilds the leg's media after the agent's seat came back: the old
// ExternalMedia channel is deleted first (its last packets must not reach the seat's
// socket), then the seat is attached again and a new channel points at it. The caller's
// goroutine calls it and bridges the new channel.
func (g *seatLeg) Reconnect(ctx context.Context) (string, error) {
	if err := g.swapEvents(ctx, nil); err != nil {
		return "", fmt.Errorf("reconnect %s: %w", g.call, err)
	}
	if err := g.hangupMedia(ctx); err != nil {
		g.log.Warn("desk calls: old seat channel not hung up", "err", err)
	}
	g.mu.Lock()
	old := g.media
	g.media = nil
	g.reconnects++
	id := g.id + "-r" + strconv.Itoa(g.reconnects)
	g.mu.Unlock()
	if old != nil && old.Events != nil {
		old.Events.Close()
	}
	events, err := g.attach(ctx, id)
	if err != nil {
		return "", fmt.Errorf("reconnect %s: %w", g.call, err)
	}
	g.mu.Lock()
	g.current = id
	g.mu.Unlock()
	if err := g.swapEvents(ctx, events); err != nil {
		return "", fmt.Errorf("reconnect %s: %w", g.call, err)
	}
	g.log.Info("desk calls: seat reconnected", "channel", id)
	return id, nil
}

// lateAnswer waits for the decision made as the offer rang out; false when the leg closed.
func (g *seatLeg) lateAnswer() (bool, bool) {
	select {
	case a := <-g.answer:
		return a, true
	case <-g.stop:
		return false, false
	}
}

// connect attaches the call to the agent's seat and creates the ExternalMedia channel that
// talks to the seat's socket.
func (g *seatLeg) connect() (<-chan pbx.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), g.l.cfg.RequestTimeout)
	defer cancel()
	go func() { // the leg closed while connecting: give up the requests
		select {
		case <-g.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return g.attach(ctx, g.id)
}

// attach attaches the call to the agent's seat and creates ExternalMedia channel id that
// talks to the seat's socket.
func (g *seatLeg) attach(ctx context.Context, id string) (<-chan pbx.Event, error) {
	agent, call := media.AgentID(g.agent), media.CallID(g.call)
	addr, err := g.l.cfg.Seats.AttachCall(ctx, agent, call)
	if err != nil {
		return nil, fmt.Errorf("attach the seat: %w", err)
	}
	em, err := g.l.cfg.PBX.ExternalMedia(ctx, pbx.ExternalMediaRequest{ChannelID: id, ExternalHost: addr.String()})
	if err != nil {
		g.l.cfg.Seats.DetachCall(agent, call)
		return nil, fmt.Errorf("external media to %s: %w", addr, err)
	}
	g.mu.Lock()
	g.media = em
	g.mu.Unlock()
	remote, err := netip.ParseAddrPort(em.LocalAddr)
	if err == nil {
		err = g.l.cfg.Seats.SetRemote(agent, call, remote)
	}
	if err != nil {
		// The relay still learns Asterisk's address from its first packet.
		g.log.Warn("desk calls: remote RTP address not set", "local_addr", em.LocalAddr, "err", err)
	}
	g.log.Info("desk calls: seat connected", "channel", em.ChannelID, "seat_rtp", addr.String(), "pbx_rtp", em.LocalAddr)
	if em.Events == nil {
		return nil, nil
	}
	return em.Events.Events(), nil
}

// Hangup withdraws a ringing offer or hangs up the ExternalMedia channel.
func (g *seatLeg) Hangup(ctx context.Context) error {
	g.setEndReason("caller hung up")
	g.mu.Lock()
	ringing := !g.decided
	g.decided = true
	g.mu.Unlock()
	if ringing {
		g.l.forget(g)
		g.desk.CancelOffer(ctx, g.agent, g.offer, "caller hung up")
	}
	return g.hangupMedia(ctx)
}

func (g *seatLeg) hangupMedia(ctx context.Context) error {
	g.mu.Lock()
	em := g.media
	g.mu.Unlock()
	if em == nil {
		return nil
	}
	if err := g.l.cfg.PBX.Hangup(ctx, em.ChannelID, pbx.HangupNormal); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		return fmt.Errorf("hang up seat channel %s: %w", em.ChannelID, err)
	}
	return nil
}

// Close stops the leg, deletes its ExternalMedia channel (if still there), detaches the
// seat and tells the desk the call ended.
func (g *seatLeg) Close() {
	g.once.Do(func() {
		close(g.stop)
		<-g.done
		g.l.forget(g)
		ctx, cancel := context.WithTimeout(context.Background(), g.l.cfg.RequestTimeout)
		defer cancel()
		if err := g.hangupMedia(ctx); err != nil {
			g.log.Error("desk calls: seat channel not hung up", "err", err)
		}
		g.mu.Lock()
		em, connected, reason := g.media, g.connected, g.endReason
		g.mu.Unlock()
		if em != nil {
			if em.Events != nil {
				em.Events.Close()
			}
			g.l.cfg.Seats.DetachCall(media.AgentID(g.agent), media.CallID(g.call))
		}
		if connected {
			if reason == "" {
				reason = "caller hung up"
			}
			if err := g.desk.Ended(ctx, g.agent, g.call, reason); err != nil {
				g.log.Error("desk calls: desk not told of the ended call", "err", err)
			}
		}
	})
}
