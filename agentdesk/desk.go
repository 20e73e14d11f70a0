package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/media"
	"hotline/audit"
	"hotline/cases"
)

// OfferID identifies an offer to an agent: the ACD reservation it rings for.
type OfferID string

// CallID identifies a call as the call distribution knows it (the caller's channel id). The
// same id names the call on the agent's seat (media.CallID).
type CallID string

// OfferKind says whether an offer is a caller on the line or a callback task.
type OfferKind string

// Offer kinds.
const (
	OfferCall     OfferKind = "call"
	OfferCallback OfferKind = "callback"
)

// PathStep is one step of a caller's way through the IVR, as the call flow records it.
type PathStep struct {
	At    time.Time `json:"at"`
	Node  string    `json:"node"`
	Step  string    `json:"step,omitempty"`
	Input string    `json:"input,omitempty"`
}

// Offer is work the call distribution rings an agent with (Desk.Ring). Caller is the full
// number: the desk masks it before any browser sees it.
type Offer struct {
	ID         OfferID
	Call       CallID
	Kind       OfferKind
	CaseNumber cases.Number
	Caller     cases.Phone
	Queue      string
	Language   string
	IVRPath    []PathStep
	// EnqueuedAt is when the caller started waiting (the screen pop shows the wait).
	EnqueuedAt time.Time
	// RingUntil is when the offer rings out unanswered; zero if unknown.
	RingUntil time.Time
	// Task is the callback task of a callback offer.
	Task cases.TaskID
	// Note is what the agent who transferred the call wrote for the next one.
	Note string
}

func (o Offer) check() error {
	switch {
	case o.ID == "":
		return errors.New("offer id is empty")
	case o.Call == "":
		return errors.New("offer names no call")
	case o.CaseNumber == "":
		return errors.New("offer names no case")
	case o.Kind != OfferCall && o.Kind != OfferCallback:
		return fmt.Errorf("offer kind %q is not call or callback", o.Kind)
	}
	return nil
}

// Call is a call connected to an agent (Desk.Connected). Fields left empty are taken from
// the offer that rang for the same call, if any.
type Call struct {
	ID         CallID
	CaseNumber cases.Number
	Caller     cases.Phone
	Direction  cases.Direction
	Queue      string
	Task       cases.TaskID
}

// Transfer is where an agent sends a call (blind): a queue or another agent, exactly one.
type Transfer struct {
	Queue string
	Agent acd.AgentID
	Note  string
}

// Disposition is the agent's verdict on a call's case at the end of wrap-up: what kind of
// case it is, where it stands, and a summary. It is mandatory.
type Disposition struct {
	CaseNumber cases.Number
	Kind       cases.Kind
	Status     cases.Status
	Summary    string
}

// DispositionStatuses are the statuses a wrap-up may give a case: registered for handling,
// handed to an office, or closed on the phone (a consultation answered, an invalid call).
var DispositionStatuses = []cases.Status{cases.StatusRegistered, cases.StatusDispatched, cases.StatusClosed}

// MaxSummaryLen bounds a disposition's summary, in characters.
const MaxSummaryLen = 2000

// Calls is what the desk needs from the call distribution: the agent's actions on offers
// and calls. Each method acts for agent, who has been checked to hold the offer or call
// named; an error that carries an HTTP status (HTTPStatus() int) or matches
// acd.ErrStateConflict is shown to the agent as such.
//
// The distribution tells the desk what happened with Ring, CancelOffer, Connected and Ended.
type Calls interface {
	// Accept answers the offer: the distribution bridges the call to the agent's seat and
	// then calls Desk.Connected.
	Accept(ctx context.Context, agent acd.AgentID, offer OfferID) error
	// Reject turns the offer down; the desk withdraws it from the agent's screen itself.
	Reject(ctx context.Context, agent acd.AgentID, offer OfferID) error
	// Hangup ends the call; the distribution then calls Desk.Ended.
	Hangup(ctx context.Context, agent acd.AgentID, call CallID) error
	// Hold puts the caller on hold (music) or takes them off it.
	Hold(ctx context.Context, agent acd.AgentID, call CallID, held bool) error
	// Transfer sends the call on, blind; the distribution then calls Desk.Ended.
	Transfer(ctx context.Context, agent acd.AgentID, call CallID, to Transfer) error
	// WrapUpDone records the disposition of an ended call's case. The desk then moves the
	// agent out of wrap-up.
	WrapUpDone(ctx context.Context, agent acd.AgentID, call CallID, d Disposition) error
	// Callback starts a callback task by the agent: the distribution dials the caller and
	// calls Desk.Connected when they answer.
	Callback(ctx context.Context, agent acd.AgentID, task cases.TaskID) error
}

