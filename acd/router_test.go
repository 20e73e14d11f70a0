package acd_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/acd"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func testConfig() acd.Config {
	return acd.Config{
		Skills:    []acd.SkillName{"quality", "food_drug", "price", "ip", "zh", "en", "emergency"},
		Languages: []acd.SkillName{"zh", "en"},
		Groups:    []acd.GroupName{"general"},
		Queues: []acd.Queue{
			{Name: "general"},
			{Name: "price", Skills: []acd.SkillReq{{Skill: "price", Min: 4}}, OverflowGroup: "general",
				Relax: []acd.RelaxStep{
					{After: time.Minute, LowerLevels: 2},
					{After: 2 * time.Minute, Overflow: true},
					{After: 5 * time.Minute, Offer: acd.FallbackVoicemailOrCallback},
				}},
			{Name: "emergency", Skills: []acd.SkillReq{{Skill: "emergency", Min: 1}}},
		},
		HeadStart: map[acd.Class]time.Duration{
			acd.ClassEmergency: time.Hour, acd.ClassComplaint: time.Minute,
			acd.ClassConsult: 0, acd.ClassCallback: -30 * time.Minute,
		},
	}
}

func mustRouter(t testing.TB, cfg acd.Config) *acd.Router {
	t.Helper()
	r, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// item describes a waiting item relative to t0.
type item struct {
	id    acd.ItemID
	queue acd.QueueName
	class acd.Class
	at    time.Duration // enqueued at t0+at
	kind  acd.ItemKind
	lang  acd.SkillName
}

// agent describes a ready agent relative to t0.
type agent struct {
	id     acd.AgentID
	skills string // "price:5 zh:3"
	groups []acd.GroupName
	ready  time.Duration // ready since t0+ready
	offer  time.Duration // last offer at t0+offer (0: never)
	busy   time.Duration // since login at t0-1h
}

func parseSkills(s string) map[acd.SkillName]acd.Level {
	m := map[acd.SkillName]acd.Level{}
	for f := range strings.FieldsSeq(s) {
		var name string
		var lvl int
		name, l, _ := strings.Cut(f, ":")
		fmt.Sscan(l, &lvl)
		m[acd.SkillName(name)] = acd.Level(lvl)
	}
	return m
}

func candidates(t testing.TB, r *acd.Router, items []item) []acd.Candidate {
	t.Helper()
	var cs []acd.Candidate
	for _, it := range items {
		kind, lang := it.kind, it.lang
		if kind == 0 {
			kind = acd.KindCall
		}
		if lang == "" {
			lang = "zh"
		}
		c, err := r.Candidate(acd.Item{ID: it.id, Kind: kind, Queue: it.queue, Class: it.class, Language: lang,
			EnqueuedAt: t0.Add(it.at), Status: acd.StatusWaiting})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	sortCandidates(cs)
	return cs
}

func sortCandidates(cs []acd.Candidate) {
	slices.SortFunc(cs, func(a, b acd.Candidate) int {
		if a.Before(b) {
			return -1
		}
		return 1
	})
}

func pool(r *acd.Router, agents []agent) *acd.Pool {
	p := r.NewPool()
	for _, a := range agents {
		ag := acd.Agent{ID: a.id, Skills: parseSkills(a.skills), Groups: a.groups, State: acd.StateReady,
			ReadySince: t0.Add(a.ready), LoginAt: t0.Add(-time.Hour), Busy: a.busy}
		if a.offer != 0 {
			ag.LastOfferAt = t0.Add(a.offer)
		}
		p.Put(ag)
	}
	return p
}

func pairs(ds []acd.Decision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Item)+">"+string(d.Agent))
	}
	return out
}

