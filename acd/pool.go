package acd

// bitset is a set of pool slots.
type bitset []uint64

func (b bitset) set(i int)   { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) clear(i int) { b[i>>6] &^= 1 << (uint(i) & 63) }
func (b bitset) andWith(o bitset) {
	for i := range b {
		b[i] &= o[i]
	}
}
func (b bitset) copyFrom(o bitset) { copy(b, o) }
func (b bitset) anyBut(o bitset) bool {
	for i, w := range b {
		if w&^o[i] != 0 {
			return true
		}
	}
	return false
}

// Pool indexes the ready agents for routing: one bitset per (skill, level) holding the
// agents at or above that level, and one per group, so an item's eligible agents are a
// handful of word-wise ANDs however many agents there are. Stores keep a pool up to date
// as agents become ready or stop being ready. A Pool is not safe for concurrent use.
type Pool struct {
	r      *Router
	agents []ReadyAgent // by slot
	rank   []int64      // by slot, when the strategy is a Ranker
	ranker Ranker
	slot   map[AgentID]int
	free   []int
	used   bitset
	skill  []bitset // [skill*MaxLevel + level-1]
	group  []bitset
	words  int
}

// NewPool returns an empty pool for this router's skills and groups.
func (r *Router) NewPool() *Pool {
	p := &Pool{r: r, slot: map[AgentID]int{}}
	p.ranker, _ = r.strategy.(Ranker)
	p.skill = make([]bitset, len(r.skillIdx)*int(MaxLevel))
	p.group = make([]bitset, len(r.groupIdx))
	return p
}

// Len is the number of agents in the pool.
func (p *Pool) Len() int { return len(p.slot) }

// Has reports whether the agent is in the pool.
func (p *Pool) Has(id AgentID) bool { _, ok := p.slot[id]; return ok }

// Put adds a ready agent or replaces its entry. Skills and groups the router does not know
// are ignored (stores refuse them at login).
func (p *Pool) Put(a Agent) {
	p.Delete(a.ID)
	var s int
	if n := len(p.free); n > 0 {
		s, p.free = p.free[n-1], p.free[:n-1]
	} else {
		s = len(p.agents)
		p.agents = append(p.agents, ReadyAgent{})
		p.rank = append(p.rank, 0)
		if s >= p.words*64 {
			p.grow()
		}
	}
	p.slot[a.ID] = s
	p.agents[s] = ReadyAgent{ID: a.ID, ReadySince: a.ReadySince, LastOfferAt: a.LastOfferAt, LoginAt: a.LoginAt, Busy: a.Busy}
	if p.ranker != nil {
		p.rank[s] = p.ranker.Rank(&p.agents[s])
	}
	p.used.set(s)
	for name, lvl := range a.Skills {
		i, ok := p.r.skillIdx[name]
		if !ok {
			continue
		}
		for l := Level(1); l <= min(lvl, MaxLevel); l++ {
			p.skill[i*int(MaxLevel)+int(l)-1].set(s)
		}
	}
	for _, g := range a.Groups {
		if i, ok := p.r.groupIdx[g]; ok {
			p.group[i].set(s)
		}
	}
}

// Delete removes an agent from the pool, if there.
func (p *Pool) Delete(id AgentID) {
	s, ok := p.slot[id]
	if !ok {
		return
	}
	delete(p.slot, id)
	p.used.clear(s)
	for _, b := range p.skill {
		b.clear(s)
	}
	for _, b := range p.group {
		b.clear(s)
	}
	p.agents[s] = ReadyAgent{}
	p.free = append(p.free, s)
}

func (p *Pool) grow() {
	p.words++
	p.used = append(p.used, 0)
	for i := range p.skill {
		p.skill[i] = append(p.skill[i], 0)
	}
	for i := range p.group {
		p.group[i] = append(p.group[i], 0)
	}
}

// eligible writes into dst the agents that have every skill of lines at its level lowered
// by drop (never below 1) and every skill of langs at its level.
func (p *Pool) eligible(dst bitset, lines, langs []skillLevel, drop int) {
	dst.copyFrom(p.used)
	for _, r := range lines {
		l := max(int(r.level)-drop, 1)
		dst.andWith(p.skill[r.idx*int(MaxLevel)+l-1])
	}
	for _, r := range langs {
		dst.andWith(p.skill[r.idx*int(MaxLevel)+int(r.level)-1])
	}
}

// overflow writes into dst the agents of the group who have the languages.
func (p *Pool) overflow(dst bitset, group int, langs []skillLevel) {
	dst.copyFrom(p.group[group])
	for _, r := range langs {
		dst.andWith(p.skill[r.idx*int(MaxLevel)+int(r.level)-1])
	}
}
