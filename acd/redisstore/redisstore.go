// Package redisstore keeps the distributor's state in Redis, so that several controllers
// share it and it survives a controller's restart. It implements acd.Store with the same
// engine as acd/memstore and passes the same contract suite.
//
// Concurrency: every record (agent or item) is a hash holding its encoding and a version.
// Operations read records, compute the new ones in Go with the pure transitions of package
// acd, and commit through one Lua script that checks every version first and then writes
// records and indexes together (commit.lua). A reservation is such a commit of an agent
// (ready -> reserved) and an item (waiting -> reserved): two controllers that pick the same
// agent or item cannot both commit, so no item is offered twice and no agent gets two.
//
// Routing runs in Go, the one place it is written, on a snapshot taken in one round trip
// (snapshot.lua): the agents that changed since this client's last snapshot, and a page of
// the waiting items in routing order, with their records and versions. The client keeps the
// ready agents indexed (acd.Pool) and decodes only records whose version it lacks; a version
// is random and never reused, so a cached record with the snapshot's version is current. The
// routing decision is then committed by the CAS script: the snapshot need not be perfectly
// fresh, because a commit on anything that moved since fails and routing runs again.
//
// A batch of reservations is committed by reserve.lua, which reads the next snapshot in the
// same step; a ReserveBest that follows at once (a burst) plans on that one, and its commit
// is guarded by the snapshot's sequence, which every change that could make a better pair
// advances (an agent's readiness, an item becoming waiting): if it moved, nothing is
// committed and the fresh snapshot comes back instead. So a burst takes one round trip
// per batch, and routing never decides on a view older than the last change.
//
// Keys, all under the hash tag {prefix}:
//
//	a:<agent>    hash v, d, r  agent record: version, encoding, ready flag
//	i:<item>     hash v, d     item record
//	agents       set           every agent ever logged in
//	readylog     zset          agent -> sequence number of its last ready-relevant change
//	seq          int           the sequence, advanced by each commit that logs a change
//	                           or makes an item waiting
//	epoch        string        the generation of the data (see snapshot.lua)
//	w            zset          waiting item -> order key (acd.Candidate.Key)
//	wq:<queue>   zset          the queue's waiting items -> order key
//	wc:<queue>   zset          the queue's waiting calls (the maximum length)
//	due          zset          agent -> time its state times out (µs)
//	o:<queue>    zset          outcome record by time (µs), trimmed to the retention
package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline/acd"
	"hotline/acd/internal/engine"
)

var (
	//go:embed commit.lua
	commitSrc string
	//go:embed snapshot.lua
	snapshotSrc string
	//go:embed reserve.lua
	reserveSrc string

	commitScript   = redis.NewScript(commitSrc + "\nreturn commit(ARGV, 1)\n")
	snapshotScript = redis.NewScript(snapshotSrc + "\nreturn snapshot(KEYS, ARGV, 1)\n")
	reserveScript  = redis.NewScript(commitSrc + "\n" + snapshotSrc + "\n" + reserveSrc)
)

// nextFresh is how long the snapshot a batch of reservations brings back serves the next
// batch: in a burst the next one comes at once and, if nothing moved meanwhile (the commit
// checks), saves the snapshot's round trip; an older one likely has moved, and a guarded
// commit that fails costs more than a snapshot.
const nextFresh = 2 * time.Millisecond

// Pages of waiting items a routing snapshot reads: the first holds two items per
// reservation wanted, at least minPage; the best item with an eligible agent is nearly always
// near the head. Only when a whole page has none is the next read, each twice as long.
// When the head of the line is held by items no ready agent can take (a line nobody staffs
// tonight), the first page also reaches as far as the last plan had to read, so that each
// routing does not page past them again (see firstPage).
const (
	minPage = 16
	maxPage = 4096
)

// firstPage is the size of the first page of waiting items to read for want reservations.
func firstPage(want, reach int) int {
	return min(maxPage, max(2*want, minPage, reach+want/4+1))
}