// AgentStates is the part of acd.Store the desk uses: agents log in on their first
// connection, change between ready and not ready, and log out.
type AgentStates interface {
	Login(ctx context.Context, a acd.Agent, to acd.State, reason acd.Reason) (acd.Agent, error)
	Logout(ctx context.Context, id acd.AgentID, from acd.State) (acd.Agent, error)
	SetState(ctx context.Context, id acd.AgentID, from, to acd.State, reason acd.Reason) (acd.Agent, error)
	Agent(ctx context.Context, id acd.AgentID) (acd.Agent, error)
}

// Seats is the part of media.Seats the desk uses.
type Seats interface {
	Open(ctx context.Context, agent media.AgentID, offer string) (string, error)
	Close(agent media.AgentID)
	SetMuted(agent media.AgentID, muted bool) error
	SetHeld(agent media.AgentID, held bool) error
	Health(agent media.AgentID) (media.Health, bool)
}

// CaseStore is what the desk reads and writes of cases (cases.Store).
type CaseStore interface {
	CaseReader
	OpenCallbackTasks(ctx context.Context, limit int) ([]cases.CallbackTask, error)
	// UpdateCaseForm saves the form and writes its audit record (audit.CaseChanged) in the
	// same transaction.
	UpdateCaseForm(ctx context.Context, number cases.Number, f cases.CaseForm, actor string) (cases.FormChange, error)
}

// Auditor writes the audit log (audit.Log).
type Auditor interface {
	Append(ctx context.Context, rec audit.Record) (audit.Entry, error)
}

// AccountReader gives an agent's routing profile (accounts.Store).
type AccountReader interface {
	GetByID(ctx context.Context, id accounts.AgentID) (accounts.Account, error)
}

// Config is what a Desk is made of. Auth, Agents, Calls, Cases and Audit are required.
type Config struct {
	Auth   *auth.Service
	Agents AgentStates
	Calls  Calls
	Cases  CaseStore
	Audit  Auditor
	// Seats is the softphone; nil: the desk has none (seat_offer, mute answer 503).
	Seats Seats
	// Accounts gives the skills an agent logs in to the ACD with; nil: none.
	Accounts AccountReader
	Log      *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// NotReadyReasons are the reasons an agent may give for not ready. Default: break,
	// meal, training, meeting, coaching, other.
	NotReadyReasons []acd.Reason
	// TransferQueues are the queues offered as transfer targets. Default: the queues of
	// acd.DefaultConfig.
	TransferQueues []string
	// StatePoll is how often a connected agent's ACD state is read, to show changes made
	// elsewhere (an offer that rang out, the end of wrap-up, a supervisor). Default 2s.
	StatePoll time.Duration
	// Recheck is how often an open connection rechecks its session (sign-out elsewhere,
	// disabled account); it also keeps the session alive while the desk is open. Default 1m.
	Recheck time.Duration
	// ActionTimeout bounds the handling of one message. Default 10s.
	ActionTimeout time.Duration
}

// Desk is the agents' side of the controller: their WebSocket connections and state, the
// screen pop, the case form API and the web app. The call distribution drives it with
// Ring, CancelOffer, Connected and Ended, and the seats with SeatEvent.
//
// What the desk holds about offers and calls lives in this process: the distribution calls
// the desk of the controller the agent is connected to.
type Desk struct {
	cfg Config
	log *slog.Logger

	connections prometheus.Gauge
	messages    *prometheus.CounterVec

	// Lock order: mu, then a hub's mu, then idxMu.
	mu     sync.Mutex
	hubs   map[acd.AgentID]*hub
	closed bool
	wg     sync.WaitGroup

	idxMu  sync.Mutex
	offers map[OfferID]acd.AgentID // who holds each offer on the desk
	calls  map[CallID]acd.AgentID  // who holds each call, until its disposition
}

