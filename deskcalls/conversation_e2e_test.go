package deskcalls_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"hotline/audio"
	"hotline/audit"
	"hotline/calendar"
	"hotline/callflow"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/deskcalls"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
	"hotline/recordstore"
)

// deskRig is the whole desk path on real parts: the simulated PBX over ARI, PostgreSQL,
// Redis, the seats, the line, the desk over HTTP and WebSocket, the call flow and queue.
type deskRig struct {
	t      *testing.T
	p      pbxtest.PBX
	store  *cases.Store
	acd    acd.Store
	seats  *media.Seats
	accts  *accounts.Store
	srvURL string
}

func newDeskRig(t *testing.T, grace time.Duration) *deskRig {
	t.Helper()
	redisURL := os.Getenv("HOTLINE_REDIS_URL")
	if redisURL == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`, or `scripts/services.sh up` and `eval \"$(scripts/services.sh env)\"` first")
	}
	sounds, err := filepath.Abs(filepath.Join("..", ".run", "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sounds, "en", "hotline", "agent-reconnecting.wav")); err != nil {
		t.Fatalf("prompts missing under %s: run `make prompts` first", sounds)
	}
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	p := pbxtest.New(t, pbxtest.Options{SoundsDir: sounds, Logger: quiet})
	if p.Real() {
		t.Skip("counts the simulated PBX's channels")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	client, err := pbx.Connect(cctx, p.Config())
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
	store := cases.NewStore(pool, "620000", shanghai)
	auditLog := audit.New(pool)
	hasher, err := accounts.NewHasher(accounts.Params{MemoryKiB: 256, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	accts := accounts.NewStore(pool, hasher, auditLog)
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
	prefix := fmt.Sprintf("hotline:test:deskconv:%d", time.Now().UnixNano())
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

	// The seats count a browser gone after 1 s of silence (3 s: failed), so that a drop is
	// seen quickly; their events go to the line (the call) and to the desk (the screens).
	events := make(chan media.Event, 256)
	seats, err := media.New(media.LoopbackOnly(), media.WithLogger(quiet),
		media.WithICETimeouts(time.Second, 3*time.Second, 250*time.Millisecond),
		media.WithEventHandler(func(e media.Event) {
			select {
			case events <- e:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seats.Shutdown(context.Background()) })
	dl, err := callflow.NewCalendarDeadlines()
	if err != nil {
		t.Fatal(err)
	}
	line, err := deskcalls.New(deskcalls.Config{Seats: seats, PBX: client, Cases: store, Deadlines: dl, SeatGrace: grace, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := agentdesk.NewDesk(agentdesk.Config{Auth: svc, Agents: acdStore, Calls: line, Cases: store, Audit: auditLog,
		Seats: seats, Accounts: accts, Log: quiet, StatePoll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	line.SetDesk(desk)
	go func() {
		for e := range events {
			line.SeatEvent(e)
			desk.SeatEvent(e)
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
	queue, err := callflow.NewACDQueue(callflow.ACDConfig{Store: acdStore, ACD: acdCfg, Line: line, Bridges: client,
		Tick: 200 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, shanghai)
	runner, err := callflow.New(callflow.Config{Calls: client, PBX: client, Cases: callflow.NewCaseStore(store),
		Recordings: recs, Machine: machine, Deadlines: dl, Queue: queue,
		Clock: offsetClock{base: friday, start: time.Now()}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 2)
	go func() { ran <- queue.Run(runCtx) }()
	go func() { ran <- runner.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		for range 2 {
			if err := <-ran; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	})
	srv := httptest.NewServer(agentdesk.New(store, nil, prometheus.NewRegistry(), quiet, agentdesk.WithDesk(desk)))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = desk.Shutdown(context.Background()) })
	return &deskRig{t: t, p: p, store: store, acd: acdStore, seats: seats, accts: accts, srvURL: srv.URL}
}

// deskAgent is an agent at the desk: their WebSocket and their softphone (a pion client).
type deskAgent struct {
	r     *deskRig
	login string
	ws    *wsClient
	phone *mediatest.Client
	tone  context.CancelFunc
}

// agent creates the account, signs in, opens the desk and the seat.
func (r *deskRig) agent(login, name string) *deskAgent {
	t := r.t
	t.Helper()
	ctx := context.Background()
	if _, err := r.accts.Create(ctx, "test", accounts.NewAccount{Login: login, DisplayName: name, Role: accounts.RoleAgent,
		Password: "correct horse battery", Skills: []accounts.Skill{{Name: "complaint", Level: 3}, {Name: "english", Level: 2}, {Name: "zh", Level: 3}}}); err != nil {
		t.Fatal(err)
	}
	ws, _ := signInDesk(t, r.srvURL, login)
	a := &deskAgent{r: r, login: login, ws: ws}
	a.openSeat()
	return a
}

// openSeat opens the agent's seat from a new softphone (a browser that reconnects does
// the same), which sends the agent's 880 Hz tone.
func (a *deskAgent) openSeat() {
	t := a.r.t
	t.Helper()
	phone, err := mediatest.NewClient(mediatest.Vanishable())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer, err := phone.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ans := a.ws.request("seat_offer", map[string]any{"sdp": offer})
	if err := phone.Accept(ans["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if a.tone != nil {
		a.tone()
	}
	toneCtx, stop := context.WithCancel(context.Background())
	go func() { _ = phone.SendTone(toneCtx, 880) }()
	a.phone, a.tone = phone, stop
	t.Cleanup(stop)
	waitFor(t, 10*time.Second, a.login+"'s seat connected", func() bool {
		h, ok := a.r.seats.Health(media.AgentID(a.login))
		return ok && h.State == media.SeatConnected
	})
}

// takeOffer waits for an offer, accepts it and returns it with the connected call's id.
func (a *deskAgent) takeOffer() (offer map[string]any, call string) {
	a.r.t.Helper()
	for offer == nil || offer["accepted"] == true { // an accepted offer is shown again: not a new one
		offer = a.ws.await("offer")["offer"].(map[string]any)
	}
	a.ws.request("accept", map[string]any{"offer": offer["id"]})
	connected := a.ws.await("call_connected")["call"].(map[string]any)
	return offer, connected["id"].(string)
}

// wrapUp records a disposition and makes the agent ready again.
func (a *deskAgent) wrapUp(call string) {
	a.r.t.Helper()
	a.ws.request("wrapup_done", map[string]any{"call": call, "next": "ready",
		"disposition": map[string]any{"kind": "complaint", "status": "registered", "summary": "转接"}})
}

// requestErr sends a message that must be refused and returns the error message.
func (c *wsClient) requestErr(typ string, fields map[string]any) map[string]any {
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
			if r["type"] != "error" {
				c.t.Fatalf("%s succeeded: %v", typ, r)
			}
			return r
		}
		c.kept = append(c.kept, r)
	}
	c.t.Fatalf("no answer to %s", typ)
	return nil
}

// since is what a growing recording holds after mark samples, less the first skip (audio
// in flight when things changed).
func since(samples []int16, mark, skip int) []int16 {
	if mark+skip >= len(samples) {
		return nil
	}
	return samples[mark+skip:]
}

// inFlight is 400 ms of samples: what was on its way when the routing changed.
const inFlight = 3200

// hearEachOther waits until the caller hears the agent's 880 Hz and the agent the caller's
// 440 Hz, for a second each, in what arrived after the marks.
func hearEachOther(t *testing.T, call pbxtest.Call, a *deskAgent, what string) {
	t.Helper()
	cm, am := len(call.Heard()), len(a.phone.Samples())
	waitFor(t, 20*time.Second, what+": the caller hears the agent's 880 Hz", func() bool {
		return toneTime(since(call.Heard(), cm, inFlight), 880) >= time.Second
	})
	waitFor(t, 20*time.Second, what+": the agent hears the caller's 440 Hz", func() bool {
		return toneTime(since(a.phone.Samples(), am, inFlight), 440) >= time.Second
	})
}

// trailKinds lists the kinds of a case's trail entries, with their details.
func trailOf(t *testing.T, store *cases.Store, number cases.Number) map[cases.EventKind][]map[string]any {
	t.Helper()
	d, err := store.FindByNumber(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	out := map[cases.EventKind][]map[string]any{}
	for _, e := range d.Events {
		var m map[string]any
		_ = json.Unmarshal(e.Detail, &m)
		out[e.Kind] = append(out[e.Kind], m)
	}
	return out
}

// TestE2EConversation follows one caller through everything that can happen to a desk
// conversation, with two agents on pion softphones: hold and resume (who hears whom),
// a transfer to a queue with a note, a refused transfer to an agent in wrap-up, a transfer
// to an agent, a seat drop with a reconnect (the call resumes on a new ExternalMedia
// channel) and a seat drop without one (the call goes back to the front of the queue and
// the other agent takes it). No UnicastRTP channel is left behind at any step.
func TestE2EConversation(t *testing.T) {
	const grace = 10 * time.Second // longer than the reconnecting message (about 6 s)
	r := newDeskRig(t, grace)
	ctx := context.Background()
	pcfg := r.p.Config()
	rtpCount := func() int { return len(unicastRTP(t, pcfg)) }
	ali := r.agent("li.na", "李娜")
	bwang := r.agent("wang.wei", "王伟")
	ali.ws.request("state", map[string]any{"state": "ready"})

	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	call, err := r.p.Call(cctx, pbxtest.CallSpec{From: "13800000902", Steps: "m300 2 2 p w2 T440:120", Listen: true})
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	// Li Na answers; they hear each other.
	offer, callID := ali.takeOffer()
	number := cases.Number(offer["case_number"].(string))
	if callID != call.ChannelID() {
		t.Fatalf("connected call %q, want the caller's channel %q", callID, call.ChannelID())
	}
	hearEachOther(t, call, ali, "answered")

	// Hold: the caller hears the hold media (the ring tone after the prompt), not the
	// agent; the agent hears nothing of the caller. Resume: both ways again.
	cm, am := len(call.Heard()), len(ali.phone.Samples())
	ali.ws.request("hold", map[string]any{"call": callID})
	if u := ali.ws.await("call_updated")["call"].(map[string]any); u["held"] != true || u["held_since"] == nil {
		t.Errorf("held call shown as %v", u)
	}
	waitFor(t, 20*time.Second, "the held caller hears the hold tone", func() bool {
		return toneTime(since(call.Heard(), cm, inFlight), 480) >= time.Second
	})
	if d := toneTime(since(call.Heard(), cm, inFlight), 880); d > 0 {
		t.Errorf("the held caller heard the agent for %s", d)
	}
	if d := toneTime(since(ali.phone.Samples(), am, inFlight), 440); d > 0 {
		t.Errorf("the agent heard the held caller for %s", d)
	}
	ali.ws.request("unhold", map[string]any{"call": callID})
	if u := ali.ws.await("call_updated")["call"].(map[string]any); u["held"] != false || u["held_seconds"].(float64) < 1 {
		t.Errorf("resumed call shown as %v", u)
	}
	hearEachOther(t, call, ali, "resumed")

	// Transfer to a queue: Wang Wei gets the call with the note; Li Na's channel is gone.
	const note = "退款纠纷，订单已核实"
	bwang.ws.request("state", map[string]any{"state": "ready"})
	ali.ws.request("transfer", map[string]any{"call": callID, "queue": "general", "note": note})
	if e := ali.ws.await("call_ended"); e["reason"] != "transferred" {
		t.Errorf("transferring agent's call ended as %v", e)
	}
	waitFor(t, 10*time.Second, "Li Na's ExternalMedia channel deleted", func() bool { return rtpCount() == 0 })
	if h, _ := r.seats.Health(media.AgentID(ali.login)); h.Call != "" {
		t.Errorf("Li Na's seat still carries %s", h.Call)
	}
	offer, _ = bwang.takeOffer()
	if offer["note"] != note || offer["case_number"] != string(number) {
		t.Errorf("the next agent's screen pop %v: want the note and case %s", offer, number)
	}
	hearEachOther(t, call, bwang, "transferred to a queue")
	if n := rtpCount(); n != 1 {
		t.Errorf("%d UnicastRTP channels after the transfer, want 1", n)
	}
	tr := trailOf(t, r.store, number)["call_transferred"]
	if len(tr) != 1 || tr[0]["note"] != note || tr[0]["to_queue"] != "general" {
		t.Errorf("transfer on the case trail: %v", tr)
	}

	// A transfer to an agent who is not ready is refused; Wang Wei keeps the call.
	if e := bwang.ws.requestErr("transfer", map[string]any{"call": callID, "agent": ali.login}); e["code"].(float64) != 409 {
		t.Errorf("transfer to an agent in wrap-up: %v, want 409", e)
	}
	ali.wrapUp(callID)

	// Transfer to Li Na by name: offered to her, Wang Wei's channel deleted.
	bwang.ws.request("transfer", map[string]any{"call": callID, "agent": ali.login, "note": "请回复退款时限"})
	bwang.ws.await("call_ended")
	offer, _ = ali.takeOffer()
	if offer["note"] != "请回复退款时限" {
		t.Errorf("screen pop of the named agent: %v", offer)
	}
	hearEachOther(t, call, ali, "transferred to an agent")
	if n := rtpCount(); n != 1 {
		t.Errorf("%d UnicastRTP channels after the transfer to an agent, want 1", n)
	}
	bwang.wrapUp(callID)

	// Li Na's softphone vanishes: the caller hears the reconnecting message and the hold
	// tone; she reconnects within the grace period and the call resumes on a new channel.
	before := unicastRTP(t, pcfg)
	cm = len(call.Heard())
	if err := ali.phone.Vanish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the seat-lost caller hears the reconnecting message", func() bool {
		return voiceTime(since(call.Heard(), cm, inFlight)) >= 1500*time.Millisecond
	})
	if d := toneTime(since(call.Heard(), cm, inFlight), 880); d > 400*time.Millisecond {
		t.Errorf("the seat-lost caller heard the agent's tone for %s", d)
	}
	ali.openSeat()
	hearEachOther(t, call, ali, "reconnected")
	after := unicastRTP(t, pcfg)
	if len(after) != 1 || len(before) != 1 || after[0] == before[0] {
		t.Errorf("UnicastRTP channels %v before the drop, %v after the reconnect: want one, a new one", before, after)
	}

	// It vanishes again and does not come back: after the grace period the call goes back
	// to the queue, Li Na is not ready (seat_lost), and Wang Wei gets the call.
	if err := ali.phone.Vanish(); err != nil {
		t.Fatal(err)
	}
	dropped, cm := time.Now(), len(call.Heard())
	if e := ali.ws.await("call_ended"); e["call_id"] != callID || e["reason"] != callflow.EndSeatLost {
		t.Errorf("call_ended %v", e)
	}
	if waited := time.Since(dropped); waited < grace {
		t.Errorf("the call left the agent after %s, before the grace period of %s", waited, grace)
	}
	heard := since(call.Heard(), cm, inFlight)
	if speech, tone := voiceTime(heard), toneTime(heard, 480); speech < 3*time.Second || tone < 600*time.Millisecond {
		t.Errorf("while the seat was lost the caller heard %s of the message and %s of the hold tone", speech, tone)
	}
	waitFor(t, 10*time.Second, "Li Na not ready for seat_lost", func() bool {
		a, err := r.acd.Agent(ctx, acd.AgentID(ali.login))
		return err == nil && a.State == acd.StateNotReady && a.Reason == callflow.ReasonSeatLost
	})
	bwang.takeOffer()
	hearEachOther(t, call, bwang, "requeued after the seat was lost")
	trail := trailOf(t, r.store, number)
	if len(trail["agent_seat_lost"]) != 2 || len(trail["agent_seat_back"]) != 1 || len(trail["agent_seat_requeued"]) != 1 {
		t.Errorf("seat entries on the trail: lost %v back %v requeued %v", trail["agent_seat_lost"], trail["agent_seat_back"], trail["agent_seat_requeued"])
	}

	// Wang Wei hangs up: nothing is left.
	bwang.ws.request("hangup", map[string]any{"call": callID})
	select {
	case <-call.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the caller was not hung up")
	}
	waitFor(t, 10*time.Second, "no UnicastRTP channel left", func() bool { return rtpCount() == 0 })
}

// voiceTime is how long samples hold sound that is none of the test's tones (440, 480, 880
// Hz): speech, here the prompt.
func voiceTime(samples []int16) time.Duration {
	n := 0
	for i := 0; i+audio.WindowSamples <= len(samples); i += audio.WindowSamples {
		w := samples[i : i+audio.WindowSamples]
		var energy float64
		for _, s := range w {
			energy += float64(s) * float64(s)
		}
		if energy/float64(len(w)) < 100*100 {
			continue // silence
		}
		if audio.ToneShare(w, 480) >= audio.PresentShare || audio.ToneShare(w, 880) >= audio.PresentShare ||
			audio.ToneShare(w, 440) >= audio.PresentShare {
			continue
		}
		n++
	}
	return time.Duration(n) * audio.Duration(audio.WindowSamples)
}
