package redisbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/redisbus"
)

// newPrefix is a key prefix of the test's own (pub/sub leaves no keys behind).
func newPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "hotline-test-bus-" + hex.EncodeToString(b)
}

func newBus(t *testing.T, prefix string) *redisbus.Bus {
	t.Helper()
	b, err := redisbus.New(acdtest.RedisClient(t), prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reservation(id string) acd.Reservation {
	at := time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.UTC)
	return acd.Reservation{ID: acd.ReservationID("res-" + id), Agent: "1001", At: at,
		Item: acd.Item{ID: acd.ItemID(id), Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint,
			Skills: []acd.SkillReq{{Skill: "complaint", Min: 2}}, EnqueuedAt: at.Add(-time.Minute), CaseID: 42,
			CaseNumber: "620000-20261127-000042", Number: "13800000001", Status: acd.StatusReserved, Agent: "1001",
			Reservation: acd.ReservationID("res-" + id), Attempts: 1},
		Trace: acd.Trace{Item: acd.ItemID(id), Queue: "general", Agent: "1001", Waited: time.Minute, Basis: "idle 3m"}}
}

func receive(t *testing.T, in <-chan acd.Reservation) acd.Reservation {
	t.Helper()
	select {
	case r, ok := <-in:
		if !ok {
			t.Fatal("subscription closed")
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received in 5s")
	}
	return acd.Reservation{}
}

// TestEveryControllerReceives: two controllers (two clients) subscribed on one prefix both
// get each reservation either publishes, whole and in order.
func TestEveryControllerReceives(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := newPrefix()
	a, b := newBus(t, prefix), newBus(t, prefix)
	inA, err := a.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inB, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []acd.Reservation{reservation("call-1"), reservation("call-2"), reservation("call-3")}
	for i, r := range want {
		pub := a
		if i%2 == 1 {
			pub = b
		}
		if err := pub.Publish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for name, in := range map[string]<-chan acd.Reservation{"a": inA, "b": inB} {
		for _, w := range want {
			got := receive(t, in)
			if !got.At.Equal(w.At) || !got.Item.EnqueuedAt.Equal(w.Item.EnqueuedAt) {
				t.Errorf("%s: times %v %v, want %v %v", name, got.At, got.Item.EnqueuedAt, w.At, w.Item.EnqueuedAt)
			}
			got.At, got.Item.EnqueuedAt = w.At, w.Item.EnqueuedAt
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s received\n%+v\nwant\n%+v", name, got, w)
			}
		}
	}
}

// TestPrefixesAreSeparate: a centre on another prefix hears nothing of this one.
func TestPrefixesAreSeparate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	one, other := newBus(t, newPrefix()), newBus(t, newPrefix())
	in, err := other.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Published in this order on one connection: cross-talk would arrive first.
	if err := one.Publish(ctx, reservation("elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := other.Publish(ctx, reservation("here")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, in); got.Item.ID != "here" {
		t.Errorf("received %s, want only the reservation of its own prefix", got.Item.ID)
	}
}

// TestBadMessagesSkipped: what is not a reservation is skipped, the next one still comes.
func TestBadMessagesSkipped(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := newPrefix()
	bus := newBus(t, prefix)
	in, err := bus.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := acdtest.RedisClient(t)
	for _, raw := range []string{"not json", `{"id":"r1"}`, `{"id":"r2","item":{"id":"c"},"agent":""}`, `[1,2]`} {
		if err := c.Publish(ctx, redisbus.Channel(prefix), raw).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.Publish(ctx, reservation("good")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, in); got.Item.ID != "good" {
		t.Errorf("received %+v, want the bad messages skipped and call good delivered", got)
	}
}

// TestSubscriptionEndsWithContext: the channel closes when the context ends.
func TestSubscriptionEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	in, err := newBus(t, newPrefix()).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-in:
		if ok {
			t.Error("received a reservation nobody published")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription still open 5s after its context ended")
	}
}

func TestNewChecks(t *testing.T) {
	c := acdtest.RedisClient(t)
	tests := []struct {
		name   string
		rdb    redis.UniversalClient
		prefix string
		ok     bool
	}{
		{"ok", c, "hotline:acd", true},
		{"no client", nil, "hotline:acd", false},
		{"no prefix", c, "", false},
	}
	for _, tt := range tests {
		if _, err := redisbus.New(tt.rdb, tt.prefix, nil); (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	if got := redisbus.Channel("hotline:acd"); got != "{hotline:acd}:reservations" {
		t.Errorf("Channel = %q", got)
	}
}

// TestSubscribeFailsWithoutRedis: no server, a clear error rather than a silent bus.
func TestSubscribeFailsWithoutRedis(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	bus, err := redisbus.New(c, "hotline:acd", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := bus.Subscribe(ctx); err == nil {
		t.Error("subscribed with no Redis server")
	}
	if err := bus.Publish(ctx, reservation("x")); err == nil {
		t.Error("published with no Redis server")
	}
}
