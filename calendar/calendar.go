package calendar

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"hotline/calendar/data"
	"hotline/calendar/internal/yamldoc"
)

// Config is the calendar's settings: data/hours.yaml documents each field and holds the
// defaults.
type Config struct {
	// TimeZone is an IANA zone name, Asia/Shanghai by default.
	TimeZone string `yaml:"time_zone"`
	// UnknownYears is "error" (the default) or "weekends": see Calendar.Day.
	UnknownYears string `yaml:"unknown_years"`
	// Hours maps monday..sunday, makeup and holiday to "HH:MM-HH:MM" ranges.
	Hours map[string][]string `yaml:"hours"`
}

// Unknown-year policies.
const (
	UnknownYearsError    = "error"
	UnknownYearsWeekends = "weekends"
)

// Hours keys besides the weekday names.
const (
	HoursMakeup  = "makeup"
	HoursHoliday = "holiday"
)

// ParseConfig parses a calendar settings file; name is used in errors. The result is
// checked by New.
func ParseConfig(name string, src []byte) (Config, error) {
	var c Config
	if err := yamldoc.Decode(name, src, &c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// DefaultConfig returns the settings embedded in the binary (data/hours.yaml).
func DefaultConfig() (Config, error) {
	src, err := data.FS.ReadFile("hours.yaml")
	if err != nil {
		return Config{}, fmt.Errorf("embedded calendar settings: %w", err)
	}
	return ParseConfig("calendar/data/hours.yaml", src)
}

// span is an opening range on one day, in minutes after midnight, end exclusive.
type span struct{ start, end int }

// Slots of Calendar.hours: time.Sunday..time.Saturday, then these.
const (
	slotMakeup  = 7
	slotHoliday = 8
	slots       = 9
)

var slotNames = [slots]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", HoursMakeup, HoursHoliday}

// Calendar answers working-day and opening-hours questions in one time zone. It is
// immutable and safe for concurrent use.
type Calendar struct {
	loc            *time.Location
	holidays       *Holidays
	assumeWeekends bool
	hours          [slots][]span
}

// New checks cfg and returns its calendar over the given holidays.
func New(cfg Config, h *Holidays) (*Calendar, error) {
	if h == nil {
		return nil, fmt.Errorf("calendar: no holidays")
	}
	tz := cfg.TimeZone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("calendar time_zone %q: %w", tz, err)
	}
	c := &Calendar{loc: loc, holidays: h}
	switch cfg.UnknownYears {
	case "", UnknownYearsError:
	case UnknownYearsWeekends:
		c.assumeWeekends = true
	default:
		return nil, fmt.Errorf("calendar unknown_years %q: want %q or %q", cfg.UnknownYears, UnknownYearsError, UnknownYearsWeekends)
	}
	for key := range cfg.Hours {
		if !slices.Contains(slotNames[:], key) {
			return nil, fmt.Errorf("calendar hours.%s: unknown key; want one of %s", key, strings.Join(slotNames[:], ", "))
		}
	}
	anyHours := false
	for i, key := range slotNames {
		ranges, ok := cfg.Hours[key]
		if !ok {
			// A forgotten day must not silently become a closed day.
			return nil, fmt.Errorf("calendar hours.%s: missing; write [] for a day with no hours", key)
		}
		for j, r := range ranges {
			s, err := parseSpan(r)
			if err != nil {
				return nil, fmt.Errorf("calendar hours.%s[%d]: %w", key, j, err)
			}
			if j > 0 && s.start < c.hours[i][j-1].end {
				return nil, fmt.Errorf("calendar hours.%s[%d]: %q starts before the previous range ends; list ranges in order without overlap", key, j, r)
			}
			c.hours[i] = append(c.hours[i], s)
			anyHours = true
		}
	}
	if !anyHours {
		return nil, fmt.Errorf("calendar hours: no opening hours on any day")
	}
	return c, nil
}

// Default returns the calendar built from the embedded settings and holidays.
func Default() (*Calendar, error) {
	cfg, err := DefaultConfig()
	if err != nil {
		return nil, err
	}
	h, err := ShippedHolidays()
	if err != nil {
		return nil, fmt.Errorf("embedded calendar data: %w", err)
	}
	return New(cfg, h)
}

// parseSpan parses "HH:MM-HH:MM"; the end may be 24:00.
func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("%q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(a, false)
	if err != nil {
		return span{}, fmt.Errorf("%q: start: %w", s, err)
	}
	end, err := parseClock(b, true)
	if err != nil {
		return span{}, fmt.Errorf("%q: end: %w", s, err)
	}
	if end <= start {
		return span{}, fmt.Errorf("%q: end must be after start (a night range is two ranges, one per day)", s)
	}
	return span{start, end}, nil
}

func parseClock(s string, end bool) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	if m < 0 || m > 59 || h < 0 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, fmt.Errorf("%q: no such time of day", s)
	}
	return h*60 + m, nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Holidays returns the holidays the calendar uses.
