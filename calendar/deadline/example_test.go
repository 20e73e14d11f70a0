package deadline_test

import (
	"fmt"
	"time"

	"hotline/calendar"
	"hotline/calendar/deadline"
)

// A complaint received on Friday 2026-02-13, the day before the Spring Festival make-up
// Saturday: the rule set in force is kept with the case, and the acceptance decision is due
// by the end of Monday 2026-03-02.
func Example() {
	cal, err := calendar.Default()
	if err != nil {
		panic(err)
	}
	rules, err := deadline.Shipped()
	if err != nil {
		panic(err)
	}
	received := time.Date(2026, 2, 13, 16, 45, 0, 0, cal.Location())
	rs, err := rules.InForce(cal.DateOf(received))
	if err != nil {
		panic(err)
	}
	dl, err := rs.Due(cal, deadline.ComplaintAccept, deadline.Clock{Start: received})
	if err != nil {
		panic(err)
	}
	fmt.Println(rs.ID)
	fmt.Println(dl.DueDate, dl.Days, "working days")
	fmt.Println("late from", dl.DueBy.Format(time.DateTime))
	// Output:
	// samr-2019-am2022
	// 2026-03-02 7 working days
	// late from 2026-03-03 00:00:00
}
