package acd_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hotline/acd"
)

func TestComputeQueueStats(t *testing.T) {
	q := acd.Queue{Name: "general", ServiceLevel: 20 * time.Second}
	now := t0.Add(time.Hour)
	call := func(k acd.OutcomeKind, at, wait time.Duration) acd.Outcome {
		return acd.Outcome{Kind: k, Queue: "general", ItemKind: acd.KindCall, At: t0.Add(at), Wait: wait}
	}
	handled := func(talk, wrap time.Duration) acd.Outcome {
		return acd.Outcome{Kind: acd.OutcomeHandled, Queue: "general", ItemKind: acd.KindCall, At: now, Talk: talk, WrapUp: wrap}
	}
	tests := []struct {
		name     string
		outcomes []acd.Outcome
		waiting  []acd.Item
		check    func(*testing.T, acd.QueueStats)
	}{
		{
			name: "nothing yet: ratios undefined, no estimate",
			check: func(t *testing.T, s acd.QueueStats) {
				if s.ServiceLevel.Defined || s.ServiceLevelAbandons.Defined || s.AbandonRate.Defined || s.EstimatedWaitKnown || s.ASA != 0 {
					t.Fatalf("%+v", s)
				}
			},
		},
		{
			name: "both service level definitions, ASA, abandon rate, AHT",
			outcomes: []acd.Outcome{
				call(acd.OutcomeAnswered, 1*time.Minute, 10*time.Second),
				call(acd.OutcomeAnswered, 2*time.Minute, 20*time.Second), // on the threshold counts
				call(acd.OutcomeAnswered, 3*time.Minute, 21*time.Second),
				call(acd.OutcomeAnswered, 4*time.Minute, 49*time.Second),
				call(acd.OutcomeAbandoned, 5*time.Minute, 5*time.Second),
				call(acd.OutcomeAbandoned, 6*time.Minute, 90*time.Second),
				call(acd.OutcomeDiverted, 7*time.Minute, 5*time.Minute),
				handled(3*time.Minute, 30*time.Second),
				handled(5*time.Minute, 30*time.Second),
				{Kind: acd.OutcomeAnswered, Queue: "other", ItemKind: acd.KindCall, Wait: time.Hour},
				{Kind: acd.OutcomeAnswered, Queue: "general", ItemKind: acd.KindCallback, Wait: time.Hour},
			},
			check: func(t *testing.T, s acd.QueueStats) {
				if s.Answered != 4 || s.AnsweredInTarget != 2 || s.Abandoned != 2 || s.Diverted != 1 || s.Handled != 2 || s.CallbacksAnswered != 1 {
					t.Fatalf("counts %+v", s)
				}
				if s.ServiceLevel.Value != 0.5 || s.ServiceLevelAbandons.Value != 2.0/6 || s.AbandonRate.Value != 2.0/6 {
					t.Fatalf("rates %+v %+v %+v", s.ServiceLevel, s.ServiceLevelAbandons, s.AbandonRate)
				}
				if s.ASA != 25*time.Second || s.AHT != 4*time.Minute+30*time.Second {
					t.Fatalf("ASA %s AHT %s", s.ASA, s.AHT)
				}
				if !s.EstimatedWaitKnown || s.EstimatedWait != 25*time.Second {
					t.Fatalf("estimate %s %v", s.EstimatedWait, s.EstimatedWaitKnown)
				}
			},
		},
		{
			name: "longest wait counts waiting calls only",
			waiting: []acd.Item{
				{ID: "a", Kind: acd.KindCall, Queue: "general", EnqueuedAt: now.Add(-3 * time.Minute), Status: acd.StatusWaiting},
				{ID: "b", Kind: acd.KindCall, Queue: "general", EnqueuedAt: now.Add(-time.Minute), Status: acd.StatusWaiting},
				{ID: "c", Kind: acd.KindCallback, Queue: "general", EnqueuedAt: now.Add(-5 * time.Hour), Status: acd.StatusWaiting},
				{ID: "d", Kind: acd.KindCall, Queue: "general", EnqueuedAt: now.Add(-time.Hour), Status: acd.StatusOffered},
			},
			check: func(t *testing.T, s acd.QueueStats) {
				if s.Waiting != 2 || s.CallbacksWaiting != 1 || s.LongestWait != 3*time.Minute {
					t.Fatalf("%+v", s)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, acd.ComputeQueueStats(q, tc.outcomes, tc.waiting, now)) })
	}
}

func TestEstimateWaitUsesRecentAnswers(t *testing.T) {
	var os []acd.Outcome
	// 30 answers: the 10 oldest waited 10 minutes, the 20 most recent 30 seconds.
	for i := range 30 {
		w := 30 * time.Second
		if i < 10 {
			w = 10 * time.Minute
		}
		os = append(os, acd.Outcome{Kind: acd.OutcomeAnswered, At: t0.Add(time.Duration(i) * time.Minute), Wait: w})
	}
	// Order of the input does not matter.
	os[0], os[29] = os[29], os[0]
	got, ok := acd.EstimateWait(os)
	if !ok || got != 30*time.Second {
		t.Fatalf("estimate %s %v, want 30s", got, ok)
	}
}

func TestQueueStatsJSON(t *testing.T) {
	s := acd.QueueStats{Queue: "general", Waiting: 2, LongestWait: 90 * time.Second, ASA: 1500 * time.Millisecond,
		ServiceLevel: acd.Ratio{Value: 0.8, Defined: true}, EstimatedWait: 30 * time.Second, EstimatedWaitKnown: true}
	b, err := json.Marshal(acd.Wallboard{At: t0, Window: 900, Queues: []acd.QueueStats{s}, Agents: map[string]int{"ready": 3}})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"queue":"general"`, `"longest_wait_seconds":90`, `"asa_seconds":1.5`, `"service_level":0.8`,
		`"service_level_with_abandons":null`, `"estimated_wait_seconds":30`, `"agents":{"ready":3}`, `"window_seconds":900`} {
		if !strings.Contains(string(b), part) {
			t.Errorf("%s lacks %s", b, part)
		}
	}
}
