package agentdesk

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"hotline/acd"
	"hotline/cases"
)

// hub is one agent on the desk: their open connections (one per browser tab) and what
// their screens show: the ringing offer, the call, the calls waiting for a disposition.
type hub struct {
	d     *Desk
	agent acd.AgentID

	mu    sync.Mutex
	conns map[*conn]struct{}
	offer *offerView
	call  *callView
	wraps []wrapView
	// recent are the cases the agent works on now or just did: the case form may save them.
	recent []cases.Number
	last   stateView // the ACD state last shown
	// watching cancels the state watcher; set while the agent has connections.
	watching context.CancelFunc
	kick     chan struct{}
}

// maxRecent is how many cases of calls just handled stay editable by the agent.
const maxRecent = 5

func newHub(d *Desk, agent acd.AgentID) *hub {
	return &hub{d: d, agent: agent, conns: map[*conn]struct{}{}, kick: make(chan struct{}, 1)}
}

// idle reports whether the hub holds nothing worth keeping. Caller holds mu. The cases
// just handled are worth keeping: an agent who reloads the page may still correct them.
func (h *hub) idle() bool {
	return len(h.conns) == 0 && h.offer == nil && h.call == nil && len(h.wraps) == 0 && len(h.recent) == 0
}

func (h *hub) connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns) > 0
}

// attach adds a connection and starts watching the agent's state with the first one.
func (h *hub) attach(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[c] = struct{}{}
	if h.watching == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.watching = cancel
		h.d.wg.Add(1)
		go func() {
			defer h.d.wg.Done()
			h.watch(ctx)
		}()
	}
}

// detach removes a connection and reports whether it was the last.
func (h *hub) detach(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return false
	}
	delete(h.conns, c)
	if len(h.conns) > 0 {
		return false
	}
	if h.watching != nil {
		h.watching()
		h.watching = nil
	}
	return true
}

func (h *hub) closeAll(reason string) {
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.closeGoingAway(reason)
	}
}

// broadcast sends m to every connection of the agent.
func (h *hub) broadcast(m message) {
	b, err := json.Marshal(m)
	if err != nil {
		h.d.log.Error("encode message", "agent", h.agent, "type", m.Type, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendLocked(b)
}

func (h *hub) sendLocked(b []byte) {
	for c := range h.conns {
		c.send(b)
	}
}

func (h *hub) broadcastLocked(m message) {
	b, err := json.Marshal(m)
	if err != nil {
		h.d.log.Error("encode message", "agent", h.agent, "type", m.Type, "err", err)
		return
	}
	h.sendLocked(b)
}

// refresh asks the watcher to read the agent's state now.
func (h *hub) refresh() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// watch shows the agent's ACD state on their screens whenever it changes, including the
// changes made elsewhere: the distribution reserving and ringing, an offer ringing out, the
// end of wrap-up, a supervisor.
func (h *hub) watch(ctx context.Context) {
	t := time.NewTicker(h.d.cfg.StatePoll)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, h.d.cfg.ActionTimeout)
		a, err := h.d.cfg.Agents.Agent(rctx, h.agent)
		cancel()
		switch {
		case err == nil:
			h.publish(stateOf(a))
		case errors.Is(err, acd.ErrUnknownAgent):
			h.publish(stateView{State: acd.StateLoggedOut.String()})
		case ctx.Err() == nil:
			h.d.log.Warn("read agent state", "agent", h.agent, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.kick:
		}
	}
}

// publish shows a state read from the ACD, unless it is what the screens show already or
// older than it (a read that raced with a change).
func (h *hub) publish(s stateView) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s == h.last || s.Since.Before(h.last.Since) {
		return
	}
	h.last = s
	h.broadcastLocked(message{Type: "state", State: &s})
}

func (h *hub) remember(n cases.Number) {
	if n == "" {
		return
	}
	h.recent = slices.DeleteFunc(h.recent, func(x cases.Number) bool { return x == n })
	h.recent = append(h.recent, n)
	if len(h.recent) > maxRecent {
		h.recent = h.recent[len(h.recent)-maxRecent:]
	}
}

func (h *hub) canRing(o Offer) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.canRingLocked(o)
}

func (h *hub) canRingLocked(o Offer) error {
	if (h.offer != nil && h.offer.ID != o.ID) || h.call != nil {
		return ErrBusy
	}
	return nil
}

func (h *hub) ring(o Offer, v offerView) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns) == 0 {
		return ErrNotConnected
	}
	if err := h.canRingLocked(o); err != nil {
		return err
	}
	h.offer = &v
	h.d.index(o.ID, "", h.agent)
	h.broadcastLocked(message{Type: "offer", Offer: &v})
	h.refresh()
	return nil
}

