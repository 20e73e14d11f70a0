package callflow

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/redisstore"
	"hotline/pbx/sim"
)

// TestE2ENoDoubleBooking: two controllers, each with its own PBX (the simulated PBX has
// one Stasis app, so each controller gets a PBX of its own, as two Asterisk nodes would),
// share one distributor in Redis. Callers arrive at both at once; the same agents are
// reachable from both PBXs and answer after random delays. Every call is answered exactly
// once, and no agent is ever on two calls at a time.
func TestE2ENoDoubleBooking(t *testing.T) {
	t.Parallel()
	const perController, agents = 8, 4
	cfg := testACDConfig()
	rdb, prefix := acdtest.RedisClient(t), acdtest.RedisPrefix(t, "callflow")
	shared := func(r *acd.Router, c acd.Clock) acd.Store { return redisstore.New(rdb, prefix, r, c) }
	hs := []*acdHotline{
		startACDHotlineWith(t, friday, cfg, nil, shared),
		startACDHotlineWith(t, friday, cfg, nil, shared),
	}

	// Each agent's phone exists on both PBXs; an answered call is recorded with its span.
	type span struct {
		from, to time.Time
		call     string
	}
	var mu sync.Mutex
	spans := map[acd.AgentID][]span{}
	var watchers sync.WaitGroup
	stop := make(chan struct{})
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range agents {
		id := acd.AgentID(fmt.Sprintf("20%02d", i))
		delay := time.Duration(200+rng.IntN(1300)) * time.Millisecond
		for _, h := range hs {
			ep := h.pbx.sim.RegisterEndpoint(sim.EndpointSpec{Name: "PJSIP/agent-" + string(id), AnswerAfter: delay,
				Steps: "T880:1 h"})
			watchers.Add(1)
			go func() {
				defer watchers.Done()
				for {
					select {
					case c := <-ep.Calls():
						watchers.Add(1)
						go func() {
							defer watchers.Done()
							select {
							case <-c.Answered():
							case <-c.Done():
								return
							}
							from := time.Now()
							<-c.Done()
							mu.Lock()
							spans[id] = append(spans[id], span{from, time.Now(), c.ChannelID()})
							mu.Unlock()
						}()
					case <-stop:
						return
					}
				}
			}()
		}
		if _, err := hs[0].acd.Login(context.Background(), acd.Agent{ID: id, Groups: []acd.GroupName{"general"},
			Skills: map[acd.SkillName]acd.Level{"complaint": 3, "english": 2}}, acd.StateReady, ""); err != nil {
			t.Fatal(err)
		}
	}

	type placed struct {
		h    *acdHotline
		from string
		c    testCaller
	}
	var calls []placed
	for i := range perController {
		for j, h := range hs {
			from := fmt.Sprintf("1380000%d%03d", 8+j, i)
			c := h.dial(t, from, "m300 2 2 p w4 T440:120")
			calls = append(calls, placed{h, from, c})
		}
	}
	start := time.Now()
	deadline := start.Add(150 * time.Second)
	answered := map[acd.AgentID]int{}
	for _, p := range calls {
		d := p.h.wait(t, p.c, p.from, deadline)
		n := 0
		for _, e := range d.Events {
			if e.Kind == eventAgentConnected {
				n++
			}
		}
		if n != 1 || len(d.Calls) != 1 || d.Calls[0].Outcome != OutcomeAgent {
			t.Errorf("call from %s: %d agent_connected events, calls %+v; want answered once", p.from, n, d.Calls)
			continue
		}
		ev, _ := agentEvent(t, d)
		answered[acd.AgentID(fmt.Sprint(ev["agent"]))]++
	}
	t.Logf("%d calls on 2 controllers, %d agents: all ended %s after dialling; answered per agent %v",
		len(calls), agents, time.Since(start).Round(time.Millisecond), answered)

	close(stop)
	watchers.Wait()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for id, ss := range spans {
		total += len(ss)
		sort.Slice(ss, func(i, j int) bool { return ss[i].from.Before(ss[j].from) })
		for i := 1; i < len(ss); i++ {
			if ss[i].from.Before(ss[i-1].to) {
				t.Errorf("agent %s on two calls at once: %s (%s-%s) and %s (from %s)", id, ss[i-1].call,
					ss[i-1].from.Format("15:04:05.000"), ss[i-1].to.Format("15:04:05.000"), ss[i].call, ss[i].from.Format("15:04:05.000"))
			}
		}
	}
	if total != len(calls) {
		t.Errorf("agents answered %d calls, want %d (each call once)", total, len(calls))
	}
}
