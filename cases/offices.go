package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hand-over (转办): a registered case goes to the office with jurisdiction over its region
// (the business's administrative division, CaseForm.RegionCode). The directory of offices
// lives in the offices table; which office covers a region is decided by ResolveOffice, a
// pure function of the directory.

// Office is one handling office (承办机构) of the directory.
type Office struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	// Regions are the GB/T 2260 codes the office covers: a province code (620000) covers
	// the province, a city code (620100) the city and its counties, a county code
	// (620102) the county only.
	Regions []string `json:"regions"`
	// Centre marks the provincial centre, which keeps the cases no office covers.
	Centre  bool `json:"centre,omitempty"`
	Active  bool `json:"active"`
	Example bool `json:"example,omitempty"`
}

// MatchRule says how an office was chosen for a region.
type MatchRule string

// Match rules, most specific first.
const (
	MatchCounty   MatchRule = "county"   // an office lists the region itself
	MatchCity     MatchRule = "city"     // an office lists the region's city (xxxx00)
	MatchProvince MatchRule = "province" // an office lists the region's province (xx0000)
	MatchNone     MatchRule = "none"     // no active office covers it: the provincial centre keeps it
)

// Resolution is which office covers a region, and why.
type Resolution struct {
	Region string    `json:"region"`
	Office Office    `json:"-"`
	Code   string    `json:"office"` // "" when no office covers the region and there is no centre
	Rule   MatchRule `json:"rule"`
	// Matched is the code of the directory that matched (620100 for a county of Lanzhou).
	Matched string `json:"matched,omitempty"`
}

// Reason is the resolution for people: what matched, or why the centre keeps the case.
func (r Resolution) Reason() string {
	switch {
	case r.Rule != MatchNone:
		return fmt.Sprintf("region %s: office %s covers %s (%s rule)", r.Region, r.Code, r.Matched, r.Rule)
	case r.Code != "":
		return fmt.Sprintf("no office covers %s: kept by the provincial centre %s", r.Region, r.Code)
	default:
		return fmt.Sprintf("no office covers %s and the directory has no active provincial centre", r.Region)
	}
}

// ancestor is a code that can cover a region, with the rule it matches by.
type ancestor struct {
	code string
	rule MatchRule
}

// regionAncestors are the codes that can cover region, most specific first: the county
// itself, its city and its province. A city code (620100) is its own city, a province code
// its own province: each code appears once, under its broadest rule.
func regionAncestors(region string) []ancestor {
	all := []ancestor{{region, MatchCounty}, {region[:4] + "00", MatchCity}, {region[:2] + "0000", MatchProvince}}
	var out []ancestor
	for i, a := range all {
		if i+1 < len(all) && all[i+1].code == a.code {
			continue
		}
		out = append(out, a)
	}
	return out
}

// ResolveOffice returns the active office of offices that covers region (a six-digit
// GB/T 2260 code): the office listing the region itself, else its city (first four digits
// and 00), else its province (first two digits and 0000). When none does, the active
// provincial centre keeps the case (MatchNone). Two active offices listing the same code
// is a directory error (CheckDirectory); here the first in code order wins.
func ResolveOffice(offices []Office, region string) (Resolution, error) {
	if !regionPattern.MatchString(region) {
		return Resolution{}, fmt.Errorf("resolve office: region %q is not a 6-digit administrative division code", region)
	}
	active := make([]Office, 0, len(offices))
	for _, o := range offices {
		if o.Active {
			active = append(active, o)
		}
	}
	slices.SortFunc(active, func(a, b Office) int { return strings.Compare(a.Code, b.Code) })
	for _, a := range regionAncestors(region) {
		for _, o := range active {
			if slices.Contains(o.Regions, a.code) {
				return Resolution{Region: region, Office: o, Code: o.Code, Rule: a.rule, Matched: a.code}, nil
			}
		}
	}
	res := Resolution{Region: region, Rule: MatchNone}
	for _, o := range active {
		if o.Centre {
			res.Office, res.Code = o, o.Code
			break
		}
	}
	return res, nil
}

var officeCodePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)

// Check validates an office before it is stored.
func (o Office) Check() error {
	var errs []string
	if !officeCodePattern.MatchString(o.Code) {
		errs = append(errs, fmt.Sprintf("code %q: want 2-40 lower-case letters, digits and dashes, e.g. gs-lanzhou", o.Code))
	}
	if strings.TrimSpace(o.NameZH) == "" {
		errs = append(errs, "name_zh: required")
	}
	if strings.TrimSpace(o.NameEN) == "" {
		errs = append(errs, "name_en: required")
	}
	if len(o.Regions) == 0 && !o.Centre {
		errs = append(errs, "regions: an office covers at least one region code")
	}
	for i, r := range o.Regions {
		if !regionPattern.MatchString(r) {
			errs = append(errs, fmt.Sprintf("regions[%d] %q: want a 6-digit administrative division code, e.g. 620100", i, r))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("office %q: %s", o.Code, strings.Join(errs, "; "))
	}
	return nil
}

// CheckDirectory finds region codes that two active offices both list (the later one
// would never be chosen).
func CheckDirectory(offices []Office) error {
	seen := map[string]string{}
	var errs []string
	for _, o := range offices {
		if !o.Active {
			continue
		}
		for _, r := range o.Regions {
			if prev, ok := seen[r]; ok && prev != o.Code {
				errs = append(errs, fmt.Sprintf("region %s is listed by both %s and %s", r, prev, o.Code))
			}
			seen[r] = o.Code
		}
	}
	if len(errs) > 0 {
		return errors.New("office directory: " + strings.Join(errs, "; "))
	}
	return nil
}

const officeCols = `code, name_zh, name_en, regions, centre, active, example`

func scanOffices(rows pgx.Rows) ([]Office, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Office, error) {
		var o Office
		err := r.Scan(&o.Code, &o.NameZH, &o.NameEN, &o.Regions, &o.Centre, &o.Active, &o.Example)
		return o, err
	})
}

// Offices lists the directory, active and inactive, by code.
func (s *Store) Offices(ctx context.Context) ([]Office, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+officeCols+` FROM offices ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list offices: %w", err)
	}
	out, err := scanOffices(rows)
	if err != nil {
		return nil, fmt.Errorf("list offices: %w", err)
	}
	return out, nil
}

// AddOffice adds an active office to the directory. A region code another active office
// already lists is refused, as is a second provincial centre.
func (s *Store) AddOffice(ctx context.Context, o Office) error {
	o.NameZH, o.NameEN = strings.TrimSpace(o.NameZH), strings.TrimSpace(o.NameEN)
	o.Active = true
	if err := o.Check(); err != nil {
		return fmt.Errorf("add office: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	// Serialize additions so that two at once cannot list the same region.
	if _, err := tx.Exec(ctx, `LOCK TABLE offices IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, err)
	}
	rows, err := tx.Query(ctx, `SELECT `+officeCols+` FROM offices ORDER BY code`)
	if err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, err)
	}
	dir, err := scanOffices(rows)
	if err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, err)
	}
	for _, x := range dir {
		switch {
		case x.Code == o.Code:
			return fmt.Errorf("add office %s: an office with that code exists (active: %v)", o.Code, x.Active)
		case o.Centre && x.Centre && x.Active:
			return fmt.Errorf("add office %s: the directory has a provincial centre already (%s): disable it first", o.Code, x.Code)
		}
	}
	if err := CheckDirectory(append(dir, o)); err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO offices (code, name_zh, name_en, regions, centre) VALUES ($1, $2, $3, $4, $5)`,
		o.Code, o.NameZH, o.NameEN, o.Regions, o.Centre)
	if err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, classify(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("add office %s: %w", o.Code, err)
	}
	return nil
}

// DisableOffice takes an office out of the directory: no new case is handed to it (the
// cases it has keep it). ErrNotFound when there is no such office.
func (s *Store) DisableOffice(ctx context.Context, code string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE offices SET active = false, updated_at = now() WHERE code = $1`, code)
	if err != nil {
		return fmt.Errorf("disable office %s: %w", code, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("disable office %q: %w", code, ErrNotFound)
	}
	return nil
}

