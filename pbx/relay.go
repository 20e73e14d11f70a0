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
	"runtime"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/gorilla/websocket"
)

// relay holds the event socket to Asterisk. It decodes each frame once, keeps out what
// the library's decoder rejects, and hands the events straight to our router on its own
// goroutine, in the order they came: no second socket, decoder or bus on the way, which
// is most of what an event used to cost between the socket and the call goroutine. It
// reconnects upstream on its own.
//
// The client library still needs an event socket of its own to Connect (it is then only
// used for REST): it gets a loopback WebSocket served here, on which nothing is ever sent
// and which Asterisk's drops never touch, so the library's own reconnect loop (no backoff,
// no deadline) has nothing to do.
type relay struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	auth string // Authorization header the library must present

	ln  net.Listener
	srv *http.Server

	mu   sync.Mutex
	down *websocket.Conn // the library's socket, nil while it is away

	// Hooks, set before run; called from the relay's upstream goroutine.
	deliver    func(e ari.Event, arrived time.Time) // every routable event, in order
	onUp       func(reconnect bool)
	onDown     func(err error)
	onReplaced func()
	onStandBy  func()
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
		cfg:  cfg,
		log:  log,
		m:    m,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)),
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
	r.mu.Unlock()
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

// pump reads frames from Asterisk, keeps out what the library cannot decode,
// and delivers the rest.
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
		e, typ, reason, routable := inspect(frame)
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
			// Asterisk keeps the socket open but silent: act here.
			return errReplaced
		}
		if routable && r.deliver != nil {
			r.deliver(e, at)
			// Let the call goroutine the event just readied run now, before this loop
			// decodes the rest of a burst (tens of microseconds an event): otherwise a key
			// waits behind the other calls' events, and on two CPUs that was most of a
			// key's way to its prompt at p99 (BenchmarkKeyToPrompt in callflow).
			runtime.Gosched()
		}
	}
}
