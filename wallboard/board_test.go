package wallboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"hotline/acd"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// day0 is 10:30 in Shanghai on 2026-11-27.
var day0 = time.Date(2026, 11, 27, 10, 30, 0, 0, shanghai)

func TestAssemble(t *testing.T) {
	cfg := acd.Config{Queues: []acd.Queue{{Name: "general", ServiceLevel: 20 * time.Second},
		{Name: "emergency", ServiceLevel: 10 * time.Second, Skills: []acd.SkillReq{{Skill: "emergency", Min: 2}}}}}
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, shanghai)
	answeredAt := day0.Add(-30 * time.Second)
	in := Inputs{
		At: day0,
		Waiting: map[acd.QueueName][]acd.Item{
			"general": {{ID: "c9", Kind: acd.KindCall, Queue: "general", Status: acd.StatusWaiting, EnqueuedAt: day0.Add(-45 * time.Second)}},
		},
		Outcomes: map[acd.QueueName][]acd.Outcome{
			"general": {
				{Kind: acd.OutcomeAnswered, Queue: "general", ItemKind: acd.KindCall, At: start.Add(15 * time.Minute), Wait: 5 * time.Second},
				{Kind: acd.OutcomeAbandoned, Queue: "general", ItemKind: acd.KindCall, At: day0.Add(-time.Minute), Wait: 30 * time.Second},
			},
			"emergency": {
				{Kind: acd.OutcomeAnswered, Queue: "emergency", ItemKind: acd.KindCall, At: day0.Add(-2 * time.Minute), Wait: 12 * time.Second},
			},
		},
		Agents: []acd.Agent{
			{ID: "zoe", State: acd.StateOnCall, Since: answeredAt, Reason: "stale",
				Work: acd.Work{Item: "c1", Queue: "general", Kind: acd.KindCall, Class: acd.ClassComplaint, AnsweredAt: answeredAt}},
			{ID: "amy", Name: "Amy", State: acd.StateNotReady, Reason: "meal", Since: day0.Add(-10 * time.Minute),
				Skills: map[acd.SkillName]acd.Level{"emergency": 2}},
			{ID: "old", State: acd.StateLoggedOut, Since: day0.Add(-time.Hour)},
			{ID: "ben", State: acd.StateReady, Since: day0.Add(time.Second), // a clock a second ahead
				Work:   acd.Work{Item: "c0", Queue: "emergency"},     // left over: ready agents work on nothing
				Skills: map[acd.SkillName]acd.Level{"emergency": 1}}, // below the queue's level
			{ID: "dan", State: acd.StateWrapUp, Since: day0.Add(-5 * time.Second), // no skill, but on an emergency call
				Work: acd.Work{Item: "e1", Queue: "emergency", Kind: acd.KindCall, Class: acd.ClassEmergency}},
			{ID: "cat", State: acd.StateRinging, Since: day0.Add(-3 * time.Second), Work: acd.Work{Item: "cb1", Queue: "callback", Kind: acd.KindCallback}},
		},
		Cases: map[acd.ItemID]acd.CaseNumber{"c1": "620000-20261127-000007"},
	}
	b := Assemble(cfg, shanghai, in)

	if b.Day != "2026-11-27" || !b.DayStart.Equal(start) || !b.DayEnd.Equal(start.AddDate(0, 0, 1)) {
		t.Errorf("day %s %s %s", b.Day, b.DayStart, b.DayEnd)
	}
	if len(b.Queues) != 2 || b.Queues[0].Queue != "general" || b.Queues[1].Queue != "emergency" {
		t.Fatalf("queues %+v", b.Queues)
	}
	g := b.Queues[0]
	if g.Waiting != 1 || g.LongestWait != 45*time.Second || g.Answered != 1 || g.Abandoned != 1 ||
		g.ServiceLevel != (acd.Ratio{Value: 1, Defined: true}) || g.AbandonRate != (acd.Ratio{Value: 0.5, Defined: true}) {
		t.Errorf("general %+v", g)
	}
	if e := b.Queues[1]; e.Answered != 1 || e.ServiceLevel != (acd.Ratio{Value: 0, Defined: true}) {
		t.Errorf("emergency %+v", e)
	}
	// 10:30 is the 43rd quarter hour of the day.
	if len(b.Intervals) != 43 || len(b.QueueIntervals["general"]) != 43 || len(b.QueueIntervals["emergency"]) != 43 {
		t.Fatalf("%d intervals, general %d, emergency %d", len(b.Intervals), len(b.QueueIntervals["general"]), len(b.QueueIntervals["emergency"]))
	}
	if iv := b.Intervals[1]; iv.Offered != 1 || iv.Answered != 1 {
		t.Errorf("00:15 %+v", iv)
	}
	if iv := b.Intervals[41]; iv.Offered != 2 || iv.Abandoned != 1 || iv.Answered != 1 || iv.ServiceLevel != (acd.Ratio{Value: 0, Defined: true}) {
		t.Errorf("10:15 over both queues %+v", iv)
	}
	if iv := b.QueueIntervals["emergency"][41]; iv.Offered != 1 || iv.Abandoned != 0 {
		t.Errorf("10:15 emergency %+v", iv)
	}

	want := map[string]int{"ready": 1, "reserved": 0, "ringing": 1, "on_call": 1, "wrap_up": 1, "not_ready": 1}
	if !mapsEqual(b.AgentsByState, want) {
		t.Errorf("by state %v, want %v", b.AgentsByState, want)
	}
	wantGeneral := map[string]int{"ready": 1, "reserved": 0, "ringing": 1, "on_call": 1, "wrap_up": 1, "not_ready": 1}
	wantEmergency := map[string]int{"ready": 0, "reserved": 0, "ringing": 0, "on_call": 0, "wrap_up": 1, "not_ready": 1}
	if !mapsEqual(b.QueueAgents["general"], wantGeneral) || !mapsEqual(b.QueueAgents["emergency"], wantEmergency) {
		t.Errorf("queue agents %v, want general %v, emergency %v", b.QueueAgents, wantGeneral, wantEmergency)
	}
	var ids []acd.AgentID
	for _, a := range b.Agents {
		ids = append(ids, a.ID)
	}
	if !slices.Equal(ids, []acd.AgentID{"amy", "ben", "cat", "dan", "zoe"}) {
		t.Fatalf("agents %v: logged-in ones, by id", ids)
	}
	amy, ben, cat, zoe := b.Agents[0], b.Agents[1], b.Agents[2], b.Agents[4]
	if amy.State != "not_ready" || amy.Reason != "meal" || amy.InState != 600 || amy.Work != nil || amy.Name != "Amy" {
		t.Errorf("amy %+v", amy)
	}
	if ben.InState != 0 || ben.Work != nil {
		t.Errorf("ben %+v: no negative time, no work when ready", ben)
	}
	if cat.Work == nil || cat.Work.Kind != "callback" || cat.Work.CaseNumber != "" || cat.Work.AnsweredAt != nil {
		t.Errorf("cat %+v %+v", cat, cat.Work)
	}
	if zoe.Reason != "" || zoe.InState != 30 || zoe.Work == nil || zoe.Work.CaseNumber != "620000-20261127-000007" ||
		zoe.Work.Class != "complaint_report" || zoe.Work.AnsweredAt == nil || !zoe.Work.AnsweredAt.Equal(answeredAt) {
		t.Errorf("zoe %+v %+v", zoe, zoe.Work)
	}
	if zoe.State != "on_call" || !slices.Equal(zoe.Actions, []string{"listen", "whisper", "barge"}) {
		t.Errorf("zoe (%s) actions %v: a supervisor may listen, whisper or barge on a call", zoe.State, zoe.Actions)
	}
	if amy.Actions == nil || len(amy.Actions) != 0 {
		t.Errorf("amy's actions %v: an empty list (not null) when not on a call", amy.Actions)
	}

	// The JSON the page reads.
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Queues []struct {
			Queue        string   `json:"queue"`
			Waiting      int      `json:"waiting"`
			ServiceLevel *float64 `json:"service_level"`
		} `json:"queues"`
		Agents []struct {
			ID      string   `json:"id"`
			Actions []string `json:"actions"`
			Work    *struct {
				CaseNumber string `json:"case_number"`
			} `json:"work"`
		} `json:"agents"`
		Intervals []struct {
			Offered int `json:"offered"`
		} `json:"intervals"`
		QueueIntervals  map[string][]json.RawMessage `json:"queue_intervals"`
		IntervalSeconds float64                      `json:"interval_seconds"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		t.Fatal(err)
	}
	if page.Queues[0].Waiting != 1 || page.Queues[0].ServiceLevel == nil || page.Agents[4].Work.CaseNumber != "620000-20261127-000007" ||
		page.Agents[4].Actions == nil || page.IntervalSeconds != 900 || len(page.QueueIntervals["general"]) != 43 {
		t.Errorf("JSON %s", data)
	}
}

func TestAssembleNothing(t *testing.T) {
	cfg := acd.Config{Queues: []acd.Queue{{Name: "general", ServiceLevel: 20 * time.Second}}}
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai)
	b := Assemble(cfg, shanghai, Inputs{At: midnight})
	if b.Day != "2026-11-28" || len(b.Agents) != 0 || b.Agents == nil || len(b.Intervals) != 1 || b.Queues[0].ServiceLevel.Defined {
		t.Errorf("%+v", b)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestDayOutcomes(t *testing.T) {
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, shanghai)
	out := func(item string, at time.Time) acd.Outcome {
		return acd.Outcome{Kind: acd.OutcomeAnswered, Queue: "general", Item: acd.ItemID(item), ItemKind: acd.KindCall, At: at}
	}
	type read struct {
		dayStart  time.Time
		wantSince time.Time
		got       []acd.Outcome // what the store returns from wantSince
		at        time.Time
		wantItems []string // the day's after merging
	}
	tests := []struct {
		name  string
		reads []read
	}{
		{"first read takes the whole day", []read{
			{start, start, []acd.Outcome{out("c1", start.Add(time.Hour))}, day0, []string{"c1"}},
		}},
		{"next reads reach back a minute and skip what they have", []read{
			{start, start, []acd.Outcome{out("c1", day0.Add(-10*time.Second))}, day0, []string{"c1"}},
			{start, day0.Add(-outcomeOverlap), []acd.Outcome{
				out("c1", day0.Add(-10*time.Second)), // again: overlap
				out("c2", day0.Add(-5*time.Second)),  // stamped before the last read, written after
				out("c3", day0.Add(time.Second)),
			}, day0.Add(2 * time.Second), []string{"c1", "c2", "c3"}},
		}},
		{"the same item answered twice at different times counts twice", []read{
			{start, start, []acd.Outcome{out("c1", day0.Add(-10*time.Second)), out("c1", day0.Add(-5*time.Second))}, day0, []string{"c1", "c1"}},
		}},
		{"the overlap never reaches into yesterday", []read{
			{start, start, nil, start.Add(10 * time.Second), nil},
			{start, start, []acd.Outcome{out("late", start.Add(-time.Second)), out("c1", start.Add(time.Second))}, start.Add(20 * time.Second), []string{"c1"}},
		}},
		{"a new day starts afresh", []read{
			{start, start, []acd.Outcome{out("c1", start.Add(23*time.Hour))}, start.Add(23*time.Hour + time.Minute), []string{"c1"}},
			{start.AddDate(0, 0, 1), start.AddDate(0, 0, 1), []acd.Outcome{out("c2", start.AddDate(0, 0, 1).Add(time.Second))},
				start.AddDate(0, 0, 1).Add(time.Minute), []string{"c2"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dayOutcomes
			for i, r := range tt.reads {
				if since := d.since("general", r.dayStart); !since.Equal(r.wantSince) {
					t.Fatalf("read %d: since %s, want %s", i, since, r.wantSince)
				}
				var items []string
				for _, o := range d.merge("general", r.got, r.at) {
					items = append(items, string(o.Item))
				}
				if !slices.Equal(items, r.wantItems) {
					t.Fatalf("read %d: day's outcomes %v, want %v", i, items, r.wantItems)
				}
			}
		})
	}
}

func TestBuildDelay(t *testing.T) {
	gap := 250 * time.Millisecond
	tests := []struct {
		name string
		last time.Time
		now  time.Time
		want time.Duration
	}{
		{"never built", time.Time{}, day0, 0},
		{"built long ago", day0.Add(-time.Second), day0, 0},
		{"exactly a gap ago", day0.Add(-gap), day0, 0},
		{"just built", day0, day0, gap},
		{"built 100ms ago", day0.Add(-100 * time.Millisecond), day0, 150 * time.Millisecond},
		{"clock set back", day0.Add(time.Hour), day0, 0},
	}
	for _, tt := range tests {
		if got := buildDelay(tt.last, tt.now, gap); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// BenchmarkAssemble is a busy day's board: 20,000 calls answered or abandoned (each
// answer also handled) over three queues, 200 agents logged in.
func BenchmarkAssemble(b *testing.B) {
	cfg := acd.DefaultConfig()
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, shanghai)
	now := start.Add(20 * time.Hour)
	in := Inputs{At: now, Outcomes: map[acd.QueueName][]acd.Outcome{}, Waiting: map[acd.QueueName][]acd.Item{}, Cases: map[acd.ItemID]acd.CaseNumber{}}
	for i := range 20000 {
		q := cfg.Queues[i%len(cfg.Queues)].Name
		at := start.Add(time.Duration(i) * 3 * time.Second)
		kind := acd.OutcomeAnswered
		if i%10 == 0 {
			kind = acd.OutcomeAbandoned
		}
		in.Outcomes[q] = append(in.Outcomes[q], acd.Outcome{Kind: kind, Queue: q, ItemKind: acd.KindCall, At: at, Wait: time.Duration(i%60) * time.Second})
		if kind == acd.OutcomeAnswered {
			in.Outcomes[q] = append(in.Outcomes[q], acd.Outcome{Kind: acd.OutcomeHandled, Queue: q, ItemKind: acd.KindCall, At: at.Add(3 * time.Minute), Talk: 2 * time.Minute})
		}
	}
	for i := range 200 {
		in.Agents = append(in.Agents, acd.Agent{ID: acd.AgentID(fmt.Sprintf("%04d", i)), State: acd.States[1+i%6], Since: now.Add(-time.Minute),
			Work: acd.Work{Item: acd.ItemID(fmt.Sprintf("c%d", i)), Queue: "general", Kind: acd.KindCall}})
	}
	b.ResetTimer()
	for b.Loop() {
		Assemble(cfg, shanghai, in)
	}
}
