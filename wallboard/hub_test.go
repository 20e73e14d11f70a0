package wallboard

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdchanges"
	"hotline/acd/acdtest"
	"hotline/acd/redisstore"
)

// twoControllers is the distributor in Redis seen by two controllers: one whose store
// publishes its changes (the call path) and one whose hub shows them.
type twoControllers struct {
	caller *acdchanges.Store // controller 1's store, publishing
	hub    *Hub              // controller 2's wallboard
	cfg    acd.Config
}

func newTwoControllers(t *testing.T, ctx context.Context, hubCfg func(*HubConfig)) *twoControllers {
	t.Helper()
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prefix := acdtest.RedisPrefix(t, "wallboard")
	pub := acdchanges.NewPublisher(acdtest.RedisClient(t), acdchanges.Channel(prefix), nil)
	go func() { _ = pub.Run(ctx) }()
	one := acdchanges.Wrap(redisstore.New(acdtest.RedisClient(t), prefix, router, acd.SystemClock{}), pub)

	hc := HubConfig{Source: redisstore.New(acdtest.RedisClient(t), prefix, router, acd.SystemClock{}), ACD: cfg, Location: shanghai,
		Refresh: time.Hour} // only the notifications make boards here
	if hubCfg != nil {
		hubCfg(&hc)
	}
	hub, err := NewHub(hc)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hub.Run(ctx) }()
	subscribed := make(chan struct{})
	go func() {
		first := true
		_ = acdchanges.Listen(ctx, acdtest.RedisClient(t), acdchanges.Channel(prefix), func(string) {
			hub.Changed()
			if first {
				first = false
				close(subscribed)
			}
		})
	}()
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("not subscribed to the changes after 5s")
	}
	return &twoControllers{caller: one, hub: hub, cfg: cfg}
}

// pageBoard is the board as the page reads it.
type pageBoard struct {
	Queues    []pageQueue `json:"queues"`
	Agents    []pageAgent `json:"agents"`
	Intervals []struct {
		Offered  int `json:"offered"`
		Answered int `json:"answered"`
	} `json:"intervals"`
}

type pageQueue struct {
	Queue        acd.QueueName `json:"queue"`
	Waiting      int           `json:"waiting"`
	Answered     int           `json:"answered"`
	Abandoned    int           `json:"abandoned"`
	ServiceLevel *float64      `json:"service_level"`
	AbandonRate  *float64      `json:"abandon_rate"`
}

type pageAgent struct {
	ID    acd.AgentID `json:"id"`
	Name  string      `json:"name"`
	State string      `json:"state"`
	Work  *struct {
		CaseNumber string     `json:"case_number"`
		AnsweredAt *time.Time `json:"answered_at"`
	} `json:"work"`
}

// awaitBoard reads boards until ok accepts one, and fails after limit.
func awaitBoard(t *testing.T, boards <-chan []byte, limit time.Duration, what string, ok func(pageBoard) bool) pageBoard {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case data := <-boards:
			var b pageBoard
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatalf("%s: decode board: %v", what, err)
			}
			if ok(b) {
				return b
			}
		case <-deadline:
			t.Fatalf("%s: no such board within %s", what, limit)
		}
	}
}

func queueOf(b pageBoard, q acd.QueueName) pageQueue {
	for _, s := range b.Queues {
		if s.Queue == q {
			return s
		}
	}
	return pageQueue{}
}

func agentOf(b pageBoard, id acd.AgentID) (pageAgent, bool) {
	for _, a := range b.Agents {
		if a.ID == id {
			return a, true
		}
	}
	return pageAgent{}, false
}

