package supervise

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"hotline/acd"
	"hotline/agentdesk/media"
	"hotline/audit"
	"hotline/cases"
	"hotline/pbx"
)

// Call is the agent's call a supervisor joins.
type Call struct {
	CallID       string       // the caller's channel id
	AgentChannel string       // the agent's leg: the channel that faces the agent
	CaseID       cases.CaseID // zero: found by CaseNumber
	CaseNumber   string
}

// Calls finds an agent's current call: the desk's call line (deskcalls.Line).
type Calls interface {
	CallOf(agent acd.AgentID) (Call, bool)
}

// PBX is what a supervision needs of Asterisk: (*pbx.Client).
type PBX interface {
	Snoop(ctx context.Context, channelID string, req pbx.SnoopRequest) (*pbx.Subscription, error)
	ExternalMedia(ctx context.Context, req pbx.ExternalMediaRequest) (*pbx.ExternalMedia, error)
	CreateBridge(ctx context.Context, bridgeID, name string) (*pbx.Subscription, error)
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	Hangup(ctx context.Context, channelID string, reason pbx.HangupReason) error
}

// Seats carries the supervisor's audio: the supervisor's WebRTC seat (*media.Seats).
type Seats interface {
	AttachCall(ctx context.Context, agent media.AgentID, call media.CallID) (*net.UDPAddr, error)
	DetachCall(agent media.AgentID, call media.CallID)
	SetRemote(agent media.AgentID, call media.CallID, addr netip.AddrPort) error
}

// Auditor writes the audit log (audit.Log).
type Auditor interface {
	Append(ctx context.Context, rec audit.Record) (audit.Entry, error)
}

// CaseEvents writes the case timeline (cases.Store).
type CaseEvents interface {
	FindByNumber(ctx context.Context, n cases.Number) (cases.Detail, error)
	AppendEvent(ctx context.Context, id cases.CaseID, e cases.NewEvent) (cases.Event, error)
}

// Notice tells an agent who is listening in: Mode is empty when the supervisor has left.
type Notice struct {
	Mode       Mode   `json:"mode,omitempty"`
	Supervisor string `json:"supervisor"`
	Call       string `json:"call"`
}

// Notifier shows notices on the agent's desk (agentdesk.Desk).
type Notifier interface {
	Supervised(agent acd.AgentID, n Notice)
}

// Audit actions and case event kinds of a supervision.
const (
	ActionStarted audit.Action = "supervision.started"
	ActionEnded   audit.Action = "supervision.ended"

	EventJoined cases.EventKind = "supervisor_joined"
	EventLeft   cases.EventKind = "supervisor_left"
)

// Error is a refusal that knows its HTTP status.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string   { return e.Msg }
func (e *Error) HTTPStatus() int { return e.Status }

// Refusals.
var (
	ErrNoCall = &Error{Status: http.StatusConflict, Msg: "the agent is not on a call"}
	ErrSelf   = &Error{Status: http.StatusBadRequest, Msg: "a supervisor cannot supervise their own call"}
	ErrNone   = &Error{Status: http.StatusNotFound, Msg: "not supervising a call"}
	ErrClosed = &Error{Status: http.StatusServiceUnavailable, Msg: "supervision is shutting down"}
)

// Config wires a Service. Calls, PBX, Seats, Audit and Cases are required.
type Config struct {
	Calls  Calls
	PBX    PBX
	Seats  Seats
	Audit  Auditor
	Cases  CaseEvents
	Notify Notifier // optional
	// RequestTimeout bounds each request to Asterisk and the database. Default 5s.
	RequestTimeout time.Duration
	// JoinTimeout bounds the wait for the snoop and seat channels to enter the
	// application. Default 5s.
	JoinTimeout time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

// Request asks to join an agent's call.
type Request struct {
	Supervisor     acd.AgentID // the supervisor's login: their seat carries the audio
	SupervisorName string
	Agent          acd.AgentID
	Mode           Mode
}

// Info describes a supervision in progress.
type Info struct {
	ID         string      `json:"id"`
	Supervisor acd.AgentID `json:"supervisor"`
	Agent      acd.AgentID `json:"agent"`
	Mode       Mode        `json:"mode"`
	Call       string      `json:"call"`
	CaseNumber string      `json:"case_number"`
	Since      time.Time   `json:"since"`
}

// Service runs supervisions: at most one per supervisor. Each runs in a goroutine of its
// own that owns its channels and ends it when the call, the seat or the supervisor ends.
type Service struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sessions map[acd.AgentID]*session // by supervisor
	closed   bool
	wg       sync.WaitGroup
}

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	var missing []string
	for name, absent := range map[string]bool{"Calls": cfg.Calls == nil, "PBX": cfg.PBX == nil,
		"Seats": cfg.Seats == nil, "Audit": cfg.Audit == nil, "Cases": cfg.Cases == nil} {
		if absent {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("supervise: missing %v", missing)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, log: cfg.Log, sessions: map[acd.AgentID]*session{}}, nil
}