// Store is an acd.Store in Redis, safe for concurrent use. Several Stores (in several
// processes) on the same prefix share one state.
type Store struct {
	*engine.Engine
}

// New returns a store on rdb under the key prefix (e.g. "hotline:acd"), routing with r. The
// caller owns rdb.
func New(rdb redis.UniversalClient, prefix string, r *acd.Router, clock acd.Clock) *Store {
	return &Store{Engine: engine.New(newBackend(rdb, prefix, r), r, clock)}
}

func newBackend(rdb redis.UniversalClient, prefix string, r *acd.Router) *backend {
	b := &backend{rdb: rdb, k: keys{base: "{" + prefix + "}"}, router: r, fresh: nextFresh}
	b.cache.pool = r.NewPool()
	b.cache.agents = map[acd.AgentID]cachedAgent{}
	b.cache.items = map[acd.ItemID]cachedItem{}
	return b
}

// keys names the store's keys. commit.lua builds the same names from the base for the
// short form of a reservation: change them together.
type keys struct{ base string }

func (k keys) agent(id acd.AgentID) string       { return k.base + ":a:" + string(id) }
func (k keys) item(id acd.ItemID) string         { return k.base + ":i:" + string(id) }
func (k keys) agents() string                    { return k.base + ":agents" }
func (k keys) readyLog() string                  { return k.base + ":readylog" }
func (k keys) seq() string                       { return k.base + ":seq" }
func (k keys) epoch() string                     { return k.base + ":epoch" }
func (k keys) due() string                       { return k.base + ":due" }
func (k keys) waiting() string                   { return k.base + ":w" }
func (k keys) queue(q acd.QueueName) string      { return k.base + ":wq:" + string(q) }
func (k keys) queueCalls(q acd.QueueName) string { return k.base + ":wc:" + string(q) }
func (k keys) outcomes(q acd.QueueName) string   { return k.base + ":o:" + string(q) }

type cachedAgent struct {
	ver uint64
	a   acd.Agent
}

type cachedItem struct {
	ver uint64
	c   acd.Candidate
}

// errUnheld: a snapshot left out the data of an item the cache does not hold, which only a
// cache emptied since the versions were named can meet; the snapshot is read again.
var errUnheld = errors.New("snapshot left out an item the cache lacks")

type backend struct {
	rdb    redis.UniversalClient
	k      keys
	router *acd.Router
	fresh  time.Duration // nextFresh; tests make it long
	// longForm sends reservations in the commit script's general form (tests compare).
	longForm bool

	// cache serves routing: the ready agents (also in pool) and recent waiting items.
	// One routing at a time per Store; other controllers route in parallel.
	cache struct {
		sync.Mutex
		pool   *acd.Pool
		agents map[acd.AgentID]cachedAgent
		items  map[acd.ItemID]cachedItem
		since  uint64 // the sequence of the last snapshot
		epoch  string // the generation of the data the cache holds
		// next is the view the last batch of reservations brought back (page of
		// nextPage items, total waiting), taken at sequence since and time nextAt.
		next     *engine.View
		nextPage int
		nextAt   time.Time
		total    int64
		// held lists the versions of the items on the last page, as the snapshot script
		// takes them: the next snapshot leaves their data out.
		held []any
		// reach is how far into the line (items from the head) the last successful plan
		// read to find its batch.
		reach int
	}
}

// newVersion returns a fresh record version: random, never 0, exact as a zset score.
func newVersion() uint64 { return mrand.Uint64N(1<<53-1) + 1 }

func fmtU(v uint64) string { return strconv.FormatUint(v, 10) }
func fmtI(v int64) string  { return strconv.FormatInt(v, 10) }

func micros(t time.Time) string { return fmtI(t.UnixMicro()) }

