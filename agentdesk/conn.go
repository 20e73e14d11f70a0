package agentdesk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
)

const (
	// maxMessage bounds a client message; an SDP offer is a few kilobytes.
	maxMessage = 64 << 10
	// maxQueued bounds the messages waiting to be written to one connection: a browser that
	// reads slower than that is closed (it reconnects and gets a snapshot).
	maxQueued = 256
	// pingEvery is how often the server pings the browser, to find dead connections.
	pingEvery = 30 * time.Second
	// writeTimeout bounds one write to the browser.
	writeTimeout = 10 * time.Second
)

// deskRoles may use the agent desk.
var deskRoles = []accounts.Role{accounts.RoleAgent, accounts.RoleSupervisor}

// Close codes of the desk (4000-4999 are the application's).
const (
	closeSessionEnded websocket.StatusCode = 4001
	closeTooSlow      websocket.StatusCode = 4002
	closeUnavailable  websocket.StatusCode = 4003
)

// conn is one browser tab's WebSocket.
type conn struct {
	d   *Desk
	h   *hub
	ws  *websocket.Conn
	lim *rate.Limiter

	pmu sync.Mutex
	p   auth.Principal // rechecked now and then: the role may change

	qmu    sync.Mutex
	queue  [][]byte
	wake   chan struct{}
	done   chan struct{} // closed when the connection is finished with
	closed bool
	code   websocket.StatusCode
	why    string
}

func (c *conn) principal() auth.Principal {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.p
}

func (c *conn) agent() acd.AgentID { return c.h.agent }

// send queues a message; it never blocks.
func (c *conn) send(b []byte) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closed {
		return
	}
	if len(c.queue) >= maxQueued {
		c.finishLocked(closeTooSlow, "too many messages unread")
		return
	}
	c.queue = append(c.queue, b)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) sendMsg(m message) {
	b, err := json.Marshal(m)
	if err != nil {
		c.d.log.Error("encode message", "agent", c.agent(), "type", m.Type, "err", err)
		return
	}
	c.send(b)
}

// prepend puts the snapshot before whatever was queued while it was built: those messages
// are newer than or reflected in it.
func (c *conn) prepend(b []byte) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.queue = append([][]byte{b}, c.queue...)
}

// finish ends the connection with code and why; the writer sends what is queued, then the
// close frame.
func (c *conn) finish(code websocket.StatusCode, why string) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.finishLocked(code, why)
}

func (c *conn) finishLocked(code websocket.StatusCode, why string) {
	if c.closed {
		return
	}
	c.closed, c.code, c.why = true, code, why
	close(c.done)
}

func (c *conn) closeGoingAway(why string) { c.finish(websocket.StatusGoingAway, why) }

// serveWS is GET /api/agent/ws, behind auth.RequireWebSocket.
func (d *Desk) serveWS(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, auth.ErrNoSession.Error())
		return
	}
	if d.shuttingDown() {
		writeError(w, http.StatusServiceUnavailable, "the controller is shutting down: connect again")
		return
	}
	// RequireWebSocket has checked the Origin (the page's own host or a trusted origin).
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		d.log.Warn("websocket upgrade", "agent", p.Login, "err", err)
		return
	}
	ws.SetReadLimit(maxMessage)
	h := d.hubFor(acd.AgentID(p.Login), true)
	if h == nil {
		ws.Close(websocket.StatusGoingAway, "controller shutting down")
		return
	}
	c := &conn{d: d, h: h, ws: ws, p: p, lim: rate.NewLimiter(20, 40), wake: make(chan struct{}, 1), done: make(chan struct{})}
	d.wg.Add(1)
	defer d.wg.Done()
	d.connections.Inc()
	defer d.connections.Dec()
	c.run(r.Context())
}

func (c *conn) run(ctx context.Context) {
	d, h := c.d, c.h
	log := d.log.With("agent", h.agent)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	lctx, lcancel := context.WithTimeout(ctx, d.cfg.ActionTimeout)
	a, err := d.ensureLoggedIn(lctx, c.principal())
	lcancel()
	if err != nil {
		log.Error("log in to the distributor", "err", err)
		c.ws.Close(closeUnavailable, "the call distributor is not available")
		d.forget(h)
		return
	}
	h.attach(c)
	h.publish(stateOf(a))
	log.Info("desk connected")
	defer func() {
		// On shutdown the browser reconnects to another controller at once: leave the
		// agent's state alone (an offer to a desk that did not come back rings out).
		if h.detach(c) && !d.shuttingDown() {
			d.lastGone(h)
		}
		d.forget(h)
		log.Info("desk disconnected", "code", c.code, "why", c.why)
	}()

	sctx, scancel := context.WithTimeout(ctx, d.cfg.ActionTimeout)
	snap := d.snapshot(sctx, c, "")
	scancel()
	b, err := json.Marshal(snap)
	if err != nil {
		log.Error("encode snapshot", "err", err)
		c.ws.Close(websocket.StatusInternalError, "")
		return
	}
	c.prepend(b)

	var wg sync.WaitGroup
	wg.Go(func() { c.write(ctx) })
	wg.Go(func() { c.keepalive(ctx) })
	c.read(ctx)
	c.finish(websocket.StatusNormalClosure, "")
	wg.Wait()
}