// TestHubPushesChangesOfAnotherController: a call enqueued, an agent logging in, the call
// answered and abandoned on one controller each show on the other controller's board
// within a second, without any refresh.
func TestHubPushesChangesOfAnotherController(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newTwoControllers(t, ctx, nil)
	boards, unsubscribe := c.hub.Subscribe()
	defer unsubscribe()
	first := awaitBoard(t, boards, 5*time.Second, "first board", func(pageBoard) bool { return true })
	if len(first.Queues) != len(c.cfg.Queues) || len(first.Agents) != 0 {
		t.Fatalf("first board %+v", first)
	}

	const limit = time.Second
	timed := func(what string, change func() error, ok func(pageBoard) bool) pageBoard {
		t.Helper()
		start := time.Now()
		if err := change(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b := awaitBoard(t, boards, limit, what, ok)
		t.Logf("%s: on the board after %s", what, time.Since(start).Round(time.Millisecond))
		return b
	}
	call := acd.Item{ID: "call-1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint, Language: "zh",
		CaseNumber: "620000-20261127-000042"}
	timed("a call enqueued", func() error { _, err := c.caller.Enqueue(ctx, call); return err },
		func(b pageBoard) bool { return queueOf(b, "general").Waiting == 1 })

	agent := acd.Agent{ID: "1001", Name: "王丽", Skills: map[acd.SkillName]acd.Level{"zh": 3, "complaint": 3}, Groups: []acd.GroupName{"general"}}
	timed("an agent logs in, not ready", func() error {
		_, err := c.caller.Login(ctx, agent, acd.StateNotReady, acd.ReasonLogin)
		return err
	}, func(b pageBoard) bool { a, ok := agentOf(b, "1001"); return ok && a.State == "not_ready" })

	var r acd.Reservation
	timed("ready, reserved and rung", func() error {
		if _, err := c.caller.SetState(ctx, "1001", acd.StateNotReady, acd.StateReady, ""); err != nil {
			return err
		}
		rs, err := c.caller.ReserveBest(ctx, 1)
		if err != nil || len(rs) != 1 {
			t.Fatalf("reserve: %v %v", rs, err)
		}
		r = rs[0]
		_, err = c.caller.Offer(ctx, r)
		return err
	}, func(b pageBoard) bool {
		a, _ := agentOf(b, "1001")
		return a.State == "ringing" && queueOf(b, "general").Waiting == 0
	})

	b := timed("answered", func() error { _, err := c.caller.Answer(ctx, r); return err },
		func(b pageBoard) bool { // a board may catch the answer between its reads: the next is whole
			a, _ := agentOf(b, "1001")
			return a.State == "on_call" && queueOf(b, "general").Answered == 1
		})
	a, _ := agentOf(b, "1001")
	if a.Work == nil || a.Work.CaseNumber != string(call.CaseNumber) || a.Work.AnsweredAt == nil || a.Name != "王丽" {
		t.Errorf("agent on the call %+v %+v", a, a.Work)
	}
	if g := queueOf(b, "general"); g.Answered != 1 || g.ServiceLevel == nil || *g.ServiceLevel != 1 || g.Waiting != 0 {
		t.Errorf("general after the answer %+v", g)
	}
	if iv := b.Intervals[len(b.Intervals)-1]; iv.Answered != 1 || iv.Offered != 1 {
		t.Errorf("this quarter hour %+v", iv)
	}

	timed("a second caller gives up", func() error {
		if _, err := c.caller.Enqueue(ctx, acd.Item{ID: "call-2", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh"}); err != nil {
			return err
		}
		_, err := c.caller.Remove(ctx, "call-2", acd.RemoveAbandoned)
		return err
	}, func(b pageBoard) bool {
		g := queueOf(b, "general")
		return g.Abandoned == 1 && g.AbandonRate != nil && *g.AbandonRate == 0.5
	})
}

// TestHubThrottles: a burst of changes makes a few boards, not one per change, and the
// last board shows the end of the burst.
func TestHubThrottles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newTwoControllers(t, ctx, func(hc *HubConfig) { hc.MinGap = 200 * time.Millisecond })
	boards, unsubscribe := c.hub.Subscribe()
	defer unsubscribe()
	awaitBoard(t, boards, 5*time.Second, "first board", func(pageBoard) bool { return true })

	built := 0
	counted := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-boards:
				n++
			case <-time.After(time.Second):
				counted <- n
				return
			}
		}
	}()
	start := time.Now()
	for i := range 40 {
		if _, err := c.caller.Enqueue(ctx, acd.Item{ID: acd.ItemID("burst-" + string(rune('a'+i%26)) + string(rune('a'+i/26))),
			Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh"}); err != nil {
			t.Fatal(err)
		}
	}
	burst := time.Since(start)
	built = <-counted
	limit := int(burst/(200*time.Millisecond)) + 3
	if built == 0 || built > limit {
		t.Errorf("40 changes in %s made %d boards; want 1 to %d", burst.Round(time.Millisecond), built, limit)
	}
	var last pageBoard
	if err := json.Unmarshal(c.hub.Latest(), &last); err != nil || queueOf(last, "general").Waiting != 40 {
		t.Errorf("latest board shows %d waiting (%v)", queueOf(last, "general").Waiting, err)
	}
	t.Logf("40 changes in %s: %d boards", burst.Round(time.Millisecond), built)
}

func TestNewHubChecks(t *testing.T) {
	ok := HubConfig{Source: fakeSource{}, ACD: acd.DefaultConfig(), Location: shanghai}
	if _, err := NewHub(ok); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name   string
		change func(*HubConfig)
	}{
		{"no source", func(c *HubConfig) { c.Source = nil }},
		{"no zone", func(c *HubConfig) { c.Location = nil }},
		{"no queues", func(c *HubConfig) { c.ACD.Queues = nil }},
		{"outcomes kept less than a day", func(c *HubConfig) { c.ACD.OutcomeRetention = 12 * time.Hour }},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		if _, err := NewHub(c); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

type fakeSource struct{}

func (fakeSource) Waiting(context.Context, acd.QueueName) ([]acd.Item, error) { return nil, nil }
func (fakeSource) Outcomes(context.Context, acd.QueueName, time.Time) ([]acd.Outcome, error) {
	return nil, nil
}
func (fakeSource) Agents(context.Context) ([]acd.Agent, error)        { return nil, nil }
func (fakeSource) Item(context.Context, acd.ItemID) (acd.Item, error) { return acd.Item{}, nil }
