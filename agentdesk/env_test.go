package agentdesk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
	"hotline/acd/redisstore"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
)

const password = "desk password 1"

var shanghaiLoc = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// dist is the call distribution of the tests: it drives a real acd.Store the way the call
// flow will (enqueue, reserve, offer, answer, finish) and calls the desk back. It records
// every Calls method the desk calls.
type dist struct {
	t    testing.TB
	desk *agentdesk.Desk
	acd  acd.Store

	mu        sync.Mutex
	offers    map[agentdesk.OfferID]acd.Reservation
	calls     map[agentdesk.CallID]acd.Reservation
	got       []string
	disps     map[agentdesk.CallID]agentdesk.Disposition
	transfers map[agentdesk.CallID]agentdesk.Transfer
	fail      map[string]error // by method name
	seq       int
}

// newDist returns the distribution over store; set its desk before ringing.
func newDist(t testing.TB, store acd.Store) *dist {
	return &dist{t: t, acd: store, offers: map[agentdesk.OfferID]acd.Reservation{}, calls: map[agentdesk.CallID]acd.Reservation{},
		disps: map[agentdesk.CallID]agentdesk.Disposition{}, transfers: map[agentdesk.CallID]agentdesk.Transfer{}, fail: map[string]error{}}
}

func (f *dist) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, fmt.Sprintf(format, args...))
}

// calls returns what the desk asked for, as "Accept alice r1".
func (f *dist) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func (f *dist) failing(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[method]
}

// ring puts a caller in the general queue, reserves agent for them and rings the desk.
func (f *dist) ring(ctx context.Context, agent acd.AgentID, caseNumber cases.Number, caller cases.Phone, path []agentdesk.PathStep) (agentdesk.Offer, error) {
	f.mu.Lock()
	f.seq++
	callID := agentdesk.CallID(fmt.Sprintf("chan-%d", f.seq))
	f.mu.Unlock()
	it, err := f.acd.Enqueue(ctx, acd.Item{ID: acd.ItemID(callID), Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint,
		EnqueuedAt: time.Now().Add(-42 * time.Second), CaseNumber: acd.CaseNumber(caseNumber), Number: string(caller)})
	if err != nil {
		return agentdesk.Offer{}, err
	}
	r, err := f.acd.Reserve(ctx, it.ID, agent)
	if err != nil {
		return agentdesk.Offer{}, err
	}
	if _, err := f.acd.Offer(ctx, r); err != nil {
		return agentdesk.Offer{}, err
	}
	o := agentdesk.Offer{ID: agentdesk.OfferID(r.ID), Call: callID, Kind: agentdesk.OfferCall, CaseNumber: caseNumber, Caller: caller,
		Queue: "general", IVRPath: path, EnqueuedAt: it.EnqueuedAt, RingUntil: time.Now().Add(15 * time.Second)}
	f.mu.Lock()
	f.offers[o.ID] = r
	f.mu.Unlock()
	return o, f.desk.Ring(ctx, agent, o)
}

func (f *dist) Accept(ctx context.Context, agent acd.AgentID, offer agentdesk.OfferID) error {
	f.record("Accept %s %s", agent, offer)
	if err := f.failing("Accept"); err != nil {
		return err
	}
	f.mu.Lock()
	r, ok := f.offers[offer]
	f.mu.Unlock()
	if !ok || r.Agent != agent {
		return fmt.Errorf("offer %s is not %s's", offer, agent)
	}
	if _, err := f.acd.Answer(ctx, r); err != nil {
		return err
	}
	call := agentdesk.CallID(r.Item.ID)
	f.mu.Lock()
	f.calls[call] = r
	f.mu.Unlock()
	return f.desk.Connected(ctx, agent, agentdesk.Call{ID: call})
}

func (f *dist) Reject(ctx context.Context, agent acd.AgentID, offer agentdesk.OfferID) error {
	f.record("Reject %s %s", agent, offer)
	f.mu.Lock()
	r := f.offers[offer]
	f.mu.Unlock()
	_, err := f.acd.Release(ctx, r, acd.StateReady, "")
	return err
}

func (f *dist) finish(ctx context.Context, agent acd.AgentID, call agentdesk.CallID, reason string) error {
	f.mu.Lock()
	r, ok := f.calls[call]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("no call %s", call)
	}
	if _, err := f.acd.Finish(ctx, r); err != nil {
		return err
	}
	return f.desk.Ended(ctx, agent, call, reason)
}

func (f *dist) Hangup(ctx context.Context, agent acd.AgentID, call agentdesk.CallID) error {
	f.record("Hangup %s %s", agent, call)
	return f.finish(ctx, agent, call, "agent hung up")
}

