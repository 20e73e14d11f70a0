package acd

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Router makes routing decisions. It is pure: given the waiting items in order, the pool of
// ready agents and the time, it says which agent gets which item and why. Stores call it
// inside their reservation so that there is one routing path.
//
// The global order: an item's standing is its waiting time plus its class's head start
// (Config.HeadStart). Because every item ages at the same rate, the order of two items never
// changes with time, so it is a fixed key (Candidate.Key) that stores keep sorted; within one
// class it is first come, first served by original enqueue time. The item standing highest
// that has an eligible ready agent is served first; among its eligible agents those with the
// full required skill levels come before those admitted by a relaxation step, and those
// before the overflow group; the Strategy chooses within that tier.
type Router struct {
	cfg      Config
	strategy Strategy
	skillIdx map[SkillName]int
	langs    map[SkillName]bool
	groupIdx map[GroupName]int
	queues   map[QueueName]*queueInfo

	mu   sync.Mutex
	reqs map[string]*requirement // interned, so identical requirements share routing work
	nreq atomic.Int32
}

type queueInfo struct {
	q        Queue
	overflow int // group index, -1 when none
}

type skillLevel struct {
	idx   int
	level Level
}

// requirement is an item's compiled skill requirement.
type requirement struct {
	id    int // dense, in order of interning
	queue *queueInfo
	lines []skillLevel // relaxable
	langs []skillLevel // never relaxed
}

// NewRouter validates the configuration and returns its router.
func NewRouter(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	st, err := NewStrategy(cfg.Strategy)
	if err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, strategy: st, skillIdx: map[SkillName]int{}, langs: map[SkillName]bool{},
		groupIdx: map[GroupName]int{}, queues: map[QueueName]*queueInfo{}, reqs: map[string]*requirement{}}
	for i, s := range cfg.Skills {
		r.skillIdx[s] = i
	}
	for _, l := range cfg.Languages {
		r.langs[l] = true
	}
	for i, g := range cfg.Groups {
		r.groupIdx[g] = i
	}
	for _, q := range cfg.Queues {
		qi := &queueInfo{q: q, overflow: -1}
		if q.OverflowGroup != "" {
			qi.overflow = r.groupIdx[q.OverflowGroup]
		}
		r.queues[q.Name] = qi
	}
	return r, nil
}

// Config returns the configuration with defaults filled in.
func (r *Router) Config() Config { return r.cfg }

// Strategy returns the agent selection strategy.
func (r *Router) Strategy() Strategy { return r.strategy }

// Queue returns a queue's configuration.
func (r *Router) Queue(name QueueName) (Queue, bool) {
	qi, ok := r.queues[name]
	if !ok {
		return Queue{}, false
	}
	return qi.q, true
}

// CheckAgent validates an agent's profile against the configuration.
func (r *Router) CheckAgent(a Agent) error {
	if a.ID == "" || strings.ContainsAny(string(a.ID), " \t\n{}") {
		return fmt.Errorf("agent id %q: %w", a.ID, ErrInvalid)
	}
	for s, l := range a.Skills {
		if _, ok := r.skillIdx[s]; !ok {
			return fmt.Errorf("agent %s: skill %q: %w", a.ID, s, ErrUnknownSkill)
		}
		if l < 1 || l > MaxLevel {
			return fmt.Errorf("agent %s: skill %q level %d is not 1-%d: %w", a.ID, s, l, MaxLevel, ErrInvalid)
		}
	}
	for _, g := range a.Groups {
		if _, ok := r.groupIdx[g]; !ok {
			return fmt.Errorf("agent %s: group %q: %w", a.ID, g, ErrUnknownGroup)
		}
	}
	return nil
}

// Candidate is a waiting item prepared for routing: its order key and compiled requirement.
type Candidate struct {
	Item *Item // shared, never modified
	key  int64
	req  *requirement
}

// Key is the item's place in the global order, smaller first: its enqueue time in
// microseconds minus its class's head start. Stores sort by (Key, item id).
func (c Candidate) Key() int64 { return c.key }

// Before reports whether c is served before o.
func (c Candidate) Before(o Candidate) bool {
	if c.key != o.key {
		return c.key < o.key
	}
	return c.Item.ID < o.Item.ID
}

// OrderKey is the item's Candidate.Key.
func (r *Router) OrderKey(it Item) int64 {
	return it.EnqueuedAt.UnixMicro() - r.cfg.HeadStart[it.Class].Microseconds() - it.HeadStartBonus.Microseconds()
}

