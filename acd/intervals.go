package acd

import (
	"encoding/json"
	"time"
)

// IntervalWidth is the reporting interval of the wallboard's charts: the quarter hour that
// call-centre staffing is planned in.
const IntervalWidth = 15 * time.Minute

// Interval counts the calls whose wait ended in one reporting interval: answered,
// abandoned, or diverted (to voicemail or a callback). A call is counted in the interval in
// which it stopped waiting, so every call offered in an interval has its outcome in the
// same interval, and the interval's service level is final once it has passed. Calls still
// waiting are not counted yet; callback tasks are not counted at all.
type Interval struct {
	Start            time.Time
	Offered          int // Answered + Abandoned + Diverted
	Answered         int
	AnsweredInTarget int // answered within their queue's ServiceLevel threshold
	Abandoned        int
	Diverted         int
	// ServiceLevel is answered within the threshold over answered; ServiceLevelAbandons
	// over answered plus abandoned (see QueueStats).
	ServiceLevel         Ratio
	ServiceLevelAbandons Ratio
}

// DayBounds returns the start of the calendar day of t in loc and the start of the next
// one (23 or 25 hours later on a daylight-saving change; Asia/Shanghai has none).
func DayBounds(t time.Time, loc *time.Location) (start, end time.Time) {
	l := t.In(loc)
	start = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1)
}

// ComputeIntervals counts the calls of queues (an outcome of a queue not listed is
// ignored, and each answer is judged against its own queue's threshold) in the intervals
// of width from from until to: the last interval is the one that holds to, possibly
// partial. Outcomes outside [from, to] and of other kinds are ignored; the outcomes may
// come in any order. It returns nil when to is before from or width is not positive.
func ComputeIntervals(queues []Queue, outcomes []Outcome, from, to time.Time, width time.Duration) []Interval {
	if width <= 0 || to.Before(from) {
		return nil
	}
	target := make(map[QueueName]time.Duration, len(queues))
	for _, q := range queues {
		target[q.Name] = q.ServiceLevel
	}
	n := int(to.Sub(from)/width) + 1
	out := make([]Interval, n)
	for i := range out {
		out[i].Start = from.Add(time.Duration(i) * width)
	}
	for _, o := range outcomes {
		sl, ok := target[o.Queue]
		if !ok || o.ItemKind != KindCall || o.At.Before(from) || o.At.After(to) {
			continue
		}
		iv := &out[int(o.At.Sub(from)/width)]
		switch o.Kind {
		case OutcomeAnswered:
			iv.Answered++
			if o.Wait <= sl {
				iv.AnsweredInTarget++
			}
		case OutcomeAbandoned:
			iv.Abandoned++
		case OutcomeDiverted:
			iv.Diverted++
		default:
			continue
		}
		iv.Offered++
	}
	for i := range out {
		iv := &out[i]
		iv.ServiceLevel = ratio(iv.AnsweredInTarget, iv.Answered)
		iv.ServiceLevelAbandons = ratio(iv.AnsweredInTarget, iv.Answered+iv.Abandoned)
	}
	return out
}

// SumIntervals adds up series of the same intervals (from ComputeIntervals over the same
// span, e.g. one per queue) into one; the service levels are those of the sums. It returns
// nil for no series.
func SumIntervals(series ...[]Interval) []Interval {
	if len(series) == 0 {
		return nil
	}
	out := make([]Interval, len(series[0]))
	for i := range out {
		out[i].Start = series[0][i].Start
	}
	for _, ivs := range series {
		for i, iv := range ivs[:min(len(ivs), len(out))] {
			o := &out[i]
			o.Offered += iv.Offered
			o.Answered += iv.Answered
			o.AnsweredInTarget += iv.AnsweredInTarget
			o.Abandoned += iv.Abandoned
			o.Diverted += iv.Diverted
		}
	}
	for i := range out {
		o := &out[i]
		o.ServiceLevel = ratio(o.AnsweredInTarget, o.Answered)
		o.ServiceLevelAbandons = ratio(o.AnsweredInTarget, o.Answered+o.Abandoned)
	}
	return out
}

type intervalJSON struct {
	Start                time.Time `json:"start"`
	Offered              int       `json:"offered"`
	Answered             int       `json:"answered"`
	AnsweredInTarget     int       `json:"answered_in_target"`
	Abandoned            int       `json:"abandoned"`
	Diverted             int       `json:"diverted"`
	ServiceLevel         Ratio     `json:"service_level"`
	ServiceLevelAbandons Ratio     `json:"service_level_with_abandons"`
}

// MarshalJSON writes the interval with the wallboard's names (see QueueStats).
func (iv Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(intervalJSON(iv))
}