func (f *dist) Hold(_ context.Context, agent acd.AgentID, call agentdesk.CallID, held bool) error {
	f.record("Hold %s %s %v", agent, call, held)
	return nil
}

func (f *dist) Transfer(ctx context.Context, agent acd.AgentID, call agentdesk.CallID, to agentdesk.Transfer) error {
	f.record("Transfer %s %s queue=%s agent=%s", agent, call, to.Queue, to.Agent)
	f.mu.Lock()
	f.transfers[call] = to
	f.mu.Unlock()
	return f.finish(ctx, agent, call, "transferred")
}

func (f *dist) WrapUpDone(_ context.Context, agent acd.AgentID, call agentdesk.CallID, d agentdesk.Disposition) error {
	f.record("WrapUpDone %s %s", agent, call)
	f.mu.Lock()
	f.disps[call] = d
	f.mu.Unlock()
	return nil
}

func (f *dist) Callback(_ context.Context, agent acd.AgentID, task cases.TaskID) error {
	f.record("Callback %s %d", agent, task)
	return f.failing("Callback")
}

// env is a controller's HTTP side over a fresh database: accounts alice and bob (agents),
// sam (supervisor) and ada (admin), the auth service, an ACD store, the test distribution
// and the desk, served by a real HTTP server.
type env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	cases    *cases.Store
	audit    *audit.Log
	accounts *accounts.Store
	auth     *auth.Service
	acd      acd.Store
	dist     *dist
	desk     *agentdesk.Desk
	srv      *httptest.Server
}

