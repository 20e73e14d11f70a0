// Package pbx is the hotline's only door to Asterisk: it wraps the ARI client
// library (github.com/CyCoreSystems/ari/v5) behind the hotline's own types.
//
// It connects with deadlines, keeps Asterisk's event socket behind a guard
// relay (the library crashes on event types it does not know), reconnects
// with backoff and resyncs after a drop, raises ApplicationReplaced as an
// alarm, and routes each channel's events to the one goroutine that owns it.
//
//	c, err := pbx.Connect(ctx, pbx.Config{URL: "http://127.0.0.1:8088/ari",
//	        Application: "hotline", Username: "hotline", Password: secret})
//	defer c.Close()
//	for call := range c.Incoming() {        // callers only, never app-made channels
//	        go handle(call)                  // call.Events: StasisStart, then the rest
//	}
//	// elsewhere: for n := range c.Notices() { ... } (ApplicationReplaced alarm,
//	// disconnects, resync results, orphan channels)
//
// Inside a call: c.Answer, c.Play (events on the call's subscription),
// c.Record, c.Originate / c.ExternalMedia / c.Snoop (each returns its own
// subscription, made before the request), c.CreateBridge, ... Errors are
// *OpError values that match ErrNotFound, ErrNotInStasis, ErrConflict, ...
// Code above this package depends on the interfaces in api.go, and tests
// feed events with NewFeed.
package pbx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
)

// Client is a connected ARI adapter. It is safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	ari     *native.Client
	relay   *relay
	router  *router
	http    *http.Client // for what the library cannot do (recording file bytes)
	libHTTP *http.Client // the library's own, reached into to set its timeout

	ctx    context.Context // lives until Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	seq       atomic.Uint64
	connected atomic.Bool
	closeOnce sync.Once
}

// Connect reaches Asterisk, registers the Stasis application and starts
// routing events. It gives up when ctx ends (the library alone would retry
// for ever). Close the client when done.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Application, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	life, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:    cfg,
		log:    cfg.Logger.With("app", cfg.Application),
		m:      m,
		ctx:    life,
		cancel: cancel,
		http:   &http.Client{Timeout: cfg.RequestTimeout, Transport: newTransport()},
	}
	c.router = newRouter(c.log, m)
	if err := c.connect(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("pbx connect %s app %s: %w", cfg.URL, cfg.Application, err)
	}
	return c, nil
}

// maxConns bounds the connections a transport opens to Asterisk, and all of them are kept
// idle between requests. Every call goroutine makes its own requests: with hundreds of
// calls, dozens are in flight at busy moments, and a connection that could not be kept
// idle was closed and dialled again for the next request (with 20 idle, a 500-call
// benchmark opened 2,400-2,900 connections). Beyond the bound, requests wait for a free
// connection rather than open more. Asterisk's http.conf sessionlimit (default 100, event
// sockets included) must leave room for them.
const maxConns = 64

func newTransport() *http.Transport {
	// No proxy from the environment: the environment never configures us.
	return &http.Transport{Proxy: nil, MaxConnsPerHost: maxConns, MaxIdleConns: maxConns, MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout: 90 * time.Second}
}

func (c *Client) connect(ctx context.Context) error {
	// Credentials and reachability first, with ctx: the library's own
	// connect would loop on a failure without a deadline.
	if err := c.pingUntilUp(ctx); err != nil {
		return err
	}

	c.relay = newRelay(c.cfg, c.log, c.m)
	relayURL, err := c.relay.listen(c.ctx)
	if err != nil {
		return err
	}

	// Every option is set, so native.New reads no ARI_* variable.
	c.ari = native.New(&native.Options{
		Application:     c.cfg.Application,
		URL:             c.cfg.URL,
		WebsocketURL:    relayURL,
		WebsocketOrigin: c.cfg.WebSocketOrigin,
		Username:        c.cfg.Username,
		Password:        c.cfg.Password,
		SubscribeAll:    false,
	})
	if c.libHTTP, err = setLibraryHTTPClient(c.ari, c.cfg.RequestTimeout); err != nil {
		return err
	}

	done := make(chan error, 1)
	nc := c.ari
	go func() { done <- nc.Connect() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("library connect: %w", err)
		}
	case <-ctx.Done():
		// Connect cannot be interrupted; close the library once it returns.
		c.ari = nil
		go func() {
			if <-done == nil {
				stopLibrary(nc)
			}
		}()
		return fmt.Errorf("library connect: %w", ctx.Err())
	}

	// Events go from the relay's goroutine straight to the router: it only converts and
	// hands off (the router's mailboxes never block), so the socket is read at full speed.
	c.relay.deliver = func(e ari.Event, arrived time.Time) {
		if ev, ok := fromLibrary(e); ok {
			ev.Received = arrived
			c.router.dispatch(ev)
		}
	}
	c.relay.onUp = c.onUp
	c.relay.onDown = func(err error) {
		c.connected.Store(false)
		c.router.notice(Notice{Type: NoticeDisconnected, Err: err})
	}
	c.relay.onReplaced = func() {
		c.router.notice(Notice{Type: NoticeReplaced, Err: errReplaced})
	}
	c.relay.onStandBy = func() {
		c.connected.Store(false)
		c.router.notice(Notice{Type: NoticeStandBy, Err: errReplaced})
	}

	conn, err := c.relay.dialRetry(ctx, c.cfg.BackoffMin)
	if err != nil {
		return err
	}
	if err := c.awaitApp(ctx); err != nil {
		_ = conn.Close()
		return err
	}
	c.connected.Store(true)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.relay.run(c.ctx, conn)
	}()
	// A previous run may have left channels in our app: report them.
	c.startResync(false, time.Now())
	c.log.Info("pbx: connected", "url", c.cfg.URL)
	return nil
}

