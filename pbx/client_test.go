package pbx

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func connectFake(t *testing.T, ctx context.Context, fake *fakeAsterisk, edit func(*Config)) *Client {
	t.Helper()
	cfg := fake.config()
	if edit != nil {
		edit(&cfg)
	}
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	fake.waitSocket(ctx, 1)
	// The start-up resync runs against the fake's app listing; let it finish
	// before the test adds channels the listing does not show.
	nextNotice(t, ctx, c, NoticeResynced)
	return c
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantWS  string
		wantErr bool
	}{
		{"ws derived", Config{URL: "http://127.0.0.1:8088/ari/", Application: "a", Username: "u", Password: "p"}, "ws://127.0.0.1:8088/ari/events", false},
		{"wss derived", Config{URL: "https://pbx:8089/ari", Application: "a", Username: "u", Password: "p"}, "wss://pbx:8089/ari/events", false},
		{"explicit ws", Config{URL: "http://h:1/ari", WebSocketURL: "ws://other:2/ari/events", Application: "a", Username: "u", Password: "p"}, "ws://other:2/ari/events", false},
		{"no app", Config{URL: "http://h:1/ari", Username: "u", Password: "p"}, "", true},
		{"no password", Config{URL: "http://h:1/ari", Application: "a", Username: "u"}, "", true},
		{"bad url", Config{URL: "ftp://h/ari", Application: "a", Username: "u", Password: "p"}, "", true},
		{"bad ws url", Config{URL: "http://h:1/ari", WebSocketURL: "http://h/x", Application: "a", Username: "u", Password: "p"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got.WebSocketURL != tt.wantWS {
				t.Errorf("WebSocketURL = %q, want %q", got.WebSocketURL, tt.wantWS)
			}
			if err == nil && (got.RequestTimeout <= 0 || got.BackoffMin <= 0 || got.Logger == nil) {
				t.Errorf("defaults not applied: %+v", got)
			}
		})
	}
}

// The library fills empty options from ARI_* variables; we set them all, so
// the environment must change nothing.
func TestEnvironmentDoesNotConfigureTheLibrary(t *testing.T) {
	t.Setenv("ARI_URL", "http://10.255.255.1:1/ari")
	t.Setenv("ARI_WSURL", "ws://10.255.255.1:1/ari/events")
	t.Setenv("ARI_APPLICATION", "intruder")
	t.Setenv("ARI_USERNAME", "intruder")
	t.Setenv("ARI_PASSWORD", "intruder")
	t.Setenv("ARI_WSORIGIN", "http://intruder/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	c := connectFake(t, ctx, fake, nil)
	o := c.ari.Options
	if o.URL != fake.url() || o.Application != "hotline" || o.Username != "hotline" || o.Password != "secret" || o.WebsocketOrigin != "http://localhost/" {
		t.Errorf("library options taken from the environment: %+v", o)
	}
	if err := c.Answer(ctx, "1.1"); err != nil {
		t.Errorf("answer through the library: %v", err)
	}
}

func TestConnectGivesUpAtTheDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Connect(ctx, Config{URL: "http://" + addr + "/ari", Application: "hotline", Username: "u", Password: "p"})
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline (it should have kept trying until then)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Connect took %v after a 300ms deadline", d)
	}
}

// Asterisk still starting (answering 503): Connect keeps trying until it is up.
func TestConnectWaitsForAsteriskToComeUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	fake.mu.Lock()
	fake.infoFailures = 3
	fake.mu.Unlock()
	c, err := Connect(ctx, fake.config())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	fake.mu.Lock()
	left := fake.infoFailures
	fake.mu.Unlock()
	if left != 0 {
		t.Errorf("%d failures left: Connect did not go through them", left)
	}
}

func TestConnectRejectsBadCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	cfg := fake.config()
	cfg.Password = "wrong"
	_, err := Connect(ctx, cfg)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

