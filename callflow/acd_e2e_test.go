package callflow

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/memstore"
	"hotline/audio"
	"hotline/cases"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
	"hotline/pbx/sim"
)

// End-to-end through the distributor: the default menu, the real ARI client, the simulated
// PBX with agent phones as scripted endpoints, PostgreSQL, the in-memory ACD store.

// acdHotline is a hotline whose queue is the distributor.
type acdHotline struct {
	*hotline
	acd   acd.Store
	queue *ACDQueue
}

// testACDConfig is the default configuration with short timers: 3 s of ringing before
// RONA, 1 s of wrap-up.
func testACDConfig() acd.Config {
	cfg := acd.DefaultConfig()
	cfg.RingTimeout = 3 * time.Second
	for i := range cfg.Queues {
		cfg.Queues[i].WrapUp = time.Second
	}
	return cfg
}

func startACDHotline(t *testing.T, now time.Time, cfg acd.Config, callbacks func(context.Context, acd.Reservation), opts ...func(*ACDConfig)) *acdHotline {
	t.Helper()
	return startACDHotlineWith(t, now, cfg, callbacks, nil, opts...)
}

// startACDHotlineWith takes the distributor's store from newStore (given the router and
// the hotline's clock), by default an in-memory store.
func startACDHotlineWith(t *testing.T, now time.Time, cfg acd.Config, callbacks func(context.Context, acd.Reservation),
	newStore func(*acd.Router, acd.Clock) acd.Store, opts ...func(*ACDConfig)) *acdHotline {
	t.Helper()
	ah := &acdHotline{}
	if newStore == nil {
		newStore = func(r *acd.Router, c acd.Clock) acd.Store { return memstore.New(r, c) }
	}
	h := startHotline(t, now, func(r *Runner) {
		router, err := acd.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ah.acd = newStore(router, r.cfg.Clock)
		client := r.cfg.Calls.(*pbx.Client)
		qc := ACDConfig{Store: ah.acd, ACD: cfg, Line: SIPLine{PBX: client}, Bridges: client,
			Tick: 200 * time.Millisecond, Clock: r.cfg.Clock, Callbacks: callbacks, Logger: quiet}
		for _, o := range opts {
			o(&qc)
		}
		q, err := NewACDQueue(qc)
		if err != nil {
			t.Fatal(err)
		}
		ah.queue = q
		r.cfg.Queue = q
		ctx, stop := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- q.Run(ctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-ran; err != nil {
				t.Errorf("dispatcher: %v", err)
			}
		})
	})
	if h.pbx.sim == nil {
		t.Skip("needs scripted agent phones, which only the simulated PBX has")
	}
	ah.hotline = h
	return ah
}

