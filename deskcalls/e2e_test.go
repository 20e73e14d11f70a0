package deskcalls_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
	"hotline/audio"
	"hotline/callflow"
	"hotline/cases"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
)

var quiet = slog.New(slog.DiscardHandler)

// login is the test agent's; the desk uses logins as ACD (and seat) agent ids.
const login = "li.na"

// offsetClock runs at wall-clock speed from a chosen start: the menu's opening hours are
// those of a Friday morning whenever the test runs.
type offsetClock struct{ base, start time.Time }

func (c offsetClock) Now() time.Time                                   { return c.base.Add(time.Since(c.start)) }
func (offsetClock) AfterFunc(d time.Duration, f func()) callflow.Timer { return time.AfterFunc(d, f) }

// signInDesk signs login in (password "correct horse battery") on the desk served at srvURL,
// opens the desk's WebSocket and reads its first message, the snapshot. It returns the
// desk's client and the session cookie.
func signInDesk(t *testing.T, srvURL, login string) (*wsClient, *http.Cookie) {
	t.Helper()
	resp, err := http.Post(srvURL+"/api/auth/login", "application/json",
		bytes.NewReader([]byte(`{"login":"`+login+`","password":"correct horse battery"}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in of %s: %d %s", login, resp.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hotline_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srvURL, "http")+"/api/agent/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {srvURL}, "Cookie": {cookie.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	ws := newWSClient(t, conn)
	if m := ws.next(); m["type"] != "snapshot" {
		t.Fatalf("first message %v", m)
	}
	return ws, cookie
}

// wsClient is the agent's desk WebSocket. Like a browser it reads all the time, so the
// desk's pings are answered while the test is busy with another agent; the messages wait in
// inbox until the test looks at them.
type wsClient struct {
	t     *testing.T
	conn  *websocket.Conn
	inbox chan wsMessage
	seq   int
	kept  []map[string]any
}

// wsMessage is one message read from the desk, or the error that ended the reading.
type wsMessage struct {
	b   []byte
	err error
}

// newWSClient starts reading conn.
func newWSClient(t *testing.T, conn *websocket.Conn) *wsClient {
	c := &wsClient{t: t, conn: conn, inbox: make(chan wsMessage, 1<<14)}
	go func() {
		for {
			_, b, err := conn.Read(context.Background())
			c.inbox <- wsMessage{b, err}
			if err != nil {
				close(c.inbox)
				return
			}
		}
	}()
	return c
}

// recv returns the next message, waiting at most until ctx ends.
func (c *wsClient) recv(ctx context.Context) (map[string]any, error) {
	select {
	case m, ok := <-c.inbox:
		if !ok {
			return nil, errors.New("connection already closed")
		}
		if m.err != nil {
			return nil, m.err
		}
		var r map[string]any
		if err := json.Unmarshal(m.b, &r); err != nil {
			return nil, fmt.Errorf("message %s: %w", m.b, err)
		}
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *wsClient) next() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := c.recv(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// await returns the next message of type typ, keeping nothing else.
func (c *wsClient) await(typ string) map[string]any {
	c.t.Helper()
	for i, m := range c.kept {
		if m["type"] == typ {
			c.kept = append(c.kept[:i:i], c.kept[i+1:]...)
			return m
		}
	}
	for range 500 {
		if m := c.next(); m["type"] == typ {
			return m
		} else if m["type"] == "error" {
			c.t.Fatalf("waiting for %s: %v", typ, m)
		}
	}
	c.t.Fatalf("no %s message", typ)
	return nil
}

// request sends a message and returns its answer, which must not be an error.
func (c *wsClient) request(typ string, fields map[string]any) map[string]any {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("t%d", c.seq)
	m := map[string]any{"type": typ, "id": id}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
	for range 500 {
		r := c.next()
		if r["id"] == id {
			if r["type"] == "error" {
				c.t.Fatalf("%s: %v", typ, r)
			}
			return r
		}
		c.kept = append(c.kept, r)
	}
	c.t.Fatalf("no answer to %s", typ)
	return nil
}

func toneTime(samples []int16, freq float64) time.Duration {
	n := 0
	for _, s := range audio.ToneShares(samples, freq) {
		if s >= audio.PresentShare {
			n++
		}
	}
	return time.Duration(n) * audio.Duration(audio.WindowSamples)
}

// waitFor polls cond every 50 ms for up to within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unicastRTP lists the simulated Asterisk's UnicastRTP (ExternalMedia) channels.
func unicastRTP(t *testing.T, cfg pbx.Config) []string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, cfg.URL+"/channels", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(cfg.Username, cfg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var chans []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&chans); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range chans {
		if strings.HasPrefix(c.Name, "UnicastRTP/") {
			out = append(out, c.ID+" "+c.Name)
		}
	}
	return out
}

// TestE2EAudioBothWays: an agent signs in on the desk, opens a WebRTC seat (a pion client)
// and goes ready; a caller goes through the menu (English, 2 complaint) into the queue; the
// offer pops up, the agent accepts, the caller's 440 Hz reaches the agent and the agent's
// 880 Hz the caller; the agent hangs up, the caller is hung up, no ExternalMedia channel is
// left, and the disposition registers the case.
func TestE2EAudioBothWays(t *testing.T) {
	// The PBX, the stores, the seats, the line, the desk, the call flow and the queue.
	rig := newDeskRig(t, callflow.DefaultSeatGrace)
	ctx := context.Background()
	p, store, acdStore, seats := rig.p, rig.store, rig.acd, rig.seats
	if _, err := rig.accts.Create(ctx, "test", accounts.NewAccount{Login: "li.na", DisplayName: "李娜", Role: accounts.RoleAgent,
		Password: "correct horse battery", Skills: []accounts.Skill{{Name: "complaint", Level: 3}, {Name: "english", Level: 2}, {Name: "zh", Level: 3}}}); err != nil {
		t.Fatal(err)
	}

	// The agent signs in, opens the seat and goes ready.
	ws, _ := signInDesk(t, rig.srvURL, "li.na")

	phone, err := mediatest.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	offerSDP, err := phone.Offer(octx)
	if err != nil {
		t.Fatal(err)
	}
	ans := ws.request("seat_offer", map[string]any{"sdp": offerSDP})
	if ans["type"] != "seat_answer" {
		t.Fatalf("seat_offer answered %v", ans)
	}
	if err := phone.Accept(ans["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitConnected(octx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "seat connected", func() bool {
		h, ok := seats.Health(media.AgentID(login))
		return ok && h.State == media.SeatConnected
	})
	ws.request("state", map[string]any{"state": "ready"})

	// A caller: English, complaint, then a 440 Hz tone while waiting and talking.
	const from = "13800000901"
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	call, err := p.Call(cctx, pbxtest.CallSpec{From: from, Steps: "m300 2 2 p w2 T440:60", Listen: true})
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	offer := ws.await("offer")["offer"].(map[string]any)
	if offer["caller"] == from || offer["case_number"] == "" {
		t.Errorf("offer %v: want a masked caller and a case", offer)
	}
	ws.request("accept", map[string]any{"offer": offer["id"]})
	connected := ws.await("call_connected")["call"].(map[string]any)
	callID := connected["id"].(string)
	if callID != call.ChannelID() {
		t.Errorf("connected call %q, want the caller's channel %q", callID, call.ChannelID())
	}
	if n := len(unicastRTP(t, p.Config())); n != 1 {
		t.Errorf("%d UnicastRTP channels while talking, want 1", n)
	}

	toneCtx, stopTone := context.WithCancel(ctx)
	toneDone := make(chan error, 1)
	go func() { toneDone <- phone.SendTone(toneCtx, 880) }()
	waitFor(t, 20*time.Second, "the agent hears the caller's 440 Hz for 1 s", func() bool {
		return toneTime(phone.Samples(), 440) >= time.Second
	})
	waitFor(t, 20*time.Second, "the caller hears the agent's 880 Hz for 1 s", func() bool {
		return toneTime(call.Heard(), 880) >= time.Second
	})
	stopTone()
	<-toneDone

	// The agent hangs up: the caller is hung up, the call waits for its disposition.
	ws.request("hangup", map[string]any{"call": callID})
	ended := ws.await("call_ended")
	if ended["call_id"] != callID {
		t.Errorf("call_ended %v", ended)
	}
	select {
	case <-call.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the caller was not hung up")
	}
	waitFor(t, 10*time.Second, "no UnicastRTP channel left", func() bool { return len(unicastRTP(t, p.Config())) == 0 })
	if h, ok := seats.Health(media.AgentID(login)); !ok || h.Call != "" {
		t.Errorf("seat still attached: %+v", h)
	}

	// The disposition registers the case.
	number := cases.Number(offer["case_number"].(string))
	waitFor(t, 10*time.Second, "agent in wrap-up", func() bool {
		a, err := acdStore.Agent(ctx, acd.AgentID(login))
		return err == nil && a.State == acd.StateWrapUp
	})
	ws.request("wrapup_done", map[string]any{"call": callID, "next": "not_ready", "reason": "break",
		"disposition": map[string]any{"kind": "complaint", "status": "registered", "summary": "退货纠纷，已登记"}})
	d, err := store.FindByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.Kind != cases.KindComplaint || d.Case.Status != cases.StatusRegistered || d.Case.DueAt == nil {
		t.Errorf("case after the disposition: kind %s status %s due %v", d.Case.Kind, d.Case.Status, d.Case.DueAt)
	}
}