// cancel withdraws offer id; false when it is not on the desk.
func (h *hub) cancel(id OfferID, reason string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.offer == nil || h.offer.ID != id {
		return false
	}
	h.offer = nil
	h.d.index(id, "", "")
	h.broadcastLocked(message{Type: "offer_cancelled", OfferID: id, Reason: reason})
	h.refresh()
	return true
}

// accepted marks the offer answered: the case is the agent's to edit from now on.
func (h *hub) accepted(id OfferID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.offer != nil && h.offer.ID == id {
		h.offer.Accepted = true
		h.remember(h.offer.CaseNumber)
		h.broadcastLocked(message{Type: "offer", Offer: h.offer})
	}
}

func (h *hub) connect(c Call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.call != nil && h.call.ID != c.ID {
		return ErrBusy
	}
	v := callView{ID: c.ID, CaseNumber: c.CaseNumber, Caller: c.Caller.Masked(), Direction: c.Direction, Queue: c.Queue,
		Task: c.Task, ConnectedAt: h.d.cfg.Now(), History: []historyView{}}
	if h.call != nil {
		v = *h.call // connected again (a retried notice): keep what the screen shows
	} else if o := h.offer; o != nil && o.Call == c.ID {
		if v.CaseNumber == "" {
			v.CaseNumber = o.CaseNumber
		}
		if c.Caller == "" {
			v.Caller = o.Caller
		}
		if v.Queue == "" {
			v.Queue = o.Queue
		}
		if v.Task == 0 {
			v.Task = o.Task
		}
		v.IVRPath, v.History, v.Note = o.IVRPath, o.History, o.Note
	}
	if v.Direction == "" {
		v.Direction = cases.Inbound
	}
	if o := h.offer; o != nil && o.Call == c.ID {
		h.offer = nil
		h.d.index(o.ID, "", "")
	}
	h.call = &v
	h.d.index("", c.ID, h.agent)
	h.remember(v.CaseNumber)
	h.broadcastLocked(message{Type: "call_connected", Call: &v})
	h.refresh()
	return nil
}

func (h *hub) end(id CallID, reason string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.call == nil || h.call.ID != id {
		return ErrUnknownCall
	}
	w := wrapView{Call: id, CaseNumber: h.call.CaseNumber, EndedAt: h.d.cfg.Now(), Reason: reason}
	h.call = nil
	h.wraps = append(h.wraps, w)
	// The call stays indexed to the agent until its disposition is recorded.
	h.broadcastLocked(message{Type: "call_ended", CallID: id, Wrapup: &w, Reason: reason})
	h.refresh()
	return nil
}

// activeCall returns the call the agent talks on if it is id.
func (h *hub) activeCall(id CallID) (callView, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.call == nil || h.call.ID != id {
		return callView{}, false
	}
	return *h.call, true
}

func (h *hub) wrap(id CallID) (wrapView, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.wraps {
		if w.Call == id {
			return w, true
		}
	}
	return wrapView{}, false
}

func (h *hub) wrapDone(id CallID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.wraps)
	h.wraps = slices.DeleteFunc(h.wraps, func(w wrapView) bool { return w.Call == id })
	if len(h.wraps) == n {
		return
	}
	h.d.unindexCall(id, h.agent)
	h.broadcastLocked(message{Type: "wrapup_recorded", CallID: id})
	h.refresh()
}

// pendingWrap returns a call still waiting for its disposition, if any.
func (h *hub) pendingWrap() (wrapView, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.wraps) == 0 {
		return wrapView{}, false
	}
	return h.wraps[0], true
}

// busy reports whether an offer or a call is on the desk.
func (h *hub) busy() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offer != nil || h.call != nil
}

// setCallFlags records mute or hold on the active call and shows it.
func (h *hub) setCallFlags(id CallID, muted, held *bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.call == nil || h.call.ID != id {
		return
	}
	if muted != nil {
		h.call.Muted = *muted
	}
	if held != nil && *held != h.call.Held {
		now := h.d.cfg.Now()
		h.call.Held = *held
		if *held {
			h.call.HeldSince = &now
		} else if h.call.HeldSince != nil {
			h.call.HeldSeconds += int(now.Sub(*h.call.HeldSince) / time.Second)
			h.call.HeldSince = nil
		}
	}
	v := *h.call
	h.broadcastLocked(message{Type: "call_updated", Call: &v})
}

// screens returns copies of what the agent's screens show, for a snapshot.
func (h *hub) screens() (*offerView, *callView, []wrapView, stateView) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var o *offerView
	if h.offer != nil {
		v := *h.offer
		o = &v
	}
	var c *callView
	if h.call != nil {
		v := *h.call
		c = &v
	}
	return o, c, slices.Clone(h.wraps), h.last
}