func (b *backend) Load(ctx context.Context, agents []acd.AgentID, items []acd.ItemID) ([]engine.AgentRec, []engine.ItemRec, error) {
	cmds := make([]*redis.SliceCmd, 0, len(agents)+len(items))
	// MULTI/EXEC: the records are read at one instant, never torn by a commit in between.
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range agents {
			cmds = append(cmds, p.HMGet(ctx, b.k.agent(id), "v", "d"))
		}
		for _, id := range items {
			cmds = append(cmds, p.HMGet(ctx, b.k.item(id), "v", "d"))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load records: %w", err)
	}
	as := make([]engine.AgentRec, len(agents))
	for i := range agents {
		ver, data := fields(cmds[i].Val())
		if ver == 0 {
			continue
		}
		a, err := decodeAgent(data)
		if err != nil {
			return nil, nil, fmt.Errorf("decode agent %s: %w", agents[i], err)
		}
		as[i] = engine.AgentRec{Agent: a, Ver: ver}
	}
	is := make([]engine.ItemRec, len(items))
	for i := range items {
		ver, data := fields(cmds[len(agents)+i].Val())
		if ver == 0 {
			continue
		}
		it, err := decodeItem(data)
		if err != nil {
			return nil, nil, fmt.Errorf("decode item %s: %w", items[i], err)
		}
		is[i] = engine.ItemRec{Item: it, Ver: ver}
	}
	return as, is, nil
}

// fields reads an HMGET v d reply; version 0 when the record is absent or unreadable.
func fields(vals []any) (uint64, []byte) {
	v, ok1 := vals[0].(string)
	d, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return 0, nil
	}
	ver, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, nil
	}
	return ver, []byte(d)
}

// args builds the commit script's arguments for one group.
func (b *backend) args(c engine.Change) ([]any, error) {
	if !b.longForm && isReservation(c) {
		return b.reservationArgs(c)
	}
	var writes, ops, outs []any
	nw, nops := 0, 0
	op := func(name, key, score, member string) {
		ops = append(ops, name, key, score, member)
		nops++
	}
	for _, w := range c.Agents {
		data, err := encodeAgent(w.New)
		if err != nil {
			return nil, fmt.Errorf("encode agent %s: %w", w.New.ID, err)
		}
		ver, id := newVersion(), string(w.New.ID)
		ready := "0"
		if w.New.State == acd.StateReady {
			ready = "1"
		}
		writes = append(writes, b.k.agent(w.New.ID), fmtU(w.Ver), fmtU(ver), data, ready)
		nw++
		if w.Old == nil {
			op("sadd", b.k.agents(), "", id)
		}
		if w.New.State == acd.StateReady || w.Old != nil && w.Old.State == acd.StateReady {
			op("log", b.k.readyLog(), b.k.seq(), id)
		}
		if hasDue(w.New) {
			op("zadd", b.k.due(), micros(w.New.Work.Due), id)
		} else if w.Old != nil && hasDue(*w.Old) {
			op("zrem", b.k.due(), "", id)
		}
	}
	for _, w := range c.Items {
		ver := newVersion()
		var data []byte
		var it acd.Item
		if w.New != nil {
			it = *w.New
			var err error
			if data, err = encodeItem(it); err != nil {
				return nil, fmt.Errorf("encode item %s: %w", it.ID, err)
			}
		} else {
			it = *w.Old
		}
		id := string(it.ID)
		writes = append(writes, b.k.item(it.ID), fmtU(w.Ver), fmtU(ver), data, "")
		nw++
		was := w.Old != nil && w.Old.Status == acd.StatusWaiting
		is := w.New != nil && w.New.Status == acd.StatusWaiting
		switch {
		case is:
			key := fmtI(w.Key)
			op("bump", b.k.seq(), "", "")
			op("zadd", b.k.waiting(), key, id)
			op("zadd", b.k.queue(it.Queue), key, id)
			if it.Kind == acd.KindCall {
				op("zadd", b.k.queueCalls(it.Queue), key, id)
			}
		case was:
			old := w.Old
			op("zrem", b.k.waiting(), "", id)
			op("zrem", b.k.queue(old.Queue), "", id)
			op("zrem", b.k.queueCalls(old.Queue), "", id)
		}
	}
	trim := ""
	if !c.TrimBefore.IsZero() {
		trim = micros(c.TrimBefore)
	}
	for _, o := range c.Outcomes {
		data, err := encodeOutcome(o)
		if err != nil {
			return nil, fmt.Errorf("encode outcome: %w", err)
		}
		outs = append(outs, b.k.outcomes(o.Queue), micros(o.At), data, trim)
	}
	lkey, lmax := "", ""
	if c.Limit != nil {
		lkey, lmax = b.k.queueCalls(c.Limit.Queue), strconv.Itoa(c.Limit.Max)
	}
	a := make([]any, 0, 5+len(writes)+len(ops)+len(outs))
	a = append(a, nw)
	a = append(a, writes...)
	a = append(a, lkey, lmax, nops)
	a = append(a, ops...)
	a = append(a, len(c.Outcomes))
	return append(a, outs...), nil
}

