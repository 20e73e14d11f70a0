package redisstore

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/internal/engine"
)

// TestShortReservationWritesAsTheLongForm: a reservation sent in the commit script's
// short form leaves Redis exactly as the general form does (records, versions aside,
// and every index), and a stale one is refused the same way.
func TestShortReservationWritesAsTheLongForm(t *testing.T) {
	ctx := context.Background()
	r, err := acd.NewRouter(acdtest.BenchConfig())
	if err != nil {
		t.Fatal(err)
	}
	type side struct {
		prefix string
		b      *backend
		s      *engine.Engine
		sent   *argLog
	}
	run := func(long bool) side {
		prefix := newTestPrefix(t)
		c := acdtest.RedisClient(t)
		sent := &argLog{}
		c.AddHook(sent)
		b := newBackend(c, prefix, r)
		b.longForm = long
		clock := acdtest.NewClock(acdtest.Epoch)
		s := engine.New(b, r, clock)
		for i := range 40 {
			if _, err := s.Login(ctx, acdtest.BenchAgent(i), acd.StateReady, ""); err != nil {
				t.Fatal(err)
			}
			clock.Advance(1)
		}
		for i := range 40 {
			it := acdtest.BenchItem(0, i, clock.Now())
			if i%5 == 0 {
				it.Kind = acd.KindCallback
			}
			if _, err := s.Enqueue(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(1000)
		for range 3 {
			if _, err := s.ReserveBest(ctx, 8); err != nil {
				t.Fatal(err)
			}
		}
		return side{prefix, b, s, sent}
	}
	short, long := run(false), run(true)
	if !short.sent.has("r") {
		t.Error("the short form was never sent")
	}
	if long.sent.has("r") {
		t.Error("the long form side sent the short form")
	}
	got, want := dump(t, short.prefix), dump(t, long.prefix)
	if len(want) == 0 {
		t.Fatal("nothing written")
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s: short form wrote\n  %s\nlong form\n  %s", k, got[k], want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: only the short form wrote it: %s", k, got[k])
		}
	}

	// A reservation planned on a version that moved is refused, whichever the form.
	var agents []acd.AgentID
	var items []acd.ItemID
	for i := range 40 {
		agents, items = append(agents, acdtest.BenchAgent(i).ID), append(items, acdtest.BenchItem(0, i, acdtest.Epoch).ID)
	}
	for _, sd := range []side{short, long} {
		as, is, err := sd.b.Load(ctx, agents, items)
		if err != nil {
			t.Fatal(err)
		}
		ai := slices.IndexFunc(as, func(r engine.AgentRec) bool { return r.Ver != 0 && r.Agent.State == acd.StateReady })
		ii := slices.IndexFunc(is, func(r engine.ItemRec) bool { return r.Ver != 0 && r.Item.Status == acd.StatusWaiting })
		if ai < 0 || ii < 0 {
			t.Fatalf("want a ready agent and a waiting item left: %d, %d", ai, ii)
		}
		a, it := as[ai].Agent, is[ii].Item
		na, nit := a, it
		na.State, nit.Status = acd.StateReserved, acd.StatusReserved
		c := engine.Change{Agents: []engine.AgentWrite{{Old: &a, Ver: as[ai].Ver + 1, New: na}},
			Items: []engine.ItemWrite{{Old: &it, Ver: is[ii].Ver, New: &nit}}}
		if !isReservation(c) {
			t.Fatal("not a reservation")
		}
		if res, err := sd.b.commit(ctx, []engine.Change{c}); err != nil || res[0] != 0 {
			t.Errorf("long form %v: stale reservation gave %v, %v; want refused (0)", sd.b.longForm, res, err)
		}
	}
}

// argLog records whether a command carried a given argument.
type argLog struct {
	mu   sync.Mutex
	args map[string]bool
}

func (l *argLog) has(a string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.args[a]
}

func (l *argLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *argLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.mu.Lock()
		if l.args == nil {
			l.args = map[string]bool{}
		}
		for _, a := range cmd.Args() {
			if s, ok := a.(string); ok && len(s) == 1 {
				l.args[s] = true
			}
		}
		l.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (l *argLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// reservationID matches a reservation's id in a record (random, as versions are).
var reservationID = regexp.MustCompile(`"r":"[A-Z0-9]+"`)

// dump is every key under prefix and its content, with the prefix taken out and record
// versions and reservation ids (random) left out, as strings to compare.
func dump(t *testing.T, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	c := acdtest.RedisClient(t)
	base := "{" + prefix + "}"
	keys, err := c.Keys(ctx, base+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, base)
		var v string
		switch typ := c.Type(ctx, k).Val(); typ {
		case "hash":
			h := c.HGetAll(ctx, k).Val()
			delete(h, "v")
			v = reservationID.ReplaceAllString(fmt.Sprint(h), `"r":"*"`)
		case "zset":
			v = fmt.Sprint(c.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "set":
			m := c.SMembers(ctx, k).Val()
			slices.Sort(m)
			v = fmt.Sprint(m)
		case "string":
			if name == ":epoch" {
				continue // random per start
			}
			v = c.Get(ctx, k).Val()
		default:
			v = typ
		}
		out[name] = v
	}
	return out
}
