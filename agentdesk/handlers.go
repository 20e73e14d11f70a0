package agentdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/media"
	"hotline/cases"
)

// envelope is what every client message has.
type envelope struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// handler handles one type of client message.
type handler struct {
	// roles may send it; nil: any desk role.
	roles []accounts.Role
	// action: it changes something, so the session is rechecked first.
	action bool
	run    func(ctx context.Context, c *conn, raw []byte, id string) (*message, error)
}

// decode reads raw strictly into a T (unknown fields refused) and checks it.
func decode[T interface{ check() error }](raw []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, errorf(http.StatusBadRequest, "malformed message: %v", err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return v, errorf(http.StatusBadRequest, "malformed message: more than one JSON value")
	}
	if err := v.check(); err != nil {
		var de *Error
		if errors.As(err, &de) {
			return v, err
		}
		return v, errorf(http.StatusBadRequest, "%v", err)
	}
	return v, nil
}

// on makes a handler from a function of a decoded message.
// fn's receiver comes first so that methods of conn fit: (*conn).onState.
func on[T interface{ check() error }](action bool, fn func(c *conn, ctx context.Context, m T) (*message, error)) handler {
	return handler{roles: deskRoles, action: action, run: func(ctx context.Context, c *conn, raw []byte, _ string) (*message, error) {
		m, err := decode[T](raw)
		if err != nil {
			return nil, err
		}
		return fn(c, ctx, m)
	}}
}

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"ping":        on(false, (*conn).onPing),
		"snapshot":    on(false, (*conn).onSnapshot),
		"state":       on(true, (*conn).onState),
		"accept":      on(true, (*conn).onAccept),
		"reject":      on(true, (*conn).onReject),
		"hangup":      on(true, func(c *conn, ctx context.Context, m callMsg) (*message, error) { return c.onCall(ctx, m, "hangup") }),
		"hold":        on(true, func(c *conn, ctx context.Context, m callMsg) (*message, error) { return c.onCall(ctx, m, "hold") }),
		"unhold":      on(true, func(c *conn, ctx context.Context, m callMsg) (*message, error) { return c.onCall(ctx, m, "unhold") }),
		"mute":        on(true, func(c *conn, ctx context.Context, m callMsg) (*message, error) { return c.onCall(ctx, m, "mute") }),
		"unmute":      on(true, func(c *conn, ctx context.Context, m callMsg) (*message, error) { return c.onCall(ctx, m, "unmute") }),
		"transfer":    on(true, (*conn).onTransfer),
		"wrapup_done": on(true, (*conn).onWrapUp),
		"callback":    on(true, (*conn).onCallback),
		"seat_offer":  on(true, (*conn).onSeatOffer),
		"seat_health": on(false, (*conn).onSeatHealth),
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// handle answers one client message: a reply (ack when the handler has none) or an error
// naming the message's id. A malformed message costs the browser nothing but the error.
func (c *conn) handle(ctx context.Context, raw []byte) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		c.refuse("", "", errorf(http.StatusBadRequest, "malformed message: not a JSON object: %v", err))
		return
	}
	if env.ID != "" && !idPattern.MatchString(env.ID) {
		c.refuse("", env.Type, errorf(http.StatusBadRequest, "id must be 1 to 64 of A-Z a-z 0-9 . _ : -"))
		return
	}
	h, ok := handlers[env.Type]
	if !ok {
		c.refuse(env.ID, "", errorf(http.StatusBadRequest, "unknown message type %q", truncate(env.Type, 40)))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.d.cfg.ActionTimeout)
	defer cancel()
	if h.action {
		if err := c.recheck(ctx); err != nil {
			return
		}
	}
	if p := c.principal(); !p.HasRole(h.roles...) {
		c.refuse(env.ID, env.Type, errorf(http.StatusForbidden, "your role (%s) may not send %s", p.Role, env.Type))
		return
	}
	reply, err := h.run(ctx, c, raw, env.ID)
	if err != nil {
		c.refuse(env.ID, env.Type, err)
		return
	}
	if reply == nil {
		reply = &message{Type: "ack", For: env.Type}
	}
	reply.ID = env.ID
	c.d.messages.WithLabelValues(env.Type, "200").Inc()
	c.sendMsg(*reply)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "")
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func itoa(n int) string { return strconv.Itoa(n) }