// session is one supervision. Its goroutine (run) owns the channels from Join's return.
type session struct {
	s     *Service
	info  Info
	name  string
	call  Call
	log   *slog.Logger
	snoop *pbx.Subscription
	em    *pbx.ExternalMedia
	stop  chan string // why the supervisor ended it
	done  chan struct{}
}

// Join starts a supervision of the agent's current call. A supervisor already supervising
// a call leaves it first (switching from listen to whisper is a new snoop: Asterisk fixes a
// snoop's directions when it is made).
func (s *Service) Join(ctx context.Context, r Request) (Info, error) {
	mode, err := ParseMode(string(r.Mode))
	if err != nil {
		return Info{}, &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	}
	if r.Supervisor == r.Agent {
		return Info{}, ErrSelf
	}
	if err := s.Leave(ctx, r.Supervisor); err != nil && !errors.Is(err, ErrNone) {
		return Info{}, err
	}
	call, ok := s.cfg.Calls.CallOf(r.Agent)
	if !ok || call.AgentChannel == "" {
		return Info{}, ErrNoCall
	}
	id := newID()
	ss := &session{s: s, name: r.SupervisorName, call: call, stop: make(chan string, 1), done: make(chan struct{}),
		info: Info{ID: id, Supervisor: r.Supervisor, Agent: r.Agent, Mode: mode, Call: call.CallID,
			CaseNumber: call.CaseNumber, Since: s.cfg.Now()}}
	ss.log = s.log.With("supervision", id, "supervisor", r.Supervisor, "agent", r.Agent, "call", call.CallID,
		"case", call.CaseNumber, "mode", mode)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Info{}, ErrClosed
	}
	if other := s.sessions[r.Supervisor]; other != nil { // a Join racing this one
		s.mu.Unlock()
		return Info{}, &Error{Status: http.StatusConflict, Msg: "already supervising call " + other.info.Call}
	}
	s.sessions[r.Supervisor] = ss
	s.wg.Add(1)
	s.mu.Unlock()

	// No audit entry, no audio: the start is written before anything is connected.
	if err := ss.recordStart(); err != nil {
		s.forget(ss)
		close(ss.done)
		s.wg.Done()
		ss.log.Error("supervise: audit log not written; refused", "err", err)
		return Info{}, &Error{Status: http.StatusServiceUnavailable, Msg: "the audit log is unavailable; try again"}
	}
	if err := ss.setUp(ctx); err != nil {
		ss.tearDown()
		s.forget(ss)
		close(ss.done) // a Leave waiting on this session returns
		s.wg.Done()
		ss.record(ActionEnded, EventLeft, "not connected: "+err.Error())
		return Info{}, err
	}
	if mode.Audible() && s.cfg.Notify != nil {
		s.cfg.Notify.Supervised(r.Agent, Notice{Mode: mode, Supervisor: ss.name, Call: call.CallID})
	}
	ss.log.Info("supervise: joined")
	go func() {
		defer s.wg.Done()
		ss.run()
	}()
	return ss.info, nil
}

// Leave ends the supervisor's supervision, if any, and waits until its channels are gone.
func (s *Service) Leave(ctx context.Context, supervisor acd.AgentID) error {
	s.mu.Lock()
	ss := s.sessions[supervisor]
	s.mu.Unlock()
	if ss == nil {
		return ErrNone
	}
	select {
	case ss.stop <- "supervisor left":
	default:
	}
	select {
	case <-ss.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("leave supervision %s: %w", ss.info.ID, ctx.Err())
	}
}

// Active lists the supervisions in progress.
func (s *Service) Active() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, ss.info)
	}
	return out
}

// Shutdown ends every supervision and waits for them.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, ss := range s.sessions {
		select {
		case ss.stop <- "shutting down":
		default:
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("supervise shutdown: %w", ctx.Err())
	}
}