// pingUntilUp retries while Asterisk is unreachable (it may be starting),
// and gives up at once on refused credentials.
func (c *Client) pingUntilUp(ctx context.Context) error {
	wait := c.cfg.BackoffMin
	for {
		err := c.ping(ctx)
		if err == nil || errors.Is(err, ErrUnauthorized) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("pbx: Asterisk not reachable yet", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, c.cfg.BackoffMax)
	}
}

// awaitApp waits until Asterisk lists our application. The socket handshake
// can complete before the app is registered, and a caller arriving in that
// gap is refused by the dialplan: Connect returns only once calls reach us.
func (c *Client) awaitApp(ctx context.Context) error {
	wait := 5 * time.Millisecond
	for {
		_, err := c.rawGet(ctx, "/applications/"+url.PathEscape(c.cfg.Application))
		if err == nil {
			return nil
		}
		if StatusCode(err) != http.StatusNotFound {
			return newOpError("application.get", c.cfg.Application, opOther, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("application %s never registered: %w", c.cfg.Application, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func (c *Client) onUp(reconnect bool) {
	c.connected.Store(true)
	c.router.notice(Notice{Type: NoticeReconnected})
	c.startResync(reconnect, time.Now())
}

// startResync reconciles in the background. Only routes made before the socket came up
// (up) can have missed events; a route made since, e.g. one staged for a channel about to
// be originated, is not in Asterisk yet and must not be reported as vanished.
func (c *Client) startResync(reconnect bool, up time.Time) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.ctx, 4*c.cfg.RequestTimeout)
		defer cancel()
		err := c.awaitApp(ctx)
		if err == nil {
			err = c.resync(ctx, reconnect, up)
		}
		if err != nil {
			c.log.Error("pbx: resync failed", "err", err)
			c.router.notice(Notice{Type: NoticeResynced, Err: err})
			return
		}
		c.router.notice(Notice{Type: NoticeResynced})
	}()
}

// setLibraryHTTPClient gives the library's HTTP client a timeout and our
// transport. The field is unexported and has no timeout: a hung Asterisk
// would block a call goroutine for ever. Fails loudly if the library's
// layout changes.
func setLibraryHTTPClient(nc *native.Client, timeout time.Duration) (*http.Client, error) {
	f := reflect.ValueOf(nc).Elem().FieldByName("httpClient")
	if !f.IsValid() || f.Type() != reflect.TypeFor[http.Client]() {
		return nil, errors.New("ari library has no httpClient field of type http.Client: cannot bound its requests")
	}
	hc := (*http.Client)(unsafe.Pointer(f.UnsafeAddr()))
	hc.Timeout = timeout
	hc.Transport = newTransport()
	return hc, nil
}

// stopLibrary ends the library's connection loop. Its own Close writes a
// field its listen goroutine writes unsynchronised (a data race), so instead
// cancel the loop's context (unexported, set by Connect, which has returned).
// Only call after Connect returned.
func stopLibrary(nc *native.Client) {
	f := reflect.ValueOf(nc).Elem().FieldByName("cancel")
	if !f.IsValid() || f.Type() != reflect.TypeFor[context.CancelFunc]() {
		nc.Close() // layout changed: racy but still stops it
		return
	}
	if cancel := *(*context.CancelFunc)(unsafe.Pointer(f.UnsafeAddr())); cancel != nil {
		cancel()
	}
}

// Connected reports whether the event socket to Asterisk is up.
func (c *Client) Connected() bool { return c.connected.Load() }

// Incoming delivers callers entering the app. Each one's events are already
// being collected in its Events subscription.
func (c *Client) Incoming() <-chan *InboundCall { return c.router.incoming.out }

// Notices delivers alarms and controller-level events (replaced, drops,
// resync results, orphans). Read it: it is unbounded.
func (c *Client) Notices() <-chan Notice { return c.router.notices.out }

// DroppedEvents returns how many events of each type the guard kept from the
// library since Connect.
func (c *Client) DroppedEvents() map[string]int { return c.m.droppedSnapshot() }

// Close disconnects and ends every subscription. Idempotent.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.cancel()
		if c.relay != nil {
			c.relay.close()
		}
		if c.ari != nil {
			stopLibrary(c.ari)
		}
		c.wg.Wait()
		c.router.close()
		c.connected.Store(false)
		c.http.CloseIdleConnections()
		if c.libHTTP != nil {
			c.libHTTP.CloseIdleConnections()
		}
	})
}

func (c *Client) newID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), c.seq.Add(1))
}

func (c *Client) key(kind, id string) *ari.Key {
	return ari.NewKey(kind, id, ari.WithApp(c.cfg.Application))
}