// Default not-ready reasons.
var defaultReasons = []acd.Reason{"break", "meal", "training", "meeting", "coaching", "other"}

// ReasonDisconnected is the not-ready reason the desk sets when an agent's last connection
// closes while ready: calls must not ring a browser that is gone.
const ReasonDisconnected acd.Reason = "disconnected"

// NewDesk checks cfg and returns the desk.
func NewDesk(cfg Config) (*Desk, error) {
	var missing []string
	if cfg.Auth == nil {
		missing = append(missing, "Auth")
	}
	if cfg.Agents == nil {
		missing = append(missing, "Agents")
	}
	if cfg.Calls == nil {
		missing = append(missing, "Calls")
	}
	if cfg.Cases == nil {
		missing = append(missing, "Cases")
	}
	if cfg.Audit == nil {
		missing = append(missing, "Audit")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("agent desk: missing %v", missing)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.NotReadyReasons) == 0 {
		cfg.NotReadyReasons = defaultReasons
	}
	for _, r := range cfg.NotReadyReasons {
		if !reasonPattern.MatchString(string(r)) {
			return nil, fmt.Errorf("agent desk: not-ready reason %q is not a lower-case word", r)
		}
	}
	if len(cfg.TransferQueues) == 0 {
		for _, q := range acd.DefaultConfig().Queues {
			cfg.TransferQueues = append(cfg.TransferQueues, string(q.Name))
		}
	}
	if cfg.StatePoll <= 0 {
		cfg.StatePoll = 2 * time.Second
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = time.Minute
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 10 * time.Second
	}
	d := &Desk{cfg: cfg, log: cfg.Log, hubs: map[acd.AgentID]*hub{}, offers: map[OfferID]acd.AgentID{}, calls: map[CallID]acd.AgentID{}}
	d.connections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hotline_desk_connections", Help: "Open agent desk WebSocket connections."})
	d.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_desk_messages_total", Help: "Agent desk messages handled, by type and result code."},
		[]string{"type", "code"})
	return d, nil
}

// Collectors returns the desk's metrics, for a Prometheus registry.
func (d *Desk) Collectors() []prometheus.Collector {
	return []prometheus.Collector{d.connections, d.messages}
}

// Error is a refusal of the desk that knows its HTTP status; WebSocket error messages carry
// the same code.
type Error struct {
	msg    string
	status int
	fields []cases.FieldError
}

func (e *Error) Error() string { return e.msg }

// HTTPStatus is the status the refusal maps to.
func (e *Error) HTTPStatus() int { return e.status }

func errorf(status int, format string, args ...any) *Error {
	return &Error{msg: fmt.Sprintf(format, args...), status: status}
}

// Refusals the call distribution branches on.
var (
	// ErrNotConnected: Ring found no open desk connection for the agent; the offer cannot
	// be shown (treat it as not answered).
	ErrNotConnected = &Error{msg: "the agent has no desk connection", status: http.StatusConflict}
	// ErrBusy: the agent already has another offer or call.
	ErrBusy = &Error{msg: "the agent already has another offer or call", status: http.StatusConflict}
	// ErrUnknownCall: the desk has no such call for the agent.
	ErrUnknownCall = &Error{msg: "no such call on the agent's desk", status: http.StatusNotFound}
)

// statusOf maps an error to the status shown to the agent.
func statusOf(err error) int {
	var hs interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &hs):
		return hs.HTTPStatus()
	case errors.Is(err, acd.ErrStateConflict), errors.Is(err, acd.ErrIllegalTransition), errors.Is(err, acd.ErrNotEligible):
		return http.StatusConflict
	case errors.Is(err, acd.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, acd.ErrUnknownAgent), errors.Is(err, cases.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, media.ErrBadOffer):
		return http.StatusBadRequest
	case errors.Is(err, media.ErrNoCall), errors.Is(err, media.ErrNoSeat), errors.Is(err, media.ErrSeatDown):
		return http.StatusConflict
	case errors.Is(err, media.ErrShutdown):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// hubFor returns agent's hub, creating it when create is set.