// Candidate validates an item and prepares it for routing.
func (r *Router) Candidate(it Item) (Candidate, error) {
	if it.ID == "" || strings.ContainsAny(string(it.ID), " \t\n{}") {
		return Candidate{}, fmt.Errorf("item id %q: %w", it.ID, ErrInvalid)
	}
	if it.Kind != KindCall && it.Kind != KindCallback {
		return Candidate{}, fmt.Errorf("item %s: kind %d: %w", it.ID, it.Kind, ErrInvalid)
	}
	if !slices.Contains(Classes, it.Class) {
		return Candidate{}, fmt.Errorf("item %s: class %d: %w", it.ID, it.Class, ErrInvalid)
	}
	if it.EnqueuedAt.IsZero() {
		return Candidate{}, fmt.Errorf("item %s: no enqueue time: %w", it.ID, ErrInvalid)
	}
	qi, ok := r.queues[it.Queue]
	if !ok {
		return Candidate{}, fmt.Errorf("item %s: queue %q: %w", it.ID, it.Queue, ErrUnknownQueue)
	}
	if it.Language != "" && !r.langs[it.Language] {
		return Candidate{}, fmt.Errorf("item %s: language %q: %w", it.ID, it.Language, ErrUnknownSkill)
	}
	for _, s := range it.Skills {
		if _, ok := r.skillIdx[s.Skill]; !ok {
			return Candidate{}, fmt.Errorf("item %s: skill %q: %w", it.ID, s.Skill, ErrUnknownSkill)
		}
		if s.Min < 1 || s.Min > MaxLevel {
			return Candidate{}, fmt.Errorf("item %s: skill %q level %d is not 1-%d: %w", it.ID, s.Skill, s.Min, MaxLevel, ErrInvalid)
		}
	}
	return Candidate{Item: &it, key: r.OrderKey(it), req: r.requirement(qi, it)}, nil
}

func (r *Router) requirement(qi *queueInfo, it Item) *requirement {
	need := map[SkillName]Level{}
	for _, list := range [][]SkillReq{qi.q.Skills, it.Skills} {
		for _, s := range list {
			need[s.Skill] = max(need[s.Skill], s.Min)
		}
	}
	if it.Language != "" {
		need[it.Language] = max(need[it.Language], r.cfg.LanguageLevel)
	}
	names := make([]SkillName, 0, len(need))
	for s := range need {
		names = append(names, s)
	}
	slices.Sort(names)
	var key strings.Builder
	key.WriteString(string(qi.q.Name))
	for _, s := range names {
		key.WriteString("|" + string(s) + "=" + strconv.Itoa(int(need[s])))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if req, ok := r.reqs[key.String()]; ok {
		return req
	}
	req := &requirement{id: len(r.reqs), queue: qi}
	for _, s := range names {
		sl := skillLevel{idx: r.skillIdx[s], level: need[s]}
		if r.langs[s] {
			req.langs = append(req.langs, sl)
		} else {
			req.lines = append(req.lines, sl)
		}
	}
	r.reqs[key.String()] = req
	r.nreq.Store(int32(len(r.reqs)))
	return req
}

// Fit is how an agent meets an item's requirement.
type Fit uint8

// Fits, best first.
const (
	FitFull     Fit = iota + 1 // every required level
	FitRelaxed                 // the levels lowered by a relaxation step
	FitOverflow                // a member of the queue's overflow group
)

var fitNames = []string{"", "full", "relaxed", "overflow"}

func (f Fit) String() string { return enumString(fitNames, uint8(f)) }

// MarshalText implements encoding.TextMarshaler.
func (f Fit) MarshalText() ([]byte, error) { return enumMarshal(fitNames, uint8(f), "fit") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Fit) UnmarshalText(b []byte) error { return enumUnmarshal(fitNames, (*uint8)(f), b, "fit") }

// Eligible reports how an agent fits a waiting item at now, if at all. It is the check of a
// reservation of a given pair.
func (r *Router) Eligible(c Candidate, a Agent, now time.Time) (Fit, bool) {
	st := c.req.queue.q.StageAt(now.Sub(c.Item.EnqueuedAt))
	has := func(reqs []skillLevel, drop int) bool {
		for _, s := range reqs {
			if int(a.Skills[r.cfg.Skills[s.idx]]) < max(int(s.level)-drop, 1) {
				return false
			}
		}
		return true
	}
	switch {
	case !has(c.req.langs, 0):
		return 0, false
	case has(c.req.lines, 0):
		return FitFull, true
	case st.LowerLevels > 0 && has(c.req.lines, st.LowerLevels):
		return FitRelaxed, true
	case st.Overflow && c.req.queue.overflow >= 0 && slices.Contains(a.Groups, c.req.queue.q.OverflowGroup):
		return FitOverflow, true
	}
	return 0, false
}

// Decision is one routing decision: an item and the agent chosen for it.
type Decision struct {
	// Index is the item's index in the candidates given to Match.
	Index int
	Item  ItemID
	Agent AgentID
	Trace Trace
}

// Trace says why an agent got an item, briefly enough to store on the call.
type Trace struct {
	Item  ItemID    `json:"item"`
	Queue QueueName `json:"queue"`
	Kind  ItemKind  `json:"kind"`
	Class Class     `json:"class"`
	Agent AgentID   `json:"agent"`
	// Waited is the time since the original enqueue; Standing adds the class head start and
	// is what the global order compares.
	Waited   time.Duration `json:"waited"`
	Standing time.Duration `json:"standing"`
	// Passed counts items standing higher that had no eligible agent free.
	Passed   int          `json:"passed"`
	Stage    Stage        `json:"stage"`
	Fit      Fit          `json:"fit"`
	Strategy StrategyName `json:"strategy"`
	// Eligible counts the agents of the chosen fit the strategy chose among.
	Eligible int `json:"eligible"`
	// Basis is the strategy's reason, e.g. "idle 3m10s".
	Basis string `json:"basis"`
}

func (t Trace) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s, %s) waited %s, standing %s", t.Kind, t.Item, t.Queue, t.Class,
		t.Waited.Round(time.Second), t.Standing.Round(time.Second))
	if t.Passed > 0 {
		fmt.Fprintf(&b, ", served before %d higher with no agent free", t.Passed)
	}
	fmt.Fprintf(&b, " -> %s: %s fit", t.Agent, t.Fit)
	if t.Stage.Steps > 0 {
		fmt.Fprintf(&b, " at relaxation step %d", t.Stage.Steps)
	}
	fmt.Fprintf(&b, ", %s among %d (%s)", t.Strategy, t.Eligible, t.Basis)
	return b.String()
}

