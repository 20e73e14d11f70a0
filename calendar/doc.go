// Package calendar answers when the hotline is open and which days are working days.
//
// Working days follow the State Council's yearly holiday notice, make-up working weekends
// (调休) included: a make-up Saturday is a working day, a Wednesday inside a holiday is not.
// The notices are data, one YAML file per year under data/holidays, embedded in the binary.
// The State Council publishes next year's notice in November or December: until its file is
// added (2027.yaml is the next one), a date of that year is an error (ErrYearNotLoaded) unless
// the calendar is configured to assume plain weekends for it. Opening hours never fail: they
// fall back to the weekday's hours, because the line must keep answering.
package calendar
