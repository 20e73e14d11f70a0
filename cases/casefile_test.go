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

func money(t *testing.T, s string) *cases.Money {
	t.Helper()
	m, err := cases.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

func date(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}

// complaintForm is a complete complaint.
func complaintForm(t *testing.T) cases.CaseForm {
	return cases.CaseForm{
		Kind: cases.KindComplaint, GoodsOrService: "goods.appliances",
		Complainant: cases.Party{Name: "张三", Address: "兰州市城关区庆阳路 1 号"},
		Respondent: cases.Business{Name: "兰州某电器有限公司", Address: "兰州市七里河区西津西路 2 号",
			CreditCode: "914403001922038216", Platform: "某电商平台"},
		Request: "退货退款", Facts: "购买的冰箱三天后不制冷。", AmountInvolved: money(t, "3999.00"), LossRecovered: money(t, "0.30"),
		HarmKnownOn: date(2026, 2, 10), RegionCode: "620102",
	}
}

func TestCheckCreditCode(t *testing.T) {
	for _, tc := range []struct {
		code string
		want string // "" when valid, else part of the message
	}{
		{"914403001922038216", ""},
		{"9144030071526726XG", ""},
		{"91330100716105852F", ""},
		{"914403001922038217", "check character"},
		{"91440300192203821", "18 characters"},
		{"91440300I922038216", "character 9"},
		{"914403001922038216X", "18 characters"},
	} {
		err := cases.CheckCreditCode(tc.code)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.code, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.code, err, tc.want)
		}
	}
}

