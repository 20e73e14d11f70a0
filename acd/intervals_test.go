package acd_test

import (
	"encoding/json"
	"testing"
	"time"

	"hotline/acd"
)

func TestDayBounds(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		t          time.Time
		start, end time.Time
	}{
		{"midday", time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 27, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai)},
		{"UTC evening is the next day in Shanghai", time.Date(2026, 11, 27, 16, 30, 0, 0, time.UTC),
			time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 29, 0, 0, 0, 0, shanghai)},
		{"midnight itself starts its day", time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai),
			time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 29, 0, 0, 0, 0, shanghai)},
		{"last instant of a day", time.Date(2026, 11, 27, 23, 59, 59, 999, shanghai),
			time.Date(2026, 11, 27, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai)},
		{"new year", time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC),
			time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai), time.Date(2027, 1, 2, 0, 0, 0, 0, shanghai)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := acd.DayBounds(tt.t, shanghai)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Fatalf("DayBounds(%s) = %s, %s; want %s, %s", tt.t, start, end, tt.start, tt.end)
			}
		})
	}
}

func TestComputeIntervals(t *testing.T) {
	queues := []acd.Queue{{Name: "general", ServiceLevel: 20 * time.Second}, {Name: "emergency", ServiceLevel: 10 * time.Second}}
	from := t0
	out := func(k acd.OutcomeKind, q acd.QueueName, at, wait time.Duration) acd.Outcome {
		return acd.Outcome{Kind: k, Queue: q, ItemKind: acd.KindCall, At: from.Add(at), Wait: wait}
	}
	type counts struct{ offered, answered, inTarget, abandoned, diverted int }
	tests := []struct {
		name     string
		outcomes []acd.Outcome
		to       time.Duration // after from
		want     []counts
		sl       []acd.Ratio // per interval, answered only; nil: not checked
		slAb     []acd.Ratio // with abandons; nil: not checked
	}{
		{name: "no calls: intervals up to now, rates undefined", to: 31 * time.Minute,
			want: []counts{{}, {}, {}}, sl: []acd.Ratio{{}, {}, {}}, slAb: []acd.Ratio{{}, {}, {}}},
		{name: "now on a boundary opens the next interval", to: 15 * time.Minute, want: []counts{{}, {}}},
		{name: "each call counted where its wait ended; thresholds per queue", to: 40 * time.Minute,
			outcomes: []acd.Outcome{
				out(acd.OutcomeAnswered, "general", time.Minute, 20*time.Second),     // in target (on it)
				out(acd.OutcomeAnswered, "general", 2*time.Minute, 21*time.Second),   // late
				out(acd.OutcomeAnswered, "emergency", 3*time.Minute, 15*time.Second), // late for emergency
				out(acd.OutcomeAbandoned, "general", 14*time.Minute, 5*time.Second),  //
				out(acd.OutcomeAnswered, "general", 15*time.Minute, 5*time.Second),   // first instant of the 2nd
				out(acd.OutcomeDiverted, "general", 16*time.Minute, 5*time.Minute),   // voicemail
				out(acd.OutcomeHandled, "general", 17*time.Minute, 0),                // not an offer
				out(acd.OutcomeAbandoned, "general", 33*time.Minute, 40*time.Second), // 3rd
				out(acd.OutcomeAnswered, "elsewhere", 5*time.Minute, time.Second),    // unknown queue
				{Kind: acd.OutcomeAnswered, Queue: "general", ItemKind: acd.KindCallback, At: from.Add(time.Minute)},
				out(acd.OutcomeAnswered, "general", -time.Second, time.Second),   // yesterday
				out(acd.OutcomeAnswered, "general", 41*time.Minute, time.Second), // after now
			},
			want: []counts{{4, 3, 1, 1, 0}, {2, 1, 1, 0, 1}, {1, 0, 0, 1, 0}},
			sl:   []acd.Ratio{{Value: 1.0 / 3, Defined: true}, {Value: 1, Defined: true}, {}},
			slAb: []acd.Ratio{{Value: 1.0 / 4, Defined: true}, {Value: 1, Defined: true}, {Value: 0, Defined: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := acd.ComputeIntervals(queues, tt.outcomes, from, from.Add(tt.to), acd.IntervalWidth)
			if len(got) != len(tt.want) {
				t.Fatalf("%d intervals, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, iv := range got {
				if !iv.Start.Equal(from.Add(time.Duration(i) * acd.IntervalWidth)) {
					t.Errorf("interval %d starts %s", i, iv.Start)
				}
				c := counts{iv.Offered, iv.Answered, iv.AnsweredInTarget, iv.Abandoned, iv.Diverted}
				if c != tt.want[i] {
					t.Errorf("interval %d: %+v, want %+v", i, c, tt.want[i])
				}
				if tt.sl != nil && iv.ServiceLevel != tt.sl[i] {
					t.Errorf("interval %d: service level %+v, want %+v", i, iv.ServiceLevel, tt.sl[i])
				}
				if tt.slAb != nil && iv.ServiceLevelAbandons != tt.slAb[i] {
					t.Errorf("interval %d: service level with abandons %+v, want %+v", i, iv.ServiceLevelAbandons, tt.slAb[i])
				}
			}
		})
	}
	t.Run("bad span or width gives none", func(t *testing.T) {
		if got := acd.ComputeIntervals(queues, nil, from, from.Add(-time.Second), acd.IntervalWidth); got != nil {
			t.Errorf("to before from: %+v", got)
		}
		if got := acd.ComputeIntervals(queues, nil, from, from.Add(time.Hour), 0); got != nil {
			t.Errorf("zero width: %+v", got)
		}
	})
	t.Run("the sum of each queue's series is the series of all", func(t *testing.T) {
		outs := []acd.Outcome{
			out(acd.OutcomeAnswered, "general", time.Minute, 20*time.Second),
			out(acd.OutcomeAnswered, "general", 2*time.Minute, 21*time.Second),
			out(acd.OutcomeAnswered, "emergency", 3*time.Minute, 15*time.Second),
			out(acd.OutcomeAbandoned, "emergency", 16*time.Minute, 5*time.Second),
			out(acd.OutcomeDiverted, "general", 20*time.Minute, 5*time.Minute),
		}
		to := from.Add(25 * time.Minute)
		all := acd.ComputeIntervals(queues, outs, from, to, acd.IntervalWidth)
		sum := acd.SumIntervals(acd.ComputeIntervals(queues[:1], outs, from, to, acd.IntervalWidth),
			acd.ComputeIntervals(queues[1:], outs, from, to, acd.IntervalWidth))
		if len(sum) != len(all) {
			t.Fatalf("%d summed, %d over all", len(sum), len(all))
		}
		for i := range all {
			if sum[i] != all[i] {
				t.Errorf("interval %d: sum %+v, all %+v", i, sum[i], all[i])
			}
		}
		if acd.SumIntervals() != nil {
			t.Error("no series should sum to none")
		}
	})
	t.Run("JSON", func(t *testing.T) {
		ivs := acd.ComputeIntervals(queues, []acd.Outcome{out(acd.OutcomeAnswered, "general", time.Minute, time.Second)}, from, from.Add(time.Minute), acd.IntervalWidth)
		b, err := json.Marshal(ivs)
		if err != nil {
			t.Fatal(err)
		}
		want := `[{"start":"2026-03-02T09:00:00Z","offered":1,"answered":1,"answered_in_target":1,"abandoned":0,"diverted":0,"service_level":1,"service_level_with_abandons":1}]`
		if string(b) != want {
			t.Errorf("JSON\n got %s\nwant %s", b, want)
		}
	})
}
