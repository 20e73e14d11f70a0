package callflow

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/memstore"
	"hotline/ivr"
	"hotline/pbx"
)

func TestLegEvent(t *testing.T) {
	tests := []struct {
		name     string
		ev       pbx.Event
		answered bool
		want     LegEventKind
		reason   string
		ok       bool
	}{
		{"ringing", pbx.Event{Type: pbx.Dial, DialStatus: "RINGING"}, false, 0, "", false},
		{"dial answered", pbx.Event{Type: pbx.Dial, DialStatus: "ANSWER"}, false, 0, "", false},
		{"entered the app", pbx.Event{Type: pbx.StasisStart}, false, LegAnswered, "", true},
		{"no answer", pbx.Event{Type: pbx.Dial, DialStatus: "NOANSWER"}, false, LegFailed, "NOANSWER", true},
		{"busy", pbx.Event{Type: pbx.Dial, DialStatus: "BUSY"}, false, LegFailed, "BUSY", true},
		{"destroyed while ringing", pbx.Event{Type: pbx.ChannelDestroyed}, false, LegFailed, "ChannelDestroyed", true},
		{"hung up after answering", pbx.Event{Type: pbx.ChannelHangupRequest}, true, LegGone, "ChannelHangupRequest", true},
		{"destroyed after answering", pbx.Event{Type: pbx.ChannelDestroyed}, true, LegGone, "ChannelDestroyed", true},
		{"second StasisStart", pbx.Event{Type: pbx.StasisStart}, true, 0, "", false},
		{"dtmf", pbx.Event{Type: pbx.ChannelDtmfReceived, Digit: "1"}, true, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, reason, ok := legEvent(tt.ev, tt.answered)
			if k != tt.want || reason != tt.reason || ok != tt.ok {
				t.Errorf("legEvent = %s %q %v, want %s %q %v", k, reason, ok, tt.want, tt.reason, tt.ok)
			}
		})
	}
}

func TestItemOf(t *testing.T) {
	tests := []struct {
		priority ivr.Priority
		class    acd.Class
	}{
		{ivr.PriorityEmergency, acd.ClassEmergency},
		{ivr.PriorityComplaint, acd.ClassComplaint},
		{ivr.PriorityReport, acd.ClassComplaint},
		{ivr.PriorityConsult, acd.ClassConsult},
		{ivr.PriorityCallback, acd.ClassCallback},
	}
	for _, tt := range tests {
		it := itemOf(Offer{ChannelID: "c1", CaseID: 7, CaseNumber: "620000-20261127-000001", CallerID: "13800000001",
			Queue: "general", Priority: tt.priority, Skills: []ivr.Skill{{Name: "complaint", Level: 1}, {Name: "english", Level: 2}},
			At: time.Unix(100, 0)})
		if it.Class != tt.class || it.ID != "c1" || it.Kind != acd.KindCall || it.Queue != "general" || it.CaseID != 7 ||
			it.Number != "13800000001" || len(it.Skills) != 2 || it.Skills[1] != (acd.SkillReq{Skill: "english", Min: 2}) ||
			!it.EnqueuedAt.IsZero() {
			t.Errorf("priority %s: item %+v, want class %s and the offer's fields, enqueue time left to the store", tt.priority, it, tt.class)
		}
	}
}

// TestDispatch: the dispatcher delivers a call's reservation to its ticket, hands callback
// tasks to the desk, and releases what nobody here owns.
func TestDispatch(t *testing.T) {
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, acd.SystemClock{})
	desk := make(chan acd.Reservation, 1)
	logged := make(chan string, 64)
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: SIPLine{}, Bridges: &pbx.Client{}, Tick: 20 * time.Millisecond,
		Logger: slog.New(recordHandler{logged}), Callbacks: func(_ context.Context, r acd.Reservation) { desk <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = q.Run(ctx) }()
	login := func(id acd.AgentID) {
		if _, err := store.Login(ctx, acd.Agent{ID: id, Skills: map[acd.SkillName]acd.Level{"complaint": 3}}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
	}

	res, err := q.Offer(ctx, Offer{ChannelID: "call-1", Queue: "general", Priority: ivr.PriorityComplaint,
		Skills: []ivr.Skill{{Name: "complaint", Level: 1}}})
	if err != nil || res.Decision != DecideWait || res.Wait == nil {
		t.Fatalf("offer: %+v, %v; want to wait", res, err)
	}
	login("a1")
	select {
	case r := <-res.Wait.offers:
		if r.Item.ID != "call-1" || r.Agent != "a1" {
			t.Errorf("reservation %+v, want call-1 for a1", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reservation delivered to the call")
	}

	// A callback task goes to the desk.
	if _, err := store.Enqueue(ctx, acd.Item{ID: "task-1", Kind: acd.KindCallback, Queue: "general", Class: acd.ClassCallback, Origin: acd.OriginVoicemail}); err != nil {
		t.Fatal(err)
	}
	login("a2")
	select {
	case r := <-desk:
		if r.Item.ID != "task-1" || r.Agent != "a2" {
			t.Errorf("desk got %+v, want task-1 for a2", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the callback task never reached the desk")
	}

	// Nobody owns this call here: its reservation is released and the agent stays ready.
	if _, err := store.Enqueue(ctx, acd.Item{ID: "orphan", Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint,
		Skills: []acd.SkillReq{{Skill: "price", Min: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Login(ctx, acd.Agent{ID: "a3", Skills: map[acd.SkillName]acd.Level{"price": 3}}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	q.Kick()
	for {
		select {
		case m := <-logged:
			if m != "acd: reservation for an item nobody here owns; released" {
				continue
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the orphan's reservation was never released")
		}
		break
	}
	a, err := store.Agent(ctx, "a3")
	if err != nil || (a.State != acd.StateReady && a.State != acd.StateReserved) {
		t.Errorf("agent a3 %s (%v): want ready again (or reserved anew on the next pass)", a.State, err)
	}
	if it, err := store.Item(ctx, "orphan"); err != nil || it.Status == acd.StatusOffered || it.Status == acd.StatusConnected {
		t.Errorf("orphan %+v (%v): want it waiting, never offered", it, err)
	}
}

// recordHandler sends each log message to a channel (dropping when full).
type recordHandler struct{ out chan<- string }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.out <- r.Message:
	default:
	}
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// TestEmergencyBonusAtEnqueue: while incident mode is on, an emergency enqueued now gets
// the extra head start; other calls do not.
func TestEmergencyBonusAtEnqueue(t *testing.T) {
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, acd.SystemClock{})
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: SIPLine{}, Bridges: &pbx.Client{}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	q.SetEmergencyBonus(func() time.Duration { return 24 * time.Hour })
	ctx := context.Background()
	for _, tc := range []struct {
		id    string
		queue string
		pri   ivr.Priority
		want  time.Duration
	}{
		{"e1", "emergency", ivr.PriorityEmergency, 24 * time.Hour},
		{"c1", "general", ivr.PriorityComplaint, 0},
	} {
		if _, err := q.Offer(ctx, Offer{ChannelID: tc.id, Queue: tc.queue, Priority: tc.pri}); err != nil {
			t.Fatal(err)
		}
		it, err := store.Item(ctx, acd.ItemID(tc.id))
		if err != nil || it.HeadStartBonus != tc.want {
			t.Errorf("%s: bonus %s (%v), want %s", tc.id, it.HeadStartBonus, err, tc.want)
		}
	}
}