type memoKey struct {
	req   *requirement
	steps int
}

// tiers holds an item's eligible agents per fit, computed on first use.
type tiers struct {
	mask [3]bitset
	done [3]bool
}

// Match makes up to max routing decisions at now: items (in order, see Candidate.Before) to
// ready agents of pool, each agent used once. It is what repeated single decisions would
// give, so a store may commit a prefix of it. Match does not change the pool.
//
// Items of one requirement and class stand in the order they were enqueued, so a later one
// has waited no longer and is relaxed no further: once one finds no free agent, the rest of
// its group is passed without a look. A long line that nobody free can serve costs little.
func (r *Router) Match(now time.Time, items []Candidate, pool *Pool, max int) []Decision {
	if max <= 0 || pool.Len() == 0 {
		return nil
	}
	var out []Decision
	taken := make(bitset, pool.words)
	memo := map[memoKey]*tiers{}
	dead := make([]bool, int(r.nreq.Load())*(len(Classes)+1))
	free := pool.Len()
	passed := 0
	for i := range items {
		c := &items[i]
		group := c.req.id*(len(Classes)+1) + int(c.Item.Class)
		if dead[group] {
			passed++
			continue
		}
		wait := now.Sub(c.Item.EnqueuedAt)
		q := &c.req.queue.q
		st := q.StageAt(wait)
		k := memoKey{c.req, st.Steps}
		t := memo[k]
		if t == nil {
			t = &tiers{}
			memo[k] = t
		}
		slot, fit, n := r.choose(pool, c.req, st, t, taken, now)
		if slot < 0 {
			dead[group] = true
			passed++
			continue
		}
		taken.set(slot)
		a := &pool.agents[slot]
		out = append(out, Decision{Index: i, Item: c.Item.ID, Agent: a.ID, Trace: Trace{
			Item: c.Item.ID, Queue: q.Name, Kind: c.Item.Kind, Class: c.Item.Class, Agent: a.ID,
			Waited: wait, Standing: time.Duration(now.UnixMicro()-c.key) * time.Microsecond,
			Passed: passed, Stage: st, Fit: fit, Strategy: r.strategy.Name(), Eligible: n,
			Basis: r.strategy.Explain(a, now),
		}})
		if free--; len(out) == max || free == 0 {
			break
		}
	}
	return out
}

// choose returns the best free agent for a requirement at a stage, its fit and how many
// agents of that fit were free; slot -1 when none.
func (r *Router) choose(pool *Pool, req *requirement, st Stage, t *tiers, taken bitset, now time.Time) (int, Fit, int) {
	for tier := range 3 {
		switch {
		case tier == 1 && st.LowerLevels == 0, tier == 2 && (!st.Overflow || req.queue.overflow < 0):
			continue
		}
		if !t.done[tier] {
			m := make(bitset, pool.words)
			switch tier {
			case 0:
				pool.eligible(m, req.lines, req.langs, 0)
			case 1:
				pool.eligible(m, req.lines, req.langs, st.LowerLevels)
			case 2:
				pool.overflow(m, req.queue.overflow, req.langs)
			}
			t.mask[tier], t.done[tier] = m, true
		}
		m := t.mask[tier]
		if !m.anyBut(taken) {
			continue
		}
		best, n := -1, 0
		for w := range m {
			word := m[w] &^ taken[w]
			for word != 0 {
				s := w<<6 + bits.TrailingZeros64(word)
				word &= word - 1
				n++
				switch {
				case best < 0:
					best = s
				case pool.ranker != nil:
					if rs, rb := pool.rank[s], pool.rank[best]; rs < rb || rs == rb && pool.agents[s].ID < pool.agents[best].ID {
						best = s
					}
				case r.strategy.Prefer(&pool.agents[s], &pool.agents[best], now):
					best = s
				}
			}
		}
		return best, Fit(tier + 1), n
	}
	return -1, 0, 0
}