// write sends queued messages until the connection finishes, then the close frame.
func (c *conn) write(ctx context.Context) {
	for {
		c.qmu.Lock()
		q := c.queue
		c.queue = nil
		c.qmu.Unlock()
		for _, b := range q {
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.ws.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.finish(websocket.StatusAbnormalClosure, "write failed")
				c.ws.CloseNow()
				return
			}
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-c.wake:
		case <-c.done:
			c.qmu.Lock()
			q, code, why := c.queue, c.code, c.why
			c.queue = nil
			c.qmu.Unlock()
			for _, b := range q {
				wctx, cancel := context.WithTimeout(ctx, writeTimeout)
				err := c.ws.Write(wctx, websocket.MessageText, b)
				cancel()
				if err != nil {
					break
				}
			}
			if code == websocket.StatusAbnormalClosure {
				c.ws.CloseNow()
				return
			}
			// Close waits for the browser's close frame (bounded by the library).
			_ = c.ws.Close(code, why)
			return
		}
	}
}

// keepalive pings the browser, rechecks the session now and then (a sign-out elsewhere or a
// disabled account ends the desk too; the recheck keeps an open desk's session alive), and
// ends the connection when the session reaches its absolute expiry.
func (c *conn) keepalive(ctx context.Context) {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	recheck := time.NewTicker(c.d.cfg.Recheck)
	defer recheck.Stop()
	expiry := time.NewTimer(time.Until(c.principal().ExpiresAt))
	defer expiry.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-ctx.Done():
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.finish(websocket.StatusAbnormalClosure, "no pong")
				return
			}
		case <-recheck.C:
			if err := c.recheck(ctx); err != nil {
				return
			}
		case <-expiry.C:
			c.endSession(auth.ErrExpired)
			return
		}
	}
}

// recheck confirms the session and the role; when either is gone it tells the browser and
// ends the connection, and returns the reason.
func (c *conn) recheck(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, c.d.cfg.ActionTimeout)
	defer cancel()
	p, err := c.d.cfg.Auth.Recheck(rctx, c.principal())
	if err == nil && !p.HasRole(deskRoles...) {
		err = auth.ErrForbidden
	}
	switch {
	case err == nil:
		c.pmu.Lock()
		c.p = p
		c.pmu.Unlock()
		return nil
	case auth.HTTPStatus(err) == http.StatusInternalServerError:
		// The database hiccuped: keep the desk open, try again at the next message.
		c.d.log.Warn("recheck session", "agent", c.agent(), "err", err)
		return nil
	}
	c.endSession(err)
	return err
}

func (c *conn) endSession(err error) {
	c.sendMsg(message{Type: "error", Code: auth.HTTPStatus(err), Error: err.Error()})
	c.finish(closeSessionEnded, "session ended")
}

// read handles the browser's messages in order until the connection ends.
func (c *conn) read(ctx context.Context) {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig || errors.Is(err, websocket.ErrMessageTooBig) {
				c.d.log.Warn("message too big", "agent", c.agent())
			}
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
		if typ != websocket.MessageText || !utf8.Valid(data) {
			c.refuse("", "", errorf(http.StatusBadRequest, "send JSON in UTF-8 text messages"))
			continue
		}
		if !c.lim.Allow() {
			c.refuse("", "", errorf(http.StatusTooManyRequests, "too many messages: slow down"))
			continue
		}
		c.handle(ctx, data)
	}
}

// refuse answers a message with an error; server-side failures are logged and shown
// without their details.
func (c *conn) refuse(id, typ string, err error) {
	code := statusOf(err)
	m := message{Type: "error", ID: id, Code: code, Error: err.Error()}
	var de *Error
	if errors.As(err, &de) {
		m.Fields = de.fields
	}
	if code >= 500 {
		c.d.log.Error("desk message failed", "agent", c.agent(), "type", typ, "err", err)
		m.Error = "the server could not do that now; try again"
	}
	if _, known := handlers[typ]; !known {
		typ = "invalid" // the label stays bounded whatever a client sends
	}
	c.d.messages.WithLabelValues(typ, itoa(code)).Inc()
	c.sendMsg(m)
}