func (d *Desk) hubFor(agent acd.AgentID, create bool) *hub {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hubs[agent]
	if h == nil && create && !d.closed {
		h = newHub(d, agent)
		d.hubs[agent] = h
	}
	return h
}

func (d *Desk) shuttingDown() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// forget drops agent's hub when it holds nothing any more.
func (d *Desk) forget(h *hub) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idle() && d.hubs[h.agent] == h {
		delete(d.hubs, h.agent)
	}
}

// unindexCall forgets that agent holds call, unless another agent holds it now (the call
// was transferred to them).
func (d *Desk) unindexCall(call CallID, agent acd.AgentID) {
	d.idxMu.Lock()
	defer d.idxMu.Unlock()
	if d.calls[call] == agent {
		delete(d.calls, call)
	}
}

// offerOwner says which agent holds an offer ("" when nobody does).
func (d *Desk) offerOwner(id OfferID) acd.AgentID {
	d.idxMu.Lock()
	defer d.idxMu.Unlock()
	return d.offers[id]
}

// callOwner says which agent holds a call ("" when nobody does).
func (d *Desk) callOwner(id CallID) acd.AgentID {
	d.idxMu.Lock()
	defer d.idxMu.Unlock()
	return d.calls[id]
}

// index records (agent set) or forgets (agent "") who holds an offer and a call.
func (d *Desk) index(offer OfferID, call CallID, agent acd.AgentID) {
	d.idxMu.Lock()
	defer d.idxMu.Unlock()
	if offer != "" {
		if agent == "" {
			delete(d.offers, offer)
		} else {
			d.offers[offer] = agent
		}
	}
	if call != "" {
		if agent == "" {
			delete(d.calls, call)
		} else {
			d.calls[call] = agent
		}
	}
}

// Ring shows an offer on the agent's desk, with the screen pop: the case, the masked caller,
// the IVR path, the queue and wait, and the caller's earlier cases (each read audited). The
// agent answers through Calls.Accept or Calls.Reject. ErrNotConnected when the agent has no
// open connection, ErrBusy when another offer or a call is on the desk.
func (d *Desk) Ring(ctx context.Context, agent acd.AgentID, o Offer) error {
	if err := o.check(); err != nil {
		return fmt.Errorf("ring %s: %w", agent, errorf(http.StatusBadRequest, "%v", err))
	}
	h := d.hubFor(agent, false)
	if h == nil || !h.connected() {
		return fmt.Errorf("ring %s with %s: %w", agent, o.ID, ErrNotConnected)
	}
	if err := h.canRing(o); err != nil {
		return fmt.Errorf("ring %s with %s: %w", agent, o.ID, err)
	}
	view := d.screenPop(ctx, agent, o)
	if err := h.ring(o, view); err != nil {
		return fmt.Errorf("ring %s with %s: %w", agent, o.ID, err)
	}
	d.log.Info("offer rung", "agent", agent, "call", o.Call, "case", o.CaseNumber, "offer", o.ID)
	return nil
}

// CancelOffer withdraws an offer from the agent's desk (the caller hung up, the offer rang
// out, another controller took it). Withdrawing an offer the desk does not show does
// nothing.
func (d *Desk) CancelOffer(_ context.Context, agent acd.AgentID, offer OfferID, reason string) {
	if h := d.hubFor(agent, false); h != nil && h.cancel(offer, reason) {
		d.log.Info("offer cancelled", "agent", agent, "offer", offer, "reason", reason)
		d.forget(h)
	}
}

// Connected shows a call as connected to the agent: after Calls.Accept, or for a callback
// the agent started. ErrBusy when the agent has another call.
func (d *Desk) Connected(_ context.Context, agent acd.AgentID, c Call) error {
	if c.ID == "" {
		return fmt.Errorf("connected %s: %w", agent, errorf(http.StatusBadRequest, "the call has no id"))
	}
	if err := d.hubFor(agent, true).connect(c); err != nil {
		return fmt.Errorf("connected %s to %s: %w", agent, c.ID, err)
	}
	d.log.Info("call connected", "agent", agent, "call", c.ID, "case", c.CaseNumber)
	return nil
}

