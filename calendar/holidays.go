package calendar

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"time"

	"hotline/calendar/data"
	"hotline/calendar/internal/yamldoc"
)

// ErrYearNotLoaded is returned for a date of a year whose holiday notice is not loaded.
var ErrYearNotLoaded = errors.New("holidays of that year are not loaded")

// Kind is what kind of day a date is.
type Kind int

// Kinds of day.
const (
	// Workday is an ordinary Monday to Friday.
	Workday Kind = iota + 1
	// Weekend is an ordinary Saturday or Sunday.
	Weekend
	// Holiday is a public day off, weekdays and weekend days alike.
	Holiday
	// Makeup is a weekend day that is a working day (调休).
	Makeup
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Workday:
		return "workday"
	case Weekend:
		return "weekend"
	case Holiday:
		return "holiday"
	case Makeup:
		return "makeup"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Working reports whether a day of this kind is a working day.
func (k Kind) Working() bool { return k == Workday || k == Makeup }

// Day describes one date.
type Day struct {
	Date Date
	Kind Kind
	// Holiday names the holiday a Holiday or Makeup day belongs to.
	Holiday string
	// Assumed is set when the date's year is not loaded and the kind was taken from the
	// weekday alone.
	Assumed bool
}

type entry struct {
	kind    Kind
	holiday string
}

// Holidays holds the public holidays and make-up working days of the loaded years.
type Holidays struct {
	years map[int]string // year -> source of its data
	days  map[Date]entry
}

// Years returns the loaded years in order.
func (h *Holidays) Years() []int {
	ys := make([]int, 0, len(h.years))
	for y := range h.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Covers reports whether the holidays of year are loaded.
func (h *Holidays) Covers(year int) bool {
	_, ok := h.years[year]
	return ok
}

// Lookup returns the kind of d; ok is false when d's year is not loaded.
func (h *Holidays) Lookup(d Date) (day Day, ok bool) {
	if !h.Covers(d.Year) {
		return Day{}, false
	}
	if e, found := h.days[d]; found {
		return Day{Date: d, Kind: e.kind, Holiday: e.holiday}, true
	}
	return plainDay(d), true
}

// plainDay is d's kind from its weekday alone.
func plainDay(d Date) Day {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return Day{Date: d, Kind: Weekend}
	}
	return Day{Date: d, Kind: Workday}
}

type holidaysDoc struct {
	Year     yamldoc.Value[int]    `yaml:"year"`
	Source   yamldoc.Value[string] `yaml:"source"`
	Holidays []holidayDoc          `yaml:"holidays"`
}

type holidayDoc struct {
	Name   yamldoc.Value[string]   `yaml:"name"`
	NameZh yamldoc.Value[string]   `yaml:"name_zh"`
	From   yamldoc.Value[string]   `yaml:"from"`
	To     yamldoc.Value[string]   `yaml:"to"`
	Makeup []yamldoc.Value[string] `yaml:"makeup"`
}

// maxHolidayDays bounds one holiday, to catch a mistyped year or month: the longest
// (Spring Festival) is 9 days.
const maxHolidayDays = 15

// ParseHolidays parses one year's file; name is used in errors.
func ParseHolidays(name string, src []byte) (*Holidays, error) {
	var doc holidaysDoc
	if err := yamldoc.Decode(name, src, &doc); err != nil {
		return nil, err
	}
	if !doc.Year.Set || doc.Year.V < 1949 || doc.Year.V > 9999 {
		return nil, yamldoc.Errorf(name, doc.Year.Line, "year: want a year from 1949 on, got %d", doc.Year.V)
	}
	if doc.Source.V == "" {
		return nil, fmt.Errorf("%s: source: say which notice the dates come from", name)
	}
	h := &Holidays{years: map[int]string{doc.Year.V: doc.Source.V}, days: map[Date]entry{}}
	date := func(v yamldoc.Value[string], field, holiday string) (Date, error) {
		if !v.Set {
			return Date{}, fmt.Errorf("%s: holiday %q: %s is missing", name, holiday, field)
		}
		d, err := ParseDate(v.V)
		if err != nil {
			return Date{}, yamldoc.Errorf(name, v.Line, "holiday %q: %s: %v", holiday, field, err)
		}
		// A holiday can reach into a neighbouring year (New Year), never further.
		if y := d.Year; y < doc.Year.V-1 || y > doc.Year.V+1 {
			return Date{}, yamldoc.Errorf(name, v.Line, "holiday %q: %s %s is not in or next to %d", holiday, field, d, doc.Year.V)
		}
		return d, nil
	}
	put := func(d Date, e entry, line int) error {
		if prev, dup := h.days[d]; dup {
			return yamldoc.Errorf(name, line, "%s is listed twice (%s of %q and %s of %q)", d, prev.kind, prev.holiday, e.kind, e.holiday)
		}
		h.days[d] = e
		return nil
	}
	for _, hd := range doc.Holidays {
		hol := hd.Name.V
		if hol == "" {
			return nil, yamldoc.Errorf(name, hd.From.Line, "holiday without a name")
		}
		from, err := date(hd.From, "from", hol)
		if err != nil {
			return nil, err
		}
		to, err := date(hd.To, "to", hol)
		if err != nil {
			return nil, err
		}
		if to.Before(from) || to.After(from.AddDays(maxHolidayDays-1)) {
			return nil, yamldoc.Errorf(name, hd.To.Line, "holiday %q: to %s must be 0 to %d days after from %s", hol, to, maxHolidayDays-1, from)
		}
		for d := from; !d.After(to); d = d.AddDays(1) {
			if err := put(d, entry{Holiday, hol}, hd.From.Line); err != nil {
				return nil, err
			}
		}
		for _, m := range hd.Makeup {
			d, err := date(m, "makeup", hol)
			if err != nil {
				return nil, err
			}
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				return nil, yamldoc.Errorf(name, m.Line, "holiday %q: make-up day %s is a %s; only a weekend day can be made a working day", hol, d, wd)
			}
			if err := put(d, entry{Makeup, hol}, m.Line); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// LoadHolidays loads every *.yaml file in dir of fsys, one year per file.
func LoadHolidays(fsys fs.FS, dir string) (*Holidays, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("holidays in %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("holidays in %s: no *.yaml file", dir)
	}
	all := &Holidays{years: map[int]string{}, days: map[Date]entry{}}
	for _, n := range names {
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("holidays: %w", err)
		}
		h, err := ParseHolidays(n, src)
		if err != nil {
			return nil, err
		}
		if err := all.merge(h, n); err != nil {
			return nil, err
		}
	}
	return all, nil
}

func (h *Holidays) merge(o *Holidays, name string) error {
	for y, src := range o.years {
		if _, dup := h.years[y]; dup {
			return fmt.Errorf("%s: year %d is already loaded from another file", name, y)
		}
		h.years[y] = src
	}
	for d, e := range o.days {
		if prev, dup := h.days[d]; dup {
			return fmt.Errorf("%s: %s is %s of %q here and %s of %q in another file", name, d, e.kind, e.holiday, prev.kind, prev.holiday)
		}
		h.days[d] = e
	}
	return nil
}

// ShippedHolidays returns the holidays embedded in the binary (data/holidays).
func ShippedHolidays() (*Holidays, error) {
	return LoadHolidays(data.FS, "holidays")
}