// bare is a message with no fields of its own.
type bare struct{ envelope }

func (bare) check() error { return nil }

func (c *conn) onPing(context.Context, bare) (*message, error) { return &message{Type: "pong"}, nil }

func (c *conn) onSnapshot(ctx context.Context, _ bare) (*message, error) {
	m := c.d.snapshot(ctx, c, "")
	return &m, nil
}

// --- state ---

type stateMsg struct {
	envelope
	State  string `json:"state"`
	Reason string `json:"reason"`
}

var reasonPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func (m stateMsg) check() error {
	switch m.State {
	case "ready", "logout":
		if m.Reason != "" {
			return fmt.Errorf("%s takes no reason", m.State)
		}
	case "not_ready":
		if m.Reason == "" {
			return errors.New("not_ready needs a reason")
		}
	default:
		return fmt.Errorf("state must be ready, not_ready or logout, not %q", truncate(m.State, 40))
	}
	return nil
}

func (c *conn) onState(ctx context.Context, m stateMsg) (*message, error) {
	reason := acd.Reason(m.Reason)
	if m.State == "not_ready" && !slices.Contains(c.d.cfg.NotReadyReasons, reason) {
		return nil, errorf(http.StatusBadRequest, "reason %q is not one of %v", truncate(m.Reason, 40), c.d.cfg.NotReadyReasons)
	}
	to := map[string]acd.State{"ready": acd.StateReady, "not_ready": acd.StateNotReady, "logout": acd.StateLoggedOut}[m.State]
	if err := c.d.setState(ctx, c, to, reason); err != nil {
		return nil, err
	}
	return nil, nil
}

// setState makes an agent's own state change in the ACD: logging in again from logged out,
// ready and not ready, logging out (which closes the seat).
func (d *Desk) setState(ctx context.Context, c *conn, to acd.State, reason acd.Reason) error {
	h, id := c.h, c.agent()
	if w, ok := h.pendingWrap(); ok && to != acd.StateNotReady {
		return &Error{msg: fmt.Sprintf("record the disposition of case %s first", w.CaseNumber), status: http.StatusConflict}
	}
	if to == acd.StateLoggedOut && h.busy() {
		return errorf(http.StatusConflict, "finish the offer or call first")
	}
	a, err := d.cfg.Agents.Agent(ctx, id)
	if errors.Is(err, acd.ErrUnknownAgent) {
		a, err = acd.Agent{ID: id, State: acd.StateLoggedOut}, nil
	}
	if err != nil {
		return fmt.Errorf("read state of %s: %w", id, err)
	}
	switch {
	case a.State == to && (to != acd.StateNotReady || a.Reason == reason):
		// Already there: nothing to do.
	case a.State == acd.StateLoggedOut:
		a, err = d.login(ctx, c.principal(), to, reason)
	case to == acd.StateLoggedOut:
		a, err = d.cfg.Agents.Logout(ctx, id, a.State)
		if err == nil && d.cfg.Seats != nil {
			d.cfg.Seats.Close(media.AgentID(id))
		}
	default:
		a, err = d.cfg.Agents.SetState(ctx, id, a.State, to, reason)
	}
	if err != nil {
		h.refresh()
		return fmt.Errorf("%s to %s: %w", id, to, err)
	}
	h.publish(stateOf(a))
	d.log.Info("agent state", "agent", id, "state", to, "reason", reason)
	return nil
}

// ensureLoggedIn logs an agent in to the distributor as not ready on their first
// connection; an agent already logged in keeps their state.
func (d *Desk) ensureLoggedIn(ctx context.Context, p auth.Principal) (acd.Agent, error) {
	id := acd.AgentID(p.Login)
	a, err := d.cfg.Agents.Agent(ctx, id)
	if err == nil && a.State != acd.StateLoggedOut {
		return a, nil
	}
	if err != nil && !errors.Is(err, acd.ErrUnknownAgent) {
		return acd.Agent{}, fmt.Errorf("read state of %s: %w", id, err)
	}
	a, err = d.login(ctx, p, acd.StateNotReady, acd.ReasonLogin)
	if errors.Is(err, acd.ErrStateConflict) {
		// Another tab or controller logged the agent in meanwhile.
		return d.cfg.Agents.Agent(ctx, id)
	}
	return a, err
}

