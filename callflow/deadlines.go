package callflow

import (
	"errors"
	"fmt"
	"time"

	"hotline/calendar"
	"hotline/calendar/deadline"
	"hotline/cases"
)

// CalendarDeadlines computes due times with the working-day calendar and the statutory rule
// sets.
//
// A case's due time is that of its first statutory step: a complaint's acceptance decision
// (7 working days under the 2019/2022 measures), a report's verification (15). Other kinds
// (consultations, suggestions, opinions, requests for help, invalid calls) have no statutory
// limit: no due time, but the rule set in force is still kept on the case, so that a case
// reclassified later (a consultation that turns out to be a complaint) is counted under the
// rules of its receipt.
//
// A callback is due by the end of the next working day: the voicemail prompt promises the
// caller a call back "on the next working day".
type CalendarDeadlines struct {
	Calendar *calendar.Calendar
	Rules    *deadline.Rules
}

// NewCalendarDeadlines returns deadlines from the shipped calendar and rule sets.
func NewCalendarDeadlines() (CalendarDeadlines, error) {
	cal, err := calendar.Default()
	if err != nil {
		return CalendarDeadlines{}, fmt.Errorf("deadlines: %w", err)
	}
	rules, err := deadline.Shipped()
	if err != nil {
		return CalendarDeadlines{}, fmt.Errorf("deadlines: %w", err)
	}
	return CalendarDeadlines{Calendar: cal, Rules: rules}, nil
}

// firstStep maps a case kind to the statutory step whose clock starts at receipt.
var firstStep = map[cases.Kind]deadline.Step{
	cases.KindComplaint: deadline.ComplaintAccept,
	cases.KindReport:    deadline.ReportVerify,
}

// CaseDue returns the due time of kind's first statutory step, counted from received.
func (d CalendarDeadlines) CaseDue(kind cases.Kind, received time.Time) (Due, error) {
	if d.Calendar == nil || d.Rules == nil {
		return Due{}, errors.New("case due time: calendar or rules not set")
	}
	rs, err := d.Rules.InForce(d.Calendar.DateOf(received))
	if err != nil {
		return Due{}, fmt.Errorf("case due time for %s received %s: %w", kind, received.Format(time.RFC3339), err)
	}
	step, ok := firstStep[kind]
	if !ok {
		return Due{Rule: rs.ID}, nil
	}
	dl, err := rs.Due(d.Calendar, step, deadline.Clock{Start: received})
	if err != nil {
		return Due{Rule: rs.ID, Step: string(step)}, fmt.Errorf("case due time for %s: %w", kind, err)
	}
	at := dl.DueBy
	return Due{At: &at, Rule: rs.ID, Step: string(step)}, nil
}

// maxCallbackScan bounds the search for the next working day (the longest holiday is 9
// days; a calendar without a year's notice fails before this).
const maxCallbackScan = 60

// CallbackDue returns the end of the first working day after received (exclusive bound:
// 00:00 of the day after it).
func (d CalendarDeadlines) CallbackDue(received time.Time) (time.Time, error) {
	if d.Calendar == nil {
		return time.Time{}, errors.New("callback due time: calendar not set")
	}
	day := d.Calendar.DateOf(received)
	for range maxCallbackScan {
		day = day.AddDays(1)
		ok, err := d.Calendar.IsWorkingDay(day)
		if err != nil {
			return time.Time{}, fmt.Errorf("callback due time from %s: %w", received.Format(time.RFC3339), err)
		}
		if ok {
			return day.AddDays(1).Start(d.Calendar.Location()), nil
		}
	}
	return time.Time{}, fmt.Errorf("callback due time from %s: no working day in %d days", received.Format(time.RFC3339), maxCallbackScan)
}