func (s *Service) forget(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.info.Supervisor] == ss {
		delete(s.sessions, ss.info.Supervisor)
	}
	s.mu.Unlock()
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "sup-" + hex.EncodeToString(b[:])
}

func (ss *session) bridgeID() string { return ss.info.ID }
func (ss *session) emID() string     { return ss.info.ID + "-em" }
func (ss *session) snoopID() string  { return ss.info.ID + "-snoop" }
func (ss *session) seatCall() media.CallID {
	return media.CallID(ss.info.ID)
}

// setUp makes the supervisor's side: the seat's socket, a bridge, the ExternalMedia channel
// to the seat and the snoop on the agent's leg, both in the bridge.
func (ss *session) setUp(ctx context.Context) error {
	cfg := ss.s.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout+cfg.JoinTimeout)
	defer cancel()
	addr, err := cfg.Seats.AttachCall(ctx, media.AgentID(ss.info.Supervisor), ss.seatCall())
	if err != nil {
		return &Error{Status: http.StatusConflict, Msg: fmt.Sprintf("the supervisor's seat is not ready: %v", err)}
	}
	sub, err := cfg.PBX.CreateBridge(ctx, ss.bridgeID(), "supervision")
	if err != nil {
		return fmt.Errorf("supervise: create bridge: %w", err)
	}
	if sub != nil {
		sub.Close() // the channels' own events end the supervision; an unread stream would pile up
	}
	em, err := cfg.PBX.ExternalMedia(ctx, pbx.ExternalMediaRequest{ChannelID: ss.emID(), ExternalHost: addr.String()})
	if em != nil {
		ss.em = em
	}
	if err != nil {
		return fmt.Errorf("supervise: external media to the seat at %s: %w", addr, err)
	}
	if remote, err := netip.ParseAddrPort(em.LocalAddr); err == nil {
		if err := cfg.Seats.SetRemote(media.AgentID(ss.info.Supervisor), ss.seatCall(), remote); err != nil {
			ss.log.Warn("supervise: seat remote not set; the relay learns it from the first packet", "err", err)
		}
	}
	spy, whisper := ss.info.Mode.Directions()
	snoop, err := cfg.PBX.Snoop(ctx, ss.call.AgentChannel, pbx.SnoopRequest{SnoopID: ss.snoopID(), Spy: spy, Whisper: whisper,
		AppArgs: "supervise," + string(ss.info.Mode)})
	if snoop != nil {
		ss.snoop = snoop
	}
	if err != nil {
		if errors.Is(err, pbx.ErrNotFound) || errors.Is(err, pbx.ErrNotInStasis) {
			return ErrNoCall
		}
		return fmt.Errorf("supervise: snoop on %s: %w", ss.call.AgentChannel, err)
	}
	// Both channels must be in the application before they can be bridged.
	join, stopJoin := context.WithTimeout(ctx, cfg.JoinTimeout)
	defer stopJoin()
	for _, sub := range []*pbx.Subscription{em.Events, snoop} {
		if err := awaitStart(join, sub); err != nil {
			return fmt.Errorf("supervise: %s: %w", sub.Target(), err)
		}
	}
	if err := cfg.PBX.AddToBridge(ctx, ss.bridgeID(), ss.snoopID(), ss.emID()); err != nil {
		return fmt.Errorf("supervise: bridge the snoop and the seat: %w", err)
	}
	return nil
}

// awaitStart waits for a channel's StasisStart; its end first means the call is gone.
func awaitStart(ctx context.Context, sub *pbx.Subscription) error {
	if sub == nil {
		return nil
	}
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				return ErrNoCall
			}
			switch ev.Type {
			case pbx.StasisStart:
				return nil
			case pbx.StasisEnd, pbx.ChannelDestroyed, pbx.ChannelHangupRequest:
				return ErrNoCall
			}
		case <-ctx.Done():
			return fmt.Errorf("not in the application in time: %w", ctx.Err())
		}
	}
}