// login logs the agent in with the skills of their account. Skills the distributor does
// not know are dropped with a warning rather than keeping the agent out.
func (d *Desk) login(ctx context.Context, p auth.Principal, to acd.State, reason acd.Reason) (acd.Agent, error) {
	profile := acd.Agent{ID: acd.AgentID(p.Login), Name: p.DisplayName}
	if d.cfg.Accounts != nil {
		acct, err := d.cfg.Accounts.GetByID(ctx, p.AgentID)
		if err != nil {
			return acd.Agent{}, fmt.Errorf("profile of %s: %w", p.Login, err)
		}
		if len(acct.Skills) > 0 {
			profile.Skills = map[acd.SkillName]acd.Level{}
			for _, s := range acct.Skills {
				profile.Skills[acd.SkillName(s.Name)] = acd.Level(s.Level)
			}
		}
	}
	a, err := d.cfg.Agents.Login(ctx, profile, to, reason)
	if errors.Is(err, acd.ErrUnknownSkill) {
		d.log.Warn("account skills unknown to the distributor: logging in without skills", "agent", p.Login, "err", err)
		profile.Skills = nil
		a, err = d.cfg.Agents.Login(ctx, profile, to, reason)
	}
	if err != nil {
		return acd.Agent{}, fmt.Errorf("log %s in: %w", p.Login, err)
	}
	return a, nil
}

// lastGone runs when an agent's last connection closed: a ready agent becomes not ready, so
// that no call rings a browser that is gone.
func (d *Desk) lastGone(h *hub) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ActionTimeout)
	defer cancel()
	_, err := d.cfg.Agents.SetState(ctx, h.agent, acd.StateReady, acd.StateNotReady, ReasonDisconnected)
	switch {
	case err == nil:
		d.log.Info("agent not ready: desk closed", "agent", h.agent)
	case errors.Is(err, acd.ErrStateConflict), errors.Is(err, acd.ErrUnknownAgent):
		// Not ready, busy or logged out already.
	default:
		d.log.Error("set agent not ready after the desk closed", "agent", h.agent, "err", err)
	}
}

// --- offers ---

type offerMsg struct {
	envelope
	Offer OfferID `json:"offer"`
}

func (m offerMsg) check() error {
	if m.Offer == "" || len(m.Offer) > 128 {
		return errors.New("offer must name the offer's id")
	}
	return nil
}

// ownOffer checks that the agent holds the offer.
func (c *conn) ownOffer(id OfferID) error {
	switch owner := c.d.offerOwner(id); owner {
	case c.agent():
		return nil
	case "":
		return errorf(http.StatusConflict, "offer %s is not on your desk (withdrawn or taken)", truncate(string(id), 64))
	default:
		return errorf(http.StatusForbidden, "offer %s is not yours", truncate(string(id), 64))
	}
}

func (c *conn) onAccept(ctx context.Context, m offerMsg) (*message, error) {
	if err := c.ownOffer(m.Offer); err != nil {
		return nil, err
	}
	if err := c.d.cfg.Calls.Accept(ctx, c.agent(), m.Offer); err != nil {
		return nil, fmt.Errorf("accept %s: %w", m.Offer, err)
	}
	c.h.accepted(m.Offer)
	return nil, nil
}

func (c *conn) onReject(ctx context.Context, m offerMsg) (*message, error) {
	if err := c.ownOffer(m.Offer); err != nil {
		return nil, err
	}
	if err := c.d.cfg.Calls.Reject(ctx, c.agent(), m.Offer); err != nil {
		return nil, fmt.Errorf("reject %s: %w", m.Offer, err)
	}
	c.d.CancelOffer(ctx, c.agent(), m.Offer, "rejected")
	return nil, nil
}

// --- calls ---

type callMsg struct {
	envelope
	Call CallID `json:"call"`
}

func (m callMsg) check() error { return checkCallID(m.Call) }