// isReservation reports whether c is a plain reservation, which the commit script takes in
// short form: an agent leaving ready for an item leaving waiting, nothing else.
func isReservation(c engine.Change) bool {
	if len(c.Agents) != 1 || len(c.Items) != 1 || len(c.Outcomes) != 0 || c.Limit != nil {
		return false
	}
	a, it := c.Agents[0], c.Items[0]
	return a.Old != nil && a.Old.State == acd.StateReady && a.New.State != acd.StateReady &&
		it.Old != nil && it.Old.Status == acd.StatusWaiting && it.New != nil && it.New.Status != acd.StatusWaiting
}

// reservationArgs is a reservation in the commit script's short form.
func (b *backend) reservationArgs(c engine.Change) ([]any, error) {
	a, it := c.Agents[0], c.Items[0]
	ad, err := encodeAgent(a.New)
	if err != nil {
		return nil, fmt.Errorf("encode agent %s: %w", a.New.ID, err)
	}
	id, err := encodeItem(*it.New)
	if err != nil {
		return nil, fmt.Errorf("encode item %s: %w", it.New.ID, err)
	}
	due := ""
	if hasDue(a.New) {
		due = micros(a.New.Work.Due)
	}
	return []any{"r", string(a.New.ID), fmtU(a.Ver), fmtU(newVersion()), ad, due,
		string(it.New.ID), fmtU(it.Ver), fmtU(newVersion()), id, string(it.Old.Queue)}, nil
}

func hasDue(a acd.Agent) bool {
	switch a.State {
	case acd.StateReserved, acd.StateRinging, acd.StateWrapUp:
		return !a.Work.Due.IsZero()
	}
	return false
}