type envOptions struct {
	redis  bool
	seats  agentdesk.Seats
	config func(*agentdesk.Config)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, pool: casestest.NewPool(t)}
	e.audit = audit.New(e.pool)
	e.cases = cases.NewStore(e.pool, "620000", shanghaiLoc).WithAudit(e.audit)
	h, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.accounts = accounts.NewStore(e.pool, h, e.audit)
	ctx := context.Background()
	for _, n := range []accounts.NewAccount{
		{Login: "alice", DisplayName: "Alice", Role: accounts.RoleAgent, Password: password, Skills: []accounts.Skill{{Name: "zh", Level: 5}}},
		{Login: "bob", DisplayName: "Bob", Role: accounts.RoleAgent, Password: password},
		{Login: "sam", DisplayName: "Sam", Role: accounts.RoleSupervisor, Password: password},
		{Login: "ada", DisplayName: "Ada", Role: accounts.RoleAdmin, Password: password},
	} {
		if _, err := e.accounts.Create(ctx, "test", n); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.auth, err = auth.New(e.pool, e.accounts, e.audit, auth.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	router, err := acd.NewRouter(acd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if o.redis {
		e.acd = redisstore.New(acdtest.RedisClient(t), acdtest.RedisPrefix(t, "desk"), router, acd.SystemClock{})
	} else {
		e.acd = memstore.New(router, acd.SystemClock{})
	}
	e.dist = newDist(t, e.acd)
	cfg := agentdesk.Config{Auth: e.auth, Agents: e.acd, Calls: e.dist, Cases: e.cases, Audit: e.audit, Accounts: e.accounts,
		Seats: o.seats, Log: log, StatePoll: 50 * time.Millisecond, TransferQueues: []string{"general", "quality", "price", "callback"}}
	if o.config != nil {
		o.config(&cfg)
	}
	e.desk, err = agentdesk.NewDesk(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.dist.desk = e.desk
	e.srv = httptest.NewServer(agentdesk.New(e.cases, nil, prometheus.NewRegistry(), log, agentdesk.WithDesk(e.desk)))
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.desk.Shutdown(ctx); err != nil {
			t.Errorf("desk shutdown: %v", err)
		}
		e.srv.Close()
	})
	return e
}

// session is a signed-in browser.
type session struct {
	login  string
	cookie *http.Cookie
	csrf   string
}

func (e *env) signIn(login string) session {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	resp, err := http.Post(e.srv.URL+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("sign in %s: %d %s", login, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "hotline_session" {
			return session{login: login, cookie: c, csrf: out.CSRF}
		}
	}
	e.t.Fatalf("sign in %s: no cookie", login)
	return session{}
}

// do makes an HTTP request as s (nil: no session) and returns the status and body.
func (e *env) do(s *session, method, path string, body any, csrf bool) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s != nil {
		req.AddCookie(s.cookie)
		if csrf {
			req.Header.Set(auth.CSRFHeader, s.csrf)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// client is a desk WebSocket as a test drives it.
type client struct {
	t    *testing.T
	conn *websocket.Conn
	seq  int
	// raw keeps every message received, to check that no full number ever went out.
	raw []string
	// skipped holds the messages request passed over while waiting for its answer; await
	// looks at them first.
	skipped []msg
}

type msg map[string]any

func (m msg) str(k string) string {
	s, _ := m[k].(string)
	return s
}

func (m msg) obj(k string) msg {
	o, _ := m[k].(map[string]any)
	return o
}

func (m msg) list(k string) []any {
	l, _ := m[k].([]any)
	return l
}

func (m msg) code() int {
	f, _ := m["code"].(float64)
	return int(f)
}

func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/agent/ws"
}

// dial opens the desk's WebSocket as s, the way the page does (same origin).
func (e *env) dial(s *session) (*client, int, error) {
	e.t.Helper()
	h := http.Header{"Origin": {e.srv.URL}}
	if s != nil {
		h.Set("Cookie", s.cookie.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(e.srv), &websocket.DialOptions{HTTPHeader: h})
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	if err != nil {
		return nil, code, err
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: e.t, conn: c}
	e.t.Cleanup(func() { c.CloseNow() })
	return cl, code, nil
}

// connect dials as s and returns the client with its snapshot, which must come first.
func (e *env) connect(s session) (*client, msg) {
	e.t.Helper()
	c, code, err := e.dial(&s)
	if err != nil {
		e.t.Fatalf("dial as %s: %d %v", s.login, code, err)
	}
	first := c.next()
	if first.str("type") != "snapshot" {
		e.t.Fatalf("first message %v, want a snapshot", first)
	}
	return c, first
}

// next returns the next message, failing the test after 10 seconds.
func (c *client) next() msg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("a %v message", typ)
	}
	c.raw = append(c.raw, string(b))
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("message %s: %v", b, err)
	}
	return m
}

// await returns the next message of type typ that satisfies ok (nil: any), skipping others.
func (c *client) await(typ string, ok func(msg) bool) msg {
	c.t.Helper()
	for i, m := range c.skipped {
		if m.str("type") == typ && (ok == nil || ok(m)) {
			c.skipped = c.skipped[i+1:]
			return m
		}
	}
	c.skipped = nil
	for range 200 {
		m := c.next()
		if m.str("type") == typ && (ok == nil || ok(m)) {
			return m
		}
	}
	c.t.Fatalf("no %s message among 200", typ)
	return nil
}

// sendRaw writes data as a text message.
func (c *client) sendRaw(data string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(data)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// request sends a message of type typ with fields and returns the answer carrying its id
// (ack, pong, seat_answer, snapshot or error).
func (c *client) request(typ string, fields msg) msg {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("t%d", c.seq)
	m := msg{"type": typ, "id": id}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	c.sendRaw(string(b))
	for range 200 {
		r := c.next()
		if r.str("id") == id {
			return r
		}
		c.skipped = append(c.skipped, r)
	}
	c.t.Fatalf("no answer to %s", typ)
	return nil
}

// ok sends a request that must be acknowledged.
func (c *client) ok(typ string, fields msg) msg {
	c.t.Helper()
	r := c.request(typ, fields)
	if r.str("type") == "error" {
		c.t.Fatalf("%s %v: error %d %s", typ, fields, r.code(), r.str("error"))
	}
	return r
}

// refused sends a request that must be refused with code.
func (c *client) refused(typ string, fields msg, code int) msg {
	c.t.Helper()
	r := c.request(typ, fields)
	if r.str("type") != "error" || r.code() != code {
		c.t.Fatalf("%s %v: got %v, want error %d", typ, fields, r, code)
	}
	return r
}

// waitState waits until the ACD store shows agent in state want (with reason, if given).
func (e *env) waitState(agent acd.AgentID, want acd.State, reason acd.Reason) acd.Agent {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := e.acd.Agent(context.Background(), agent)
		if err == nil && a.State == want && (reason == "" || a.Reason == reason) {
			return a
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("agent %s: %+v, %v; want %s %s", agent, a, err, want, reason)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) newCase(kind cases.Kind, caller cases.Phone, request string, at time.Time) cases.Case {
	e.t.Helper()
	c, err := e.cases.CreateCase(context.Background(), cases.NewCase{Kind: kind, Channel: cases.ChannelPhone, ReceivedAt: at,
		CallerNumber: caller, Request: request})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) auditOf(action audit.Action, target string) []audit.Entry {
	e.t.Helper()
	got, err := e.audit.Find(context.Background(), audit.Query{Action: action, Target: target, Limit: audit.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

var errBoom = errors.New("boom")
