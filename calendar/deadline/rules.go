// Package deadline computes the due time of each step of a complaint or report in working
// days, under the rule set that was in force when the case was received.
//
// The numbers are data (calendar/data/rules); code knows only the names of the steps and of
// the events that start their clocks. A case stores its rule set's ID and computes every
// later deadline with that set, even after new rules take effect.
package deadline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"

	"hotline/calendar"
	"hotline/calendar/data"
	"hotline/calendar/internal/yamldoc"
)

// Step names a time-limited step of case handling.
type Step string

// Steps known to the code; a rule set gives each its number of working days.
const (
	ComplaintAccept    Step = "complaint_accept"     // decide to accept or refuse a complaint
	MediationEnd       Step = "mediation_end"        // end a mediation without agreement
	MediationEndNotice Step = "mediation_end_notice" // tell the parties mediation ended
	ReportVerify       Step = "report_verify"        // verify a report, decide on a case
	ReportNotice       Step = "report_notice"        // tell a real-name reporter the decision
)

// Steps lists every known step.
var Steps = []Step{ComplaintAccept, MediationEnd, MediationEndNotice, ReportVerify, ReportNotice}

// Event names what starts a step's clock.
type Event string

// Events that start clocks.
const (
	Received       Event = "received"
	Accepted       Event = "accepted"
	MediationEnded Event = "mediation_ended"
	CaseDecided    Event = "case_decided"
)

var events = []Event{Received, Accepted, MediationEnded, CaseDecided}

// Counting says which day is day 1.
type Counting string

// Counting rules.
const (
	// NextWorkingDay: day 1 is the first working day after the start date (the 12315 rule).
	NextWorkingDay Counting = "next_working_day"
	// SameDay: the start date is day 1 when it is a working day.
	SameDay Counting = "same_day"
)

// Limit is one step's time limit.
type Limit struct {
	Step Step
	// What the step is, in words.
	What string
	// From is the event that starts the clock.
	From Event
	// Days is the limit in working days; Extension the extra working days allowed with
	// approval.
	Days, Extension int
}

// RuleSet is a set of limits with the date it took effect.
type RuleSet struct {
	ID   string
	Name string
	// Effective is the first date of receipt the set applies to.
	Effective calendar.Date
	Counting  Counting
	Limits    map[Step]Limit
}

// ErrNoRuleSet is returned when no rule set applies.
var ErrNoRuleSet = errors.New("no deadline rule set")

// Limit returns the set's limit for step.
func (rs RuleSet) Limit(step Step) (Limit, error) {
	l, ok := rs.Limits[step]
	if !ok {
		return Limit{}, fmt.Errorf("rule set %s has no limit for step %q", rs.ID, step)
	}
	return l, nil
}

type ruleSetDoc struct {
	ID        yamldoc.Value[string] `yaml:"id"`
	Name      yamldoc.Value[string] `yaml:"name"`
	Effective yamldoc.Value[string] `yaml:"effective"`
	Counting  yamldoc.Value[string] `yaml:"counting"`
	Limits    map[string]limitDoc   `yaml:"limits"`
}

type limitDoc struct {
	What      yamldoc.Value[string] `yaml:"what"`
	From      yamldoc.Value[string] `yaml:"from"`
	Days      yamldoc.Value[int]    `yaml:"days"`
	Extension yamldoc.Value[int]    `yaml:"extension"`
}