func checkCallID(id CallID) error {
	if id == "" || len(id) > 128 {
		return errors.New("call must name the call's id")
	}
	return nil
}

// ownCall checks that the agent talks on the call; ended: the call may also be one waiting
// for its disposition.
func (c *conn) ownCall(id CallID, ended bool) error {
	_, active := c.h.activeCall(id)
	_, wrapping := c.h.wrap(id)
	// A transferred call is on two desks: the next agent's (the index names them) and the
	// transferring agent's, for its disposition.
	switch owner := c.d.callOwner(id); {
	case owner == c.agent(), active, wrapping:
	case owner == "":
		return errorf(http.StatusConflict, "call %s is not on your desk", truncate(string(id), 64))
	default:
		return errorf(http.StatusForbidden, "call %s is not yours", truncate(string(id), 64))
	}
	if active {
		return nil
	}
	if _, ok := c.h.wrap(id); ok && ended {
		return nil
	}
	if _, ok := c.h.wrap(id); ok {
		return errorf(http.StatusConflict, "call %s has ended", truncate(string(id), 64))
	}
	return errorf(http.StatusConflict, "call %s is not on your desk", truncate(string(id), 64))
}

func (c *conn) onCall(ctx context.Context, m callMsg, op string) (*message, error) {
	if err := c.ownCall(m.Call, false); err != nil {
		return nil, err
	}
	agent := c.agent()
	switch op {
	case "hangup":
		if err := c.d.cfg.Calls.Hangup(ctx, agent, m.Call); err != nil {
			return nil, fmt.Errorf("hang up %s: %w", m.Call, err)
		}
	case "hold", "unhold":
		held := op == "hold"
		if err := c.d.cfg.Calls.Hold(ctx, agent, m.Call, held); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, m.Call, err)
		}
		// The agent stops hearing the caller's side too (music on hold is for the caller).
		if s := c.d.cfg.Seats; s != nil {
			if err := s.SetHeld(media.AgentID(agent), held); err != nil {
				c.d.log.Warn("seat hold", "agent", agent, "call", m.Call, "err", err)
			}
		}
		c.h.setCallFlags(m.Call, nil, &held)
	case "mute", "unmute":
		s := c.d.cfg.Seats
		if s == nil {
			return nil, errorf(http.StatusServiceUnavailable, "this controller has no softphone")
		}
		muted := op == "mute"
		if err := s.SetMuted(media.AgentID(agent), muted); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		c.h.setCallFlags(m.Call, &muted, nil)
	}
	return nil, nil
}

type transferMsg struct {
	envelope
	Call  CallID `json:"call"`
	Queue string `json:"queue"`
	Agent string `json:"agent"`
	Note  string `json:"note"`
}

// maxNoteLen bounds a transfer note, in characters.
const maxNoteLen = 500

