package acd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// EstimateSamples is how many of the most recent answered waits EstimateWait averages.
const EstimateSamples = 20

// QueueStats are a queue's statistics over a window of recorded outcomes plus its live
// waiting list. Rates, ASA and AHT count calls only; callback tasks are counted apart.
type QueueStats struct {
	Queue QueueName
	// Live.
	Waiting          int           // calls waiting
	CallbacksWaiting int           // callback tasks waiting
	LongestWait      time.Duration // of the calls waiting
	// Over the window.
	Answered           int
	AnsweredInTarget   int // answered within the queue's ServiceLevel threshold
	Abandoned          int
	Diverted           int // left for voicemail or a callback
	Handled            int
	CallbacksAnswered  int
	ServiceLevelTarget time.Duration
	// ServiceLevel is answered within the threshold over answered ("answered only").
	ServiceLevel Ratio
	// ServiceLevelAbandons is answered within the threshold over answered plus abandoned
	// ("with abandons": every caller who gave up counts as a miss).
	ServiceLevelAbandons Ratio
	// AbandonRate is abandoned over answered plus abandoned.
	AbandonRate Ratio
	// ASA is the average speed of answer: mean wait of the answered calls.
	ASA time.Duration
	// AHT is the average handle time: talk plus wrap-up of the handled calls.
	AHT time.Duration
	// EstimatedWait is the wait a new caller should expect (EstimateWait); zero and
	// EstimatedWaitKnown false without recent answers.
	EstimatedWait      time.Duration
	EstimatedWaitKnown bool
}

// Ratio is a fraction that is undefined until there is something to count.
type Ratio struct {
	Value   float64
	Defined bool
}

func ratio(num, den int) Ratio {
	if den == 0 {
		return Ratio{}
	}
	return Ratio{Value: float64(num) / float64(den), Defined: true}
}

// MarshalJSON writes the value, or null when undefined.
func (r Ratio) MarshalJSON() ([]byte, error) {
	if !r.Defined {
		return []byte("null"), nil
	}
	return json.Marshal(r.Value)
}

// ComputeQueueStats computes a queue's statistics from its outcomes in the window (any
// order; other queues' outcomes are ignored) and its waiting items at now.
func ComputeQueueStats(q Queue, outcomes []Outcome, waiting []Item, now time.Time) QueueStats {
	s := QueueStats{Queue: q.Name, ServiceLevelTarget: q.ServiceLevel}
	for _, it := range waiting {
		if it.Queue != q.Name || it.Status != StatusWaiting {
			continue
		}
		if it.Kind != KindCall {
			s.CallbacksWaiting++
			continue
		}
		s.Waiting++
		s.LongestWait = max(s.LongestWait, now.Sub(it.EnqueuedAt))
	}
	var waitSum, handleSum time.Duration
	var answered []Outcome
	for _, o := range outcomes {
		if o.Queue != q.Name {
			continue
		}
		if o.ItemKind != KindCall {
			if o.Kind == OutcomeAnswered {
				s.CallbacksAnswered++
			}
			continue
		}
		switch o.Kind {
		case OutcomeAnswered:
			s.Answered++
			waitSum += o.Wait
			if o.Wait <= q.ServiceLevel {
				s.AnsweredInTarget++
			}
			answered = append(answered, o)
		case OutcomeAbandoned:
			s.Abandoned++
		case OutcomeDiverted:
			s.Diverted++
		case OutcomeHandled:
			s.Handled++
			handleSum += o.Talk + o.WrapUp
		}
	}
	s.ServiceLevel = ratio(s.AnsweredInTarget, s.Answered)
	s.ServiceLevelAbandons = ratio(s.AnsweredInTarget, s.Answered+s.Abandoned)
	s.AbandonRate = ratio(s.Abandoned, s.Answered+s.Abandoned)
	if s.Answered > 0 {
		s.ASA = waitSum / time.Duration(s.Answered)
	}
	if s.Handled > 0 {
		s.AHT = handleSum / time.Duration(s.Handled)
	}
	s.EstimatedWait, s.EstimatedWaitKnown = EstimateWait(answered)
	return s
}

