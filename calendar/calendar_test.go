package calendar_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"hotline/calendar"
	"hotline/ivr"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// at parses a local time in Shanghai.
func at(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func defaultCalendar(t *testing.T) *calendar.Calendar {
	t.Helper()
	c, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func withHours(t *testing.T, mutate func(*calendar.Config)) *calendar.Calendar {
	t.Helper()
	cfg, err := calendar.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	mutate(&cfg)
	h, err := calendar.ShippedHolidays()
	if err != nil {
		t.Fatal(err)
	}
	c, err := calendar.New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDay2026(t *testing.T) {
	c := defaultCalendar(t)
	tests := []struct {
		date    string
		kind    calendar.Kind
		holiday string
	}{
		{"2026-01-01", calendar.Holiday, "New Year's Day"},
		{"2026-01-03", calendar.Holiday, "New Year's Day"}, // a Saturday inside the holiday
		{"2026-01-04", calendar.Makeup, "New Year's Day"},  // a make-up Sunday
		{"2026-01-05", calendar.Workday, ""},
		{"2026-01-10", calendar.Weekend, ""},
		{"2026-02-13", calendar.Workday, ""},
		{"2026-02-14", calendar.Makeup, "Spring Festival"},
		{"2026-02-15", calendar.Holiday, "Spring Festival"},
		{"2026-02-18", calendar.Holiday, "Spring Festival"}, // a Wednesday off
		{"2026-02-23", calendar.Holiday, "Spring Festival"},
		{"2026-02-24", calendar.Workday, ""},
		{"2026-02-28", calendar.Makeup, "Spring Festival"},
		{"2026-03-01", calendar.Weekend, ""},
		{"2026-04-06", calendar.Holiday, "Qingming Festival"},
		{"2026-05-05", calendar.Holiday, "Labour Day"},
		{"2026-05-09", calendar.Makeup, "Labour Day"},
		{"2026-05-10", calendar.Weekend, ""},
		{"2026-06-19", calendar.Holiday, "Dragon Boat Festival"},
		{"2026-09-20", calendar.Makeup, "National Day"},
		{"2026-09-25", calendar.Holiday, "Mid-Autumn Festival"},
		{"2026-10-07", calendar.Holiday, "National Day"},
		{"2026-10-08", calendar.Workday, ""},
		{"2026-10-10", calendar.Makeup, "National Day"},
		{"2026-10-11", calendar.Weekend, ""},
		{"2026-12-31", calendar.Workday, ""},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			day, err := c.Day(date(tt.date))
			if err != nil {
				t.Fatal(err)
			}
			if day.Kind != tt.kind || day.Holiday != tt.holiday || day.Assumed {
				t.Errorf("Day = %v %q assumed=%v, want %v %q", day.Kind, day.Holiday, day.Assumed, tt.kind, tt.holiday)
			}
			working, err := c.IsWorkingDay(date(tt.date))
			if err != nil || working != (tt.kind == calendar.Workday || tt.kind == calendar.Makeup) {
				t.Errorf("IsWorkingDay = %v, %v", working, err)
			}
		})
	}
}

// 2026 has 261 weekdays; 19 of them are holidays and 6 weekend days are made working days.
func TestWorkingDaysIn2026(t *testing.T) {
	c := defaultCalendar(t)
	n := 0
	for d := date("2026-01-01"); d.Year == 2026; d = d.AddDays(1) {
		ok, err := c.IsWorkingDay(d)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			n++
		}
	}
	if n != 248 {
		t.Errorf("working days in 2026 = %d, want 248", n)
	}
}

func TestUnknownYear(t *testing.T) {
	strict := defaultCalendar(t)
	lenient := withHours(t, func(c *calendar.Config) { c.UnknownYears = calendar.UnknownYearsWeekends })
	tests := []struct {
		date    string
		working bool
		kind    calendar.Kind
	}{
		{"2025-12-31", true, calendar.Workday},
		{"2027-01-01", true, calendar.Workday}, // surely a holiday: that is why strict refuses
		{"2027-01-02", false, calendar.Weekend},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			_, err := strict.IsWorkingDay(date(tt.date))
			if !errors.Is(err, calendar.ErrYearNotLoaded) {
				t.Fatalf("strict: err = %v, want ErrYearNotLoaded", err)
			}
			if !strings.Contains(err.Error(), tt.date) || !strings.Contains(err.Error(), tt.date[:4]+".yaml") {
				t.Errorf("strict: error %q should name the date and the file to add", err)
			}
			day, err := lenient.Day(date(tt.date))
			if err != nil {
				t.Fatal(err)
			}
			if !day.Assumed || day.Kind != tt.kind || day.Kind.Working() != tt.working {
				t.Errorf("weekends policy: %+v, want assumed %v", day, tt.kind)
			}
		})
	}
	if got := strict.Holidays().Years(); len(got) != 1 || got[0] != 2026 {
		t.Errorf("Years = %v, want [2026]", got)
	}
}

