// Package reports computes the hotline's situation reports (情况通报) for a day or a month
// in the centre's time zone: counts of cases by type, channel, goods or service class and
// region; the call figures (answer rate, service level, abandon rate); closure and on-time
// closure; callback satisfaction; losses recovered; and the overdue cases by office.
//
// Every figure comes from PostgreSQL, the system of record (Load), and is computed by a pure
// function of the rows (Compute), so that a test can check the arithmetic on hand-made rows.
// The report is written as CSV (WriteCSV) or as a printable HTML page with inline SVG
// charts (WriteHTML), served to supervisors and admins (Handler) and by `hotline report`.
//
// # Definitions
//
// A period is [Start, End) in the centre's time zone. AsOf is min(End, the time the report
// is made): a report of the current day or month shows the figures so far.
//
//   - Cases received: cases whose received_at is in the period, every kind including
//     invalid calls (无效来电), counted by kind, channel, goods or service class
//     ("unclassified" when empty) and region code.
//   - Calls: inbound calls whose started_at is in the period. A call is offered when the
//     menu handed it to a queue (calls.queued_at set); answered when an agent answered it
//     (calls.agent_answered_at, or the agent_connected entry on its case's trail); abandoned
//     when the caller hung up while waiting (outcome queue_abandoned or
//     emergency_abandoned). Offered calls that are neither (a message left, a callback chosen,
//     a full queue) count in the offered calls only.
//   - Answer rate (接通率) = answered / offered.
//   - Service level = answered within the threshold (agent_answered_at - queued_at <=
//     Options.ServiceLevel, default 20 s) / offered. Abandoned calls count against it
//     whatever their wait.
//   - Abandon rate = abandoned / offered.
//   - Closure rate (办结率) = cases received in the period, other than invalid calls, that
//     were closed before AsOf (cases.closed_at) / cases received in the period, other than
//     invalid calls.
//   - On-time closure rate (限时办结率) = cases closed in the period (closed_at in the
//     period) that have a due time and were closed strictly before it / cases closed in the
//     period that have a due time. Invalid calls never have one.
//   - Callback satisfaction (回访满意率) = surveys in the period whose result is very
//     satisfied or satisfied / surveys in the period that reached the person (every result
//     but unreachable).
//   - Losses recovered (挽回经济损失) = the sum of loss_recovered of the cases closed in the
//     period, in yuan (exact: summed in fen).
//   - Overdue cases by office: cases received before AsOf, not closed at AsOf, with a due
//     time at or before AsOf, other than invalid calls, by handling office ("unassigned"
//     when empty); each with the oldest due time.
//
// A rate whose denominator is zero is shown as "-" (not 0% nor 100%).
package reports

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"hotline/cases"
)

// PeriodKind is a day or a month.
type PeriodKind string

// Period kinds.
const (
	Daily   PeriodKind = "daily"
	Monthly PeriodKind = "monthly"
)

// Period is [Start, End) in the centre's time zone.
type Period struct {
	Kind  PeriodKind
	Start time.Time
	End   time.Time
	// Label is the date (2026-11-27) or month (2026-11) as given.
	Label string
}

// Day returns the period of a date written 2006-01-02, in loc.
func Day(date string, loc *time.Location) (Period, error) {
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return Period{}, fmt.Errorf("date %q: want YYYY-MM-DD, e.g. 2026-11-27", date)
	}
	return Period{Kind: Daily, Start: d, End: d.AddDate(0, 0, 1), Label: d.Format(time.DateOnly)}, nil
}

// Month returns the period of a month written 2006-01, in loc.
func Month(month string, loc *time.Location) (Period, error) {
	m, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		return Period{}, fmt.Errorf("month %q: want YYYY-MM, e.g. 2026-11", month)
	}
	return Period{Kind: Monthly, Start: m, End: m.AddDate(0, 1, 0), Label: m.Format("2006-01")}, nil
}

func (p Period) contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// CaseRow is what a report reads of a case.
type CaseRow struct {
	Number     cases.Number
	Kind       cases.Kind
	Channel    cases.Channel
	Class      string // goods or service class, "" when not classified
	Region     string
	Office     string
	ReceivedAt time.Time
	DueAt      *time.Time // exclusive: on time strictly before
	ClosedAt   *time.Time
	// LossRecoveredFen is the economic loss recovered, in fen (0 when none recorded).
	LossRecoveredFen int64
}

// CallRow is what a report reads of an inbound call.
type CallRow struct {
	Queue           string
	StartedAt       time.Time
	QueuedAt        *time.Time
	AgentAnsweredAt *time.Time
	Outcome         string
}

// SurveyRow is one callback survey.
type SurveyRow struct {
	At     time.Time
	Result cases.Satisfaction
}

