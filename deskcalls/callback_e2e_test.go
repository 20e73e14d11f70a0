package deskcalls_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"hotline/accounts"
	"hotline/acd"
	"hotline/acd/redisstore"
	"hotline/agentdesk"
	"hotline/agentdesk/auth"
	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
	"hotline/audit"
	"hotline/calendar"
	"hotline/callflow"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/deskcalls"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
	"hotline/pbx/sim"
	"hotline/recordstore"
)

// Numbers of the simulated callers' phones the callbacks dial (PJSIP/{number}@trunk).
const (
	answersNumber  = "13800000902" // answers after 0.5 s and plays 440 Hz
	noAnswerNumber = "13800000903" // rings out
)

// cbEnv is the whole call path with callbacks: the simulated PBX with the callers' phones,
// PostgreSQL, the ACD in Redis, the seats, the line, the desk, the call flow, the queue and
// the callbacks' scheduler.
type cbEnv struct {
	p       pbxtest.PBX
	srv     *httptest.Server
	store   *cases.Store
	acd     acd.Store
	seats   *media.Seats
	answers *sim.Endpoint
	cookies map[string]*http.Cookie
}

func newCallbackEnv(t *testing.T, poll time.Duration, logins ...string) *cbEnv {
	t.Helper()
	quiet := quiet
	if os.Getenv("HOTLINE_TEST_LOG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	redisURL := os.Getenv("HOTLINE_REDIS_URL")
	if redisURL == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`, or `scripts/services.sh up` and `eval \"$(scripts/services.sh env)\"` first")
	}
	sounds, err := filepath.Abs(filepath.Join("..", ".run", "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sounds, "en", "hotline", "welcome.wav")); err != nil {
		t.Fatalf("prompts missing under %s: run `make prompts` first", sounds)
	}
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	e := &cbEnv{cookies: map[string]*http.Cookie{}}
	e.p = pbxtest.New(t, pbxtest.Options{SoundsDir: sounds, Logger: quiet})
	if e.p.Real() {
		t.Skip("dials the simulated PBX's scripted phones")
	}
	srv := e.p.(interface{ Sim() *sim.Server }).Sim()
	e.answers = srv.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/" + answersNumber + "@trunk", AnswerAfter: 500 * time.Millisecond,
		Steps: "T440:60", Listen: true})
	srv.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/" + noAnswerNumber + "@trunk", Behavior: sim.NoAnswer})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	client, err := pbx.Connect(cctx, e.p.Config())
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	go func() {
		for range client.Notices() {
		}
	}()

	pool := casestest.NewPool(t)
	e.store = cases.NewStore(pool, "620000", shanghai)
	auditLog := audit.New(pool)
	hasher, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	accts := accounts.NewStore(pool, hasher, auditLog)
	for _, l := range logins {
		if _, err := accts.Create(ctx, "test", accounts.NewAccount{Login: l, DisplayName: l, Role: accounts.RoleAgent,
			Password: "correct horse battery", Skills: []accounts.Skill{{Name: "complaint", Level: 3}, {Name: "english", Level: 2}, {Name: "zh", Level: 3}}}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := auth.New(pool, accts, auditLog, auth.DefaultConfig(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { rdb.Close() })
	prefix := fmt.Sprintf("hotline:test:callbacks:%d", time.Now().UnixNano())
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	acdCfg := acd.DefaultConfig()
	acdCfg.RingTimeout = 20 * time.Second
	router, err := acd.NewRouter(acdCfg)
	if err != nil {
		t.Fatal(err)
	}
	acdStore := redisstore.New(rdb, prefix, router, acd.SystemClock{})
	e.acd = acdStore

	events := make(chan media.Event, 64)
	e.seats, err = media.New(media.LoopbackOnly(), media.WithLogger(quiet), media.WithEventHandler(func(ev media.Event) {
		select {
		case events <- ev:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.seats.Shutdown(context.Background()) })
	dl, err := callflow.NewCalendarDeadlines()
	if err != nil {
		t.Fatal(err)
	}
	line, err := deskcalls.New(deskcalls.Config{Seats: e.seats, PBX: client, Cases: e.store, Deadlines: dl, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var queue *callflow.ACDQueue
	cbs, err := callflow.NewCallbacks(callflow.CallbackConfig{ACD: acdStore, Tasks: e.store, Line: line, PBX: client, Bridges: client,
		Distributor: acdCfg, DialString: "PJSIP/{number}@trunk", DialTimeout: 3 * time.Second, OfferTimeout: 15 * time.Second, Poll: poll,
		Kick: func() { queue.Kick() }, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := agentdesk.NewDesk(agentdesk.Config{Auth: svc, Agents: acdStore, Calls: deskcalls.WithCallbacks{Line: line, Callbacks: cbs},
		Cases: e.store, Audit: auditLog, Seats: e.seats, Accounts: accts, Log: quiet, StatePoll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	line.SetDesk(desk)
	go func() {
		for ev := range events {
			desk.SeatEvent(ev)
		}
	}()
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	menu, err := ivr.Default()
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ivr.NewMachine(menu, cal)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := recordstore.New(filepath.Join(t.TempDir(), "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	queue, err = callflow.NewACDQueue(callflow.ACDConfig{Store: acdStore, ACD: acdCfg, Line: line, Bridges: client,
		Tick: 200 * time.Millisecond, Callbacks: cbs.Take, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, shanghai)
	runner, err := callflow.New(callflow.Config{Calls: client, PBX: client, Cases: callflow.NewCaseStore(e.store),
		Recordings: recs, Machine: machine, Deadlines: dl, Queue: queue,
		Clock: offsetClock{base: friday, start: time.Now()}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 3)
	go func() { ran <- queue.Run(runCtx) }()
	go func() { ran <- runner.Run(runCtx) }()
	go func() { ran <- cbs.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		for range 3 {
			if err := <-ran; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	})
	e.srv = httptest.NewServer(agentdesk.New(e.store, nil, prometheus.NewRegistry(), quiet, agentdesk.WithDesk(desk),
		agentdesk.WithRecordings(desk, recs)))
	t.Cleanup(e.srv.Close)
	t.Cleanup(func() { _ = desk.Shutdown(context.Background()) })
	return e
}

// signIn opens an agent's desk WebSocket and reads the first snapshot.
func (e *cbEnv) signIn(t *testing.T, login string) *wsClient {
	t.Helper()
	ws, cookie := signInDesk(t, e.srv.URL, login)
	e.cookies[login] = cookie
	return ws
}

// openSeat connects a pion softphone as the agent's seat.
func (e *cbEnv) openSeat(t *testing.T, ws *wsClient, login string) *mediatest.Client {
	t.Helper()
	phone, err := mediatest.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offerSDP, err := phone.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ans := ws.request("seat_offer", map[string]any{"sdp": offerSDP})
	if err := phone.Accept(ans["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "seat connected", func() bool {
		h, ok := e.seats.Health(media.AgentID(login))
		return ok && h.State == media.SeatConnected
	})
	return phone
}

// callToCase places a call from number with the caller's steps, waits for it to end and
// returns the number of the case it made (the only case of that caller).
func (e *cbEnv) callToCase(t *testing.T, from, steps string) cases.Number {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	caller, err := e.p.Call(ctx, pbxtest.CallSpec{From: from, Steps: steps})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-caller.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the call from %s (%s) did not end", from, steps)
	}
	var number cases.Number
	waitFor(t, 20*time.Second, "the case of "+from, func() bool {
		cs, err := e.store.FindByCaller(context.Background(), cases.Phone(from), 5)
		if err != nil || len(cs) != 1 {
			return false
		}
		number = cs[0].Number
		return true
	})
	return number
}

// task waits for the case's callback task to reach status and returns it.
func (e *cbEnv) task(t *testing.T, number cases.Number, status string) (cases.Detail, cases.CallbackTask) {
	t.Helper()
	var d cases.Detail
	waitFor(t, 20*time.Second, "callback task "+status, func() bool {
		var err error
		d, err = e.store.FindByNumber(context.Background(), number)
		return err == nil && len(d.Tasks) == 1 && d.Tasks[0].Status == status
	})
	// Read again: a case's parts are read one after another, its trail before its tasks.
	d, err := e.store.FindByNumber(context.Background(), number)
	if err != nil || len(d.Tasks) != 1 {
		t.Fatalf("case %s: %+v, %v", number, d.Tasks, err)
	}
	return d, d.Tasks[0]
}

func eventKinds(d cases.Detail) []cases.EventKind {
	var out []cases.EventKind
	for _, ev := range d.Events {
		out = append(out, ev.Kind)
	}
	return out
}

// TestE2ECallbackReached: a caller waiting in the complaint queue leaves a voicemail (key
// 1); the scheduler queues the callback task; the agent, ready on a pion seat, is offered it
// with the case and the message, accepts, the caller's phone answers and the two hear each
// other (440 Hz / 880 Hz); the agent hangs up; the outbound call is on the same case and
// the task is done as reached.
func TestE2ECallbackReached(t *testing.T) {
	t.Parallel() // each has its own PBX, database, ACD namespace and seats
	const login = "wang.fang"
	e := newCallbackEnv(t, 300*time.Millisecond, login)
	ctx := context.Background()
	ws := e.signIn(t, login)
	phone := e.openSeat(t, ws, login)

	number := e.callToCase(t, answersNumber, "m300 2 2 w24 1 m700 p m500 t2 #")
	d, task := e.task(t, number, "open")
	if task.Reason != cases.TaskVoicemail || len(d.Recordings) != 1 {
		t.Fatalf("task %+v recordings %+v: want a voicemail task and its message", task, d.Recordings)
	}

	ws.request("state", map[string]any{"state": "ready"})
	offer := ws.await("offer")["offer"].(map[string]any)
	if offer["kind"] != "callback" || offer["case_number"] != string(number) || offer["caller"] == answersNumber ||
		offer["task"] != float64(task.ID) {
		t.Fatalf("offer %v: want the callback of task %d on case %s, number masked", offer, task.ID, number)
	}
	// The message is playable from the desk (the screen pop's case API, then the audio).
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/cases/%s/recordings/%d", e.srv.URL, number, d.Recordings[0].ID), nil)
	req.AddCookie(e.cookies[login])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" || !bytes.HasPrefix(wav, []byte("RIFF")) ||
		int64(len(wav)) != d.Recordings[0].SizeBytes {
		t.Errorf("the voicemail from the desk: %d %s, %d bytes (want %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(wav), d.Recordings[0].SizeBytes)
	}
	resp, err = http.Get(fmt.Sprintf("%s/api/cases/%s/recordings/%d", e.srv.URL, number, d.Recordings[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the voicemail without a session: %d", resp.StatusCode)
	}

	ws.request("accept", map[string]any{"offer": offer["id"]})
	connected := ws.await("call_connected")["call"].(map[string]any)
	callID := connected["id"].(string)
	if connected["direction"] != "outbound" || connected["task"] != float64(task.ID) || connected["caller"] == answersNumber {
		t.Errorf("connected %v: want the outbound callback of task %d, number masked", connected, task.ID)
	}

	var callee *sim.Call
	select {
	case callee = <-e.answers.Calls():
	case <-time.After(20 * time.Second):
		t.Fatal("the caller's phone was not dialled")
	}
	toneCtx, stopTone := context.WithCancel(ctx)
	toneDone := make(chan error, 1)
	go func() { toneDone <- phone.SendTone(toneCtx, 880) }()
	waitFor(t, 20*time.Second, "the agent hears the caller's 440 Hz for 1 s", func() bool {
		return toneTime(phone.Samples(), 440) >= time.Second
	})
	waitFor(t, 20*time.Second, "the caller hears the agent's 880 Hz for 1 s", func() bool {
		return toneTime(callee.Heard(), 880) >= time.Second
	})
	stopTone()
	<-toneDone

	ws.request("hangup", map[string]any{"call": callID})
	if ended := ws.await("call_ended"); ended["call_id"] != callID {
		t.Errorf("call_ended %v", ended)
	}
	select {
	case <-callee.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the caller's phone was not hung up")
	}
	waitFor(t, 10*time.Second, "no UnicastRTP channel left", func() bool { return len(unicastRTP(t, e.p.Config())) == 0 })

	d, task = e.task(t, number, "done")
	if len(d.Calls) != 2 {
		t.Fatalf("calls on the case: %+v, want the voicemail and the callback", d.Calls)
	}
	out := d.Calls[1]
	if out.Direction != cases.Outbound || out.ChannelID != callID || out.CalledNumber != answersNumber ||
		out.AnsweredAt == nil || out.EndedAt == nil || out.Outcome != "callback_reached" {
		t.Errorf("callback call %+v", out)
	}
	kinds := fmt.Sprint(eventKinds(d))
	for _, want := range []cases.EventKind{cases.EventCallbackClaimed, "callback_answered", cases.EventCalledBack} {
		if !strings.Contains(kinds, string(want)) {
			t.Errorf("trail %s lacks %s", kinds, want)
		}
	}
	last := d.Events[len(d.Events)-1]
	for _, ev := range d.Events {
		if ev.Kind == cases.EventCalledBack {
			last = ev
		}
	}
	var detail struct {
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(last.Detail, &detail); err != nil || detail.Outcome != "reached" {
		t.Errorf("called_back %s, want outcome reached", last.Detail)
	}
	waitFor(t, 10*time.Second, "agent in wrap-up", func() bool {
		a, err := e.acd.Agent(ctx, acd.AgentID(login))
		return err == nil && a.State == acd.StateWrapUp
	})
}

// TestE2ECallbackNoAnswer: a caller waiting asks to be called back keeping their place
// (key 2); the agent takes the callback, the caller's phone rings out: the task is open
// again with one attempt counted and its next attempt later by the policy.
func TestE2ECallbackNoAnswer(t *testing.T) {
	t.Parallel() // each has its own PBX, database, ACD namespace and seats
	const login = "zhao.lei"
	e := newCallbackEnv(t, 300*time.Millisecond, login)
	ctx := context.Background()
	ws := e.signIn(t, login)
	e.openSeat(t, ws, login)

	number := e.callToCase(t, noAnswerNumber, "m300 2 2 w24 2")
	_, task := e.task(t, number, "open")
	if task.Reason != cases.TaskRequested {
		t.Fatalf("task %+v: want a requested callback", task)
	}
	ws.request("state", map[string]any{"state": "ready"})
	offer := ws.await("offer")["offer"].(map[string]any)
	if offer["kind"] != "callback" || offer["task"] != float64(task.ID) {
		t.Fatalf("offer %v", offer)
	}
	ws.request("accept", map[string]any{"offer": offer["id"]})
	callID := ws.await("call_connected")["call"].(map[string]any)["id"].(string)
	if ended := ws.await("call_ended"); ended["call_id"] != callID {
		t.Errorf("call_ended %v", ended)
	}
	var open []cases.TaskAttempts
	waitFor(t, 20*time.Second, "the task open again with one attempt", func() bool {
		var err error
		open, err = e.store.OpenTaskAttempts(ctx, 10)
		return err == nil && len(open) == 1 && open[0].Attempts == 1
	})
	if open[0].Task.ID != task.ID || open[0].LastAttempt == nil {
		t.Fatalf("open %+v", open)
	}
	policy := callflow.RetryPolicy{}
	if next := policy.NextAttempt(1, open[0].LastAttempt); !next.After(time.Now().Add(10 * time.Minute)) {
		t.Errorf("next attempt %s: want later by the policy", next)
	}
	d, err := e.store.FindByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Calls) != 2 || d.Calls[1].Direction != cases.Outbound || d.Calls[1].Outcome != "callback_no_answer" || d.Calls[1].AnsweredAt != nil {
		t.Errorf("calls %+v: want the unanswered callback on the same case", d.Calls)
	}
	waitFor(t, 10*time.Second, "agent in wrap-up", func() bool {
		a, err := e.acd.Agent(ctx, acd.AgentID(login))
		return err == nil && a.State == acd.StateWrapUp
	})
	// Not queued again before its time, however often the scheduler looks (every 300 ms).
	time.Sleep(time.Second)
	waiting, err := e.acd.Waiting(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range waiting {
		if it.CaseNumber == acd.CaseNumber(number) {
			t.Errorf("the unanswered task is waiting again at once: %+v", it)
		}
	}
}

// TestE2ECallbackPickedOnce: two ready agents press "call back" on the same task at once:
// exactly one gets it, the other is refused with 409.
func TestE2ECallbackPickedOnce(t *testing.T) {
	t.Parallel() // each has its own PBX, database, ACD namespace and seats
	e := newCallbackEnv(t, time.Hour, "agent.a", "agent.b")
	ctx := context.Background()
	at := time.Now()
	caseID, _, callID, err := e.store.CreateCaseWithCall(ctx, cases.NewCase{Kind: cases.KindComplaint, Channel: cases.ChannelPhone,
		ReceivedAt: at, CallerNumber: answersNumber}, cases.NewCall{ChannelID: "picked-1", Direction: cases.Inbound,
		CallerNumber: answersNumber, CalledNumber: "12315", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	taskID, err := e.store.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: caseID, CallID: &callID, Reason: cases.TaskVoicemail,
		CallerNumber: answersNumber, Queue: "general", Skills: map[string]int{"complaint": 1}, EnqueuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	a, b := e.signIn(t, "agent.a"), e.signIn(t, "agent.b")
	e.openSeat(t, a, "agent.a")
	e.openSeat(t, b, "agent.b")
	a.request("state", map[string]any{"state": "ready"})
	b.request("state", map[string]any{"state": "ready"})

	results := make([]map[string]any, 2)
	var wg sync.WaitGroup
	for i, ws := range []*wsClient{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = ws.answer("callback", map[string]any{"task": taskID})
		}()
	}
	wg.Wait()
	var acks, refused int
	for _, r := range results {
		switch {
		case r["type"] == "ack":
			acks++
		case r["type"] == "error" && r["code"] == float64(409):
			refused++
		default:
			t.Errorf("answer %v", r)
		}
	}
	if acks != 1 || refused != 1 {
		t.Fatalf("answers %v: want one ack and one 409", results)
	}
	winner := a
	if results[1]["type"] == "ack" {
		winner = b
	}
	connected := winner.await("call_connected")["call"].(map[string]any)
	number := cases.Number(connected["case_number"].(string))
	var callee *sim.Call
	select {
	case callee = <-e.answers.Calls():
	case <-time.After(20 * time.Second):
		t.Fatal("the caller's phone was not dialled")
	}
	select {
	case <-callee.Answered():
	case <-time.After(20 * time.Second):
		t.Fatal("the caller's phone did not answer")
	}
	// The agent speaks once the controller has connected the two.
	waitFor(t, 20*time.Second, "the callee connected to the agent", func() bool {
		d, err := e.store.FindByNumber(context.Background(), number)
		return err == nil && slices.ContainsFunc(d.Events, func(ev cases.Event) bool { return ev.Kind == "callback_answered" })
	})
	// Someone else answered: the agent says so, then hangs up; the task is done, not retried.
	winner.request("callback_outcome", map[string]any{"task": taskID, "outcome": "wrong_number"})
	winner.request("hangup", map[string]any{"call": connected["id"]})
	<-callee.Done()
	d, _ := e.task(t, number, "done")
	if len(d.Calls) != 2 || d.Calls[1].Direction != cases.Outbound || d.Calls[1].Outcome != "callback_wrong_number" {
		t.Errorf("calls %+v", d.Calls)
	}
	if !slices.ContainsFunc(d.Events, func(ev cases.Event) bool {
		return ev.Kind == cases.EventCalledBack && strings.Contains(string(ev.Detail), "wrong_number")
	}) {
		t.Errorf("trail %v: want called_back with outcome wrong_number", eventKinds(d))
	}
}

// answer sends a message and returns its answer, an error included; safe in a goroutine.
func (c *wsClient) answer(typ string, fields map[string]any) map[string]any {
	c.seq++
	id := fmt.Sprintf("a%d", c.seq)
	m := map[string]any{"type": typ, "id": id}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return map[string]any{"type": "write failed", "error": err.Error()}
	}
	for {
		r, err := c.recv(ctx)
		if err != nil {
			return map[string]any{"type": "read failed", "error": err.Error()}
		}
		if r["id"] == id {
			return r
		}
		c.kept = append(c.kept, r)
	}
}
