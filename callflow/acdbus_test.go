package callflow

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
	"hotline/acd/redisbus"
	"hotline/acd/redisstore"
	"hotline/ivr"
	"hotline/pbx"
)

// memBus is an in-process ReservationBus: every subscriber gets every reservation.
type memBus struct {
	mu        sync.Mutex
	subs      []chan acd.Reservation
	published []acd.Reservation
}

func (b *memBus) Publish(_ context.Context, r acd.Reservation) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.published = append(b.published, r)
	for _, s := range b.subs {
		s <- r
	}
	return nil
}

func (b *memBus) Subscribe(ctx context.Context) (<-chan acd.Reservation, error) {
	in := make(chan acd.Reservation, 64)
	out := make(chan acd.Reservation)
	b.mu.Lock()
	b.subs = append(b.subs, in)
	b.mu.Unlock()
	go func() {
		defer close(out)
		for {
			select {
			case r := <-in:
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (b *memBus) sent() []acd.Reservation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]acd.Reservation(nil), b.published...)
}

// TestForeignReservationLapses: the dispatcher publishes the reservation of a call it does
// not own instead of releasing it; nobody takes it, and the store's expiry (run by the
// dispatcher's tick) makes the agent ready and the call waiting again after the reserve
// timeout, not before. Injected clock, the dispatcher's steps called directly.
func TestForeignReservationLapses(t *testing.T) {
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := acdtest.NewClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	store := memstore.New(router, clock)
	bus := &memBus{}
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: SIPLine{}, Bridges: &pbx.Client{}, Bus: bus, Clock: clock,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.Login(ctx, acd.Agent{ID: "a1", Skills: map[acd.SkillName]acd.Level{"complaint": 3}}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Enqueue(ctx, acd.Item{ID: "elsewhere", Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint}); err != nil {
		t.Fatal(err)
	}
	q.dispatch(ctx)
	sent := bus.sent()
	if len(sent) != 1 || sent[0].Item.ID != "elsewhere" || sent[0].Agent != "a1" {
		t.Fatalf("published %+v, want the reservation of call elsewhere for a1", sent)
	}
	state := func() (acd.State, acd.ItemStatus) {
		a, err := store.Agent(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		it, err := store.Item(ctx, "elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		return a.State, it.Status
	}
	steps := []struct {
		advance    time.Duration
		wantAgent  acd.State
		wantStatus acd.ItemStatus
	}{
		{0, acd.StateReserved, acd.StatusReserved},
		{cfg.ReserveTimeout - time.Millisecond, acd.StateReserved, acd.StatusReserved},
		{2 * time.Millisecond, acd.StateReady, acd.StatusWaiting},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		q.expire(ctx)
		if a, st := state(); a != s.wantAgent || st != s.wantStatus {
			t.Errorf("%s after the reservation: agent %s, call %s; want %s, %s", clock.Now().Sub(sent[0].At), a, st, s.wantAgent, s.wantStatus)
		}
	}
}

// TestTakeFromBus: of the reservations on the bus, a controller hands its own calls theirs,
// releases a second one for a call that has one, and leaves the others alone.
func TestTakeFromBus(t *testing.T) {
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, acd.SystemClock{})
	bus := &memBus{}
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: SIPLine{}, Bridges: &pbx.Client{}, Bus: bus,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := q.Offer(ctx, Offer{ChannelID: "mine", Queue: "general", Priority: ivr.PriorityComplaint,
		Skills: []ivr.Skill{{Name: "complaint", Level: 1}}})
	if err != nil || res.Wait == nil {
		t.Fatalf("offer: %+v, %v", res, err)
	}
	// Two agents reserved for the one call by hand, as two racing deliveries would look.
	for _, id := range []acd.AgentID{"a1", "a2"} {
		if _, err := store.Login(ctx, acd.Agent{ID: id, Skills: map[acd.SkillName]acd.Level{"complaint": 3}}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
	}
	r1, err := store.Reserve(ctx, "mine", "a1")
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan acd.Reservation, 3)
	in <- acd.Reservation{ID: "other", Item: acd.Item{ID: "theirs", Kind: acd.KindCall}, Agent: "a9"}
	in <- r1
	second := r1
	second.ID, second.Agent = "second", "a2"
	in <- second
	close(in)
	q.takeFromBus(ctx, in)
	select {
	case r := <-res.Wait.offers:
		if r.ID != r1.ID {
			t.Errorf("call got %s, want %s", r.ID, r1.ID)
		}
	default:
		t.Fatal("the call's reservation was not handed over")
	}
	select {
	case r := <-res.Wait.offers:
		t.Errorf("call got a second reservation %s", r.ID)
	default:
	}
	// The second one was released: the store knows no reservation "second", so a1 keeps
	// its reservation (release is compare-and-set on the reservation).
	if a, err := store.Agent(ctx, "a1"); err != nil || a.State != acd.StateReserved {
		t.Errorf("agent a1 %s (%v), want still reserved for the call", a.State, err)
	}
}

// stubbornStore reserves nothing: its controller only ever gets reservations made by others.
type stubbornStore struct{ ACDStore }

func (stubbornStore) ReserveBest(context.Context, int) ([]acd.Reservation, error) { return nil, nil }

// TestCrossControllerDelivery: two controllers on one Redis store and bus; only A's
// dispatcher reserves, every call enqueued on B still gets its agent, through the bus.
func TestCrossControllerDelivery(t *testing.T) {
	t.Parallel()
	cfg := acd.DefaultConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := acdtest.RedisClient(t), acdtest.RedisPrefix(t, "callflow")
	store := redisstore.New(rdb, prefix, router, acd.SystemClock{})
	newQueue := func(s ACDStore) *ACDQueue {
		bus, err := redisbus.New(rdb, prefix, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, err := NewACDQueue(ACDConfig{Store: s, ACD: cfg, Line: SIPLine{}, Bridges: &pbx.Client{}, Bus: bus,
			Tick: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	a, b := newQueue(store), newQueue(stubbornStore{store})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, q := range []*ACDQueue{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.Run(ctx) }()
	}
	const n = 5
	tickets := map[acd.ItemID]*Ticket{}
	for i := range n {
		id := "b-call-" + string(rune('1'+i))
		res, err := b.Offer(ctx, Offer{ChannelID: id, Queue: "general", Priority: ivr.PriorityComplaint,
			Skills: []ivr.Skill{{Name: "complaint", Level: 1}}})
		if err != nil || res.Wait == nil {
			t.Fatalf("offer %s: %+v, %v", id, res, err)
		}
		tickets[acd.ItemID(id)] = res.Wait
	}
	for i := range n {
		id := acd.AgentID("a" + string(rune('1'+i)))
		if _, err := store.Login(ctx, acd.Agent{ID: id, Skills: map[acd.SkillName]acd.Level{"complaint": 3}}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
	}
	a.Kick()
	agents := map[acd.AgentID]acd.ItemID{}
	for id, tk := range tickets {
		select {
		case r := <-tk.offers:
			if r.Item.ID != id {
				t.Errorf("call %s got the reservation of %s", id, r.Item.ID)
			}
			if prev, dup := agents[r.Agent]; dup {
				t.Errorf("agent %s reserved for %s and %s", r.Agent, prev, id)
			}
			agents[r.Agent] = id
			if _, err := store.Offer(ctx, r); err != nil {
				t.Errorf("offer %s to %s: %v", id, r.Agent, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("call %s on controller B never got a reservation", id)
		}
	}
}