// Ended shows the agent's call as ended and asks for its disposition (wrap-up). reason is
// for the agent's screen: "caller hung up", "transferred", ... ErrUnknownCall when the
// desk shows no such call for the agent.
func (d *Desk) Ended(_ context.Context, agent acd.AgentID, call CallID, reason string) error {
	h := d.hubFor(agent, false)
	if h == nil {
		return fmt.Errorf("ended %s on %s: %w", call, agent, ErrUnknownCall)
	}
	if err := h.end(call, reason); err != nil {
		return fmt.Errorf("ended %s on %s: %w", call, agent, err)
	}
	d.log.Info("call ended", "agent", agent, "call", call, "reason", reason)
	return nil
}

// SeatEvent passes a seat state change to the agent's screens. Give it to media.New with
// media.WithEventHandler (beside the call flow's handler).
func (d *Desk) SeatEvent(e media.Event) {
	h := d.hubFor(acd.AgentID(e.Agent), false)
	if h == nil {
		return
	}
	h.broadcast(message{Type: "seat_health", Seat: d.seatView(acd.AgentID(e.Agent), &e)})
}

// Shutdown closes every connection (the browsers reconnect to another controller) and
// waits for their goroutines, or for ctx.
func (d *Desk) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	hubs := make([]*hub, 0, len(d.hubs))
	for _, h := range d.hubs {
		hubs = append(hubs, h)
	}
	d.mu.Unlock()
	for _, h := range hubs {
		h.closeAll("controller shutting down")
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agent desk shutdown: %w", ctx.Err())
	}
}

// screenPop builds the offer as the agent sees it. Reading the caller's earlier cases is a
// case read by the agent and is audited; when the audit cannot be written, the history is
// left out rather than shown unrecorded.
func (d *Desk) screenPop(ctx context.Context, agent acd.AgentID, o Offer) offerView {
	now := d.cfg.Now()
	v := offerView{ID: o.ID, Call: o.Call, Kind: o.Kind, CaseNumber: o.CaseNumber, Caller: o.Caller.Masked(),
		Queue: o.Queue, Language: o.Language, IVRPath: o.IVRPath, EnqueuedAt: o.EnqueuedAt, Task: o.Task, Note: o.Note,
		History: []historyView{}}
	if v.IVRPath == nil {
		v.IVRPath = []PathStep{}
	}
	if !o.EnqueuedAt.IsZero() {
		v.WaitSeconds = max(0, int(now.Sub(o.EnqueuedAt)/time.Second))
	}
	if !o.RingUntil.IsZero() {
		t := o.RingUntil
		v.RingUntil = &t
	}
	read := []cases.Number{o.CaseNumber}
	if o.Caller != "" {
		earlier, err := d.cfg.Cases.FindByCaller(ctx, o.Caller, maxHistory+1)
		if err != nil {
			d.log.Error("screen pop: caller history", "agent", agent, "case", o.CaseNumber, "err", err)
		}
		for _, c := range earlier {
			if c.Number == o.CaseNumber || len(v.History) == maxHistory {
				continue
			}
			v.History = append(v.History, historyOf(c))
			read = append(read, c.Number)
		}
	}
	if err := d.auditReads(ctx, string(agent), read, map[string]any{"via": "screen_pop", "offer": string(o.ID)}); err != nil {
		d.log.Error("screen pop: audit", "agent", agent, "case", o.CaseNumber, "err", err)
		v.History = []historyView{}
	}
	return v
}

// maxHistory is how many earlier cases of a caller the screen pop shows.
const maxHistory = 10

// auditReads records that actor read each case.
func (d *Desk) auditReads(ctx context.Context, actor string, numbers []cases.Number, detail map[string]any) error {
	var errs []error
	for _, n := range numbers {
		if _, err := d.cfg.Audit.Append(ctx, audit.Record{Actor: actor, Action: audit.CaseRead,
			Target: audit.CaseTarget(string(n)), Detail: detail}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// handles reports whether agent works on case number now: the case of the call, of a call
// waiting for its disposition, or of the calls just before.
func (d *Desk) handles(agent acd.AgentID, number cases.Number) bool {
	h := d.hubFor(agent, false)
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.recent, number)
}