func (m transferMsg) check() error {
	if err := checkCallID(m.Call); err != nil {
		return err
	}
	if (m.Queue == "") == (m.Agent == "") {
		return errors.New("transfer to a queue or to an agent: exactly one of queue and agent")
	}
	if m.Agent != "" {
		if err := accounts.CheckLogin(m.Agent); err != nil {
			return errors.New("agent must be an agent's login")
		}
	}
	if !utf8.ValidString(m.Note) || utf8.RuneCountInString(m.Note) > maxNoteLen {
		return fmt.Errorf("note: at most %d characters of text", maxNoteLen)
	}
	if strings.IndexFunc(m.Note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0 {
		return errors.New("note contains control characters")
	}
	return nil
}

func (c *conn) onTransfer(ctx context.Context, m transferMsg) (*message, error) {
	if m.Queue != "" && !slices.Contains(c.d.cfg.TransferQueues, m.Queue) {
		return nil, errorf(http.StatusBadRequest, "queue %q is not one of %v", truncate(m.Queue, 40), c.d.cfg.TransferQueues)
	}
	if acd.AgentID(m.Agent) == c.agent() {
		return nil, errorf(http.StatusBadRequest, "you cannot transfer a call to yourself")
	}
	if err := c.ownCall(m.Call, false); err != nil {
		return nil, err
	}
	to := Transfer{Queue: m.Queue, Agent: acd.AgentID(m.Agent), Note: strings.TrimSpace(m.Note)}
	if err := c.d.cfg.Calls.Transfer(ctx, c.agent(), m.Call, to); err != nil {
		return nil, fmt.Errorf("transfer %s: %w", m.Call, err)
	}
	c.d.log.Info("call transferred", "agent", c.agent(), "call", m.Call, "queue", m.Queue, "to_agent", m.Agent)
	return nil, nil
}

type dispositionMsg struct {
	Kind    cases.Kind   `json:"kind"`
	Status  cases.Status `json:"status"`
	Summary string       `json:"summary"`
}

type wrapUpMsg struct {
	envelope
	Call        CallID          `json:"call"`
	Disposition *dispositionMsg `json:"disposition"`
	// Next is the agent's state after wrap-up: ready (default) or not_ready with Reason.
	Next   string `json:"next"`
	Reason string `json:"reason"`
}

func (m wrapUpMsg) check() error {
	if err := checkCallID(m.Call); err != nil {
		return err
	}
	var fields []cases.FieldError
	bad := func(field, msg string) { fields = append(fields, cases.FieldError{Field: field, Message: msg}) }
	d := m.Disposition
	if d == nil {
		return &Error{msg: "a wrap-up needs the case disposition: kind, status and summary", status: http.StatusBadRequest,
			fields: []cases.FieldError{{Field: "disposition", Message: "required"}}}
	}
	if !d.Kind.Valid() {
		bad("disposition.kind", "must be one of "+fmt.Sprint(cases.Kinds))
	}
	if !slices.Contains(DispositionStatuses, d.Status) {
		bad("disposition.status", "must be one of "+fmt.Sprint(DispositionStatuses))
	} else if d.Kind == cases.KindInvalid && d.Status != cases.StatusClosed {
		bad("disposition.status", "an invalid call's case is closed")
	}
	summary := strings.TrimSpace(d.Summary)
	switch {
	case summary == "":
		bad("disposition.summary", "required")
	case !utf8.ValidString(summary) || utf8.RuneCountInString(summary) > MaxSummaryLen:
		bad("disposition.summary", fmt.Sprintf("at most %d characters of text", MaxSummaryLen))
	}
	switch {
	case m.Next == "" || m.Next == "ready":
		if m.Reason != "" {
			bad("reason", "only not_ready takes a reason")
		}
	case m.Next == "not_ready":
		if m.Reason == "" {
			bad("reason", "not_ready needs a reason")
		}
	default:
		bad("next", "must be ready or not_ready")
	}
	if len(fields) > 0 {
		msgs := make([]string, len(fields))
		for i, f := range fields {
			msgs[i] = f.Field + ": " + f.Message
		}
		return &Error{msg: "disposition refused: " + strings.Join(msgs, "; "), status: http.StatusBadRequest, fields: fields}
	}
	return nil
}

func (c *conn) onWrapUp(ctx context.Context, m wrapUpMsg) (*message, error) {
	if err := c.ownCall(m.Call, true); err != nil {
		return nil, err
	}
	w, ok := c.h.wrap(m.Call)
	if !ok {
		return nil, errorf(http.StatusConflict, "call %s has not ended: hang up first", truncate(string(m.Call), 64))
	}
	next, reason := acd.StateReady, acd.Reason("")
	if m.Next == "not_ready" {
		next, reason = acd.StateNotReady, acd.Reason(m.Reason)
		if !slices.Contains(c.d.cfg.NotReadyReasons, reason) {
			return nil, errorf(http.StatusBadRequest, "reason %q is not one of %v", truncate(m.Reason, 40), c.d.cfg.NotReadyReasons)
		}
	}
	d := Disposition{CaseNumber: w.CaseNumber, Kind: m.Disposition.Kind, Status: m.Disposition.Status, Summary: strings.TrimSpace(m.Disposition.Summary)}
	agent := c.agent()
	if err := c.d.cfg.Calls.WrapUpDone(ctx, agent, m.Call, d); err != nil {
		return nil, fmt.Errorf("wrap up %s: %w", m.Call, err)
	}
	c.h.wrapDone(m.Call)
	c.d.log.Info("wrap-up done", "agent", agent, "call", m.Call, "case", w.CaseNumber, "kind", d.Kind, "status", d.Status)
	// Out of wrap-up, to where the agent asked. When wrap-up already ran out (the agent is
	// ready), only a request for not ready still applies.
	a, err := c.d.cfg.Agents.Agent(ctx, agent)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", agent, err)
	}
	switch {
	case a.State == acd.StateWrapUp:
		a, err = c.d.cfg.Agents.SetState(ctx, agent, acd.StateWrapUp, next, reason)
	case a.State == acd.StateReady && next == acd.StateNotReady:
		a, err = c.d.cfg.Agents.SetState(ctx, agent, acd.StateReady, next, reason)
	}
	if err != nil {
		c.h.refresh()
		return nil, fmt.Errorf("the disposition is recorded, but the state change failed: %w", err)
	}
	c.h.publish(stateOf(a))
	return nil, nil
}

