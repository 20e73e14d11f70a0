package cases_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
)

// directory is a hand-made directory: a centre covering the province, two city offices, a
// county office inside one of them, an inactive office and an office of another province.
var directory = []cases.Office{
	{Code: "gs-centre", NameZH: "中心", NameEN: "centre", Regions: []string{"620000"}, Centre: true, Active: true},
	{Code: "gs-lanzhou", NameZH: "兰州", NameEN: "Lanzhou", Regions: []string{"620100"}, Active: true},
	{Code: "gs-chengguan", NameZH: "城关", NameEN: "Chengguan", Regions: []string{"620102"}, Active: true},
	{Code: "gs-baiyin", NameZH: "白银", NameEN: "Baiyin", Regions: []string{"620400", "620502"}, Active: true},
	{Code: "gs-old", NameZH: "旧", NameEN: "old", Regions: []string{"620900"}, Active: false},
	{Code: "qh-xining", NameZH: "西宁", NameEN: "Xining", Regions: []string{"630100"}, Active: true},
}

func TestResolveOffice(t *testing.T) {
	noCentre := slices.DeleteFunc(slices.Clone(directory), func(o cases.Office) bool { return o.Centre })
	tests := []struct {
		name     string
		dir      []cases.Office
		region   string
		office   string
		rule     cases.MatchRule
		matched  string
		reasonIn string
	}{
		{"county with its own office", directory, "620102", "gs-chengguan", cases.MatchCounty, "620102", "county rule"},
		{"county falls to its city", directory, "620103", "gs-lanzhou", cases.MatchCity, "620100", "office gs-lanzhou covers 620100 (city rule)"},
		{"the city code itself", directory, "620100", "gs-lanzhou", cases.MatchCity, "620100", "city rule"},
		{"a county listed by another city's office", directory, "620502", "gs-baiyin", cases.MatchCounty, "620502", ""},
		{"sibling county of a listed county goes up", directory, "620503", "gs-centre", cases.MatchProvince, "620000", "province rule"},
		{"inactive office is skipped", directory, "620902", "gs-centre", cases.MatchProvince, "620000", ""},
		{"province code itself", directory, "620000", "gs-centre", cases.MatchProvince, "620000", ""},
		{"another province's city", directory, "630102", "qh-xining", cases.MatchCity, "630100", ""},
		{"no office covers it: the centre keeps it", directory, "110101", "gs-centre", cases.MatchNone, "", "kept by the provincial centre"},
		{"no office and no centre", noCentre, "110101", "", cases.MatchNone, "", "no active provincial centre"},
		{"empty directory", nil, "620102", "", cases.MatchNone, "", "no office covers 620102"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cases.ResolveOffice(tt.dir, tt.region)
			if err != nil {
				t.Fatal(err)
			}
			if got.Code != tt.office || got.Rule != tt.rule || got.Matched != tt.matched || got.Region != tt.region {
				t.Errorf("ResolveOffice(%s) = %+v, want %s by %s (%s)", tt.region, got, tt.office, tt.rule, tt.matched)
			}
			if got.Code != "" && got.Office.Code != got.Code {
				t.Errorf("office %+v does not match code %s", got.Office, got.Code)
			}
			if !strings.Contains(got.Reason(), tt.reasonIn) {
				t.Errorf("reason %q does not say %q", got.Reason(), tt.reasonIn)
			}
		})
	}
	for _, bad := range []string{"", "62010", "6201022", "020102", "62a102"} {
		if _, err := cases.ResolveOffice(directory, bad); err == nil || !strings.Contains(err.Error(), "6-digit") {
			t.Errorf("region %q: %v, want a 6-digit error", bad, err)
		}
	}
}

func TestOfficeChecks(t *testing.T) {
	if err := cases.CheckDirectory(directory); err != nil {
		t.Errorf("directory: %v", err)
	}
	dup := append(slices.Clone(directory), cases.Office{Code: "gs-two", Regions: []string{"620100"}, Active: true})
	if err := cases.CheckDirectory(dup); err == nil || !strings.Contains(err.Error(), "620100 is listed by both gs-lanzhou and gs-two") {
		t.Errorf("duplicate region: %v", err)
	}
	tests := []struct {
		o    cases.Office
		want string
	}{
		{cases.Office{Code: "GS", NameZH: "x", NameEN: "x", Regions: []string{"620100"}}, `code "GS"`},
		{cases.Office{Code: "gs-x", NameEN: "x", Regions: []string{"620100"}}, "name_zh: required"},
		{cases.Office{Code: "gs-x", NameZH: "x", NameEN: "x"}, "at least one region"},
		{cases.Office{Code: "gs-x", NameZH: "x", NameEN: "x", Regions: []string{"620100", "62"}}, `regions[1] "62"`},
	}
	for _, tt := range tests {
		if err := tt.o.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%+v) = %v, want %q", tt.o, err, tt.want)
		}
	}
}

// dispatches returns the dispatched entries of a case's trail.
func dispatches(t *testing.T, s *cases.Store, id cases.CaseID) []cases.Dispatch {
	t.Helper()
	d, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []cases.Dispatch
	for _, e := range d.Events {
		if e.Kind == cases.EventDispatched {
			x, err := cases.DispatchOf(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, x)
		}
	}
	return out
}