func (c *Calendar) Holidays() *Holidays { return c.holidays }

// DateOf returns the date of t in the calendar's time zone.
func (c *Calendar) DateOf(t time.Time) Date { return DateOf(t.In(c.loc)) }

// Day returns what kind of day d is. For a year whose holidays are not loaded it returns an
// error wrapping ErrYearNotLoaded, or, when the calendar assumes weekends for such years, the
// weekday's kind marked Assumed.
func (c *Calendar) Day(d Date) (Day, error) {
	if day, ok := c.holidays.Lookup(d); ok {
		return day, nil
	}
	if c.assumeWeekends {
		day := plainDay(d)
		day.Assumed = true
		return day, nil
	}
	return Day{}, fmt.Errorf("%s: %w (loaded: %v); add calendar/data/holidays/%d.yaml from the State Council's notice", d, ErrYearNotLoaded, c.holidays.Years(), d.Year)
}

// IsWorkingDay reports whether d is a working day: Monday to Friday outside public holidays,
// and make-up weekend days. The error is Day's.
func (c *Calendar) IsWorkingDay(d Date) (bool, error) {
	day, err := c.Day(d)
	if err != nil {
		return false, err
	}
	return day.Kind.Working(), nil
}

// Mode is how the line answers at a moment.
type Mode int

// Modes.
const (
	// Open: within opening hours.
	Open Mode = iota + 1
	// ClosedNight: outside opening hours on a working day.
	ClosedNight
	// ClosedHoliday: outside opening hours on a rest day (a weekend or a public holiday).
	ClosedHoliday
)

// String returns the mode's name: open, closed-night or closed-holiday.
func (m Mode) String() string {
	switch m {
	case Open:
		return "open"
	case ClosedNight:
		return "closed-night"
	case ClosedHoliday:
		return "closed-holiday"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// hoursDay is Day for opening hours: it never fails, because the line must keep answering
// when next year's notice is late; an unknown year's day is the weekday's.
func (c *Calendar) hoursDay(d Date) Day {
	if day, ok := c.holidays.Lookup(d); ok {
		return day
	}
	day := plainDay(d)
	day.Assumed = true
	return day
}

func (c *Calendar) spans(day Day) []span {
	switch day.Kind {
	case Makeup:
		return c.hours[slotMakeup]
	case Holiday:
		return c.hours[slotHoliday]
	}
	return c.hours[day.Date.Weekday()]
}

// bounds returns the instants where s opens and closes on d.
func (c *Calendar) bounds(d Date, s span) (time.Time, time.Time) {
	at := func(min int) time.Time { return time.Date(d.Year, d.Month, d.Day, min/60, min%60, 0, 0, c.loc) }
	return at(s.start), at(s.end)
}

// IsHoliday reports whether t falls on a public holiday (not an ordinary weekend). A date of
// a year whose holidays are not loaded is not a holiday: see hoursDay.
func (c *Calendar) IsHoliday(t time.Time) bool {
	return c.hoursDay(c.DateOf(t)).Kind == Holiday
}

// IsOpen reports whether t is within opening hours.
func (c *Calendar) IsOpen(t time.Time) bool { return c.Mode(t) == Open }

// Mode returns how the line answers at t. Closed on a working day is night mode, closed on
// a rest day is holiday mode.
func (c *Calendar) Mode(t time.Time) Mode {
	day := c.hoursDay(c.DateOf(t))
	for _, s := range c.spans(day) {
		if from, to := c.bounds(day.Date, s); !t.Before(from) && t.Before(to) {
			return Open
		}
	}
	if day.Kind.Working() {
		return ClosedNight
	}
	return ClosedHoliday
}

// nextOpenHorizon bounds NextOpen's search; every weekday pattern repeats within a week, so
// only hours that exist on make-up days or holidays alone can need long.
const nextOpenHorizon = 400

// NextOpen returns the first instant at or after t within opening hours: t itself when the
// line is open at t.
func (c *Calendar) NextOpen(t time.Time) (time.Time, error) {
	first := c.DateOf(t)
	for i := range nextOpenHorizon {
		day := c.hoursDay(first.AddDays(i))
		for _, s := range c.spans(day) {
			from, to := c.bounds(day.Date, s)
			if !to.After(t) {
				continue
			}
			if from.After(t) {
				return from.In(c.loc), nil
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("calendar: no opening hours within %d days of %s", nextOpenHorizon, t.In(c.loc).Format(time.DateTime))
}