// ParseRuleSet parses one rule-set file; name is used in errors.
func ParseRuleSet(name string, src []byte) (RuleSet, error) {
	var doc ruleSetDoc
	if err := yamldoc.Decode(name, src, &doc); err != nil {
		return RuleSet{}, err
	}
	if doc.ID.V == "" {
		return RuleSet{}, fmt.Errorf("%s: id is missing", name)
	}
	if !doc.Effective.Set {
		return RuleSet{}, fmt.Errorf("%s: effective is missing", name)
	}
	eff, err := calendar.ParseDate(doc.Effective.V)
	if err != nil {
		return RuleSet{}, yamldoc.Errorf(name, doc.Effective.Line, "effective: %v", err)
	}
	rs := RuleSet{ID: doc.ID.V, Name: doc.Name.V, Effective: eff, Counting: Counting(doc.Counting.V), Limits: map[Step]Limit{}}
	if rs.Counting != NextWorkingDay && rs.Counting != SameDay {
		return RuleSet{}, yamldoc.Errorf(name, doc.Counting.Line, "counting %q: want %s or %s", doc.Counting.V, NextWorkingDay, SameDay)
	}
	if len(doc.Limits) == 0 {
		return RuleSet{}, fmt.Errorf("%s: limits: none", name)
	}
	keys := make([]string, 0, len(doc.Limits))
	for k := range doc.Limits {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error is the same every run
	for _, k := range keys {
		ld := doc.Limits[k]
		step := Step(k)
		if !slices.Contains(Steps, step) {
			return RuleSet{}, yamldoc.Errorf(name, ld.Days.Line, "limits: unknown step %q; known: %v", k, Steps)
		}
		from := Event(ld.From.V)
		if !slices.Contains(events, from) {
			return RuleSet{}, yamldoc.Errorf(name, ld.From.Line, "limits.%s.from %q: want one of %v", k, ld.From.V, events)
		}
		if !ld.Days.Set || ld.Days.V < 1 {
			return RuleSet{}, yamldoc.Errorf(name, ld.Days.Line, "limits.%s.days: want at least 1 working day", k)
		}
		if ld.Extension.V < 0 {
			return RuleSet{}, yamldoc.Errorf(name, ld.Extension.Line, "limits.%s.extension: must not be negative", k)
		}
		rs.Limits[step] = Limit{Step: step, What: ld.What.V, From: from, Days: ld.Days.V, Extension: ld.Extension.V}
	}
	return rs, nil
}

// Rules holds every rule set, oldest first.
type Rules struct {
	sets []RuleSet
}

// NewRules checks that ids and effective dates are unique.
func NewRules(sets ...RuleSet) (*Rules, error) {
	if len(sets) == 0 {
		return nil, fmt.Errorf("deadline rules: %w at all", ErrNoRuleSet)
	}
	sorted := slices.Clone(sets)
	slices.SortFunc(sorted, func(a, b RuleSet) int { return a.Effective.Compare(b.Effective) })
	ids := map[string]bool{}
	for i, rs := range sorted {
		if ids[rs.ID] {
			return nil, fmt.Errorf("deadline rules: id %s is used twice", rs.ID)
		}
		ids[rs.ID] = true
		if i > 0 && sorted[i-1].Effective == rs.Effective {
			return nil, fmt.Errorf("deadline rules: %s and %s both take effect on %s", sorted[i-1].ID, rs.ID, rs.Effective)
		}
	}
	return &Rules{sets: sorted}, nil
}

// LoadRules loads every *.yaml file in dir of fsys, one rule set per file.
func LoadRules(fsys fs.FS, dir string) (*Rules, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("deadline rules in %s: %w", dir, err)
	}
	var sets []RuleSet
	for _, n := range names {
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("deadline rules: %w", err)
		}
		rs, err := ParseRuleSet(n, src)
		if err != nil {
			return nil, err
		}
		sets = append(sets, rs)
	}
	return NewRules(sets...)
}

// Shipped returns the rule sets embedded in the binary (calendar/data/rules).
func Shipped() (*Rules, error) {
	r, err := LoadRules(data.FS, "rules")
	if err != nil {
		return nil, fmt.Errorf("embedded calendar data: %w", err)
	}
	return r, nil
}

// All returns the rule sets, oldest first.
func (r *Rules) All() []RuleSet { return slices.Clone(r.sets) }

// InForce returns the rule set in force on date d: the latest to take effect on or before d.
func (r *Rules) InForce(d calendar.Date) (RuleSet, error) {
	for i := len(r.sets) - 1; i >= 0; i-- {
		if !r.sets[i].Effective.After(d) {
			return r.sets[i], nil
		}
	}
	return RuleSet{}, fmt.Errorf("%w in force on %s (the first took effect on %s)", ErrNoRuleSet, d, r.sets[0].Effective)
}

// ByID returns the rule set a case recorded.
func (r *Rules) ByID(id string) (RuleSet, error) {
	for _, rs := range r.sets {
		if rs.ID == id {
			return rs, nil
		}
	}
	return RuleSet{}, fmt.Errorf("%w with id %q", ErrNoRuleSet, id)
}
