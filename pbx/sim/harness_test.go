package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"hotline/audio"
)

// sharedDir finds the shared reference folder (HOTLINE_SHARED_DIR or
// ../../../shared) or skips, naming what is missing.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("HOTLINE_SHARED_DIR")
	if base == "" {
		base = filepath.Join("..", "..", "..", "shared")
	}
	dir := filepath.Join(base, sub)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Skipf("reference folder %s not found (set HOTLINE_SHARED_DIR)", dir)
	}
	return dir
}

// rigSounds makes a sounds dir like the trace rig's: only hotline-beep (1 s
// of 440 Hz), and no beep.
func rigSounds(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := audio.WriteWAVFile(filepath.Join(dir, "hotline-beep.wav"), audio.Tone(440, 0.3, audio.SampleRate)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.SoundsDir == "" {
		cfg.SoundsDir = rigSounds(t)
	}
	if cfg.RecordingsDir == "" {
		cfg.RecordingsDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLog
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.paramAudit = allParams.record
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// logEntry is one line of a driver's log, in the golden traces' terms.
type logEntry struct {
	Kind        string         `json:"kind"`
	Conn        string         `json:"conn,omitempty"`
	Type        string         `json:"type,omitempty"`
	Event       map[string]any `json:"event,omitempty"`
	Raw         json.RawMessage
	Method      string `json:"method,omitempty"`
	Path        string `json:"path,omitempty"`
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Body        any    `json:"body,omitempty"`
	BodyBytes   int    `json:"body_bytes,omitempty"`
	at          time.Time
}

// driver talks to a server with plain HTTP and WebSocket, as the capture
// program did, and logs every event and REST exchange.
type driver struct {
	t    testing.TB
	srv  *Server
	user string
	pass string

	mu    sync.Mutex
	log   []logEntry
	wake  chan struct{}
	conns map[string]*websocket.Conn
}

func newDriver(t testing.TB, srv *Server) *driver {
	return &driver{t: t, srv: srv, user: srv.cfg.Username, pass: srv.cfg.Password,
		wake: make(chan struct{}, 1), conns: map[string]*websocket.Conn{}}
}

func (d *driver) add(e logEntry) {
	e.at = time.Now()
	d.mu.Lock()
	d.log = append(d.log, e)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *driver) entries() []logEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]logEntry(nil), d.log...)
}

// connect opens an event socket and logs what arrives on it.
func (d *driver) connect(name, app string) {
	d.t.Helper()
	u := "ws://" + d.srv.Addr() + "/ari/events?app=" + url.QueryEscape(app)
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(d.user+":"+d.pass)))
	ws, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		d.t.Fatalf("connect %s: %v", name, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		d.t.Fatalf("connect %s: status %d", name, resp.StatusCode)
	}
	d.mu.Lock()
	d.conns[name] = ws
	d.mu.Unlock()
	d.add(logEntry{Kind: "ws_connect", Conn: name})
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				d.add(logEntry{Kind: "ws_closed", Conn: name})
				return
			}
			var ev map[string]any
			if err := json.Unmarshal(msg, &ev); err != nil {
				d.t.Errorf("%s: event is not JSON: %s", name, msg)
				continue
			}
			typ, _ := ev["type"].(string)
			d.add(logEntry{Kind: "event", Conn: name, Type: typ, Event: ev, Raw: append(json.RawMessage(nil), msg...)})
		}
	}()
	d.t.Cleanup(func() { ws.Close() })
}

// closeConn closes a socket normally, as the capture program did.
func (d *driver) closeConn(name string) {
	d.mu.Lock()
	ws := d.conns[name]
	d.mu.Unlock()
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	d.waitFor(func(e logEntry) bool { return e.Kind == "ws_closed" && e.Conn == name }, "close of "+name)
	ws.Close()
}

// rest does one request with query parameters and logs the exchange.
func (d *driver) rest(method, path string, query map[string]string) (int, any) {
	d.t.Helper()
	return d.restAuth(method, path, query, true)
}

func (d *driver) restAuth(method, path string, query map[string]string, auth bool) (int, any) {
	d.t.Helper()
	q := url.Values{}
	for k, v := range query {
		q.Set(k, v)
	}
	u := d.srv.URL() + "/ari" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(d.user, d.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	e := logEntry{Kind: "rest_response", Method: method, Path: "/ari" + path, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
	var body any
	switch {
	case len(raw) == 0:
	case strings.HasPrefix(e.ContentType, "application/json") && !strings.HasSuffix(path, "/file"):
		if err := json.Unmarshal(raw, &body); err != nil {
			d.t.Errorf("%s %s: body is not JSON: %s", method, path, raw)
		}
		e.Body = body
	default:
		e.BodyBytes = len(raw)
		e.Body = raw
	}
	d.add(e)
	return resp.StatusCode, body
}

// waitFor waits (10 s at most) for a log entry matching fn.
func (d *driver) waitFor(fn func(logEntry) bool, what string) logEntry {
	d.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		for _, e := range d.entries() {
			if fn(e) {
				return e
			}
		}
		select {
		case <-d.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline.C:
			d.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitEvent waits for an event of typ on conn about channel id ("" any).
func (d *driver) waitEvent(conn, typ, chanID string) map[string]any {
	d.t.Helper()
	e := d.waitFor(func(e logEntry) bool {
		return e.Kind == "event" && e.Conn == conn && e.Type == typ && (chanID == "" || eventChannelID(e.Event) == chanID)
	}, typ+" for "+chanID+" on "+conn)
	return e.Event
}

func (d *driver) pause(dur time.Duration) {
	t := time.NewTimer(dur)
	defer t.Stop()
	<-t.C
}

func (d *driver) call(steps string) *Call {
	d.t.Helper()
	c, err := d.srv.Call(context.Background(), CallSpec{Steps: steps})
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

func eventChannelID(ev map[string]any) string {
	for _, k := range []string{"channel", "peer"} {
		if ch, ok := ev[k].(map[string]any); ok {
			id, _ := ch["id"].(string)
			return id
		}
	}
	return ""
}

func chanID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

func mustStatus(t testing.TB, got, want int, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d", what, got, want)
	}
}

func prettyJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(bytes.TrimSpace(b))
}

// quietLog keeps the sim's expected warnings out of test output.
var quietLog = slog.New(slog.DiscardHandler)

// heardTone reports whether freq fills at least two 200 ms windows (400 ms)
// of samples: a prompt somewhere in a longer stretch of call audio, which
// audio.HasTone's median over the whole stretch would not see.
func heardTone(samples []int16, freq float64) bool {
	n := 0
	for _, share := range audio.ToneShares(samples, freq) {
		if share >= audio.PresentShare {
			n++
		}
	}
	return n >= 2
}