func TestMode(t *testing.T) {
	c := defaultCalendar(t)
	tests := []struct {
		name string
		t    time.Time
		want calendar.Mode
	}{
		{"workday before hours", at("2026-03-02 07:59:59"), calendar.ClosedNight},
		{"workday opening", at("2026-03-02 08:00:00"), calendar.Open},
		{"workday last second", at("2026-03-02 19:59:59"), calendar.Open},
		{"workday closing", at("2026-03-02 20:00:00"), calendar.ClosedNight},
		{"late at night", at("2026-03-02 23:30:00"), calendar.ClosedNight},
		{"Saturday morning range", at("2026-03-07 11:59:00"), calendar.Open},
		{"Saturday lunch gap", at("2026-03-07 12:30:00"), calendar.ClosedHoliday},
		{"Saturday afternoon range", at("2026-03-07 13:30:00"), calendar.Open},
		{"Saturday evening", at("2026-03-07 18:00:00"), calendar.ClosedHoliday},
		{"make-up Saturday uses working hours", at("2026-02-14 08:30:00"), calendar.Open},
		{"make-up Saturday evening", at("2026-02-14 19:00:00"), calendar.Open},
		{"make-up Saturday night", at("2026-02-14 21:00:00"), calendar.ClosedNight},
		{"Wednesday in Spring Festival", at("2026-02-18 10:00:00"), calendar.ClosedHoliday},
		{"Saturday in Spring Festival", at("2026-02-21 10:00:00"), calendar.ClosedHoliday},
		{"make-up Sunday before National Day", at("2026-09-20 19:00:00"), calendar.Open},
		// Opening hours never fail on a year with no holiday file: the weekday decides.
		{"unknown year Friday", at("2027-01-01 10:00:00"), calendar.Open},
		{"unknown year Saturday", at("2027-01-02 18:00:00"), calendar.ClosedHoliday},
		// The instant is read in the calendar's zone, whatever zone it carries.
		{"UTC instant, 08:30 in Shanghai", time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC), calendar.Open},
		{"UTC instant, 04:00 in Shanghai", time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC), calendar.ClosedNight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Mode(tt.t); got != tt.want {
				t.Errorf("Mode(%s) = %v, want %v", tt.t, got, tt.want)
			}
			if got := c.IsOpen(tt.t); got != (tt.want == calendar.Open) {
				t.Errorf("IsOpen(%s) = %v", tt.t, got)
			}
		})
	}
}

func TestModeOtherZone(t *testing.T) {
	// 07:30 in Shanghai is 05:30 in Urumqi: open in one zone, night in the other.
	instant := at("2026-03-02 08:30:00")
	urumqi := withHours(t, func(c *calendar.Config) { c.TimeZone = "Asia/Urumqi" })
	if got := urumqi.Mode(instant); got != calendar.ClosedNight {
		t.Errorf("Urumqi Mode = %v, want closed-night", got)
	}
	if got := defaultCalendar(t).Mode(instant); got != calendar.Open {
		t.Errorf("Shanghai Mode = %v, want open", got)
	}
}

func TestNextOpen(t *testing.T) {
	c := defaultCalendar(t)
	allDay := withHours(t, func(c *calendar.Config) {
		for k := range c.Hours {
			c.Hours[k] = []string{"00:00-24:00"}
		}
	})
	holidayOnly := withHours(t, func(c *calendar.Config) {
		for k := range c.Hours {
			c.Hours[k] = nil
		}
		c.Hours[calendar.HoursHoliday] = []string{"10:00-11:00"}
	})
	tests := []struct {
		name string
		cal  *calendar.Calendar
		t    time.Time
		want time.Time
	}{
		{"open now", c, at("2026-03-02 09:15:00"), at("2026-03-02 09:15:00")},
		{"Friday night to make-up Saturday", c, at("2026-02-13 21:00:00"), at("2026-02-14 08:00:00")},
		{"make-up Saturday night across the holiday", c, at("2026-02-14 20:00:00"), at("2026-02-24 08:00:00")},
		{"lunch gap", c, at("2026-03-07 12:00:00"), at("2026-03-07 13:30:00")},
		{"early morning", c, at("2026-03-03 00:00:00"), at("2026-03-03 08:00:00")},
		{"into an unknown year", c, at("2026-12-31 20:00:00"), at("2027-01-01 08:00:00")},
		{"always open", allDay, at("2026-02-18 03:00:00"), at("2026-02-18 03:00:00")},
		{"holiday hours only", holidayOnly, at("2026-02-14 12:00:00"), at("2026-02-15 10:00:00")},
		{"result in the calendar's zone", c, time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC), at("2026-03-02 08:00:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cal.NextOpen(tt.t)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("NextOpen(%s) = %s, want %s", tt.t, got, tt.want)
			}
			if !tt.cal.IsOpen(got) {
				t.Errorf("not open at NextOpen's answer %s", got)
			}
		})
	}
	// No holiday after National Day is loaded, so holiday-only hours never come again.
	if _, err := holidayOnly.NextOpen(at("2026-10-08 00:00:00")); err == nil {
		t.Error("NextOpen with no hours ahead: want an error")
	}
}

