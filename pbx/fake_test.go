package pbx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeAsterisk is a minimal ARI endpoint for tests that need control the
// simulated PBX does not give (raw frames, hung requests, exact statuses):
// an event socket whose frames the test writes, /asterisk/info,
// /applications/{app}, /channels/{id}, and per-path canned REST answers.
type fakeAsterisk struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	sockets  []*websocket.Conn
	dials    int
	appChans []string
	channels map[string]string // id -> name
	answers  map[string]fakeAnswer
	hang     chan struct{}
	requests []string
	sockCond chan struct{} // signalled on each new socket
	deaf     bool          // stop reading new sockets: no pong for pings, as a dead peer
	// infoFailures makes the next GET /asterisk/info answer 503, as an
	// Asterisk still starting.
	infoFailures int
}

type fakeAnswer struct {
	status int
	body   string
}

func newFakeAsterisk(t *testing.T) *fakeAsterisk {
	t.Helper()
	f := &fakeAsterisk{t: t, channels: map[string]string{}, answers: map[string]fakeAnswer{},
		hang: make(chan struct{}), sockCond: make(chan struct{}, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.hang)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeAsterisk) url() string { return f.srv.URL + "/ari" }

func (f *fakeAsterisk) config() Config {
	return Config{
		URL: f.url(), Application: "hotline", Username: "hotline", Password: "secret",
		RequestTimeout: 2 * time.Second, DialTimeout: time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		ReplacedDelay: 50 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func (f *fakeAsterisk) setAnswer(method, path string, status int, body string) {
	f.mu.Lock()
	f.answers[method+" "+path] = fakeAnswer{status, body}
	f.mu.Unlock()
}

func (f *fakeAsterisk) setApp(channels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appChans = nil
	f.channels = map[string]string{}
	for id, name := range channels {
		f.appChans = append(f.appChans, id)
		f.channels[id] = name
	}
}

func (f *fakeAsterisk) serve(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != "hotline" || p != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"Authentication required"}`)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/ari")
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+path)
	ans, canned := f.answers[r.Method+" "+path]
	f.mu.Unlock()
	if canned {
		if ans.status == -1 { // hang until the test ends
			<-f.hang
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ans.status)
		_, _ = io.WriteString(w, ans.body)
		return
	}
	switch {
	case path == "/events":
		f.acceptSocket(w, r)
	case path == "/asterisk/info" && f.takeInfoFailure():
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"message":"starting"}`)
	case path == "/asterisk/info":
		_, _ = io.WriteString(w, `{"system":{"entity_id":"02:fc:00:00:00:01","version":"22.10.1"}}`)
	case strings.HasPrefix(path, "/applications/"):
		f.mu.Lock()
		ids := append([]string{}, f.appChans...)
		f.mu.Unlock()
		b, _ := json.Marshal(map[string]any{"name": "hotline", "channel_ids": ids, "bridge_ids": []string{}, "endpoint_ids": []string{}, "device_names": []string{}})
		_, _ = w.Write(b)
	case strings.HasPrefix(path, "/channels/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(path, "/channels/")
		f.mu.Lock()
		name, ok := f.channels[id]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Channel not found"}`)
			return
		}
		_, _ = fmt.Fprintf(w, `{"id":%q,"name":%q,"state":"Up","caller":{"name":"","number":"13800000001"},"language":"en"}`, id, name)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *fakeAsterisk) takeInfoFailure() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.infoFailures > 0 {
		f.infoFailures--
		return true
	}
	return false
}

func (f *fakeAsterisk) acceptSocket(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("app") != "hotline" {
		http.Error(w, "no app", http.StatusBadRequest)
		return
	}
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.sockets = append(f.sockets, conn)
	f.dials++
	deaf := f.deaf
	f.mu.Unlock()
	f.sockCond <- struct{}{}
	if deaf {
		return
	}
	go func() { // drain, so pings and close frames are answered
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
}

// send writes a raw frame to the newest event socket.
func (f *fakeAsterisk) send(frame string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sockets) == 0 {
		f.t.Fatal("fake asterisk: no event socket")
	}
	if err := f.sockets[len(f.sockets)-1].WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		f.t.Fatalf("fake asterisk: write: %v", err)
	}
}

// dropSockets closes every event socket from the server side.
func (f *fakeAsterisk) dropSockets() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sockets {
		_ = s.Close()
	}
	f.sockets = nil
}

func (f *fakeAsterisk) dialCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials
}

// waitSocket waits for the n-th event socket (1-based) to be accepted.
func (f *fakeAsterisk) waitSocket(ctx context.Context, n int) {
	f.t.Helper()
	for f.dialCount() < n {
		select {
		case <-f.sockCond:
		case <-ctx.Done():
			f.t.Fatalf("fake asterisk: socket %d never came (have %d)", n, f.dialCount())
		}
	}
}

func stasisStart(id, name string, args ...string) string {
	a, _ := json.Marshal(args)
	if args == nil {
		a = []byte("[]")
	}
	return fmt.Sprintf(`{"type":"StasisStart","timestamp":"2026-11-27T07:27:29.420+0000","args":%s,"channel":{"id":%q,"name":%q,"state":"Ring","caller":{"name":"caller","number":"13800000001"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"hotline","exten":"12315","priority":2,"app_name":"Stasis","app_data":"hotline"},"creationtime":"2026-11-27T07:27:29.420+0000","language":"en"},"asterisk_id":"02:fc:00:00:00:01","application":"hotline"}`, a, id, name)
}

func channelEvent(typ, id, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"type":%q,"timestamp":"2026-11-27T07:27:30.000+0000","channel":{"id":%q,"name":"PJSIP/hotline-client-1","state":"Up","caller":{"name":"","number":"13800000001"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"hotline","exten":"12315","priority":2},"creationtime":"2026-11-27T07:27:29.420+0000","language":"en"}%s,"asterisk_id":"02:fc:00:00:00:01","application":"hotline"}`, typ, id, extra)
}

// next waits for one value from ch, failing the test at the deadline.
func next[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return v
	case <-ctx.Done():
		t.Fatalf("%s: nothing before the deadline", what)
	}
	var zero T
	return zero
}

// nextNotice waits for a notice of type typ, skipping others.
func nextNotice(t *testing.T, ctx context.Context, c *Client, typ NoticeType) Notice {
	t.Helper()
	for {
		n := next(t, ctx, c.Notices(), "notice "+typ.String())
		if n.Type == typ {
			return n
		}
	}
}
