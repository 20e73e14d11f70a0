// Package memstore keeps the distributor's state in memory, for one controller and for
// tests. It implements acd.Store with the same engine as acd/redisstore and passes the same
// contract suite.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"hotline/acd"
	"hotline/acd/internal/engine"
)

// Store is an in-memory acd.Store, safe for concurrent use.
type Store struct {
	*engine.Engine
}

// New returns an empty store routing with r and telling time by clock.
func New(r *acd.Router, clock acd.Clock) *Store {
	b := &backend{
		router: r, pool: r.NewPool(),
		agents: map[acd.AgentID]*agentEntry{}, items: map[acd.ItemID]*itemEntry{},
		calls: map[acd.QueueName]int{}, outcomes: map[acd.QueueName][]acd.Outcome{},
	}
	return &Store{Engine: engine.New(b, r, clock)}
}

type agentEntry struct {
	a   acd.Agent
	ver uint64
}

type itemEntry struct {
	it  acd.Item
	ver uint64
}

// backend holds the records and two indexes kept in step with them: the waiting items in
// routing order and the pool of ready agents. Routing runs under the lock on the live
// indexes, so a memory reservation needs no copy of the state.
type backend struct {
	router *acd.Router

	mu       sync.Mutex
	agents   map[acd.AgentID]*agentEntry
	items    map[acd.ItemID]*itemEntry
	waiting  line // sorted by Candidate.Before
	calls    map[acd.QueueName]int
	pool     *acd.Pool
	outcomes map[acd.QueueName][]acd.Outcome
}

func (b *backend) Load(_ context.Context, agents []acd.AgentID, items []acd.ItemID) ([]engine.AgentRec, []engine.ItemRec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	as := make([]engine.AgentRec, len(agents))
	for i, id := range agents {
		if e, ok := b.agents[id]; ok {
			as[i] = engine.AgentRec{Agent: e.a, Ver: e.ver}
		}
	}
	is := make([]engine.ItemRec, len(items))
	for i, id := range items {
		if e, ok := b.items[id]; ok {
			is[i] = engine.ItemRec{Item: e.it, Ver: e.ver}
		}
	}
	return as, is, nil
}

func (b *backend) Commit(_ context.Context, c engine.Change) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(c); err != nil {
		return err
	}
	return b.apply(c)
}

func (b *backend) check(c engine.Change) error {
	for _, w := range c.Agents {
		var v uint64
		if e, ok := b.agents[w.New.ID]; ok {
			v = e.ver
		}
		if v != w.Ver {
			return engine.ErrStale
		}
	}
	for _, w := range c.Items {
		var v uint64
		if e, ok := b.items[itemID(w)]; ok {
			v = e.ver
		}
		if v != w.Ver {
			return engine.ErrStale
		}
	}
	if l := c.Limit; l != nil && b.calls[l.Queue] >= l.Max {
		return fmt.Errorf("queue %s has %d calls waiting: %w", l.Queue, b.calls[l.Queue], acd.ErrQueueFull)
	}
	return nil
}

func itemID(w engine.ItemWrite) acd.ItemID {
	if w.New != nil {
		return w.New.ID
	}
	return w.Old.ID
}

func (b *backend) apply(c engine.Change) error {
	for _, w := range c.Agents {
		e := b.agents[w.New.ID]
		if e == nil {
			e = &agentEntry{}
			b.agents[w.New.ID] = e
		}
		e.a, e.ver = w.New, e.ver+1
		if w.New.State == acd.StateReady {
			b.pool.Put(w.New)
		} else {
			b.pool.Delete(w.New.ID)
		}
	}
	for _, w := range c.Items {
		id := itemID(w)
		e := b.items[id]
		if e != nil && e.it.Status == acd.StatusWaiting {
			b.unlist(e.it)
		}
		if w.New == nil {
			delete(b.items, id)
			continue
		}
		if e == nil {
			e = &itemEntry{}
			b.items[id] = e
		}
		e.it, e.ver = *w.New, e.ver+1
		if e.it.Status == acd.StatusWaiting {
			if err := b.list(e.it); err != nil {
				return err
			}
		}
	}
	for _, o := range c.Outcomes {
		os := append(b.outcomes[o.Queue], o)
		// Outcomes arrive nearly in time order: drop the old ones from the front.
		n := 0
		for n < len(os) && os[n].At.Before(c.TrimBefore) {
			n++
		}
		b.outcomes[o.Queue] = os[n:]
	}
	return nil
}