// A hung Asterisk must not hang a call goroutine: the library's HTTP client
// has our timeout even when the caller's context has none.
func TestRequestTimeoutBoundsLibraryCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	c := connectFake(t, ctx, fake, func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	fake.setAnswer("POST", "/channels/slow.1/answer", -1, "")

	start := time.Now()
	err := c.Answer(context.Background(), "slow.1")
	if err == nil {
		t.Fatal("answer on a hung server succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answer returned after %v, want about 200ms", d)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "answer" || oe.ID != "slow.1" {
		t.Errorf("error %v does not name the operation and channel", err)
	}

	// And the caller's own context still wins when it is shorter.
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if err := c.Answer(short, "slow.1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("short context: err = %v, want DeadlineExceeded", err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	c := connectFake(t, ctx, fake, nil)

	tests := []struct {
		name       string
		method     string
		path       string
		status     int
		call       func() error
		want       []error
		notWant    error
		wantStatus int
	}{
		{"answer unknown channel", "POST", "/channels/x/answer", 404, func() error { return c.Answer(ctx, "x") }, []error{ErrNotFound}, ErrConflict, 404},
		{"play not in stasis", "POST", "/channels/x/play/pb1", 409, func() error { _, err := c.Play(ctx, "x", "sound:a", "pb1"); return err }, []error{ErrNotInStasis, ErrConflict}, ErrNotFound, 409},
		{"record name taken", "POST", "/channels/x/record", 409, func() error { return c.Record(ctx, "x", RecordOptions{Name: "r"}) }, []error{ErrConflict}, ErrNotInStasis, 409},
		{"record bad format", "POST", "/channels/x/record", 422, func() error { return c.Record(ctx, "x", RecordOptions{Name: "r", Format: "nosuch"}) }, []error{ErrUnprocessable}, nil, 422},
		{"add unknown channel", "POST", "/bridges/b/addChannel", 400, func() error { return c.AddToBridge(ctx, "b", "nope") }, []error{ErrBadRequest}, nil, 400},
		{"play no media", "POST", "/channels/x/play/pb2", 500, func() error { _, err := c.Play(ctx, "x", "", "pb2"); return err }, []error{ErrServer}, nil, 500},
		{"bad state", "POST", "/channels/x/dtmf", 412, func() error { return c.SendDTMF(ctx, "x", "1") }, []error{ErrBadState}, nil, 412},
		{"get variable gone", "GET", "/channels/x/variable", 404, func() error { _, err := c.GetVariable(ctx, "x", "V"); return err }, []error{ErrNotFound}, nil, 404},
		{"stop finished playback", "DELETE", "/playbacks/pb3", 404, func() error { return c.StopPlayback(ctx, "pb3") }, []error{ErrNotFound}, nil, 404},
		{"channel data gone", "GET", "/channels/gone", 404, func() error { _, err := c.ChannelData(ctx, "gone"); return err }, []error{ErrNotFound}, nil, 404},
		{"recording file gone", "GET", "/recordings/stored/r/file", 404, func() error { _, err := c.RecordingFile(ctx, "r"); return err }, []error{ErrNotFound}, nil, 404},
		{"originate id taken", "POST", "/channels", 409, func() error {
			_, err := c.Originate(ctx, OriginateRequest{Endpoint: "PJSIP/a", ChannelID: "dup"})
			return err
		}, []error{ErrConflict}, ErrNotInStasis, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.setAnswer(tt.method, tt.path, tt.status, `{"message":"from the fake"}`)
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("%v is not %v", err, w)
				}
			}
			if tt.notWant != nil && errors.Is(err, tt.notWant) {
				t.Errorf("%v is also %v", err, tt.notWant)
			}
			if got := StatusCode(err); got != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", got, tt.wantStatus)
			}
		})
	}
	// A failed originate leaves no route behind: the id can be used again.
	fake.setAnswer("POST", "/channels", 200, `{"id":"dup"}`)
	sub, err := c.Originate(ctx, OriginateRequest{Endpoint: "PJSIP/a", ChannelID: "dup"})
	if err != nil {
		t.Fatalf("originate after a failed one: %v", err)
	}
	sub.Close()
}