// run waits for the end: the supervisor leaves, the agent's call ends (Asterisk hangs the
// snoop up with the channel it spies on), or the seat's channel goes.
func (ss *session) run() {
	defer close(ss.done)
	var snoopEv, emEv <-chan pbx.Event
	if ss.snoop != nil {
		snoopEv = ss.snoop.Events()
	}
	if ss.em != nil && ss.em.Events != nil {
		emEv = ss.em.Events.Events()
	}
	why := ""
	for why == "" {
		select {
		case why = <-ss.stop:
		case ev, ok := <-snoopEv:
			if !ok || ev.Type == pbx.StasisEnd || ev.Type == pbx.ChannelDestroyed {
				why = "call ended"
			}
		case ev, ok := <-emEv:
			if !ok || ev.Type == pbx.StasisEnd || ev.Type == pbx.ChannelDestroyed {
				why = "seat channel ended"
			}
		}
	}
	ss.tearDown()
	ss.s.forget(ss)
	ss.record(ActionEnded, EventLeft, why)
	if ss.info.Mode.Audible() && ss.s.cfg.Notify != nil {
		ss.s.cfg.Notify.Supervised(ss.info.Agent, Notice{Supervisor: ss.name, Call: ss.call.CallID})
	}
	ss.log.Info("supervise: left", "why", why)
}

// tearDown deletes what setUp made, whatever got made.
func (ss *session) tearDown() {
	cfg := ss.s.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.RequestTimeout)
	defer cancel()
	for _, id := range []string{ss.snoopID(), ss.emID()} {
		if err := cfg.PBX.Hangup(ctx, id, pbx.HangupNormal); err != nil && !errors.Is(err, pbx.ErrNotFound) {
			ss.log.Warn("supervise: hang-up failed", "channel", id, "err", err)
		}
	}
	if err := cfg.PBX.DestroyBridge(ctx, ss.bridgeID()); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		ss.log.Warn("supervise: bridge not destroyed", "bridge", ss.bridgeID(), "err", err)
	}
	cfg.Seats.DetachCall(media.AgentID(ss.info.Supervisor), ss.seatCall())
	if ss.snoop != nil {
		ss.snoop.Close()
	}
	if ss.em != nil && ss.em.Events != nil {
		ss.em.Events.Close()
	}
}

// recordStart writes the start to the audit log (required) and on the case (logged when it
// fails).
func (ss *session) recordStart() error {
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.cfg.RequestTimeout)
	defer cancel()
	if _, err := ss.s.cfg.Audit.Append(ctx, audit.Record{Actor: string(ss.info.Supervisor), Action: ActionStarted,
		Target: ss.target(), Detail: ss.detail("")}); err != nil {
		return err
	}
	ss.caseEvent(ctx, EventJoined, ss.detail(""))
	return nil
}

func (ss *session) target() string {
	if ss.call.CaseNumber != "" {
		return audit.CaseTarget(ss.call.CaseNumber)
	}
	return "call:" + ss.call.CallID
}

func (ss *session) detail(why string) map[string]any {
	d := map[string]any{"mode": string(ss.info.Mode), "agent": string(ss.info.Agent), "call": ss.call.CallID,
		"supervision": ss.info.ID}
	if why != "" {
		d["why"] = why
	}
	return d
}

// record writes the end to the audit log and on the case; a failure is logged (the
// audio is already gone).
func (ss *session) record(action audit.Action, kind cases.EventKind, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.cfg.RequestTimeout)
	defer cancel()
	if _, err := ss.s.cfg.Audit.Append(ctx, audit.Record{Actor: string(ss.info.Supervisor), Action: action,
		Target: ss.target(), Detail: ss.detail(why)}); err != nil {
		ss.log.Error("supervise: audit log not written", "action", action, "err", err)
	}
	ss.caseEvent(ctx, kind, ss.detail(why))
}

// caseEvent writes an entry on the case's trail, finding the case by number if need be.
func (ss *session) caseEvent(ctx context.Context, kind cases.EventKind, detail map[string]any) {
	cfg := ss.s.cfg
	if ss.call.CaseID == 0 && ss.call.CaseNumber != "" {
		d, err := cfg.Cases.FindByNumber(ctx, cases.Number(ss.call.CaseNumber))
		if err != nil {
			ss.log.Error("supervise: case not found; no event written", "err", err)
			return
		}
		ss.call.CaseID = d.Case.ID
	}
	if ss.call.CaseID == 0 {
		return
	}
	if _, err := cfg.Cases.AppendEvent(ctx, ss.call.CaseID, cases.NewEvent{Kind: kind, Actor: string(ss.info.Supervisor),
		Detail: detail}); err != nil {
		ss.log.Error("supervise: case event not written", "kind", kind, "err", err)
	}
}