// Rows are the records a report is computed from. Load returns exactly those that can count;
// Compute filters again, so rows outside the period do no harm.
type Rows struct {
	Cases   []CaseRow
	Calls   []CallRow
	Surveys []SurveyRow
}

// Abandoned outcomes: the caller hung up while waiting for an agent (callflow's outcomes).
var abandonedOutcomes = []string{"queue_abandoned", "emergency_abandoned"}

// Options tune a report.
type Options struct {
	// ServiceLevel is the answer threshold of the service level. Default 20s.
	ServiceLevel time.Duration
}

// DefaultServiceLevel is the default service level threshold (the common 80/20 target).
const DefaultServiceLevel = 20 * time.Second

// Ratio is a rate kept as its two counts.
type Ratio struct {
	Num int `json:"num"`
	Den int `json:"den"`
}

// Defined reports whether the denominator is not zero.
func (r Ratio) Defined() bool { return r.Den > 0 }

// Percent is the rate in percent with two decimals, rounded half up in integer arithmetic
// ("95.24%"), or "-" when undefined.
func (r Ratio) Percent() string {
	if r.Den <= 0 {
		return "-"
	}
	bp := (r.Num*20000 + r.Den) / (2 * r.Den) // basis points, rounded half up
	return fmt.Sprintf("%d.%02d%%", bp/100, bp%100)
}