// commit runs the commit script on groups and returns each group's result.
func (b *backend) commit(ctx context.Context, cs []engine.Change) ([]int64, error) {
	args := []any{b.k.base, len(cs)}
	for _, c := range cs {
		a, err := b.args(c)
		if err != nil {
			return nil, err
		}
		args = append(args, a...)
	}
	res, err := commitScript.Run(ctx, b.rdb, nil, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if len(res) != len(cs) {
		return nil, fmt.Errorf("commit: %d results for %d groups", len(res), len(cs))
	}
	return res, nil
}

func (b *backend) Commit(ctx context.Context, c engine.Change) error {
	res, err := b.commit(ctx, []engine.Change{c})
	if err != nil {
		return err
	}
	switch res[0] {
	case 1:
		return nil
	case 0:
		return engine.ErrStale
	case 2:
		return fmt.Errorf("queue %s: %w", c.Limit.Queue, acd.ErrQueueFull)
	}
	return fmt.Errorf("commit: unexpected result %d", res[0])
}

type snapshot struct {
	seq   uint64
	epoch string
	// changed lists the agents whose record or readiness changed since the last snapshot;
	// ver is 0 for those no longer ready.
	changed []rawRec
	items   []rawRec
	total   int64
}

// rawRec is a record as the snapshot read it, not yet decoded.
type rawRec struct {
	id      string
	ver     uint64
	rawVer  string // ver as stored
	data    string
	hasData bool // false: left out, the reader holds this version
}

func (b *backend) snapshotKeys() []string {
	return []string{b.k.seq(), b.k.readyLog(), b.k.waiting(), b.k.epoch()}
}

func (b *backend) snapshotArgs(since uint64, offset, count int) []any {
	held := b.cache.held
	a := make([]any, 0, 7+len(held))
	a = append(a, fmtU(since), offset, count, b.k.agent(""), b.k.item(""), rand.Text(), len(held))
	return append(a, held...)
}

func (b *backend) snapshot(ctx context.Context, since uint64, offset, count int) (snapshot, error) {
	raw, err := snapshotScript.Run(ctx, b.rdb, b.snapshotKeys(), b.snapshotArgs(since, offset, count)...).Slice()
	if err != nil {
		return snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	return parseSnapshot(raw)
}

// reserve commits a batch of reservations, guarded by the sequence of the view they were
// planned on unless guard is false, and reads the next snapshot (a page of count items
// from the head). The results are nil when the guard failed.
func (b *backend) reserve(ctx context.Context, guard bool, cs []engine.Change, count int) ([]int64, snapshot, error) {
	g := ""
	if guard {
		g = fmtU(b.cache.since)
	}
	args := append([]any{g}, b.snapshotArgs(b.cache.since, 0, count)...)
	args = append(args, b.k.base, len(cs))
	for _, c := range cs {
		a, err := b.args(c)
		if err != nil {
			return nil, snapshot{}, err
		}
		args = append(args, a...)
	}
	raw, err := reserveScript.Run(ctx, b.rdb, b.snapshotKeys(), args...).Slice()
	if err != nil {
		return nil, snapshot{}, fmt.Errorf("reserve: %w", err)
	}
	if len(raw) != 2 {
		return nil, snapshot{}, errors.New("reserve: malformed reply")
	}
	var res []int64
	if raw[0] != nil {
		l, _ := raw[0].([]any)
		if len(l) != len(cs) {
			return nil, snapshot{}, fmt.Errorf("reserve: %d results for %d groups", len(l), len(cs))
		}
		res = make([]int64, len(l))
		for i, x := range l {
			res[i], _ = x.(int64)
		}
	}
	sl, _ := raw[1].([]any)
	s, err := parseSnapshot(sl)
	return res, s, err
}

func parseSnapshot(raw []any) (snapshot, error) {
	var s snapshot
	var err error
	bad := func(what string) error { return fmt.Errorf("snapshot: malformed %s", what) }
	if len(raw) != 5 {
		return s, bad("reply")
	}
	s.epoch, _ = raw[4].(string)
	seq, _ := raw[0].(string)
	if s.seq, err = strconv.ParseUint(seq, 10, 64); err != nil {
		return s, bad("sequence")
	}
	triples := func(x any) ([]rawRec, error) {
		l, _ := x.([]any)
		if len(l)%3 != 0 {
			return nil, errors.New("not in threes")
		}
		out := make([]rawRec, 0, len(l)/3)
		for i := 0; i < len(l); i += 3 {
			var r rawRec
			r.id, _ = l[i].(string)
			if v, ok := l[i+1].(string); ok {
				if r.ver, err = strconv.ParseUint(v, 10, 64); err != nil {
					return nil, err
				}
				r.rawVer = v
			}
			r.data, r.hasData = l[i+2].(string)
			out = append(out, r)
		}
		return out, nil
	}
	if s.changed, err = triples(raw[1]); err != nil {
		return s, bad("agents")
	}
	if s.items, err = triples(raw[2]); err != nil {
		return s, bad("items")
	}
	s.total, _ = raw[3].(int64)
	return s, nil
}

// refresh brings the cache up to the snapshot, decoding only the records whose version it
// lacks, and returns the view to route on.
func (b *backend) refresh(s snapshot) (engine.View, error) {
	c := &b.cache
	for _, r := range s.changed {
		id := acd.AgentID(r.id)
		if r.ver != 0 && c.agents[id].ver == r.ver {
			continue
		}
		var a acd.Agent
		if r.ver != 0 {
			var err error
			if a, err = decodeAgent([]byte(r.data)); err != nil {
				return engine.View{}, fmt.Errorf("decode agent %s: %w", id, err)
			}
		}
		if r.ver == 0 || a.State != acd.StateReady {
			delete(c.agents, id)
			c.pool.Delete(id)
			continue
		}
		c.agents[id] = cachedAgent{ver: r.ver, a: a}
		c.pool.Put(a)
	}
	c.since = s.seq
	var vers []uint64
	held := make([]any, 0, len(s.items))
	v := engine.View{Pool: c.pool,
		ItemVer: func(i int) uint64 { return vers[i] },
		Agent: func(id acd.AgentID) (acd.Agent, uint64) {
			ca := c.agents[id]
			return ca.a, ca.ver
		},
	}
	for _, r := range s.items {
		id := acd.ItemID(r.id)
		ci, ok := c.items[id]
		if r.ver == 0 {
			continue // gone since the page was read
		}
		if !ok || ci.ver != r.ver {
			if !r.hasData {
				return engine.View{}, errUnheld
			}
			it, err := decodeItem([]byte(r.data))
			if err != nil {
				return engine.View{}, fmt.Errorf("decode item %s: %w", id, err)
			}
			cand, err := b.router.Candidate(it)
			if err != nil || it.Status != acd.StatusWaiting {
				continue
			}
			ci = cachedItem{ver: r.ver, c: cand}
			c.items[id] = ci
		}
		v.Items = append(v.Items, ci.c)
		vers = append(vers, ci.ver)
		held = append(held, r.rawVer)
	}
	c.held = held
	if len(c.items) > 2*maxPage {
		// Forget the items that left the head of the line (served or removed).
		keep := make(map[acd.ItemID]cachedItem, len(s.items))
		for _, r := range s.items {
			if ci, ok := c.items[acd.ItemID(r.id)]; ok {
				keep[ci.c.Item.ID] = ci
			}
		}
		c.items = keep
	}
	return v, nil
}

// ReserveBest routes on a snapshot and commits the batch with the reserve script, which
// brings back the next snapshot. A call that comes soon after (a burst) plans on that and
// commits guarded by its sequence: one round trip per batch while nothing else moves.
func (b *backend) ReserveBest(ctx context.Context, want int, plan engine.Planner) ([]engine.Planned, error) {
	c := &b.cache
	c.Lock()
	defer c.Unlock()
	first := firstPage(want, c.reach)
	offset, page := 0, first
	var v engine.View
	var total int64
	have, guard := false, false
	var seen uint64 // the sequence the pages before offset were found empty at (0: now)
	if c.next != nil && c.nextPage == first && time.Since(c.nextAt) < b.fresh {
		v, total, have, guard = *c.next, c.total, true, true
	}
	c.next = nil
	for {
		if !have {
			s, err := b.snapshot(ctx, c.since, offset, page)
			if err != nil {
				return nil, err
			}
			var again bool
			if v, again, err = b.apply(s); err != nil {
				return nil, err
			}
			if again {
				continue
			}
			total = s.total
			if seen != 0 && s.seq != seen {
				// The first page was found empty on the view from before, and something
				// moved since: look at it again.
				offset, page, seen = 0, first, 0
				continue
			}
			seen = 0
		}
		have = false
		v.Ahead = offset
		if v.Pool.Len() == 0 {
			if guard {
				guard = false
				continue
			}
			return nil, nil
		}
		ps := plan(v)
		if len(ps) == 0 {
			if guard {
				// Nothing on the first page of the view from before. If there are more,
				// read on, and this page again if anything moved since; if not, look at
				// the present.
				guard = false
				if int64(offset+page) >= total {
					continue
				}
				seen = c.since
			}
			if offset += page; int64(offset) < total {
				page = min(2*page, maxPage)
				continue
			}
			return nil, nil
		}
		cs := make([]engine.Change, len(ps))
		last := 0
		for i, p := range ps {
			cs[i] = p.Change
			last = max(last, p.Index)
		}
		c.reach = offset + last + 1
		next := firstPage(want, c.reach)
		res, s, err := b.reserve(ctx, guard, cs, next)
		if err != nil {
			return nil, err
		}
		nv, again, err := b.apply(s)
		if err != nil {
			return nil, err
		}
		if res == nil {
			// The guard failed: plan again on the fresh snapshot, unguarded.
			offset, first, page, guard = 0, next, next, false
			if !again {
				v, total, have = nv, s.total, true
			}
			continue
		}
		if !again {
			c.next, c.nextPage, c.nextAt, c.total = &nv, next, time.Now(), s.total
		}
		done := ps[:0]
		for i, p := range ps {
			if res[i] == 1 {
				done = append(done, p)
			}
		}
		return done, nil
	}
}

// apply brings the cache up to a snapshot and returns the view. again is true when the
// snapshot cannot be used: the data's generation changed (a new start, or Redis lost the
// data) and the cache, now empty, must read every agent afresh.
func (b *backend) apply(s snapshot) (engine.View, bool, error) {
	c := &b.cache
	if s.epoch != c.epoch || s.seq < c.since {
		asked := c.since
		c.pool = b.router.NewPool()
		c.agents = map[acd.AgentID]cachedAgent{}
		c.items = map[acd.ItemID]cachedItem{}
		c.since, c.epoch, c.held = 0, s.epoch, nil
		if asked != 0 {
			return engine.View{}, true, nil
		}
	}
	v, err := b.refresh(s)
	if errors.Is(err, errUnheld) {
		c.held = nil
		return engine.View{}, true, nil
	}
	return v, false, err
}

func (b *backend) Due(ctx context.Context, now time.Time) ([]acd.AgentID, error) {
	ids, err := b.rdb.ZRangeByScore(ctx, b.k.due(), &redis.ZRangeBy{Min: "-inf", Max: micros(now)}).Result()
	if err != nil {
		return nil, fmt.Errorf("due agents: %w", err)
	}
	out := make([]acd.AgentID, len(ids))
	for i, id := range ids {
		out[i] = acd.AgentID(id)
	}
	return out, nil
}

func (b *backend) Agents(ctx context.Context) ([]acd.Agent, error) {
	ids, err := b.rdb.SMembers(ctx, b.k.agents()).Result()
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	aids := make([]acd.AgentID, len(ids))
	for i, id := range ids {
		aids[i] = acd.AgentID(id)
	}
	rs, _, err := b.Load(ctx, aids, nil)
	if err != nil {
		return nil, err
	}
	out := make([]acd.Agent, 0, len(rs))
	for _, r := range rs {
		if r.Ver != 0 {
			out = append(out, r.Agent)
		}
	}
	return out, nil
}

func (b *backend) Waiting(ctx context.Context, q acd.QueueName) ([]acd.Item, error) {
	ids, err := b.rdb.ZRange(ctx, b.k.queue(q), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("waiting: %w", err)
	}
	iids := make([]acd.ItemID, len(ids))
	for i, id := range ids {
		iids[i] = acd.ItemID(id)
	}
	_, rs, err := b.Load(ctx, nil, iids)
	if err != nil {
		return nil, err
	}
	out := make([]acd.Item, 0, len(rs))
	for _, r := range rs {
		// Read apart from the index: skip what changed in between.
		if r.Ver != 0 && r.Item.Status == acd.StatusWaiting {
			out = append(out, r.Item)
		}
	}
	return out, nil
}

func (b *backend) Outcomes(ctx context.Context, q acd.QueueName, since time.Time) ([]acd.Outcome, error) {
	min := "-inf"
	if !since.IsZero() {
		min = micros(since)
	}
	raw, err := b.rdb.ZRangeByScore(ctx, b.k.outcomes(q), &redis.ZRangeBy{Min: min, Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("outcomes: %w", err)
	}
	out := make([]acd.Outcome, len(raw))
	for i, s := range raw {
		if out[i], err = decodeOutcome([]byte(s)); err != nil {
			return nil, fmt.Errorf("decode outcome: %w", err)
		}
	}
	slices.SortStableFunc(out, func(x, y acd.Outcome) int { return x.At.Compare(y.At) })
	return out, nil
}
