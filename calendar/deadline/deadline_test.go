package deadline_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"hotline/calendar"
	"hotline/calendar/deadline"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func calendars(t *testing.T) (strict, weekends *calendar.Calendar) {
	t.Helper()
	h, err := calendar.ShippedHolidays()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := calendar.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	if strict, err = calendar.New(cfg, h); err != nil {
		t.Fatal(err)
	}
	cfg.UnknownYears = calendar.UnknownYearsWeekends
	if weekends, err = calendar.New(cfg, h); err != nil {
		t.Fatal(err)
	}
	return strict, weekends
}

func shippedSet(t *testing.T) deadline.RuleSet {
	t.Helper()
	rules, err := deadline.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.InForce(date("2026-02-13"))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestDue(t *testing.T) {
	strict, weekends := calendars(t)
	rs := shippedSet(t)
	sameDay := rs
	sameDay.Counting = deadline.SameDay
	tests := []struct {
		name        string
		rs          deadline.RuleSet
		cal         *calendar.Calendar
		step        deadline.Step
		clock       deadline.Clock
		due         string
		provisional bool
	}{
		// The domain notes' example: Feb 14 (make-up Sat), Feb 24-27, Feb 28 (make-up Sat), Mar 2.
		{"worked example", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-02-13 10:00:00")}, "2026-03-02", false},
		{"received one second before midnight", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-02-13 23:59:59")}, "2026-03-02", false},
		// 00:30 in Shanghai is still Feb 13 in UTC: the day is taken in the calendar's zone.
		{"received after midnight, instant in UTC", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: time.Date(2026, 2, 13, 16, 30, 0, 0, time.UTC)}, "2026-03-03", false},
		{"received on a Spring Festival Wednesday", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-02-18 15:00:00")}, "2026-03-03", false},
		// Jan 4 (make-up Sun), Jan 5-9, Jan 12.
		{"New Year, received on the holiday", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-01-02 09:00:00")}, "2026-01-12", false},
		// Counting starts on Jan 1, so the unloaded 2025 is never asked about.
		{"received on New Year's Eve 2025", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2025-12-31 22:00:00")}, "2026-01-12", false},
		// Oct 1-7 off, Oct 8, 9, 10 (make-up Sat), 12-15.
		{"National Day", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-09-30 11:00:00")}, "2026-10-15", false},
		// Sep 20 (make-up Sun), 21-24, Sep 25-27 off, 28, 29.
		{"make-up Sunday before Mid-Autumn", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-09-18 11:00:00")}, "2026-09-29", false},
		// May 1-5 off, May 6-8, May 9 (make-up Sat), May 11-13.
		{"Labour Day", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-04-30 16:00:00")}, "2026-05-13", false},
		// 21 in March, 21 in April (Qingming Apr 6 off), May 6, 7, 8.
		{"mediation, 45 days", rs, strict, deadline.MediationEnd, deadline.Clock{Start: at("2026-03-02 10:00:00")}, "2026-05-08", false},
		// May 9 (make-up Sat), 11-15, 18.
		{"mediation ended, notice", rs, strict, deadline.MediationEndNotice, deadline.Clock{Start: at("2026-05-08 10:00:00")}, "2026-05-18", false},
		// Jun 19 (Dragon Boat) off.
		{"report verification, 15 days", rs, strict, deadline.ReportVerify, deadline.Clock{Start: at("2026-06-01 10:00:00")}, "2026-06-23", false},
		{"report verification, extended to 30", rs, strict, deadline.ReportVerify, deadline.Clock{Start: at("2026-06-01 10:00:00"), Extended: true}, "2026-07-14", false},
		{"extension on a step without one", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-02-13 10:00:00"), Extended: true}, "2026-03-02", false},
		{"real-name reporter, 5 days", rs, strict, deadline.ReportNotice, deadline.Clock{Start: at("2026-05-08 10:00:00")}, "2026-05-14", false},
		{"same-day counting", sameDay, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-02-13 10:00:00")}, "2026-02-28", false},
		{"same-day counting, received on a rest day", sameDay, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-01 10:00:00")}, "2026-03-10", false},
		// Dec 25, 28-31, then 2027 with assumed plain weekends: Jan 1 (Fri), Jan 4.
		{"into 2027 assuming weekends", rs, weekends, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-12-24 10:00:00")}, "2027-01-04", true},
		{"before 2027, weekends policy, not provisional", rs, weekends, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-12-10 10:00:00")}, "2026-12-21", false},

		// Pauses. Without one: Mar 9-13, 16, 17.
		{"no pause", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00")}, "2026-03-17", false},
		{"pause touching Mar 10, 11, 12", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"),
			Pauses: []deadline.Pause{{Start: at("2026-03-10 15:00:00"), End: at("2026-03-12 09:00:00")}}}, "2026-03-20", false},
		{"pause over a weekend only, ending at midnight", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"),
			Pauses: []deadline.Pause{{Start: at("2026-03-14 00:00:00"), End: at("2026-03-16 00:00:00")}}}, "2026-03-17", false},
		{"two pauses", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"),
			Pauses: []deadline.Pause{{Start: at("2026-03-09 08:00:00"), End: at("2026-03-09 09:00:00")}, {Start: at("2026-03-17 10:00:00"), End: at("2026-03-18 10:00:00")}}}, "2026-03-20", false},
		{"empty pause", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"),
			Pauses: []deadline.Pause{{Start: at("2026-03-10 15:00:00"), End: at("2026-03-10 15:00:00")}}}, "2026-03-17", false},
		{"open pause after the due day", rs, strict, deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"),
			Pauses: []deadline.Pause{{Start: at("2026-03-18 09:00:00")}}}, "2026-03-17", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rs.Due(tt.cal, tt.step, tt.clock)
			if err != nil {
				t.Fatal(err)
			}
			want := date(tt.due)
			if got.DueDate != want || got.Provisional != tt.provisional {
				t.Errorf("due %s provisional=%v, want %s provisional=%v", got.DueDate, got.Provisional, want, tt.provisional)
			}
			// Due at the end of the due day: on time through 23:59:59.999..., late at 00:00.
			if end := want.AddDays(1).Start(shanghai); !got.DueBy.Equal(end) || got.Overdue(end.Add(-time.Nanosecond)) || !got.Overdue(end) {
				t.Errorf("DueBy = %s, want %s as an exclusive bound", got.DueBy, end)
			}
			if got.RuleSet != tt.rs.ID || got.Step != tt.step {
				t.Errorf("deadline names %s/%s", got.RuleSet, got.Step)
			}
		})
	}
}

func TestDueErrors(t *testing.T) {
	strict, _ := calendars(t)
	rs := shippedSet(t)
	tests := []struct {
		name  string
		step  deadline.Step
		clock deadline.Clock
		is    error
		want  string
	}{
		{"into an unloaded year", deadline.ComplaintAccept, deadline.Clock{Start: at("2026-12-24 10:00:00")}, calendar.ErrYearNotLoaded, "2027-01-01"},
		{"open pause", deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"), Pauses: []deadline.Pause{{Start: at("2026-03-11 09:00:00")}}}, deadline.ErrStopped, "2026-03-11"},
		{"pause ends before it starts", deadline.ComplaintAccept, deadline.Clock{Start: at("2026-03-06 10:00:00"), Pauses: []deadline.Pause{{Start: at("2026-03-11 09:00:00"), End: at("2026-03-10 09:00:00")}}}, nil, "pause 0"},
		{"no start", deadline.ComplaintAccept, deadline.Clock{}, nil, "no start time"},
		{"unknown step", deadline.Step("appeal"), deadline.Clock{Start: at("2026-03-06 10:00:00")}, nil, `no limit for step "appeal"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rs.Due(strict, tt.step, tt.clock)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("err = %v, want %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}

func TestShippedRules(t *testing.T) {
	rs := shippedSet(t)
	want := map[deadline.Step][2]int{
		deadline.ComplaintAccept:    {7, 0},
		deadline.MediationEnd:       {45, 0},
		deadline.MediationEndNotice: {7, 0},
		deadline.ReportVerify:       {15, 15},
		deadline.ReportNotice:       {5, 0},
	}
	if rs.ID != "samr-2019-am2022" || rs.Counting != deadline.NextWorkingDay || len(rs.Limits) != len(want) {
		t.Fatalf("shipped set %s %s with %d limits", rs.ID, rs.Counting, len(rs.Limits))
	}
	for step, w := range want {
		l, err := rs.Limit(step)
		if err != nil {
			t.Fatal(err)
		}
		if l.Days != w[0] || l.Extension != w[1] || l.What == "" {
			t.Errorf("%s: %d+%d %q, want %d+%d", step, l.Days, l.Extension, l.What, w[0], w[1])
		}
	}
	if l, _ := rs.Limit(deadline.MediationEnd); l.From != deadline.Accepted {
		t.Errorf("mediation starts from %s, want accepted", l.From)
	}
}

const setA = `id: a
name: old rules
effective: 2022-05-01
counting: next_working_day
limits:
  complaint_accept: {from: received, days: 7}
`

// setB is a made-up replacement with a longer limit, to show that the set is chosen by
// the date of receipt.
const setB = `id: b
name: new rules
effective: 2026-07-01
counting: next_working_day
limits:
  complaint_accept: {from: received, days: 10}
`

func TestRuleSetByEffectiveDate(t *testing.T) {
	strict, _ := calendars(t)
	rules, err := deadline.LoadRules(fstest.MapFS{"r/a.yaml": {Data: []byte(setA)}, "r/b.yaml": {Data: []byte(setB)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		received string
		id       string
		due      string
	}{
		// Jul 1-3, 6-9 under a's 7 days; Jul 1-3, 6-10, 13, 14 under b's 10.
		{"2026-06-30 23:00:00", "a", "2026-07-09"},
		{"2026-07-01 08:00:00", "b", "2026-07-15"},
		{"2022-05-01 00:00:00", "a", "2022-05-10"},
	}
	for _, tt := range tests {
		t.Run(tt.received, func(t *testing.T) {
			received := at(tt.received)
			rs, err := rules.InForce(strict.DateOf(received))
			if err != nil {
				t.Fatal(err)
			}
			if rs.ID != tt.id {
				t.Fatalf("in force: %s, want %s", rs.ID, tt.id)
			}
			// A case keeps its set: it is found again by id, after b took effect.
			kept, err := rules.ByID(rs.ID)
			if err != nil {
				t.Fatal(err)
			}
			dl, err := kept.Due(strict, deadline.ComplaintAccept, deadline.Clock{Start: received})
			if tt.received[:4] == "2022" {
				// 2022's holidays are not loaded: the strict calendar refuses.
				if !errors.Is(err, calendar.ErrYearNotLoaded) {
					t.Errorf("err = %v, want ErrYearNotLoaded", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dl.DueDate != date(tt.due) {
				t.Errorf("due %s, want %s", dl.DueDate, tt.due)
			}
		})
	}
	if _, err := rules.InForce(date("2022-04-30")); !errors.Is(err, deadline.ErrNoRuleSet) {
		t.Errorf("before any set: err = %v, want ErrNoRuleSet", err)
	}
	if _, err := rules.ByID("c"); !errors.Is(err, deadline.ErrNoRuleSet) {
		t.Errorf("unknown id: err = %v, want ErrNoRuleSet", err)
	}
	if all := rules.All(); len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" {
		t.Errorf("All = %v", all)
	}
}

func TestParseRuleSetErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown step", strings.Replace(setA, "complaint_accept:", "complaint_acept:", 1), `r/a.yaml:6: limits: unknown step "complaint_acept"`},
		{"unknown from", strings.Replace(setA, "from: received", "from: receipt", 1), `r/a.yaml:6: limits.complaint_accept.from "receipt"`},
		{"zero days", strings.Replace(setA, "days: 7", "days: 0", 1), "r/a.yaml:6: limits.complaint_accept.days"},
		{"days not a number", strings.Replace(setA, "days: 7", "days: seven", 1), "r/a.yaml: yaml: unmarshal errors"},
		{"negative extension", strings.Replace(setA, "days: 7", "days: 7, extension: -1", 1), "extension: must not be negative"},
		{"bad counting", strings.Replace(setA, "next_working_day", "calendar_days", 1), `r/a.yaml:4: counting "calendar_days"`},
		{"bad effective", strings.Replace(setA, "2022-05-01", "2022-13-01", 1), "r/a.yaml:3: effective"},
		{"no effective", strings.Replace(setA, "effective: 2022-05-01\n", "", 1), "effective is missing"},
		{"no id", strings.Replace(setA, "id: a\n", "", 1), "id is missing"},
		{"unknown key", setA + "notes: x\n", "field notes not found"},
		{"no limits", strings.Split(setA, "limits:")[0], "limits: none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deadline.ParseRuleSet("r/a.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadRulesConflicts(t *testing.T) {
	sameID := strings.Replace(setB, "id: b", "id: a", 1)
	sameDay := strings.Replace(setB, "2026-07-01", "2022-05-01", 1)
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"same id", fstest.MapFS{"r/a.yaml": {Data: []byte(setA)}, "r/b.yaml": {Data: []byte(sameID)}}, "id a is used twice"},
		{"same effective date", fstest.MapFS{"r/a.yaml": {Data: []byte(setA)}, "r/b.yaml": {Data: []byte(sameDay)}}, "both take effect on 2022-05-01"},
		{"no sets", fstest.MapFS{}, "no deadline rule set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deadline.LoadRules(tt.files, "r")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