// EstimateWait estimates a new caller's wait as the mean wait of the most recent answered
// calls (up to EstimateSamples, by answer time). Recent answers reflect the staffing and
// the load of the last minutes better than a day's average; with none it knows nothing.
func EstimateWait(answered []Outcome) (time.Duration, bool) {
	var recent []Outcome
	for _, o := range answered {
		if o.Kind == OutcomeAnswered {
			recent = append(recent, o)
		}
	}
	if len(recent) == 0 {
		return 0, false
	}
	slices.SortFunc(recent, func(a, b Outcome) int { return b.At.Compare(a.At) })
	recent = recent[:min(len(recent), EstimateSamples)]
	var sum time.Duration
	for _, o := range recent {
		sum += o.Wait
	}
	return sum / time.Duration(len(recent)), true
}

type queueStatsJSON struct {
	Queue                string   `json:"queue"`
	Waiting              int      `json:"waiting"`
	CallbacksWaiting     int      `json:"callbacks_waiting"`
	LongestWait          float64  `json:"longest_wait_seconds"`
	Answered             int      `json:"answered"`
	AnsweredInTarget     int      `json:"answered_in_target"`
	Abandoned            int      `json:"abandoned"`
	Diverted             int      `json:"diverted"`
	Handled              int      `json:"handled"`
	CallbacksAnswered    int      `json:"callbacks_answered"`
	ServiceLevelTarget   float64  `json:"service_level_target_seconds"`
	ServiceLevel         Ratio    `json:"service_level"`
	ServiceLevelAbandons Ratio    `json:"service_level_with_abandons"`
	AbandonRate          Ratio    `json:"abandon_rate"`
	ASA                  float64  `json:"asa_seconds"`
	AHT                  float64  `json:"aht_seconds"`
	EstimatedWait        *float64 `json:"estimated_wait_seconds"`
}

// MarshalJSON writes durations in seconds, for the wallboard.
func (s QueueStats) MarshalJSON() ([]byte, error) {
	j := queueStatsJSON{
		Queue: string(s.Queue), Waiting: s.Waiting, CallbacksWaiting: s.CallbacksWaiting,
		LongestWait: s.LongestWait.Seconds(), Answered: s.Answered, AnsweredInTarget: s.AnsweredInTarget,
		Abandoned: s.Abandoned, Diverted: s.Diverted, Handled: s.Handled, CallbacksAnswered: s.CallbacksAnswered,
		ServiceLevelTarget: s.ServiceLevelTarget.Seconds(), ServiceLevel: s.ServiceLevel,
		ServiceLevelAbandons: s.ServiceLevelAbandons, AbandonRate: s.AbandonRate,
		ASA: s.ASA.Seconds(), AHT: s.AHT.Seconds(),
	}
	if s.EstimatedWaitKnown {
		ewt := s.EstimatedWait.Seconds()
		j.EstimatedWait = &ewt
	}
	return json.Marshal(j)
}

// Wallboard is the JSON snapshot of every queue and the agents' states for a wallboard.
type Wallboard struct {
	At     time.Time      `json:"at"`
	Window float64        `json:"window_seconds"`
	Queues []QueueStats   `json:"queues"`
	Agents map[string]int `json:"agents"` // logged-in agents by state name
}

// WallboardSource is what BuildWallboard reads; every Store is one.
type WallboardSource interface {
	Waiting(ctx context.Context, q QueueName) ([]Item, error)
	Outcomes(ctx context.Context, q QueueName, since time.Time) ([]Outcome, error)
	Agents(ctx context.Context) ([]Agent, error)
}

// BuildWallboard reads the live state and the outcomes of the last window and computes every
// queue's statistics.
func BuildWallboard(ctx context.Context, src WallboardSource, cfg Config, now time.Time, window time.Duration) (Wallboard, error) {
	w := Wallboard{At: now, Window: window.Seconds(), Agents: map[string]int{}}
	for _, q := range cfg.Queues {
		waiting, err := src.Waiting(ctx, q.Name)
		if err != nil {
			return Wallboard{}, fmt.Errorf("wallboard: waiting in %s: %w", q.Name, err)
		}
		outs, err := src.Outcomes(ctx, q.Name, now.Add(-window))
		if err != nil {
			return Wallboard{}, fmt.Errorf("wallboard: outcomes of %s: %w", q.Name, err)
		}
		w.Queues = append(w.Queues, ComputeQueueStats(q, outs, waiting, now))
	}
	agents, err := src.Agents(ctx)
	if err != nil {
		return Wallboard{}, fmt.Errorf("wallboard: agents: %w", err)
	}
	for _, s := range States[1:] {
		w.Agents[s.String()] = 0
	}
	for _, a := range agents {
		if a.State != StateLoggedOut {
			w.Agents[a.State.String()]++
		}
	}
	return w, nil
}
