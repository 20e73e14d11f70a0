package sim

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// app is a Stasis application. Only its newest socket (active) receives
// events; older sockets stay open but hear nothing after ApplicationReplaced.
type app struct {
	name   string
	active *wsConn
	conns  []*wsConn // every open socket that subscribed to it
}

// wsConn is one event socket. Events are queued without blocking (the state
// lock is held while queueing) and written by the conn's own goroutine.
type wsConn struct {
	ws   *websocket.Conn
	apps []string

	mu      sync.Mutex
	queue   [][]byte
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	dropped bool
}

func newWSConn(ws *websocket.Conn, apps []string) *wsConn {
	return &wsConn{ws: ws, apps: apps, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *wsConn) enqueue(msg []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, msg)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop is the only writer of data frames on the socket.
func (c *wsConn) writeLoop() {
	var batch [][]byte
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		c.mu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.mu.Unlock()
		for _, m := range batch {
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				c.close()
				return
			}
		}
		clear(batch)
	}
}

// close ends the conn with a normal close frame.
func (c *wsConn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	ws := c.ws
	c.mu.Unlock()
	close(c.done)
	if ws != nil {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
	}
}

// drop closes the TCP connection without a close frame, like a network failure.
func (c *wsConn) drop() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.dropped = true
	ws := c.ws
	c.mu.Unlock()
	close(c.done)
	if ws != nil {
		_ = ws.Close()
	}
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 16384,
	// ARI clients are not browsers; Asterisk does not check Origin either.
	CheckOrigin: func(*http.Request) bool { return true },
}

// handleEvents serves GET /ari/events?app=a[,b].
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, p params) {
	appParam := p.get("app")
	var names []string
	for _, n := range strings.Split(appParam, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		writeError(w, http.StatusBadRequest, "Missing param 'app'")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		writeError(w, http.StatusBadRequest, "Expected a WebSocket upgrade")
		return
	}
	// The app is registered before the 101 goes out, so a call placed as
	// soon as the client sees the upgrade reaches Stasis; events queue
	// until the writer starts.
	c := newWSConn(nil, names)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "Shutting down")
		return
	}
	for _, n := range names {
		a := s.apps[n]
		if a == nil {
			a = &app{name: n}
			s.apps[n] = a
		}
		if old := a.active; old != nil {
			// The newest socket wins; the old one is told once and kept open.
			old.enqueue(withApp(s.encodeEvent("ApplicationReplaced", time.Now(), nil), n))
		}
		a.active = c
		a.conns = append(a.conns, c)
	}
	s.mu.Unlock()
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.socketGone(c)
		return // Upgrade has written the error response
	}
	c.mu.Lock()
	c.ws = ws
	closed := c.closed
	c.mu.Unlock()
	if closed {
		ws.Close()
		s.socketGone(c)
		return
	}
	s.log.Debug("app socket connected", "apps", names)

	s.goTracked(c.writeLoop)
	s.goTracked(func() {
		// Asterisk ignores what clients send; reading detects the close.
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				break
			}
		}
		s.socketGone(c)
		c.close()
	})
}

// socketGone deactivates the apps whose active socket was c.
func (s *Server) socketGone(c *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range c.apps {
		a := s.apps[n]
		if a == nil {
			continue
		}
		for i, o := range a.conns {
			if o == c {
				a.conns = append(a.conns[:i], a.conns[i+1:]...)
				break
			}
		}
		if a.active == c {
			a.active = nil
			s.log.Info("Deactivating Stasis app", "app", n)
		}
	}
}

// appActive reports whether app has a socket. Caller holds s.mu.
func (s *Server) appActive(name string) bool {
	a := s.apps[name]
	return a != nil && a.active != nil
}

// appListed reports whether GET /applications shows app: Asterisk keeps a
// deactivated app registered while it still has channels or bridges.
func (s *Server) appJSON(name string) (applicationJSON, bool) {
	aj := applicationJSON{Name: name, ChannelIDs: []string{}, BridgeIDs: []string{},
		EndpointIDs: []string{}, DeviceNames: []string{}, EventsAllowed: []any{}, EventsDisallowed: []any{}}
	for _, ch := range s.channelsInOrder() {
		if ch.subscribed(name) {
			aj.ChannelIDs = append(aj.ChannelIDs, ch.id)
		}
	}
	for _, id := range sortedKeys(s.bridges) {
		if s.bridges[id].subscribed(name) {
			aj.BridgeIDs = append(aj.BridgeIDs, id)
		}
	}
	listed := s.appActive(name) || len(aj.ChannelIDs) > 0 || len(aj.BridgeIDs) > 0
	return aj, listed
}