func TestCaseFormValidate(t *testing.T) {
	today := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		edit   func(f *cases.CaseForm)
		fields []string // the fields refused, in order; none: valid
	}{
		{"complete complaint", func(*cases.CaseForm) {}, nil},
		{"unknown kind", func(f *cases.CaseForm) { f.Kind = "gripe" }, []string{"kind"}},
		{"complaint missing its parties and request", func(f *cases.CaseForm) {
			f.Complainant, f.Respondent.Name, f.Request = cases.Party{}, "", ""
		}, []string{"complainant.name", "complainant.address", "respondent.name", "request"}},
		{"unknown class", func(f *cases.CaseForm) { f.GoodsOrService = "goods.spaceships" }, []string{"goods_service_class"}},
		{"violation on a complaint", func(f *cases.CaseForm) { f.ViolationType = "price" }, []string{"violation_type"}},
		{"bad credit code", func(f *cases.CaseForm) { f.Respondent.CreditCode = "914403001922038217" }, []string{"respondent.credit_code"}},
		{"negative amount", func(f *cases.CaseForm) { f.AmountInvolved = money(t, "-1") }, []string{"amount_involved"}},
		{"harm in the future", func(f *cases.CaseForm) { f.HarmKnownOn = date(2026, 3, 3) }, []string{"harm_known_on"}},
		{"harm today", func(f *cases.CaseForm) { f.HarmKnownOn = date(2026, 3, 2) }, nil},
		{"region code", func(f *cases.CaseForm) { f.RegionCode = "62010" }, []string{"region_code"}},
		{"region code missing", func(f *cases.CaseForm) { f.RegionCode = "" }, []string{"region_code"}},
		{"name too long", func(f *cases.CaseForm) { f.Respondent.Name = strings.Repeat("商", cases.MaxNameLen+1) }, []string{"respondent.name"}},
		{"control character in a name", func(f *cases.CaseForm) { f.Complainant.Name = "张\x00三" }, []string{"complainant.name"}},
		{"new lines in the facts", func(f *cases.CaseForm) { f.Facts = "第一行\n第二行" }, nil},
		{"anonymous complaint", func(f *cases.CaseForm) { f.Anonymous = true }, []string{"anonymous"}},
		{"complete report", func(f *cases.CaseForm) {
			f.Kind, f.ViolationType, f.Anonymous, f.Complainant, f.Request = cases.KindReport, "price", true, cases.Party{}, ""
		}, nil},
		{"anonymous report naming the reporter", func(f *cases.CaseForm) {
			f.Kind, f.ViolationType, f.Anonymous = cases.KindReport, "price", true
		}, []string{"complainant.name"}},
		{"report without violation or facts", func(f *cases.CaseForm) {
			f.Kind, f.Facts = cases.KindReport, ""
		}, []string{"violation_type", "facts"}},
		{"consultation needs only a question", func(f *cases.CaseForm) {
			*f = cases.CaseForm{Kind: cases.KindConsult, Request: "七天无理由退货怎么算?", RegionCode: "620000"}
		}, nil},
		{"consultation without a question", func(f *cases.CaseForm) {
			*f = cases.CaseForm{Kind: cases.KindConsult, RegionCode: "620000"}
		}, []string{"request"}},
		{"invalid call", func(f *cases.CaseForm) { *f = cases.CaseForm{Kind: cases.KindInvalid, RegionCode: "620000"} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := complaintForm(t)
			tc.edit(&f)
			err := f.Normalize().Validate(today)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *cases.FormError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *FormError", err)
			}
			var got []string
			for _, f := range fe.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("refused fields %v, want %v (%v)", got, tc.fields, err)
			}
			if fe.HTTPStatus() != http.StatusBadRequest {
				t.Errorf("status %d", fe.HTTPStatus())
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	f := cases.CaseForm{Respondent: cases.Business{Name: "  某公司 ", CreditCode: " 9144 0300 1922 0382 16 "}, RegionCode: " 620102\n"}.Normalize()
	if f.Respondent.Name != "某公司" || f.Respondent.CreditCode != "914403001922038216" || f.RegionCode != "620102" {
		t.Errorf("normalized: %+v", f)
	}
	if f := (cases.CaseForm{Respondent: cases.Business{CreditCode: "9144030071526726xg"}}).Normalize(); f.Respondent.CreditCode != "9144030071526726XG" {
		t.Errorf("credit code not upper-cased: %q", f.Respondent.CreditCode)
	}
}

func TestUpdateCaseForm(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	c, err := s.CreateCase(ctx, cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone, ReceivedAt: time.Now(), CallerNumber: "13800000001"})
	if err != nil {
		t.Fatal(err)
	}

	f := complaintForm(t)
	ch, err := s.UpdateCaseForm(ctx, c.Number, f, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kind", "goods_service_class", "complainant.name", "complainant.address", "respondent.name", "respondent.address",
		"respondent.credit_code", "respondent.platform", "request", "facts", "amount_involved", "loss_recovered", "harm_known_on", "region_code"}
	if ch.CaseID != c.ID || ch.Number != c.Number || !slices.Equal(ch.Fields, want) {
		t.Errorf("change %+v, want fields %v", ch, want)
	}
	d, err := s.FindByNumber(ctx, c.Number)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Case
	if got.Kind != cases.KindComplaint || got.GoodsOrService != "goods.appliances" || got.Complainant != f.Complainant ||
		got.Respondent != f.Respondent || got.Request != "退货退款" || got.Facts != f.Facts || got.RegionCode != "620102" ||
		got.AmountInvolved == nil || got.AmountInvolved.String() != "3999.00" || got.LossRecovered == nil || got.LossRecovered.Fen() != 30 ||
		got.HarmKnownOn == nil || got.HarmKnownOn.Format(time.DateOnly) != "2026-02-10" {
		t.Errorf("stored case %+v", got)
	}
	if !got.UpdatedAt.After(c.UpdatedAt) {
		t.Errorf("updated_at %s not after %s", got.UpdatedAt, c.UpdatedAt)
	}
	// The new region hands the case over: the dispatched entry follows the change.
	if k := d.Events[len(d.Events)-1].Kind; k != cases.EventDispatched || got.HandlingOffice == "" {
		t.Errorf("last trail entry %s, office %q: want the hand-over to the region's office", k, got.HandlingOffice)
	}
	last := d.Events[len(d.Events)-2]
	fields, err := cases.ChangedFields(last)
	if err != nil || last.Actor != "alice" || !slices.Equal(fields, want) {
		t.Errorf("trail entry %+v: fields %v, %v", last, fields, err)
	}
	if strings.Contains(string(last.Detail), "张三") {
		t.Errorf("the trail holds the complainant's name: %s", last.Detail)
	}

	// Saving the same form again changes nothing and writes no entry.
	ch, err = s.UpdateCaseForm(ctx, c.Number, f, "alice")
	if err != nil || len(ch.Fields) != 0 {
		t.Errorf("same form again: %+v, %v", ch, err)
	}
	// Clearing an amount is a change.
	f.LossRecovered = nil
	f.Facts = "  购买的冰箱三天后不制冷。 " // normalized to the stored value: no change
	ch, err = s.UpdateCaseForm(ctx, c.Number, f, "bob")
	if err != nil || !slices.Equal(ch.Fields, []string{"loss_recovered"}) {
		t.Errorf("clear loss recovered: %+v, %v", ch, err)
	}
	d, _ = s.FindByNumber(ctx, c.Number)
	var changed int
	for _, e := range d.Events {
		if e.Kind == cases.EventCaseChanged {
			changed++
		}
	}
	if changed != 2 || d.Case.LossRecovered != nil || d.Events[len(d.Events)-1].Actor != "bob" {
		t.Errorf("%d case_changed entries, loss recovered %v", changed, d.Case.LossRecovered)
	}

	// Refusals.
	bad := complaintForm(t)
	bad.RegionCode = "x"
	if _, err := s.UpdateCaseForm(ctx, c.Number, bad, "alice"); !errors.As(err, new(*cases.FormError)) {
		t.Errorf("invalid form: %v", err)
	}
	if _, err := s.UpdateCaseForm(ctx, "620000-20200101-000001", f, "alice"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("unknown case: %v", err)
	}
	if _, err := s.UpdateCaseForm(ctx, c.Number, f, ""); err == nil {
		t.Error("no actor: accepted")
	}
	if err := s.Register(ctx, c.ID, cases.Registration{Kind: cases.KindComplaint, Status: cases.StatusClosed, Event: cases.EventClosed, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.Request = "换货"
	_, err = s.UpdateCaseForm(ctx, c.Number, f, "alice")
	if !errors.Is(err, cases.ErrCaseClosed) {
		t.Fatalf("closed case: %v", err)
	}
	var se *cases.StatusError
	if !errors.As(err, &se) || se.HTTPStatus() != http.StatusConflict {
		t.Errorf("closed case status: %v", err)
	}
	if d, _ := s.FindByNumber(ctx, c.Number); d.Case.Request != "退货退款" {
		t.Errorf("closed case changed: %q", d.Case.Request)
	}
}
