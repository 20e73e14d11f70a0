package pbx

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// relay sits between Asterisk's event socket and the client library. The
// library connects to a loopback WebSocket served here; the relay holds the
// real connection to Asterisk, forwards only frames the library can decode,
// and reconnects upstream on its own, so the library never sees a drop (its
// own reconnect loop has no backoff and no deadline).
type relay struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	auth string // Authorization header the library must present

	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	down     *websocket.Conn // the library's socket, nil while it is away
	queue    []queued        // frames waiting for the library
	inflight int             // bus-bound frames written, not yet seen by our subscriber
	// arrivals holds, oldest first, when each of the inflight frames arrived from
	// Asterisk: the library delivers them in order, so delivered pops the time of the
	// event our subscriber just got.
	arrivals []time.Time
	credit   chan struct{} // signalled when inflight drops
	attached chan struct{} // closed when the first library socket attaches
	once     sync.Once
	wake     chan struct{}

	// Hooks, set before start; called from the relay's upstream goroutine.
	onUp       func(reconnect bool)
	onDown     func(err error)
	onReplaced func()
	onStandBy  func()
}

// maxQueued bounds the frames held while the library is not attached.
const maxQueued = 100_000

// busWindow bounds the events in flight between the relay and our bus
// subscriber. The library's bus silently drops an event when a subscriber
// has 100 unread, so the relay never lets more than this be outstanding.
const busWindow = 50

type queued struct {
	frame      []byte
	reachesBus bool
	at         time.Time // when it arrived from Asterisk
}

// maxReplacedDelay caps the escalating wait after repeated ApplicationReplaced.
const maxReplacedDelay = time.Minute

// replacedDelay is the wait before taking the app back after the streak-th
// ApplicationReplaced in a row (0 for the first): doubling, capped.
func replacedDelay(base time.Duration, streak int) time.Duration {
	return min(base<<min(streak, 10), max(maxReplacedDelay, base))
}

var errReplaced = errors.New("application replaced by another socket")

func newRelay(cfg Config, log *slog.Logger, m *metrics) *relay {
	return &relay{
		cfg:      cfg,
		log:      log,
		m:        m,
		auth:     "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)),
		attached: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		credit:   make(chan struct{}, 1),
	}
}

// listen starts the loopback server the library will connect to and returns
// its ws:// URL.
func (r *relay) listen(ctx context.Context) (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("relay listen: %w", err)
	}
	r.ln = ln
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serveLibrary), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	go r.writeLoop(ctx)
	return "ws://" + ln.Addr().String() + "/ari/events", nil
}

func (r *relay) close() {
	if r.srv != nil {
		_ = r.srv.Close()
	}
	r.mu.Lock()
	if r.down != nil {
		_ = r.down.Close()
		r.down = nil
	}
	r.mu.Unlock()
}

var upgrader = websocket.Upgrader{
	// Only the in-process library connects, over loopback, with our credentials.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (r *relay) serveLibrary(w http.ResponseWriter, req *http.Request) {
	if subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), []byte(r.auth)) != 1 {
		http.Error(w, `{"message":"Authentication required"}`, http.StatusUnauthorized)
		return
	}
	conn, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		r.log.Warn("pbx relay: library upgrade failed", "err", err)
		return
	}
	r.mu.Lock()
	if r.down != nil {
		_ = r.down.Close()
	}
	r.down = conn
	r.inflight = 0 // a new library socket: whatever was in flight is gone
	r.arrivals = r.arrivals[:0]
	r.mu.Unlock()
	r.once.Do(func() { close(r.attached) })
	r.poke()
	// Reading keeps control frames flowing and tells us when the library leaves.
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				r.mu.Lock()
				if r.down == conn {
					r.down = nil
				}
				r.mu.Unlock()
				_ = conn.Close()
				return
			}
		}
	}()
}

func (r *relay) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// forward passes a frame on to the library. When nothing is queued ahead of the frame and
// the library has room (fewer than busWindow frames unread, which the loopback socket's
// buffer holds without blocking), the pump writes it itself, saving a goroutine wake-up on
// every event's way; otherwise it queues it for writeLoop.
func (r *relay) forward(q queued) {
	r.mu.Lock()
	conn := r.down
	if conn == nil || len(r.queue) > 0 || (q.reachesBus && r.inflight >= busWindow) {
		r.mu.Unlock()
		r.enqueue(q)
		return
	}
	if q.reachesBus {
		r.inflight++ // before the write, as in writeLoop
		r.arrivals = append(r.arrivals, q.at)
	}
	r.mu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, q.frame); err != nil {
		r.writeFailed(conn, q, err)
		r.enqueue(q) // for the library's next socket
	}
}

// writeFailed undoes the accounting of a frame whose write failed and drops the socket.
func (r *relay) writeFailed(conn *websocket.Conn, q queued, err error) {
	r.mu.Lock()
	if q.reachesBus && r.inflight > 0 {
		r.inflight--
		if n := len(r.arrivals); n > 0 { // ours is the newest, unless a new socket reset them
			r.arrivals = r.arrivals[:n-1]
		}
	}
	if r.down == conn {
		r.down = nil
	}
	r.mu.Unlock()
	_ = conn.Close()
	r.log.Warn("pbx relay: write to library failed", "err", err)
}

func (r *relay) enqueue(q queued) {
	r.mu.Lock()
	if len(r.queue) >= maxQueued {
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.m.drop("", "overflow")
		r.log.Error("pbx relay: library not reading, oldest event dropped")
		r.mu.Lock()
	}
	r.queue = append(r.queue, q)
	r.mu.Unlock()
	r.poke()
}