// Fraction is the rate as a number in [0, 1] (0 when undefined), for charts.
func (r Ratio) Fraction() float64 {
	if r.Den <= 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Count is one line of a breakdown.
type Count struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// OfficeOverdue is the overdue cases of one office.
type OfficeOverdue struct {
	Office    string    `json:"office"`
	N         int       `json:"n"`
	OldestDue time.Time `json:"oldest_due"`
	Numbers   []string  `json:"numbers"`
}

// DayFigures is one day of a monthly report.
type DayFigures struct {
	Date      string `json:"date"`
	Received  int    `json:"received"`
	Offered   int    `json:"offered"`
	Answered  int    `json:"answered"`
	Abandoned int    `json:"abandoned"`
}

// Report is a situation report.
type Report struct {
	Period       Period
	AsOf         time.Time
	ServiceLevel time.Duration

	Received  int
	ByKind    []Count // every kind, in cases.Kinds order
	ByChannel []Count // every channel, in Channels order
	ByClass   []Count // every class, then "unclassified"
	ByRegion  []Count // regions with cases, by code

	InboundCalls  int
	Offered       int
	Answered      int
	AnsweredInSL  int
	Abandoned     int
	AnswerRate    Ratio
	ServiceLevelR Ratio
	AbandonRate   Ratio
	// AvgAnswerWait is the mean wait of answered calls (0 when none).
	AvgAnswerWait time.Duration

	ClosureRate       Ratio
	ClosedInPeriod    int
	OnTimeClosureRate Ratio

	Surveys      []Count // every result, in cases.Satisfactions order
	Satisfaction Ratio

	LossRecoveredFen int64

	Overdue      []OfficeOverdue // most overdue cases first
	OverdueTotal int

	Days []DayFigures // monthly reports: each day of the month
}

// LossRecovered is the losses recovered in yuan.
func (r Report) LossRecovered() cases.Money { return cases.Fen(r.LossRecoveredFen) }

// Channels lists the case channels in report order.
var Channels = []cases.Channel{cases.ChannelPhone, cases.ChannelVoicemail, cases.ChannelWeb, cases.ChannelSMS,
	cases.ChannelWeChat, cases.ChannelLetter, cases.ChannelVisit, cases.ChannelHandover}

// Unclassified and Unassigned name the empty class and office in breakdowns.
const (
	Unclassified = "unclassified"
	Unassigned   = "unassigned"
)

// Compute makes the report of p as of asOf from rows. It is pure.
func Compute(p Period, asOf time.Time, rows Rows, opt Options) Report {
	if opt.ServiceLevel <= 0 {
		opt.ServiceLevel = DefaultServiceLevel
	}
	if asOf.After(p.End) {
		asOf = p.End
	}
	r := Report{Period: p, AsOf: asOf, ServiceLevel: opt.ServiceLevel}
	loc := p.Start.Location()

	var days map[string]*DayFigures
	if p.Kind == Monthly {
		days = map[string]*DayFigures{}
		for d := p.Start; d.Before(p.End); d = d.AddDate(0, 0, 1) {
			key := d.Format(time.DateOnly)
			r.Days = append(r.Days, DayFigures{Date: key})
		}
		for i := range r.Days {
			days[r.Days[i].Date] = &r.Days[i]
		}
	}
	day := func(t time.Time) *DayFigures {
		if days == nil {
			return &DayFigures{}
		}
		if d, ok := days[t.In(loc).Format(time.DateOnly)]; ok {
			return d
		}
		return &DayFigures{}
	}

	kinds, channels, classes, regions := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	offices := map[string]*OfficeOverdue{}
	for _, c := range rows.Cases {
		closedBy := func(t time.Time) bool { return c.ClosedAt != nil && c.ClosedAt.Before(t) }
		if p.contains(c.ReceivedAt) && c.ReceivedAt.Before(asOf) {
			r.Received++
			day(c.ReceivedAt).Received++
			kinds[string(c.Kind)]++
			channels[string(c.Channel)]++
			classes[cmp.Or(c.Class, Unclassified)]++
			regions[c.Region]++
			if c.Kind != cases.KindInvalid {
				r.ClosureRate.Den++
				if closedBy(asOf) {
					r.ClosureRate.Num++
				}
			}
		}
		if c.ClosedAt != nil && p.contains(*c.ClosedAt) && !c.ClosedAt.After(asOf) {
			r.ClosedInPeriod++
			r.LossRecoveredFen += c.LossRecoveredFen
			if c.DueAt != nil && c.Kind != cases.KindInvalid {
				r.OnTimeClosureRate.Den++
				if c.ClosedAt.Before(*c.DueAt) {
					r.OnTimeClosureRate.Num++
				}
			}
		}
		if c.Kind != cases.KindInvalid && c.ReceivedAt.Before(asOf) && !closedBy(asOf) && c.DueAt != nil && !c.DueAt.After(asOf) {
			office := cmp.Or(c.Office, Unassigned)
			o := offices[office]
			if o == nil {
				o = &OfficeOverdue{Office: office, OldestDue: *c.DueAt}
				offices[office] = o
			}
			o.N++
			o.Numbers = append(o.Numbers, string(c.Number))
			if c.DueAt.Before(o.OldestDue) {
				o.OldestDue = *c.DueAt
			}
			r.OverdueTotal++
		}
	}
	for _, k := range cases.Kinds {
		r.ByKind = append(r.ByKind, Count{Key: string(k), N: kinds[string(k)]})
	}
	for _, ch := range Channels {
		r.ByChannel = append(r.ByChannel, Count{Key: string(ch), N: channels[string(ch)]})
	}
	for _, cl := range append(slices.Clone(cases.GoodsServiceClasses), Unclassified) {
		r.ByClass = append(r.ByClass, Count{Key: cl, N: classes[cl]})
	}
	for reg, n := range regions {
		r.ByRegion = append(r.ByRegion, Count{Key: reg, N: n})
	}
	slices.SortFunc(r.ByRegion, func(a, b Count) int { return cmp.Compare(a.Key, b.Key) })
	for _, o := range offices {
		slices.Sort(o.Numbers)
		r.Overdue = append(r.Overdue, *o)
	}
	slices.SortFunc(r.Overdue, func(a, b OfficeOverdue) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Office, b.Office))
	})

	var waited time.Duration
	for _, k := range rows.Calls {
		if !p.contains(k.StartedAt) || !k.StartedAt.Before(asOf) {
			continue
		}
		r.InboundCalls++
		if k.QueuedAt == nil {
			continue
		}
		d := day(k.StartedAt)
		r.Offered++
		d.Offered++
		switch {
		case k.AgentAnsweredAt != nil:
			r.Answered++
			d.Answered++
			w := k.AgentAnsweredAt.Sub(*k.QueuedAt)
			waited += w
			if w <= opt.ServiceLevel {
				r.AnsweredInSL++
			}
		case slices.Contains(abandonedOutcomes, k.Outcome):
			r.Abandoned++
			d.Abandoned++
		}
	}
	r.AnswerRate = Ratio{r.Answered, r.Offered}
	r.ServiceLevelR = Ratio{r.AnsweredInSL, r.Offered}
	r.AbandonRate = Ratio{r.Abandoned, r.Offered}
	if r.Answered > 0 {
		r.AvgAnswerWait = (waited / time.Duration(r.Answered)).Round(time.Second)
	}

	results := map[cases.Satisfaction]int{}
	for _, s := range rows.Surveys {
		if !p.contains(s.At) || s.At.After(asOf) {
			continue
		}
		results[s.Result]++
		if s.Result != cases.Unreachable {
			r.Satisfaction.Den++
			if s.Result == cases.VerySatisfied || s.Result == cases.Satisfied {
				r.Satisfaction.Num++
			}
		}
	}
	for _, s := range cases.Satisfactions {
		r.Surveys = append(r.Surveys, Count{Key: string(s), N: results[s]})
	}
	return r
}
