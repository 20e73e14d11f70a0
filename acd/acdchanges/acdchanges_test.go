package acdchanges_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdchanges"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
)

type notes struct {
	mu  sync.Mutex
	ops []string
}

func (n *notes) Changed(op string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ops = append(n.ops, op)
}

func (n *notes) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ops := n.ops
	n.ops = nil
	return ops
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// TestStoreNotesChanges walks one call through the distributor: every change that
// happened is noted with its operation, refusals and reads are not.
func TestStoreNotesChanges(t *testing.T) {
	ctx := context.Background()
	router, err := acd.NewRouter(acd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	clock := acdtest.NewClock(t0)
	n := &notes{}
	s := acdchanges.Wrap(memstore.New(router, clock), n)
	agent := acd.Agent{ID: "a1", Skills: map[acd.SkillName]acd.Level{"zh": 3, "consult": 3}, Groups: []acd.GroupName{"general"}}
	call := acd.Item{ID: "c1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh", CaseNumber: "620000-20261127-000001"}
	var r acd.Reservation
	steps := []struct {
		name string
		do   func() error
		want []string // noted
	}{
		{"log in", func() error { _, err := s.Login(ctx, agent, acd.StateNotReady, acd.ReasonLogin); return err }, []string{"login"}},
		{"refused: log in twice", func() error { _, err := s.Login(ctx, agent, acd.StateReady, ""); return wantErr(err) }, nil},
		{"reads note nothing", func() error {
			_, err := s.Agents(ctx)
			if err == nil {
				_, err = s.Waiting(ctx, "general")
			}
			return err
		}, nil},
		{"enqueue", func() error { _, err := s.Enqueue(ctx, call); return err }, []string{"enqueue"}},
		{"nothing to reserve: none ready", func() error { _, err := s.ReserveBest(ctx, 4); return err }, nil},
		{"ready", func() error { _, err := s.SetState(ctx, "a1", acd.StateNotReady, acd.StateReady, ""); return err }, []string{"set_state"}},
		{"reserve", func() error {
			rs, err := s.ReserveBest(ctx, 4)
			if err == nil && len(rs) != 1 {
				err = errors.New("no reservation")
			}
			if err == nil {
				r = rs[0]
			}
			return err
		}, []string{"reserve"}},
		{"offer", func() error { _, err := s.Offer(ctx, r); return err }, []string{"offer"}},
		{"answer", func() error { _, err := s.Answer(ctx, r); return err }, []string{"answer"}},
		{"refused: answer again", func() error { _, err := s.Answer(ctx, r); return wantErr(err) }, nil},
		{"finish", func() error { _, err := s.Finish(ctx, r); return err }, []string{"finish"}},
		{"nothing expires yet", func() error { _, err := s.Expire(ctx); return err }, nil},
		{"wrap-up ends", func() error {
			clock.Advance(2 * time.Minute)
			es, err := s.Expire(ctx)
			if err == nil && len(es) != 1 {
				err = errors.New("no expiry")
			}
			return err
		}, []string{"expire"}},
		{"skills", func() error { _, err := s.SetSkills(ctx, "a1", agent.Skills, nil); return err }, []string{"set_skills"}},
		{"a caller hangs up", func() error {
			if _, err := s.Enqueue(ctx, acd.Item{ID: "c2", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "english"}); err != nil {
				return err
			}
			_, err := s.Remove(ctx, "c2", acd.RemoveAbandoned)
			return err
		}, []string{"enqueue", "remove"}},
		{"log out", func() error { _, err := s.Logout(ctx, "a1", acd.StateReady); return err }, []string{"logout"}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := n.take(); !slices.Equal(got, st.want) {
			t.Errorf("%s: noted %v, want %v", st.name, got, st.want)
		}
	}
}

func wantErr(err error) error {
	if err == nil {
		return errors.New("want a refusal, got none")
	}
	return nil
}

// TestPublishListen: a burst of changes on one controller reaches a listener on another
// connection as a few coalesced messages naming them all.
func TestPublishListen(t *testing.T) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	channel := acdchanges.Channel("hotline-test-changes-" + hex.EncodeToString(b))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	got := make(chan string, 100)
	listened := make(chan error, 1)
	go func() {
		listened <- acdchanges.Listen(ctx, acdtest.RedisClient(t), channel, func(ops string) { got <- ops })
	}()
	select {
	case ops := <-got:
		if ops != "" {
			t.Fatalf("first call %q, want the subscription's \"\"", ops)
		}
	case err := <-listened:
		t.Fatalf("listen: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not subscribed after 5s")
	}

	p := acdchanges.NewPublisher(acdtest.RedisClient(t), channel, nil)
	go func() { _ = p.Run(ctx) }()
	for range 50 {
		p.Changed("enqueue")
		p.Changed("answer")
	}
	seen := map[string]bool{}
	messages := 0
	deadline := time.After(5 * time.Second)
	for !seen["enqueue"] || !seen["answer"] {
		select {
		case ops := <-got:
			messages++
			for _, op := range strings.Split(ops, ",") {
				seen[op] = true
			}
		case <-deadline:
			t.Fatalf("after 5s the listener saw %v", seen)
		}
	}
	if messages > 50 {
		t.Errorf("%d messages for a burst of 100 changes: not coalesced", messages)
	}
	t.Logf("100 changes arrived in %d message(s)", messages)
	cancel()
	if err := <-listened; err != nil {
		t.Errorf("listen after cancel: %v", err)
	}
}