func TestConfigErrors(t *testing.T) {
	h, err := calendar.ShippedHolidays()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*calendar.Config)
		want   string
	}{
		{"bad zone", func(c *calendar.Config) { c.TimeZone = "Mars/Olympus" }, `time_zone "Mars/Olympus"`},
		{"bad policy", func(c *calendar.Config) { c.UnknownYears = "guess" }, `unknown_years "guess"`},
		{"unknown day", func(c *calendar.Config) { c.Hours["mondays"] = nil }, "hours.mondays: unknown key"},
		{"missing day", func(c *calendar.Config) { delete(c.Hours, "sunday") }, "hours.sunday: missing"},
		{"no dash", func(c *calendar.Config) { c.Hours["monday"] = []string{"08:00"} }, "hours.monday[0]"},
		{"end before start", func(c *calendar.Config) { c.Hours["monday"] = []string{"20:00-08:00"} }, "end must be after start"},
		{"bad minute", func(c *calendar.Config) { c.Hours["friday"] = []string{"08:60-09:00"} }, "hours.friday[0]"},
		{"24:00 start", func(c *calendar.Config) { c.Hours["friday"] = []string{"24:00-24:00"} }, "no such time"},
		{"one digit", func(c *calendar.Config) { c.Hours["friday"] = []string{"8:00-20:00"} }, "want HH:MM"},
		{"overlap", func(c *calendar.Config) { c.Hours["saturday"] = []string{"09:00-12:00", "11:00-13:00"} }, "hours.saturday[1]"},
		{"no hours at all", func(c *calendar.Config) {
			for k := range c.Hours {
				c.Hours[k] = []string{}
			}
		}, "no opening hours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := calendar.DefaultConfig()
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(&cfg)
			_, err = calendar.New(cfg, h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	if _, err := calendar.ParseConfig("site.yaml", []byte("time_zone: Asia/Shanghai\nhour:\n  monday: []\n")); err == nil || !strings.Contains(err.Error(), "site.yaml") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("unknown key: err = %v, want file and line", err)
	}
	cfg, err := calendar.ParseConfig("site.yaml", []byte("time_zone: Asia/Urumqi\nunknown_years: weekends\nhours: {monday: ['00:00-24:00']}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TimeZone != "Asia/Urumqi" || cfg.UnknownYears != "weekends" || cfg.Hours["monday"][0] != "00:00-24:00" {
		t.Errorf("ParseConfig = %+v", cfg)
	}
}

const goodYear = `year: 2030
source: test notice
holidays:
  - name: Test Day
    from: 2030-05-01
    to: 2030-05-03
    makeup: [2030-05-05]
`

func TestParseHolidaysErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown key", strings.Replace(goodYear, "makeup:", "make_up:", 1), "2030.yaml: yaml: unmarshal errors:\n  line 7: field make_up not found"},
		{"bad date", strings.Replace(goodYear, "2030-05-03", "2030-05-32", 1), "2030.yaml:6: holiday \"Test Day\": to"},
		{"to before from", strings.Replace(goodYear, "2030-05-03", "2030-04-30", 1), "2030.yaml:6:"},
		{"far year", strings.Replace(goodYear, "2030-05-03", "2031-05-03", 1), "2030.yaml:6:"},
		{"make-up on a weekday", strings.Replace(goodYear, "2030-05-05", "2030-05-06", 1), "2030.yaml:7: holiday \"Test Day\": make-up day 2030-05-06 is a Monday"},
		{"make-up inside the holiday", strings.Replace(goodYear, "2030-05-03", "2030-05-05", 1), "2030.yaml:7: 2030-05-05 is listed twice"},
		{"missing to", strings.Replace(goodYear, "    to: 2030-05-03\n", "", 1), "to is missing"},
		{"no source", strings.Replace(goodYear, "source: test notice\n", "", 1), "source"},
		{"no year", strings.Replace(goodYear, "year: 2030\n", "", 1), "year"},
		{"no name", strings.Replace(goodYear, "  - name: Test Day\n    from", "  - from", 1), "2030.yaml:4: holiday without a name"},
		{"two documents", goodYear + "---\nyear: 2031\n", "more than one YAML document"},
		{"empty", "", "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := calendar.ParseHolidays("holidays/2030.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	h, err := calendar.ParseHolidays("holidays/2030.yaml", []byte(goodYear))
	if err != nil {
		t.Fatal(err)
	}
	if day, _ := h.Lookup(date("2030-05-05")); day.Kind != calendar.Makeup {
		t.Errorf("2030-05-05 = %v, want makeup", day.Kind)
	}
}

func TestLoadHolidays(t *testing.T) {
	other := "year: 2031\nsource: test\nholidays:\n  - {name: Other Day, from: 2031-05-01, to: 2031-05-03, makeup: [2031-05-04]}\n"
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string // error; empty for success
		years int
	}{
		{"two years", fstest.MapFS{"h/2030.yaml": {Data: []byte(goodYear)}, "h/2031.yaml": {Data: []byte(other)}}, "", 2},
		{"year twice", fstest.MapFS{"h/2030.yaml": {Data: []byte(goodYear)}, "h/copy.yaml": {Data: []byte(goodYear)}}, "h/copy.yaml: year 2030 is already loaded", 0},
		{"no files", fstest.MapFS{"h/readme.md": {Data: []byte("x")}}, "no *.yaml file", 0},
		{"bad file named", fstest.MapFS{"h/2030.yaml": {Data: []byte("year: [")}}, "h/2030.yaml", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := calendar.LoadHolidays(tt.files, "h")
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Years()) != tt.years || !h.Covers(2031) || h.Covers(2032) {
				t.Errorf("Years = %v", h.Years())
			}
		})
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		d       calendar.Date
		add     int
		want    string
		weekday time.Weekday
	}{
		{date("2026-02-13"), 1, "2026-02-14", time.Saturday},
		{date("2026-02-28"), 1, "2026-03-01", time.Sunday},
		{date("2026-12-31"), 1, "2027-01-01", time.Friday},
		{date("2026-01-01"), -1, "2025-12-31", time.Wednesday},
		{calendar.NewDate(2026, 2, 30), 0, "2026-03-02", time.Monday},
	}
	for _, tt := range tests {
		got := tt.d.AddDays(tt.add)
		if got.String() != tt.want || got.Weekday() != tt.weekday {
			t.Errorf("%s + %d = %s %s, want %s %s", tt.d, tt.add, got, got.Weekday(), tt.want, tt.weekday)
		}
	}
	for _, bad := range []string{"2026-2-13", "2026-02-30", "13/02/2026", ""} {
		if _, err := calendar.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q): want an error", bad)
		}
	}
	a, b := date("2026-02-13"), date("2026-03-02")
	if !a.Before(b) || !b.After(a) || a.Compare(a) != 0 || a.IsZero() || !(calendar.Date{}).IsZero() {
		t.Error("Date ordering is wrong")
	}
	if got := b.Start(shanghai); !got.Equal(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Start = %s", got)
	}
	if got := calendar.DateOf(time.Date(2026, 2, 13, 16, 30, 0, 0, time.UTC).In(shanghai)); got != date("2026-02-14") {
		t.Errorf("DateOf = %s", got)
	}
}

// The IVR's hours node asks the calendar.
var (
	_ ivr.Hours    = (*calendar.Calendar)(nil)
	_ ivr.Holidays = (*calendar.Calendar)(nil)
)

func TestIsHoliday(t *testing.T) {
	c := defaultCalendar(t)
	tests := []struct {
		t    time.Time
		want bool
	}{
		{at("2026-02-18 10:00:00"), true},                     // Spring Festival Wednesday
		{at("2026-02-21 23:59:59"), true},                     // Saturday inside the holiday
		{at("2026-02-14 10:00:00"), false},                    // make-up Saturday
		{at("2026-03-07 10:00:00"), false},                    // ordinary Saturday
		{at("2026-10-08 00:00:00"), false},                    // first day back
		{time.Date(2026, 9, 30, 16, 0, 0, 0, time.UTC), true}, // 00:00 Oct 1 in Shanghai
		{at("2027-01-01 10:00:00"), false},                    // unknown year: the weekday decides
	}
	for _, tt := range tests {
		if got := c.IsHoliday(tt.t); got != tt.want {
			t.Errorf("IsHoliday(%s) = %v, want %v", tt.t, got, tt.want)
		}
	}
}