func TestMatch(t *testing.T) {
	zh := "zh:3"
	tests := []struct {
		name   string
		items  []item
		agents []agent
		now    time.Duration
		max    int
		want   []string
	}{
		{
			name: "class head start orders equal waits: emergency, complaint, consult, callback",
			items: []item{
				{id: "cb", queue: "general", class: acd.ClassCallback, kind: acd.KindCallback},
				{id: "consult", queue: "general", class: acd.ClassConsult},
				{id: "complaint", queue: "general", class: acd.ClassComplaint},
				{id: "emerg", queue: "general", class: acd.ClassEmergency},
			},
			agents: []agent{{id: "a1", skills: zh}, {id: "a2", skills: zh}, {id: "a3", skills: zh}, {id: "a4", skills: zh}},
			now:    10 * time.Second, max: 4,
			want: []string{"emerg>a1", "complaint>a2", "consult>a3", "cb>a4"},
		},
		{
			name: "waiting time raises standing: a consult 61s older overtakes a complaint",
			items: []item{
				{id: "consult", queue: "general", class: acd.ClassConsult, at: 0},
				{id: "complaint", queue: "general", class: acd.ClassComplaint, at: 61 * time.Second},
			},
			agents: []agent{{id: "a1", skills: zh}},
			now:    2 * time.Minute, max: 1,
			want: []string{"consult>a1"},
		},
		{
			name: "but not 59s older",
			items: []item{
				{id: "consult", queue: "general", class: acd.ClassConsult, at: 0},
				{id: "complaint", queue: "general", class: acd.ClassComplaint, at: 59 * time.Second},
			},
			agents: []agent{{id: "a1", skills: zh}},
			now:    2 * time.Minute, max: 1,
			want: []string{"complaint>a1"},
		},
		{
			name: "first come first served within a class, across queues",
			items: []item{
				{id: "p2", queue: "price", class: acd.ClassConsult, at: 2 * time.Second},
				{id: "g3", queue: "general", class: acd.ClassConsult, at: 3 * time.Second},
				{id: "g1", queue: "general", class: acd.ClassConsult, at: 1 * time.Second},
			},
			agents: []agent{{id: "a1", skills: "price:5 zh:3"}, {id: "a2", skills: "price:5 zh:3", ready: time.Second}, {id: "a3", skills: "price:5 zh:3", ready: 2 * time.Second}},
			now:    10 * time.Second, max: 3,
			want: []string{"g1>a1", "p2>a2", "g3>a3"},
		},
		{
			name: "a voicemail callback waits behind a fresh caller until it is 30 minutes older",
			items: []item{
				{id: "vm", queue: "general", class: acd.ClassCallback, kind: acd.KindCallback, at: -29 * time.Minute},
				{id: "caller", queue: "general", class: acd.ClassConsult, at: 0},
			},
			agents: []agent{{id: "a1", skills: zh}},
			now:    10 * time.Second, max: 1,
			want: []string{"caller>a1"},
		},
		{
			name: "an older one goes first",
			items: []item{
				{id: "vm", queue: "general", class: acd.ClassCallback, kind: acd.KindCallback, at: -31 * time.Minute},
				{id: "caller", queue: "general", class: acd.ClassConsult, at: 0},
			},
			agents: []agent{{id: "a1", skills: zh}},
			now:    10 * time.Second, max: 1,
			want: []string{"vm>a1"},
		},
		{
			name: "an item without an eligible agent is passed, not blocking the line",
			items: []item{
				{id: "p", queue: "price", class: acd.ClassComplaint},
				{id: "g", queue: "general", class: acd.ClassConsult},
			},
			agents: []agent{{id: "a1", skills: zh}},
			now:    10 * time.Second, max: 2,
			want: []string{"g>a1"},
		},
		{
			name:   "before T1 a level 2 agent does not fit a level 4 queue",
			items:  []item{{id: "p", queue: "price", class: acd.ClassConsult}},
			agents: []agent{{id: "junior", skills: "price:2 zh:3"}},
			now:    59 * time.Second, max: 1,
			want: nil,
		},
		{
			name:   "at T1 it does",
			items:  []item{{id: "p", queue: "price", class: acd.ClassConsult}},
			agents: []agent{{id: "junior", skills: "price:2 zh:3"}},
			now:    time.Minute, max: 1,
			want: []string{"p>junior"},
		},
		{
			name:  "a full fit comes before a relaxed fit idle longer",
			items: []item{{id: "p", queue: "price", class: acd.ClassConsult}},
			agents: []agent{
				{id: "junior", skills: "price:2 zh:3", ready: -time.Hour},
				{id: "expert", skills: "price:4 zh:3"},
			},
			now: 90 * time.Second, max: 1,
			want: []string{"p>expert"},
		},
		{
			name:  "the relaxed fit takes the next one when the expert is taken",
			items: []item{{id: "p1", queue: "price", class: acd.ClassConsult}, {id: "p2", queue: "price", class: acd.ClassConsult, at: time.Second}},
			agents: []agent{
				{id: "junior", skills: "price:2 zh:3", ready: -time.Hour},
				{id: "expert", skills: "price:4 zh:3"},
			},
			now: 90 * time.Second, max: 2,
			want: []string{"p1>expert", "p2>junior"},
		},
		{
			name:   "before T2 the overflow group waits",
			items:  []item{{id: "p", queue: "price", class: acd.ClassConsult}},
			agents: []agent{{id: "gen", skills: zh, groups: []acd.GroupName{"general"}}},
			now:    119 * time.Second, max: 1,
			want: nil,
		},
		{
			name:   "at T2 the overflow group serves",
			items:  []item{{id: "p", queue: "price", class: acd.ClassConsult}},
			agents: []agent{{id: "gen", skills: zh, groups: []acd.GroupName{"general"}}},
			now:    2 * time.Minute, max: 1,
			want: []string{"p>gen"},
		},
		{
			name:   "the language is never relaxed, not even for the overflow group",
			items:  []item{{id: "p", queue: "price", class: acd.ClassConsult, lang: "en"}},
			agents: []agent{{id: "gen", skills: zh, groups: []acd.GroupName{"general"}}, {id: "junior", skills: "price:3 zh:5"}},
			now:    10 * time.Minute, max: 1,
			want: nil,
		},
		{
			name:   "an emergency needs the emergency skill",
			items:  []item{{id: "e", queue: "emergency", class: acd.ClassEmergency}},
			agents: []agent{{id: "gen", skills: "zh:5 price:5"}, {id: "duty", skills: "zh:1 emergency:1", ready: time.Minute}},
			now:    2 * time.Minute, max: 1,
			want: []string{"e>duty"},
		},
		{
			name:   "each agent once per batch",
			items:  []item{{id: "g1", queue: "general", class: acd.ClassConsult}, {id: "g2", queue: "general", class: acd.ClassConsult, at: time.Second}},
			agents: []agent{{id: "a1", skills: zh}},
			now:    10 * time.Second, max: 5,
			want: []string{"g1>a1"},
		},
	}
	r := mustRouter(t, testConfig())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := r.Match(t0.Add(tc.now), candidates(t, r, tc.items), pool(r, tc.agents), tc.max)
			if got := pairs(ds); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStrategies(t *testing.T) {
	agents := []agent{
		// idle since t0-10m, offered 1m ago, busy 30m of 1h
		{id: "a", skills: "zh:3", ready: -10 * time.Minute, offer: -time.Minute, busy: 30 * time.Minute},
		// idle since t0-5m, never offered, busy 50m
		{id: "b", skills: "zh:3", ready: -5 * time.Minute, busy: 50 * time.Minute},
		// idle since t0-1m, offered 30m ago, busy 10m
		{id: "c", skills: "zh:3", ready: -time.Minute, offer: -30 * time.Minute, busy: 10 * time.Minute},
	}
	tests := []struct {
		strategy acd.StrategyName
		want     []string
		basis    string
	}{
		{acd.LongestIdle, []string{"g1>a", "g2>b", "g3>c"}, "idle 10m0s"},
		{acd.LeastOccupied, []string{"g1>c", "g2>a", "g3>b"}, "occupancy 17%"},
		{acd.RoundRobin, []string{"g1>b", "g2>c", "g3>a"}, "never offered"},
	}
	items := []item{
		{id: "g1", queue: "general", class: acd.ClassConsult},
		{id: "g2", queue: "general", class: acd.ClassConsult, at: time.Second},
		{id: "g3", queue: "general", class: acd.ClassConsult, at: 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(string(tc.strategy), func(t *testing.T) {
			cfg := testConfig()
			cfg.Strategy = tc.strategy
			r := mustRouter(t, cfg)
			ds := r.Match(t0, candidates(t, r, items), pool(r, agents), 3)
			if got := pairs(ds); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if tr := ds[0].Trace; tr.Strategy != tc.strategy || tr.Basis != tc.basis || tr.Eligible != 3 {
				t.Fatalf("trace: %+v", tr)
			}
			if tr := ds[2].Trace; tr.Eligible != 1 {
				t.Fatalf("third decision chose among %d, want 1", tr.Eligible)
			}
		})
	}
}

// TestRankAgreesWithPrefer: a strategy that ranks must rank as it prefers, or the pool
// would choose differently from the strategy.
func TestRankAgreesWithPrefer(t *testing.T) {
	var agents []*acd.ReadyAgent
	for i, d := range []time.Duration{0, time.Second, time.Second, -time.Hour, 0} {
		a := &acd.ReadyAgent{ID: acd.AgentID(fmt.Sprintf("a%d", i)), ReadySince: t0.Add(d), LoginAt: t0.Add(-time.Hour)}
		if i%2 == 0 {
			a.LastOfferAt = t0.Add(-d)
		}
		agents = append(agents, a)
	}
	for _, s := range []acd.Strategy{acd.ByLongestIdle{}, acd.ByRoundRobin{}} {
		rk := s.(acd.Ranker)
		for _, x := range agents {
			for _, y := range agents {
				rx, ry := rk.Rank(x), rk.Rank(y)
				byRank := rx < ry || rx == ry && x.ID < y.ID
				if got := s.Prefer(x, y, t0); got != byRank {
					t.Errorf("%s: Prefer(%s, %s) = %v, rank says %v", s.Name(), x.ID, y.ID, got, byRank)
				}
			}
		}
	}
}

func TestStrategyTiesBreakByID(t *testing.T) {
	for _, name := range []acd.StrategyName{acd.LongestIdle, acd.LeastOccupied, acd.RoundRobin} {
		s, err := acd.NewStrategy(name)
		if err != nil {
			t.Fatal(err)
		}
		x := &acd.ReadyAgent{ID: "x", ReadySince: t0, LoginAt: t0.Add(-time.Hour)}
		y := &acd.ReadyAgent{ID: "y", ReadySince: t0, LoginAt: t0.Add(-time.Hour)}
		if !s.Prefer(x, y, t0) || s.Prefer(y, x, t0) {
			t.Fatalf("%s: tie not broken by id", name)
		}
	}
	if _, err := acd.NewStrategy("random"); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}

func TestTrace(t *testing.T) {
	r := mustRouter(t, testConfig())
	items := []item{
		{id: "p", queue: "price", class: acd.ClassComplaint},
		{id: "e", queue: "emergency", class: acd.ClassEmergency, at: time.Minute},
		{id: "g", queue: "price", class: acd.ClassConsult, at: -30 * time.Second},
	}
	agents := []agent{{id: "junior", skills: "price:2 zh:3", ready: -3 * time.Minute}}
	ds := r.Match(t0.Add(90*time.Second), candidates(t, r, items), pool(r, agents), 1)
	if len(ds) != 1 {
		t.Fatalf("decisions: %v", pairs(ds))
	}
	want := acd.Trace{
		Item: "p", Queue: "price", Kind: acd.KindCall, Class: acd.ClassComplaint, Agent: "junior",
		Waited: 90 * time.Second, Standing: 150 * time.Second, Passed: 1,
		Stage: acd.Stage{Steps: 1, LowerLevels: 2}, Fit: acd.FitRelaxed,
		Strategy: acd.LongestIdle, Eligible: 1, Basis: "idle 4m30s",
	}
	if ds[0].Trace != want {
		t.Fatalf("trace\n got %+v\nwant %+v", ds[0].Trace, want)
	}
	s := ds[0].Trace.String()
	for _, part := range []string{"call p (price, complaint_report) waited 1m30s, standing 2m30s",
		"served before 1 higher with no agent free", "-> junior: relaxed fit at relaxation step 1", "longest_idle among 1 (idle 4m30s)"} {
		if !strings.Contains(s, part) {
			t.Errorf("trace %q lacks %q", s, part)
		}
	}
}

func TestEligible(t *testing.T) {
	r := mustRouter(t, testConfig())
	c := candidates(t, r, []item{{id: "p", queue: "price", class: acd.ClassConsult}})[0]
	tests := []struct {
		skills string
		groups []acd.GroupName
		wait   time.Duration
		fit    acd.Fit
		ok     bool
	}{
		{"price:4 zh:1", nil, 0, acd.FitFull, true},
		{"price:4", nil, 0, 0, false},
		{"price:2 zh:1", nil, 59 * time.Second, 0, false},
		{"price:2 zh:1", nil, time.Minute, acd.FitRelaxed, true},
		{"price:1 zh:1", nil, time.Hour, 0, false},
		{"zh:1", []acd.GroupName{"general"}, 119 * time.Second, 0, false},
		{"zh:1", []acd.GroupName{"general"}, 2 * time.Minute, acd.FitOverflow, true},
		{"en:5", []acd.GroupName{"general"}, time.Hour, 0, false},
	}
	for _, tc := range tests {
		fit, ok := r.Eligible(c, acd.Agent{ID: "x", Skills: parseSkills(tc.skills), Groups: tc.groups}, t0.Add(tc.wait))
		if fit != tc.fit || ok != tc.ok {
			t.Errorf("%q %v after %s: got %s %v, want %s %v", tc.skills, tc.groups, tc.wait, fit, ok, tc.fit, tc.ok)
		}
	}
}

func TestKeptPlaceOrder(t *testing.T) {
	// A waiting caller who chooses a callback keeps their place: ahead of a later caller,
	// never ahead of an earlier one.
	r := mustRouter(t, testConfig())
	mk := func(id acd.ItemID, at time.Duration) acd.Item {
		return acd.Item{ID: id, Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, Language: "zh",
			EnqueuedAt: t0.Add(at), Status: acd.StatusWaiting}
	}
	task, _, err := acd.KeepPlace(mk("keeper", 10*time.Second), acd.Item{ID: "keeper-cb"}, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var cs []acd.Candidate
	for _, it := range []acd.Item{mk("later", 11*time.Second), task, mk("earlier", 9*time.Second)} {
		c, err := r.Candidate(it)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	sortCandidates(cs)
	var got []acd.ItemID
	for _, c := range cs {
		got = append(got, c.Item.ID)
	}
	if want := []acd.ItemID{"earlier", "keeper-cb", "later"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestCandidateRejects(t *testing.T) {
	r := mustRouter(t, testConfig())
	ok := acd.Item{ID: "i", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, EnqueuedAt: t0}
	tests := []struct {
		name string
		mod  func(*acd.Item)
	}{
		{"no id", func(i *acd.Item) { i.ID = "" }},
		{"braces in id", func(i *acd.Item) { i.ID = "a{b}" }},
		{"no kind", func(i *acd.Item) { i.Kind = 0 }},
		{"no class", func(i *acd.Item) { i.Class = 0 }},
		{"no time", func(i *acd.Item) { i.EnqueuedAt = time.Time{} }},
		{"unknown queue", func(i *acd.Item) { i.Queue = "x" }},
		{"a language that is not one", func(i *acd.Item) { i.Language = "price" }},
		{"unknown skill", func(i *acd.Item) { i.Skills = []acd.SkillReq{{Skill: "x", Min: 1}} }},
		{"level 0", func(i *acd.Item) { i.Skills = []acd.SkillReq{{Skill: "price", Min: 0}} }},
	}
	if _, err := r.Candidate(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		it := ok
		tc.mod(&it)
		if _, err := r.Candidate(it); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