func TestReconnectAndResync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	c := connectFake(t, ctx, fake, nil)

	// Two callers in the app.
	fake.send(stasisStart("200.1", "PJSIP/hotline-client-1"))
	fake.send(stasisStart("200.2", "PJSIP/hotline-client-2"))
	stays := next(t, ctx, c.Incoming(), "caller 1")
	goes := next(t, ctx, c.Incoming(), "caller 2")
	next(t, ctx, stays.Events.Events(), "caller 1 StasisStart")
	next(t, ctx, goes.Events.Events(), "caller 2 StasisStart")

	// While the socket is down caller 2 hangs up and a leftover ExternalMedia
	// channel shows up in the app.
	fake.setApp(map[string]string{"200.1": "PJSIP/hotline-client-1", "em.9": "UnicastRTP/127.0.0.1:40000-0x1"})
	fake.dropSockets()
	if n := nextNotice(t, ctx, c, NoticeDisconnected); n.Err == nil {
		t.Error("disconnect notice without its error")
	}
	fake.waitSocket(ctx, 2)
	nextNotice(t, ctx, c, NoticeReconnected)
	orphan := nextNotice(t, ctx, c, NoticeOrphanChannel)
	if orphan.Channel.ID != "em.9" || orphan.Kind != KindExternalMedia {
		t.Errorf("orphan = %+v, want em.9 external media", orphan)
	}
	if n := nextNotice(t, ctx, c, NoticeResynced); n.Err != nil {
		t.Fatalf("resync: %v", n.Err)
	}

	if ev := next(t, ctx, goes.Events.Events(), "caller 2 vanished"); ev.Type != Vanished || ev.Channel.ID != "200.2" {
		t.Errorf("caller 2 got %+v, want Vanished", ev)
	}
	if _, open := <-goes.Events.Events(); open {
		t.Error("caller 2's stream stays open after Vanished")
	}
	if ev := next(t, ctx, stays.Events.Events(), "caller 1 resynced"); ev.Type != Resynced {
		t.Errorf("caller 1 got %+v, want Resynced", ev)
	}
	// Events flow again on the new socket.
	fake.send(channelEvent("ChannelDtmfReceived", "200.1", `"digit":"7","duration_ms":280`))
	if ev := next(t, ctx, stays.Events.Events(), "DTMF after reconnect"); ev.Digit != "7" {
		t.Errorf("got %+v", ev)
	}
	if got := testutil.ToFloat64(c.m.reconnects); got != 1 {
		t.Errorf("reconnects = %v, want 1", got)
	}
	if !c.Connected() {
		t.Error("not connected after reconnect")
	}
}

func TestApplicationReplacedRaisesAlarmAndReconnects(t *testing.T) {
	tests := []struct {
		name      string
		policy    ReplacedPolicy
		reconnect bool
	}{
		{"reconnect policy", ReplacedReconnect, true},
		{"standby policy", ReplacedStandBy, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			fake := newFakeAsterisk(t)
			c := connectFake(t, ctx, fake, func(cfg *Config) { cfg.OnReplaced = tt.policy })
			fake.send(`{"type":"ApplicationReplaced","timestamp":"2026-11-27T07:27:30.000+0000","application":"hotline"}`)
			nextNotice(t, ctx, c, NoticeReplaced)
			if got := testutil.ToFloat64(c.m.replaced); got != 1 {
				t.Errorf("replaced alarms = %v, want 1", got)
			}
			if tt.reconnect {
				fake.waitSocket(ctx, 2)
				nextNotice(t, ctx, c, NoticeReconnected)
				fake.send(stasisStart("300.1", "PJSIP/hotline-client-3"))
				next(t, ctx, c.Incoming(), "caller after taking the app back")
				return
			}
			nextNotice(t, ctx, c, NoticeStandBy)
			if c.Connected() {
				t.Error("connected while standing by")
			}
			if n := fake.dialCount(); n != 1 {
				t.Errorf("dialled %d times while standing by", n)
			}
		})
	}
}

// A peer that stops answering (half-open TCP, frozen Asterisk) is detected
// by the keepalive and replaced by a fresh connection.
func TestSilentPeerIsDetected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	fake.mu.Lock()
	fake.deaf = true
	fake.mu.Unlock()
	cfg := fake.config()
	cfg.PingInterval = 50 * time.Millisecond
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fake.waitSocket(ctx, 1)
	fake.mu.Lock()
	fake.deaf = false
	fake.mu.Unlock()
	if n := nextNotice(t, ctx, c, NoticeDisconnected); n.Err == nil {
		t.Error("disconnect without a cause")
	}
	fake.waitSocket(ctx, 2)
	nextNotice(t, ctx, c, NoticeReconnected)
	fake.send(stasisStart("400.1", "PJSIP/hotline-client-4"))
	next(t, ctx, c.Incoming(), "caller on the fresh socket")
}

// enterStasis has the fake's channel id (named name) enter the app and returns the call
// once its StasisStart has come through.
func enterStasis(t *testing.T, ctx context.Context, fake *fakeAsterisk, c *Client, id, name string) *InboundCall {
	t.Helper()
	fake.send(stasisStart(id, name))
	call := next(t, ctx, c.Incoming(), "caller "+id)
	next(t, ctx, call.Events.Events(), "StasisStart of "+id)
	return call
}

