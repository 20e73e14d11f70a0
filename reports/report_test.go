package reports

import (
	"testing"
	"time"

	"hotline/cases"
)

func TestRatioPercent(t *testing.T) {
	for _, tc := range []struct {
		r    Ratio
		want string
	}{
		{Ratio{0, 0}, "-"},
		{Ratio{0, 5}, "0.00%"},
		{Ratio{5, 5}, "100.00%"},
		{Ratio{1, 3}, "33.33%"},
		{Ratio{2, 3}, "66.67%"},
		{Ratio{1, 8}, "12.50%"},
		{Ratio{1, 80000}, "0.00%"}, // 0.00125% rounds down
		{Ratio{1, 40000}, "0.00%"}, // 0.0025% rounds down
		{Ratio{1, 20000}, "0.01%"}, // 0.005% rounds half up
	} {
		if got := tc.r.Percent(); got != tc.want {
			t.Errorf("%v.Percent() = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestPeriods(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for _, tc := range []struct {
		kind       PeriodKind
		in         string
		start, end string
		err        bool
	}{
		{Daily, "2026-11-27", "2026-11-27T00:00:00+08:00", "2026-11-28T00:00:00+08:00", false},
		{Daily, "2026-12-31", "2026-12-31T00:00:00+08:00", "2027-01-01T00:00:00+08:00", false},
		{Monthly, "2026-02", "2026-02-01T00:00:00+08:00", "2026-03-01T00:00:00+08:00", false},
		{Monthly, "2026-12", "2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00", false},
		{Daily, "2026-11-31", "", "", true},
		{Daily, "27/11/2026", "", "", true},
		{Monthly, "2026-13", "", "", true},
		{Monthly, "", "", "", true},
	} {
		var p Period
		var err error
		if tc.kind == Daily {
			p, err = Day(tc.in, loc)
		} else {
			p, err = Month(tc.in, loc)
		}
		if (err != nil) != tc.err {
			t.Errorf("%s %q: err = %v", tc.kind, tc.in, err)
			continue
		}
		if err == nil && (p.Start.Format(time.RFC3339) != tc.start || p.End.Format(time.RFC3339) != tc.end) {
			t.Errorf("%s %q = [%s, %s), want [%s, %s)", tc.kind, tc.in, p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339), tc.start, tc.end)
		}
	}
}

func TestComputeEdges(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	p, _ := Day("2026-11-27", loc)
	h := func(hh int) time.Time { return p.Start.Add(time.Duration(hh) * time.Hour) }
	tp := func(t time.Time) *time.Time { return &t }
	for _, tc := range []struct {
		name  string
		asOf  time.Time
		rows  Rows
		check func(r Report) bool
	}{
		{"empty day: every rate undefined", h(30), Rows{}, func(r Report) bool {
			return r.Received == 0 && !r.AnswerRate.Defined() && !r.ClosureRate.Defined() && !r.OnTimeClosureRate.Defined() &&
				!r.Satisfaction.Defined() && r.AvgAnswerWait == 0 && len(r.Overdue) == 0 && len(r.ByKind) == len(cases.Kinds)
		}},
		{"closed exactly at the due time is late", h(30), Rows{Cases: []CaseRow{{Kind: cases.KindComplaint, ReceivedAt: h(1), DueAt: tp(h(5)), ClosedAt: tp(h(5))}}},
			func(r Report) bool { return r.OnTimeClosureRate == Ratio{0, 1} && r.ClosureRate == Ratio{1, 1} }},
		{"due exactly at as-of is overdue", h(12), Rows{Cases: []CaseRow{{Kind: cases.KindReport, ReceivedAt: h(1), DueAt: tp(h(12))}}},
			func(r Report) bool { return r.OverdueTotal == 1 && r.Overdue[0].Office == Unassigned }},
		{"an invalid call is never overdue nor in the closure rate", h(30), Rows{Cases: []CaseRow{{Kind: cases.KindInvalid, ReceivedAt: h(1), DueAt: tp(h(2))}}},
			func(r Report) bool { return r.OverdueTotal == 0 && !r.ClosureRate.Defined() && r.Received == 1 }},
		{"wait one microsecond over the threshold misses the service level", h(30), Rows{Calls: []CallRow{
			{StartedAt: h(1), QueuedAt: tp(h(1)), AgentAnsweredAt: tp(h(1).Add(20*time.Second + time.Microsecond))}}},
			func(r Report) bool { return r.AnswerRate == Ratio{1, 1} && r.ServiceLevelR == Ratio{0, 1} }},
		{"a call after as-of is not counted yet", h(10), Rows{Calls: []CallRow{{StartedAt: h(11), QueuedAt: tp(h(11)), Outcome: "queue_abandoned"}}},
			func(r Report) bool { return r.InboundCalls == 0 && !r.AbandonRate.Defined() }},
		{"only unreachable surveys: satisfaction undefined", h(30), Rows{Surveys: []SurveyRow{{At: h(3), Result: cases.Unreachable}}},
			func(r Report) bool { return !r.Satisfaction.Defined() && r.Surveys[4] == Count{"unreachable", 1} }},
	} {
		if r := Compute(p, tc.asOf, tc.rows, Options{}); !tc.check(r) {
			t.Errorf("%s: %+v", tc.name, r)
		}
	}
}