type callbackMsg struct {
	envelope
	Task cases.TaskID `json:"task"`
}

func (m callbackMsg) check() error {
	if m.Task <= 0 {
		return errors.New("task must name an open callback task")
	}
	return nil
}

func (c *conn) onCallback(ctx context.Context, m callbackMsg) (*message, error) {
	if c.h.busy() {
		return nil, errorf(http.StatusConflict, "finish the offer or call first")
	}
	if w, ok := c.h.pendingWrap(); ok {
		return nil, errorf(http.StatusConflict, "record the disposition of case %s first", w.CaseNumber)
	}
	if err := c.d.cfg.Calls.Callback(ctx, c.agent(), m.Task); err != nil {
		return nil, fmt.Errorf("call back task %d: %w", m.Task, err)
	}
	c.d.log.Info("callback started", "agent", c.agent(), "task", m.Task)
	return nil, nil
}

// --- seat ---

type seatOfferMsg struct {
	envelope
	SDP string `json:"sdp"`
}

// maxSDP bounds an SDP offer.
const maxSDP = 32 << 10

func (m seatOfferMsg) check() error {
	if strings.TrimSpace(m.SDP) == "" || len(m.SDP) > maxSDP {
		return fmt.Errorf("sdp must be the browser's SDP offer, at most %d bytes", maxSDP)
	}
	return nil
}

func (c *conn) onSeatOffer(ctx context.Context, m seatOfferMsg) (*message, error) {
	s := c.d.cfg.Seats
	if s == nil {
		return nil, errorf(http.StatusServiceUnavailable, "this controller has no softphone")
	}
	answer, err := s.Open(ctx, media.AgentID(c.agent()), m.SDP)
	if err != nil {
		return nil, fmt.Errorf("open seat: %w", err)
	}
	return &message{Type: "seat_answer", SDP: answer}, nil
}

// onSeatHealth answers with the seat's health now: its state, ICE state, packets, loss and
// jitter each way (the desk polls it during calls; state changes come unasked).
func (c *conn) onSeatHealth(context.Context, bare) (*message, error) {
	return &message{Type: "seat_health", Seat: c.d.seatView(c.agent(), nil)}, nil
}

// --- snapshot ---

// maxTasks bounds the callback tasks a snapshot lists.
const maxTasks = 50

// snapshot is everything the agent's screen shows, sent on every (re)connection and on
// request.
func (d *Desk) snapshot(ctx context.Context, c *conn, id string) message {
	p := c.principal()
	o, call, wraps, st := c.h.screens()
	tasks := []taskView{}
	open, err := d.cfg.Cases.OpenCallbackTasks(ctx, maxTasks)
	if err != nil {
		d.log.Error("snapshot: callback tasks", "agent", p.Login, "err", err)
	}
	for _, t := range open {
		tasks = append(tasks, taskOf(t))
	}
	if wraps == nil {
		wraps = []wrapView{}
	}
	now := d.cfg.Now()
	return message{Type: "snapshot", ID: id, Agent: &agentView{Login: p.Login, DisplayName: p.DisplayName, Role: p.Role},
		State: &st, Offer: o, Call: call, Wrapups: &wraps, Seat: d.seatView(c.agent(), nil), Tasks: &tasks,
		Options: d.options(), ServerTime: &now}
}