// position finds an item in the waiting list by its order key and id.
func (b *backend) position(key int64, id acd.ItemID) (int, bool) {
	return slices.BinarySearchFunc(b.waiting.items(), key, func(c acd.Candidate, _ int64) int {
		switch {
		case c.Key() != key:
			return cmp.Compare(c.Key(), key)
		default:
			return cmp.Compare(c.Item.ID, id)
		}
	})
}

func (b *backend) list(it acd.Item) error {
	c, err := b.router.Candidate(it)
	if err != nil {
		return err
	}
	i, _ := b.position(c.Key(), it.ID)
	b.waiting.insert(i, c)
	if it.Kind == acd.KindCall {
		b.calls[it.Queue]++
	}
	return nil
}

func (b *backend) unlist(it acd.Item) {
	if i, ok := b.position(b.router.OrderKey(it), it.ID); ok {
		b.waiting.remove(i)
		if it.Kind == acd.KindCall {
			b.calls[it.Queue]--
		}
	}
}

// line is the sorted waiting list. Items leave mostly from the head (the best are served
// first) and arrive mostly at the tail (newest last), so it shifts whichever side of a
// change is shorter: a slice with a movable start.
type line struct {
	buf   []acd.Candidate
	start int
}

func (l *line) items() []acd.Candidate { return l.buf[l.start:] }

func (l *line) insert(i int, c acd.Candidate) {
	if n := len(l.buf) - l.start; i < n/2 && l.start > 0 {
		copy(l.buf[l.start-1:], l.buf[l.start:l.start+i])
		l.start--
		l.buf[l.start+i] = c
		return
	}
	l.buf = slices.Insert(l.buf, l.start+i, c)
}

func (l *line) remove(i int) {
	n := len(l.buf) - l.start
	if i >= n/2 {
		l.buf = slices.Delete(l.buf, l.start+i, l.start+i+1)
		return
	}
	copy(l.buf[l.start+1:], l.buf[l.start:l.start+i])
	l.buf[l.start] = acd.Candidate{}
	l.start++
	if l.start > 64 && l.start > n {
		// The free head outgrew the line: move the line down.
		m := copy(l.buf, l.buf[l.start:])
		clear(l.buf[m:])
		l.buf, l.start = l.buf[:m], 0
	}
}

func (b *backend) ReserveBest(_ context.Context, _ int, plan engine.Planner) ([]engine.Planned, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.waiting.items()
	v := engine.View{
		Items: items, Pool: b.pool,
		ItemVer: func(i int) uint64 { return b.items[items[i].Item.ID].ver },
		Agent: func(id acd.AgentID) (acd.Agent, uint64) {
			e := b.agents[id]
			return e.a, e.ver
		},
	}
	ps := plan(v)
	done := ps[:0]
	for _, p := range ps {
		// Under the lock the view is current, so only a plan that reuses an agent or item
		// could fail the check.
		if b.check(p.Change) != nil {
			continue
		}
		if err := b.apply(p.Change); err != nil {
			return done, err
		}
		done = append(done, p)
	}
	return done, nil
}

func (b *backend) Due(_ context.Context, now time.Time) ([]acd.AgentID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []acd.AgentID
	for id, e := range b.agents {
		if acd.Due(e.a, now) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (b *backend) Agents(context.Context) ([]acd.Agent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]acd.Agent, 0, len(b.agents))
	for _, e := range b.agents {
		out = append(out, e.a)
	}
	return out, nil
}

func (b *backend) Waiting(_ context.Context, q acd.QueueName) ([]acd.Item, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []acd.Item
	for _, c := range b.waiting.items() {
		if c.Item.Queue == q {
			out = append(out, *c.Item)
		}
	}
	return out, nil
}

func (b *backend) Outcomes(_ context.Context, q acd.QueueName, since time.Time) ([]acd.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []acd.Outcome
	for _, o := range b.outcomes[q] {
		if !o.At.Before(since) {
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(x, y acd.Outcome) int { return x.At.Compare(y.At) })
	return out, nil
}