// A burst arrives whole and in order: the relay hands events off without waiting and the
// call's mailbox is unbounded.
func TestBurstArrivesWhole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	c := connectFake(t, ctx, fake, nil)
	call := enterStasis(t, ctx, fake, c, "500.1", "PJSIP/hotline-client-5")
	const n = 1000
	digits := "0123456789"
	for i := range n {
		fake.send(channelEvent("ChannelDtmfReceived", "500.1", `"digit":"`+string(digits[i%10])+`","duration_ms":`+strconv.Itoa(i)))
	}
	for i := range n {
		ev := next(t, ctx, call.Events.Events(), "burst event")
		if ev.DurationMs != i {
			t.Fatalf("event %d carries %d: lost or reordered", i, ev.DurationMs)
		}
	}
}

// A call waiting for an event runs as soon as the relay hands it over, not after the relay
// has read the rest of a burst: the events of other calls queued behind a key in the
// socket would otherwise delay its prompt (BenchmarkKeyToPrompt in callflow). With one P
// the order is observable: the relay yields it after each hand-off.
func TestWaitingCallRunsBeforeTheRestOfABurst(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	c := connectFake(t, ctx, fake, nil)
	a := enterStasis(t, ctx, fake, c, "700.1", "PJSIP/hotline-client-7")
	b := enterStasis(t, ctx, fake, c, "700.2", "PJSIP/hotline-client-8")

	keys := c.m.eventsIn.WithLabelValues("ChannelDtmfReceived")
	before := testutil.ToFloat64(keys)
	read := make(chan float64, 1) // how many keys the relay had read when A got its own
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		select {
		case <-a.Events.Events():
			read <- testutil.ToFloat64(keys) - before
		case <-ctx.Done():
			read <- -1
		}
	}()
	<-waiting
	// A's key, then a burst for B, all in the socket before the relay reads any: this
	// goroutine keeps the one P until it waits.
	const n = 50
	fake.send(channelEvent("ChannelDtmfReceived", "700.1", `"digit":"5","duration_ms":100`))
	for range n {
		fake.send(channelEvent("ChannelDtmfReceived", "700.2", `"digit":"1","duration_ms":100`))
	}
	switch got := <-read; {
	case got < 0:
		t.Fatal("A's key never came")
	case got > n/2:
		t.Errorf("A's key reached its call after the relay had read %v of the %d keys", got, n+1)
	}
	for range n {
		next(t, ctx, b.Events.Events(), "B's key")
	}
}

// Close leaves nothing running: the relay, the library's loop, routes and
// keep-alive connections all end.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fake := newFakeAsterisk(t)
	base := runtime.NumGoroutine()

	c, err := Connect(ctx, fake.config())
	if err != nil {
		t.Fatal(err)
	}
	fake.waitSocket(ctx, 1)
	fake.send(stasisStart("600.1", "PJSIP/hotline-client-6"))
	call := next(t, ctx, c.Incoming(), "caller")
	if err := c.Answer(ctx, call.Channel.ID); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close() // idempotent
	if _, open := <-call.Events.Events(); open {
		// The StasisStart may still be queued; the stream must end after it.
		for range call.Events.Events() {
		}
	}
	if err := c.Answer(ctx, "600.1"); !errors.Is(err, ErrClosed) {
		t.Errorf("answer after Close: %v, want ErrClosed", err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > base {
		select {
		case <-ctx.Done():
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before Connect:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		case <-tick.C:
		}
	}
}

func TestReplacedDelayEscalates(t *testing.T) {
	tests := []struct {
		base   time.Duration
		streak int
		want   time.Duration
	}{
		{2 * time.Second, 0, 2 * time.Second},
		{2 * time.Second, 1, 4 * time.Second},
		{2 * time.Second, 4, 32 * time.Second},
		{2 * time.Second, 5, time.Minute},
		{2 * time.Second, 50, time.Minute},
		{2 * time.Minute, 3, 2 * time.Minute}, // a base above the cap is kept
	}
	for _, tt := range tests {
		if got := replacedDelay(tt.base, tt.streak); got != tt.want {
			t.Errorf("replacedDelay(%v, %d) = %v, want %v", tt.base, tt.streak, got, tt.want)
		}
	}
}