// delivered is called by our bus subscriber for every event it receives; it returns when
// that event's frame arrived from Asterisk (zero if not known).
func (r *relay) delivered() (arrived time.Time) {
	r.mu.Lock()
	if r.inflight > 0 {
		r.inflight--
	}
	if len(r.arrivals) > 0 {
		arrived = r.arrivals[0]
		r.arrivals = r.arrivals[1:]
	}
	r.mu.Unlock()
	select {
	case r.credit <- struct{}{}:
	default:
	}
	return arrived
}

// writeLoop writes the queued frames to the library's socket. gorilla allows one writer:
// forward writes only while nothing is queued, writeLoop only while something is, and the
// pump that runs forward is the only one to queue.
func (r *relay) writeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		for {
			r.mu.Lock()
			conn := r.down
			if conn == nil || len(r.queue) == 0 {
				r.mu.Unlock()
				break
			}
			q := r.queue[0]
			if q.reachesBus && r.inflight >= busWindow {
				r.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-r.credit:
				case <-r.wake:
				}
				continue
			}
			if q.reachesBus {
				// Counted before the write: the library may deliver it before we
				// get the lock back.
				r.inflight++
				r.arrivals = append(r.arrivals, q.at)
			}
			r.mu.Unlock()
			_ = conn.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, q.frame); err != nil {
				// The frame stays queued for the library's next socket.
				r.writeFailed(conn, q, err)
				break
			}
			r.mu.Lock()
			r.queue[0] = queued{}
			r.queue = r.queue[1:]
			r.mu.Unlock()
		}
	}
}

// dial opens one event socket to Asterisk.
func (r *relay) dial(ctx context.Context) (*websocket.Conn, error) {
	u, err := url.Parse(r.cfg.WebSocketURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("app", r.cfg.Application)
	u.RawQuery = q.Encode()
	d := websocket.Dialer{HandshakeTimeout: r.cfg.DialTimeout, Proxy: nil}
	h := http.Header{}
	h.Set("Authorization", r.auth)
	dctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimeout)
	defer cancel()
	conn, resp, err := d.DialContext(dctx, u.String(), h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: HTTP %d: %w", r.cfg.WebSocketURL, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial %s: %w", r.cfg.WebSocketURL, err)
	}
	return conn, nil
}

// dialRetry dials until it succeeds or ctx ends, backing off between tries.
func (r *relay) dialRetry(ctx context.Context, first time.Duration) (*websocket.Conn, error) {
	wait := first
	var last error
	for {
		conn, err := r.dial(ctx)
		if err == nil {
			return conn, nil
		}
		last = err
		r.log.Warn("pbx relay: connect to Asterisk failed", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-t.C:
		}
		wait = min(wait*2, r.cfg.BackoffMax)
	}
}

// run pumps conn until it fails, then reconnects with backoff, forever (until
// ctx ends or the stand-by policy stops it).
func (r *relay) run(ctx context.Context, conn *websocket.Conn) {
	streak := 0 // ApplicationReplaced in a row: back off harder each time
	for {
		since := time.Now()
		err := r.pump(ctx, conn)
		_ = conn.Close()
		if time.Since(since) > maxReplacedDelay {
			streak = 0
		}
		if ctx.Err() != nil {
			return
		}
		first := r.cfg.BackoffMin
		if errors.Is(err, errReplaced) {
			r.m.replaced.Inc()
			r.log.Error("pbx: ALARM ApplicationReplaced: another socket took over the Stasis app",
				"app", r.cfg.Application, "policy", r.cfg.OnReplaced.String())
			if r.onReplaced != nil {
				r.onReplaced()
			}
			if r.cfg.OnReplaced == ReplacedStandBy {
				if r.onStandBy != nil {
					r.onStandBy()
				}
				return
			}
			// Another controller keeps taking the app: do not fight it at
			// full speed; the alarm is already raised each time.
			first = replacedDelay(r.cfg.ReplacedDelay, streak)
			streak++
			t := time.NewTimer(first)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			first = r.cfg.BackoffMin
		} else {
			r.log.Warn("pbx: event socket to Asterisk lost, reconnecting", "err", err)
		}
		if r.onDown != nil {
			r.onDown(err)
		}
		conn, err = r.dialRetry(ctx, first)
		if err != nil {
			return
		}
		r.m.reconnects.Inc()
		r.log.Info("pbx: event socket to Asterisk re-established", "app", r.cfg.Application)
		if r.onUp != nil {
			r.onUp(true)
		}
	}
}

// pump reads frames from Asterisk, keeps out what the library cannot take,
// and queues the rest for it.
func (r *relay) pump(ctx context.Context, conn *websocket.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(3 * r.cfg.PingInterval)) }
	alive()
	conn.SetPongHandler(func(string) error { alive(); return nil })
	pingDone := make(chan struct{})
	defer close(pingDone)
	go func() {
		t := time.NewTicker(r.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-pingDone:
				return
			case <-t.C:
				// WriteControl may run concurrently with the reader.
				_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(r.cfg.PingInterval))
			}
		}
	}()
	for {
		_, frame, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		at := time.Now()
		alive()
		typ, reason, reachesBus := inspect(frame)
		label := typ
		if label == "" {
			label = "(none)"
		}
		r.m.eventsIn.WithLabelValues(label).Inc()
		if reason != "" {
			r.m.drop(label, reason)
			r.log.Warn("pbx: event kept from the ARI library", "type", label, "reason", reason, "bytes", len(frame))
			continue
		}
		if typ == "ApplicationReplaced" {
			// The library would swallow it (the event has no keys for its bus),
			// and Asterisk keeps the socket open but silent: act here.
			return errReplaced
		}
		r.forward(queued{frame: frame, reachesBus: reachesBus, at: at})
	}
}