// agent registers an agent's phone and logs the agent in, ready, for English complaints.
func (h *acdHotline) agent(t *testing.T, id acd.AgentID, phone sim.EndpointSpec) *sim.Endpoint {
	t.Helper()
	phone.Name = "PJSIP/agent-" + string(id)
	ep := h.pbx.sim.RegisterEndpoint(phone)
	_, err := h.acd.Login(context.Background(), acd.Agent{ID: id, Groups: []acd.GroupName{"general"},
		Skills: map[acd.SkillName]acd.Level{"complaint": 3, "english": 2, "zh": 3}}, acd.StateReady, "")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// Callers' steps wait for one prompt only ("p": the welcome, perhaps with "connecting",
// 3.2 s, right behind it) and then wait by the clock: a second "p" could land in the hold
// tone, which never ends.

// dialListening places a caller who keeps what they hear.
func (h *acdHotline) dialListening(t *testing.T, from, steps string) pbxtest.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h.pbx.raw.Call(ctx, pbxtest.CallSpec{From: from, Steps: steps, Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond every 50 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// toneTime is how long freq is present in samples, in 200 ms windows.
func toneTime(samples []int16, freq float64) time.Duration {
	n := 0
	for _, s := range audio.ToneShares(samples, freq) {
		if s >= audio.PresentShare {
			n++
		}
	}
	return time.Duration(n) * audio.Duration(audio.WindowSamples)
}

func agentEvent(t *testing.T, d cases.Detail) (map[string]any, bool) {
	t.Helper()
	for _, e := range d.Events {
		if e.Kind == eventAgentConnected {
			var m map[string]any
			if err := json.Unmarshal(e.Detail, &m); err != nil {
				t.Fatalf("agent_connected detail %s: %v", e.Detail, err)
			}
			return m, true
		}
	}
	return nil, false
}

// TestE2EQueueToAgent: an English complaint waits for an agent. The first agent chosen
// (idle longest) never answers: after the ring timeout the agent is not ready (RONA) and
// the call goes to the other agent, who answers; caller and agent hear each other through
// the bridge; the agent hangs up, the caller is hung up, the agent wraps up, then is ready.
func TestE2EQueueToAgent(t *testing.T) {
	t.Parallel()
	h := startACDHotline(t, friday, testACDConfig(), nil, func(c *ACDConfig) { c.RecordConversations = true })
	slow := h.agent(t, "1001", sim.EndpointSpec{Behavior: sim.NoAnswer})
	fast := h.agent(t, "1002", sim.EndpointSpec{AnswerAfter: 300 * time.Millisecond, Steps: "T880:4 h", Listen: true})

	const from = "13800000700"
	caller := h.dialListening(t, from, "m300 2 2 p w4 T440:60")
	d := h.wait(t, testCaller{channelID: caller.ChannelID(), done: caller.Done()}, from, time.Now().Add(90*time.Second))

	ctx := context.Background()
	a1, err := h.acd.Agent(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if a1.State != acd.StateNotReady || a1.Reason != acd.ReasonNoAnswer {
		t.Errorf("agent 1001 is %s (%s), want not_ready after ringing out (RONA)", a1.State, a1.Reason)
	}
	select {
	case <-slow.Calls():
	default:
		t.Error("agent 1001's phone never rang")
	}
	var agentCall *sim.Call
	select {
	case agentCall = <-fast.Calls():
	default:
		t.Fatal("agent 1002's phone never rang")
	}
	<-agentCall.Done()
	if got := toneTime(agentCall.Heard(), 440); got < time.Second {
		t.Errorf("agent 1002 heard the caller's 440 Hz for %s, want at least 1 s", got)
	}
	if got := toneTime(caller.Heard(), 880); got < time.Second {
		t.Errorf("the caller heard the agent's 880 Hz for %s, want at least 1 s", got)
	}

	if len(d.Calls) != 1 || d.Calls[0].Outcome != OutcomeAgent {
		t.Errorf("call %+v, want outcome %s", d.Calls, OutcomeAgent)
	}
	if len(d.Recordings) != 1 {
		t.Errorf("recordings %+v, want the conversation's", d.Recordings)
	} else {
		mix, err := audio.ReadWAVFile(filepath.Join(h.recs.Dir(), d.Recordings[0].Path))
		if err != nil {
			t.Fatalf("the conversation on disk: %v", err)
		}
		if toneTime(mix, 440) < time.Second || toneTime(mix, 880) < time.Second || d.Recordings[0].Name != "conv-"+caller.ChannelID() {
			t.Errorf("conversation recording %s: 440 Hz for %s, 880 Hz for %s; want both sides", d.Recordings[0].Name, toneTime(mix, 440), toneTime(mix, 880))
		}
	}
	if d.Case.Kind != cases.KindComplaint || d.Case.Status != cases.StatusRegistered || d.Case.DueAt == nil || len(d.Tasks) != 0 {
		t.Errorf("case %+v tasks %d, want a registered complaint with a due time and no callback", d.Case, len(d.Tasks))
	}
	ev, ok := agentEvent(t, d)
	if !ok {
		t.Fatalf("no %s event on the trail", eventAgentConnected)
	}
	if ev["agent"] != "1002" || ev["answered_at"] == nil || ev["trace"] == nil || ev["attempts"] != float64(1) {
		t.Errorf("agent_connected %v, want agent 1002, the answered time, the routing trace, one earlier attempt", ev)
	}

	// Wrap-up, then ready: the handled outcome carries the wrap-up.
	eventually(t, 10*time.Second, "agent 1002 ready after wrap-up", func() bool {
		a, err := h.acd.Agent(ctx, "1002")
		return err == nil && a.State == acd.StateReady
	})
	outs, err := h.acd.Outcomes(ctx, "general", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range outs {
		if o.Agent == "1002" {
			kinds = append(kinds, o.Kind.String())
			if o.Kind == acd.OutcomeHandled && (o.WrapUp < time.Second || o.Talk <= 0) {
				t.Errorf("handled outcome %+v, want talk time and about 1 s of wrap-up", o)
			}
		}
	}
	if !slices.Equal(kinds, []string{"answered", "handled"}) {
		t.Errorf("outcomes of agent 1002: %v, want answered then handled", kinds)
	}
}

// TestE2ECallbackKeepsPlace: caller A waits with no agent logged in and presses 2; caller
// B arrives later and waits. When an agent becomes ready, A's callback task (enqueued at
// A's original time) is reserved first; once the agent has called A back and wrapped up,
// B gets the agent.
func TestE2ECallbackKeepsPlace(t *testing.T) {
	t.Parallel()
	type firstTask struct {
		item      acd.ItemID
		enqueued  time.Time
		bWaiting  bool
		reservErr error
	}
	var bID acd.ItemID
	tasks := make(chan firstTask, 4)
	var h *acdHotline
	// The desk's part, simulated: the agent calls the task back at once.
	callbacks := func(ctx context.Context, r acd.Reservation) {
		b, err := h.acd.Item(ctx, bID)
		ft := firstTask{item: r.Item.ID, enqueued: r.Item.EnqueuedAt, bWaiting: err == nil && b.Status == acd.StatusWaiting, reservErr: err}
		for _, step := range []func(context.Context, acd.Reservation) (acd.Agent, error){h.acd.Offer, h.acd.Answer, h.acd.Finish} {
			if _, err := step(ctx, r); err != nil && ft.reservErr == nil {
				ft.reservErr = err
			}
		}
		tasks <- ft
	}
	h = startACDHotline(t, friday, testACDConfig(), callbacks)

	const fromA, fromB = "13800000710", "13800000711"
	a := h.dialListening(t, fromA, "m300 2 2 p w6 2")
	da := h.wait(t, testCaller{channelID: a.ChannelID(), done: a.Done()}, fromA, time.Now().Add(60*time.Second))
	if len(da.Calls) != 1 || da.Calls[0].Outcome != OutcomeQueueCallback {
		t.Fatalf("call of A %+v, want outcome %s", da.Calls, OutcomeQueueCallback)
	}
	ctx := context.Background()
	taskID := acd.ItemID("cb-" + a.ChannelID())
	task, err := h.acd.Item(ctx, taskID)
	if err != nil {
		t.Fatalf("A's callback task in the ACD: %v", err)
	}
	if task.Kind != acd.KindCallback || task.Origin != acd.OriginKeptPlace || task.Class != acd.ClassComplaint || task.Status != acd.StatusWaiting {
		t.Errorf("task %+v, want a waiting kept-place callback of the complaint class", task)
	}
	if len(da.Tasks) != 1 || da.Tasks[0].Reason != cases.TaskRequested || da.Tasks[0].EnqueuedAt.Sub(task.EnqueuedAt).Abs() > time.Millisecond {
		t.Fatalf("case tasks %+v, want one requested callback enqueued at A's original time %s", da.Tasks, task.EnqueuedAt)
	}
	if !da.Tasks[0].EnqueuedAt.Before(da.Calls[0].EndedAt.Add(-time.Second)) {
		t.Errorf("task enqueued at %s, call ended %s: want the enqueue time, not the time of the key", da.Tasks[0].EnqueuedAt, da.Calls[0].EndedAt)
	}

	b := h.dialListening(t, fromB, "m300 2 2 p w4 T440:60")
	bID = acd.ItemID(b.ChannelID())
	eventually(t, 40*time.Second, "B waiting behind A's task", func() bool {
		w, err := h.acd.Waiting(ctx, "general")
		if err != nil || len(w) != 2 {
			return false
		}
		if w[0].ID != taskID || w[1].ID != bID {
			t.Fatalf("waiting order %s, %s; want A's task before B", w[0].ID, w[1].ID)
		}
		return true
	})
	if bItem, _ := h.acd.Item(ctx, bID); !task.EnqueuedAt.Before(bItem.EnqueuedAt) {
		t.Errorf("task enqueued %s, B %s: the task should keep the earlier place", task.EnqueuedAt, bItem.EnqueuedAt)
	}

	h.agent(t, "1003", sim.EndpointSpec{AnswerAfter: 200 * time.Millisecond, Steps: "T880:1 h"})
	h.queue.Kick()
	var ft firstTask
	select {
	case ft = <-tasks:
	case <-time.After(10 * time.Second):
		t.Fatal("A's callback task was never reserved")
	}
	if ft.item != taskID || !ft.bWaiting || ft.reservErr != nil {
		t.Errorf("first reservation %+v, want A's task while B still waits", ft)
	}
	db := h.wait(t, testCaller{channelID: b.ChannelID(), done: b.Done()}, fromB, time.Now().Add(30*time.Second))
	if ev, ok := agentEvent(t, db); !ok || ev["agent"] != "1003" {
		t.Errorf("B's agent_connected %v, want agent 1003", ev)
	}
}

// TestE2EQueueExits: with nobody logged in, a waiting caller leaves the queue by hanging
// up (abandoned, with an abandoned callback), by key 1 (a message) or at the queue's
// maximum wait (a message); the distributor records each as abandoned or diverted.
func TestE2EQueueExits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, steps string
		maxWait           time.Duration
		outcome           string
		task              cases.TaskReason
		acdOutcome        acd.OutcomeKind
		message           bool
	}{
		{"hang up while waiting", "13800000720", "m300 2 2 p w6 h", 0, OutcomeQueueAbandoned, cases.TaskAbandoned, acd.OutcomeAbandoned, false},
		{"key 1 for a message", "13800000721", "m300 2 2 p w5 1 p m500 t3 #", 0, OutcomeQueueVoicemail, cases.TaskVoicemail, acd.OutcomeDiverted, true},
		{"maximum wait", "13800000722", "m300 2 2 p w9 p m500 t3 #", 4 * time.Second, OutcomeQueueVoicemail, cases.TaskVoicemail, acd.OutcomeDiverted, true},
	}
	type placed struct {
		h *acdHotline
		c pbxtest.Call
	}
	calls := make([]placed, len(tests))
	for i, tt := range tests {
		cfg := testACDConfig()
		cfg.Queues[0].MaxWait = tt.maxWait
		h := startACDHotline(t, friday, cfg, nil)
		calls[i] = placed{h, h.dialListening(t, tt.from, tt.steps)}
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c := calls[i].h, calls[i].c
			d := h.wait(t, testCaller{channelID: c.ChannelID(), done: c.Done()}, tt.from, time.Now().Add(90*time.Second))
			if len(d.Calls) != 1 || d.Calls[0].Outcome != tt.outcome {
				t.Errorf("calls %+v, want outcome %s", d.Calls, tt.outcome)
			}
			if len(d.Tasks) != 1 || d.Tasks[0].Reason != tt.task {
				t.Errorf("tasks %+v, want one %s callback", d.Tasks, tt.task)
			}
			if got := len(d.Recordings) == 1; got != tt.message {
				t.Errorf("recordings %+v, want a message: %v", d.Recordings, tt.message)
			}
			outs, err := h.acd.Outcomes(context.Background(), "general", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 || outs[0].Kind != tt.acdOutcome || outs[0].Item != acd.ItemID(c.ChannelID()) {
				t.Errorf("distributor outcomes %+v, want the call %s", outs, tt.acdOutcome)
			}
			if w, err := h.acd.Waiting(context.Background(), "general"); err != nil || len(w) != 0 {
				t.Errorf("still waiting: %+v (%v)", w, err)
			}
		})
	}
}