func TestOfficeDirectoryAndDispatch(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()

	// The migration's example directory.
	dir, err := s.Offices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dir) < 4 || !slices.ContainsFunc(dir, func(o cases.Office) bool { return o.Centre && o.Example && o.Active }) {
		t.Fatalf("example directory %+v", dir)
	}
	if err := s.AddOffice(ctx, cases.Office{Code: "gs-qilihe", NameZH: "七里河区局", NameEN: "Qilihe", Regions: []string{"620103"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOffice(ctx, cases.Office{Code: "gs-dup", NameZH: "重复", NameEN: "dup", Regions: []string{"620103"}}); err == nil ||
		!strings.Contains(err.Error(), "620103 is listed by both") {
		t.Errorf("a second office for 620103: %v", err)
	}
	if err := s.AddOffice(ctx, cases.Office{Code: "gs-qilihe", NameZH: "x", NameEN: "x", Regions: []string{"620111"}}); err == nil ||
		!strings.Contains(err.Error(), "an office with that code exists") {
		t.Errorf("a duplicate office code: %v", err)
	}
	if err := s.AddOffice(ctx, cases.Office{Code: "gs-centre2", NameZH: "x", NameEN: "x", Regions: []string{"620199"}, Centre: true}); err == nil ||
		!strings.Contains(err.Error(), "has a provincial centre already (gs-centre)") {
		t.Errorf("a second provincial centre: %v", err)
	}
	if err := s.DisableOffice(ctx, "gs-nowhere"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("disable a missing office: %v", err)
	}

	// Registration hands the case over: the new case has the centre's region (620000).
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, shanghai)
	c, err := s.CreateCase(ctx, newCase(at, "13900000001"))
	if err != nil {
		t.Fatal(err)
	}
	reg := cases.Registration{Kind: cases.KindComplaint, Status: cases.StatusRegistered, Event: cases.EventRegistered, Actor: "ivr", At: at}
	if err := s.Register(ctx, c.ID, reg); err != nil {
		t.Fatal(err)
	}
	got := dispatches(t, s, c.ID)
	if len(got) != 1 || got[0].Code != "gs-centre" || got[0].Rule != cases.MatchProvince || got[0].Via != cases.DispatchOnRegistration {
		t.Fatalf("dispatch on registration: %+v", got)
	}
	// Registering again (the flow's later entries) does not hand it over twice.
	if err := s.Register(ctx, c.ID, reg); err != nil {
		t.Fatal(err)
	}
	if n := len(dispatches(t, s, c.ID)); n != 1 {
		t.Errorf("%d dispatched entries after a second registration", n)
	}

	// The case form sets the jurisdiction: Qilihe (620103, its own office since above).
	form := cases.CaseForm{Kind: cases.KindConsult, Request: "咨询", RegionCode: "620103"}
	ch, err := s.UpdateCaseForm(ctx, c.Number, form, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Dispatch == nil || ch.Dispatch.Code != "gs-qilihe" || ch.Dispatch.Rule != cases.MatchCounty || ch.Dispatch.Previous != "gs-centre" {
		t.Errorf("form change dispatch %+v", ch.Dispatch)
	}
	// Qilihe's office closes: the next change within Lanzhou goes to the city office.
	if err := s.DisableOffice(ctx, "gs-qilihe"); err != nil {
		t.Fatal(err)
	}
	form.RegionCode = "620104"
	if ch, err = s.UpdateCaseForm(ctx, c.Number, form, "alice"); err != nil || ch.Dispatch == nil || ch.Dispatch.Code != "gs-lanzhou" {
		t.Errorf("dispatch to the city: %+v %v", ch.Dispatch, err)
	}
	// A save that leaves the region alone hands nothing over.
	form.Request = "咨询退货"
	if ch, err = s.UpdateCaseForm(ctx, c.Number, form, "alice"); err != nil || ch.Dispatch != nil {
		t.Errorf("save without a region change: %+v %v", ch, err)
	}
	// A region outside the province stays with the centre, and the trail says so.
	form.RegionCode = "110101"
	if _, err := s.UpdateCaseForm(ctx, c.Number, form, "bob"); err != nil {
		t.Fatal(err)
	}
	d, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.HandlingOffice != "gs-centre" {
		t.Errorf("handling office %q, want gs-centre", d.Case.HandlingOffice)
	}
	last := d.Events[len(d.Events)-1]
	if last.Kind != cases.EventDispatched || last.Actor != "bob" || !strings.Contains(string(last.Detail), "kept by the provincial centre") ||
		!strings.Contains(string(last.Detail), `"rule": "none"`) {
		t.Errorf("last entry %s %s %s", last.Kind, last.Actor, last.Detail)
	}
	var kinds []string
	for _, x := range dispatches(t, s, c.ID) {
		kinds = append(kinds, x.Code+"/"+string(x.Rule)+"/"+x.Via)
	}
	if got := strings.Join(kinds, ","); got != "gs-centre/province/registration,gs-qilihe/county/case_form,gs-lanzhou/city/case_form,gs-centre/none/case_form" {
		t.Errorf("dispatches %s", got)
	}
	// A form that fails leaves the office alone.
	form.RegionCode = "123"
	var fe *cases.FormError
	if _, err := s.UpdateCaseForm(ctx, c.Number, form, "bob"); !errors.As(err, &fe) || fe.HTTPStatus() != http.StatusBadRequest {
		t.Errorf("bad region: %v", err)
	}
}
