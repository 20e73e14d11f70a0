package deadline

import (
	"errors"
	"fmt"
	"time"

	"hotline/calendar"
)

// ErrStopped is returned while a pause that the count reaches is still open: the due time
// is unknown until the clock runs again.
var ErrStopped = errors.New("clock stopped")

// Pause is a stretch of time that does not count (testing, inspection, appraisal), from
// Start up to End. A zero End is a pause still going on.
type Pause struct {
	Start, End time.Time
}

// Clock is what a deadline is counted from.
type Clock struct {
	// Start is the moment of the step's start event (Limit.From), e.g. the complaint's receipt.
	Start time.Time
	// Pauses stop the clock: a working day does not count if any moment of it lies in a
	// pause, since the file was out for testing that day.
	Pauses []Pause
	// Extended adds the limit's approved extension.
	Extended bool
}

// Deadline is when a step is due.
type Deadline struct {
	RuleSet string
	Step    Step
	// Days is the number of working days counted (with the extension, when granted).
	Days int
	// DueDate is the last day of the limit: the step is due by the end of that day.
	DueDate calendar.Date
	// DueBy is the first instant after DueDate in the calendar's zone (00:00 of the next
	// day): the step is on time strictly before DueBy. An exclusive bound avoids the
	// 23:59:59.999 rounding question.
	DueBy time.Time
	// Provisional is set when the count crossed a year whose holidays are not loaded and
	// plain weekends were assumed: recompute once that year's notice is added.
	Provisional bool
}

// Overdue reports whether the step is late at now.
func (d Deadline) Overdue(now time.Time) bool { return !now.Before(d.DueBy) }

// maxScanDays bounds the count so that a pause with a wrong end cannot loop for ever.
const maxScanDays = 3660

// Due computes step's deadline under rs with the working days of cal.
func (rs RuleSet) Due(cal *calendar.Calendar, step Step, c Clock) (Deadline, error) {
	l, err := rs.Limit(step)
	if err != nil {
		return Deadline{}, err
	}
	if c.Start.IsZero() {
		return Deadline{}, fmt.Errorf("deadline %s: no start time", step)
	}
	for i, p := range c.Pauses {
		if p.Start.IsZero() || (!p.End.IsZero() && p.End.Before(p.Start)) {
			return Deadline{}, fmt.Errorf("deadline %s: pause %d (%s to %s): start must be set and not after end", step, i, p.Start, p.End)
		}
	}
	loc := cal.Location()
	want := l.Days
	if c.Extended {
		want += l.Extension
	}
	dl := Deadline{RuleSet: rs.ID, Step: step, Days: want}
	d := cal.DateOf(c.Start)
	if rs.Counting == NextWorkingDay {
		d = d.AddDays(1)
	}
	counted := 0
	for range maxScanDays {
		day, err := cal.Day(d)
		if err != nil {
			return Deadline{}, fmt.Errorf("deadline %s of rule set %s from %s: %w", step, rs.ID, c.Start.In(loc).Format(time.DateTime), err)
		}
		dl.Provisional = dl.Provisional || day.Assumed
		if day.Kind.Working() {
			paused, open := pausedOn(c.Pauses, d.Start(loc), d.AddDays(1).Start(loc))
			if open {
				return Deadline{}, fmt.Errorf("deadline %s: %w on %s by a pause with no end", step, ErrStopped, d)
			}
			if !paused {
				counted++
				if counted == want {
					dl.DueDate = d
					dl.DueBy = d.AddDays(1).Start(loc)
					return dl, nil
				}
			}
		}
		d = d.AddDays(1)
	}
	return Deadline{}, fmt.Errorf("deadline %s: fewer than %d working days in the %d days after %s", step, want, maxScanDays, c.Start)
}

// pausedOn reports whether a pause covers any part of [from, to), and whether such a pause
// is still open.
func pausedOn(ps []Pause, from, to time.Time) (paused, open bool) {
	for _, p := range ps {
		if !p.Start.Before(to) {
			continue
		}
		if p.End.IsZero() {
			return true, true
		}
		if p.End.After(from) && p.End.After(p.Start) {
			paused = true
		}
	}
	return paused, false
}