// Dispatch is a hand-over that was written: the dispatched entry of the trail.
type Dispatch struct {
	Resolution
	// Via is what triggered it: "registration" or "case_form".
	Via string `json:"via"`
	// Previous is the office the case had before ("" for none).
	Previous string `json:"previous,omitempty"`
}

// dispatchDetail is the detail of a dispatched trail entry.
type dispatchDetail struct {
	Office   string    `json:"office"`
	Name     string    `json:"office_name,omitempty"`
	Region   string    `json:"region"`
	Rule     MatchRule `json:"rule"`
	Matched  string    `json:"matched,omitempty"`
	Reason   string    `json:"reason"`
	Via      string    `json:"via"`
	Previous string    `json:"previous,omitempty"`
}

// Dispatch triggers.
const (
	DispatchOnRegistration = "registration"
	DispatchOnCaseForm     = "case_form"
)

// dispatch hands case id over to the office covering its region, inside tx: it sets
// handling_office and appends the dispatched entry (office, rule, reason). It reads the
// case's region under a row lock, so it hands over what was just written.
func dispatch(ctx context.Context, tx pgx.Tx, id CaseID, via, actor string, at time.Time) (Dispatch, error) {
	var region, previous string
	if err := tx.QueryRow(ctx, `SELECT region_code, handling_office FROM cases WHERE id = $1 FOR UPDATE`, id).Scan(&region, &previous); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Dispatch{}, fmt.Errorf("dispatch case %d: %w", id, ErrNotFound)
		}
		return Dispatch{}, fmt.Errorf("dispatch case %d: %w", id, err)
	}
	rows, err := tx.Query(ctx, `SELECT `+officeCols+` FROM offices WHERE active ORDER BY code`)
	if err != nil {
		return Dispatch{}, fmt.Errorf("dispatch case %d: offices: %w", id, err)
	}
	dir, err := scanOffices(rows)
	if err != nil {
		return Dispatch{}, fmt.Errorf("dispatch case %d: offices: %w", id, err)
	}
	res, err := ResolveOffice(dir, region)
	if err != nil {
		return Dispatch{}, fmt.Errorf("dispatch case %d: %w", id, err)
	}
	d := Dispatch{Resolution: res, Via: via, Previous: previous}
	detail, _ := json.Marshal(dispatchDetail{Office: res.Code, Name: res.Office.NameZH, Region: region, Rule: res.Rule,
		Matched: res.Matched, Reason: res.Reason(), Via: via, Previous: previous})
	if actor == "" {
		actor = "hotline"
	}
	_, err = tx.Exec(ctx, `WITH u AS (UPDATE cases SET handling_office = $2, updated_at = greatest(updated_at, $3) WHERE id = $1 RETURNING id)
		INSERT INTO case_events (case_id, at, kind, actor, detail) SELECT id, $3, $4, $5, $6 FROM u`,
		id, res.Code, orNow(at), EventDispatched, actor, detail)
	if err != nil {
		return Dispatch{}, fmt.Errorf("dispatch case %d to %q: %w", id, res.Code, err)
	}
	return d, nil
}

// DispatchOf reads a dispatched trail entry.
func DispatchOf(e Event) (Dispatch, error) {
	if e.Kind != EventDispatched {
		return Dispatch{}, fmt.Errorf("event %d is a %s entry, not %s", e.ID, e.Kind, EventDispatched)
	}
	var d dispatchDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return Dispatch{}, fmt.Errorf("event %d: %w", e.ID, err)
	}
	return Dispatch{Resolution: Resolution{Region: d.Region, Code: d.Office, Rule: d.Rule, Matched: d.Matched},
		Via: d.Via, Previous: d.Previous}, nil
}
