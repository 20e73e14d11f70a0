package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"hotline/audit"
)

// EventCaseChanged is the trail entry of an edit of the case form; its detail names the
// fields that changed (not their values: the trail is read by more people than the form).
const EventCaseChanged EventKind = "case_changed"

// Goods and service classes of a complaint or report, as coded fields (kept apart from the
// case kind and channel so that an export can build a GB/T 42499-style code).
var GoodsServiceClasses = []string{
	"goods.food", "goods.clothing", "goods.vehicles", "goods.household", "goods.appliances", "goods.telecom", "goods.other",
	"services.catering_lodging", "services.education_training", "services.beauty", "services.culture_sport",
	"services.sales", "services.other",
}

// ViolationTypes are the kinds of law-breaking a report can allege.
var ViolationTypes = []string{
	"price", "consumer_rights", "advertising", "product_quality", "food", "unfair_competition", "unlicensed", "other",
}

// Field lengths, in characters.
const (
	MaxNameLen     = 200
	MaxAddressLen  = 300
	MaxPlatformLen = 100
	MaxRequestLen  = 2000
	MaxFactsLen    = 5000
)

// CaseForm is what an agent records on the desk's case form. Saving replaces every one of
// these fields; the others (number, channel, status, due time, ...) belong to the call flow
// and the case's life cycle.
type CaseForm struct {
	Kind           Kind
	GoodsOrService string // one of GoodsServiceClasses, or empty
	ViolationType  string // one of ViolationTypes (reports only), or empty
	Complainant    Party
	Anonymous      bool // reports only
	Respondent     Business
	Request        string
	Facts          string
	AmountInvolved *Money
	LossRecovered  *Money
	// HarmKnownOn is the date the complainant learned of the harm (midnight UTC of that
	// date), or nil.
	HarmKnownOn *time.Time
	// RegionCode is the jurisdiction: the administrative division code (GB/T 2260) of where
	// the business operates, or for a platform operator where it is registered.
	RegionCode string
}

// FieldError is one problem with one field of a form, named as the API names it
// ("respondent.credit_code").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FormError lists every problem found in a form. It answers HTTP 400.
type FormError struct {
	Fields []FieldError
}

func (e *FormError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "case form: " + strings.Join(parts, "; ")
}

// HTTPStatus is the status a handler answers a refused form with.
func (e *FormError) HTTPStatus() int { return http.StatusBadRequest }

// StatusError is a case store refusal that knows its HTTP status.
type StatusError struct {
	msg    string
	status int
}

func (e *StatusError) Error() string { return e.msg }

// HTTPStatus is the status a handler answers with.
func (e *StatusError) HTTPStatus() int { return e.status }

// ErrCaseClosed refuses an edit of a closed case: it must be reopened first, so that the
// change shows in its life cycle.
var ErrCaseClosed = &StatusError{"the case is closed: reopen it before changing it", http.StatusConflict}

// Normalize returns f with surrounding spaces trimmed and the credit code in upper case, as
// it is stored.
func (f CaseForm) Normalize() CaseForm {
	t := strings.TrimSpace
	f.GoodsOrService, f.ViolationType = t(f.GoodsOrService), t(f.ViolationType)
	f.Complainant = Party{Name: t(f.Complainant.Name), Address: t(f.Complainant.Address)}
	f.Respondent = Business{Name: t(f.Respondent.Name), Address: t(f.Respondent.Address),
		CreditCode: strings.ToUpper(strings.ReplaceAll(t(f.Respondent.CreditCode), " ", "")), Platform: t(f.Respondent.Platform)}
	f.Request, f.Facts, f.RegionCode = t(f.Request), t(f.Facts), t(f.RegionCode)
	return f
}

var regionPattern = regexp.MustCompile(`^[1-9][0-9]{5}$`)

// Validate checks a normalized form: every field's format, and the fields each kind of case
// needs (a complaint names the complainant, the business and the request; a report the
// business, the facts and the violation). today is the centre's current date, for the date
// of harm. It returns a *FormError listing every problem, or nil.
func (f CaseForm) Validate(today time.Time) error {
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	required := func(field, v string) {
		if v == "" {
			bad(field, "required for a %s", f.Kind)
		}
	}
	control := func(multiline bool) func(rune) bool {
		return func(r rune) bool {
			return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
		}
	}
	text := func(field, v string, maxLen int, multiline bool) {
		switch {
		case !utf8.ValidString(v):
			bad(field, "not valid text")
		case utf8.RuneCountInString(v) > maxLen:
			bad(field, "at most %d characters", maxLen)
		case strings.IndexFunc(v, control(multiline)) >= 0:
			bad(field, "contains control characters")
		}
	}

	if !f.Kind.Valid() {
		bad("kind", "must be one of %s", joinKinds())
	}
	if f.GoodsOrService != "" && !slices.Contains(GoodsServiceClasses, f.GoodsOrService) {
		bad("goods_service_class", "must be one of %s", strings.Join(GoodsServiceClasses, ", "))
	}
	switch {
	case f.ViolationType != "" && f.Kind != KindReport:
		bad("violation_type", "only a report alleges a violation")
	case f.ViolationType != "" && !slices.Contains(ViolationTypes, f.ViolationType):
		bad("violation_type", "must be one of %s", strings.Join(ViolationTypes, ", "))
	}
	text("complainant.name", f.Complainant.Name, MaxNameLen, false)
	text("complainant.address", f.Complainant.Address, MaxAddressLen, false)
	text("respondent.name", f.Respondent.Name, MaxNameLen, false)
	text("respondent.address", f.Respondent.Address, MaxAddressLen, false)
	text("respondent.platform", f.Respondent.Platform, MaxPlatformLen, false)
	text("request", f.Request, MaxRequestLen, true)
	text("facts", f.Facts, MaxFactsLen, true)
	if c := f.Respondent.CreditCode; c != "" {
		if err := CheckCreditCode(c); err != nil {
			bad("respondent.credit_code", "%v", err)
		}
	}
	for _, m := range []struct {
		field string
		v     *Money
	}{{"amount_involved", f.AmountInvolved}, {"loss_recovered", f.LossRecovered}} {
		switch {
		case m.v == nil:
		case m.v.Fen() < 0:
			bad(m.field, "must not be negative")
		case m.v.Fen() > maxFen:
			bad(m.field, "too large")
		}
	}
	if h := f.HarmKnownOn; h != nil {
		y, mo, d := today.Date()
		if h.After(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)) {
			bad("harm_known_on", "is after today")
		}
	}
	if !regionPattern.MatchString(f.RegionCode) {
		bad("region_code", "must be a 6-digit administrative division code, e.g. 620102")
	}
	switch {
	case f.Anonymous && f.Kind != KindReport:
		bad("anonymous", "only a report may be anonymous")
	case f.Anonymous && (f.Complainant.Name != "" || f.Complainant.Address != ""):
		// A reporter's identity must never reach the business reported: an anonymous
		// report keeps none.
		bad("complainant.name", "an anonymous report records no complainant")
	}
	switch f.Kind {
	case KindComplaint:
		required("complainant.name", f.Complainant.Name)
		required("complainant.address", f.Complainant.Address)
		required("respondent.name", f.Respondent.Name)
		required("goods_service_class", f.GoodsOrService)
		required("request", f.Request)
	case KindReport:
		required("respondent.name", f.Respondent.Name)
		required("violation_type", f.ViolationType)
		required("facts", f.Facts)
	case KindConsult, KindSuggestion, KindOpinion, KindHelp:
		required("request", f.Request)
	}
	if len(errs) == 0 {
		return nil
	}
	return &FormError{Fields: errs}
}

func joinKinds() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// creditCodeChars are the characters of a unified social credit code (GB 32100-2015), in
// the order of their values 0-30: digits and capitals without I, O, S, V and Z.
const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CheckCreditCode checks a unified social credit code: 18 characters of the code's
// alphabet whose last one is the check character of the first 17 (GB 32100-2015).
func CheckCreditCode(code string) error {
	if len(code) != 18 {
		return fmt.Errorf("a unified social credit code has 18 characters, not %d", utf8.RuneCountInString(code))
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditCodeChars, code[i])
		if v < 0 {
			return fmt.Errorf("character %d (%q) is not one of 0-9 and A-Y without I, O, S, V", i+1, code[i])
		}
		sum += v * creditCodeWeights[i]
	}
	want := creditCodeChars[(31-sum%31)%31]
	if code[17] != want {
		return fmt.Errorf("check character %q does not match the code (want %q): mistyped?", code[17], want)
	}
	return nil
}

// FormChange is what a save of the case form changed.
type FormChange struct {
	CaseID CaseID `json:"case_id"`
	Number Number `json:"number"`
	// Fields names the fields whose value changed, as the API names them; empty when the
	// save changed nothing (then no trail entry is written).
	Fields []string `json:"changed"`
	// Dispatch is the hand-over a new region code made, nil when the region is unchanged.
	Dispatch *Dispatch `json:"dispatched,omitempty"`
}

// formColumns pairs each form field with its column and how a new value is cast, in the
// order of the statement's parameters from $3 on.
var formColumns = []struct{ field, column, cast string }{
	{"kind", "kind", ""},
	{"goods_service_class", "goods_service_class", ""},
	{"violation_type", "violation_type", ""},
	{"complainant.name", "complainant_name", ""},
	{"complainant.address", "complainant_address", ""},
	{"anonymous", "anonymous", "::boolean"},
	{"respondent.name", "respondent_name", ""},
	{"respondent.address", "respondent_address", ""},
	{"respondent.credit_code", "respondent_credit_code", ""},
	{"respondent.platform", "respondent_platform", ""},
	{"request", "request", ""},
	{"facts", "facts", ""},
	{"amount_involved", "amount_involved", "::numeric"},
	{"loss_recovered", "loss_recovered", "::numeric"},
	{"harm_known_on", "harm_known_on", "::date"},
	{"region_code", "region_code", ""},
}

// updateFormSQL locks the case, writes the form's fields and, when any changed, appends the
// case_changed entry naming them: one statement, so the fields and their trail commit
// together. A closed case is left alone; the caller tells "closed" from "not found" by
// whether old found a row.
var updateFormSQL = func() string {
	var cols, sets, diffs []string
	for i, c := range formColumns {
		p := fmt.Sprintf("$%d%s", i+3, c.cast)
		cols = append(cols, c.column)
		sets = append(sets, c.column+" = "+p)
		diffs = append(diffs, fmt.Sprintf("CASE WHEN old.%s IS DISTINCT FROM %s THEN '%s' END", c.column, p, c.field))
	}
	at := len(formColumns) + 3
	return `WITH old AS (SELECT id, number, status, ` + strings.Join(cols, ", ") + ` FROM cases WHERE number = $1 FOR UPDATE),
	diff AS (SELECT old.id, array_remove(ARRAY[` + strings.Join(diffs, ", ") + `]::text[], NULL) AS fields FROM old WHERE old.status <> 'closed'),
	upd AS (UPDATE cases c SET ` + strings.Join(sets, ", ") + `, updated_at = $` + fmt.Sprint(at) + `
		FROM diff WHERE c.id = diff.id AND cardinality(diff.fields) > 0 RETURNING c.id),
	ev AS (INSERT INTO case_events (case_id, at, kind, actor, detail)
		SELECT diff.id, $` + fmt.Sprint(at) + `, '` + string(EventCaseChanged) + `', $2, jsonb_build_object('fields', to_jsonb(diff.fields))
		FROM diff JOIN upd ON upd.id = diff.id)
	SELECT old.id, old.number, old.status, coalesce((SELECT fields FROM diff), '{}'::text[]) FROM old`
}()

// UpdateCaseForm saves the case form of case number as actor (an agent's login): it
// validates f, writes its fields and, when something changed, a case_changed trail entry
// naming the changed fields, in one statement, and its audit record (audit.CaseChanged,
// via case_form) in the same transaction: a failed audit write leaves the case as it was.
// Errors: *FormError (400) for a form that does not validate, ErrNotFound, ErrCaseClosed
// (409), ErrNoAudit for a store without an audit log.
func (s *Store) UpdateCaseForm(ctx context.Context, number Number, f CaseForm, actor string) (FormChange, error) {
	f = f.Normalize()
	now := time.Now()
	if err := f.Validate(now.In(s.loc)); err != nil {
		return FormChange{}, fmt.Errorf("update case %s: %w", number, err)
	}
	if actor == "" {
		return FormChange{}, fmt.Errorf("update case %s: the actor is empty", number)
	}
	if s.audit == nil {
		return FormChange{}, fmt.Errorf("update case %s: %w", number, ErrNoAudit)
	}
	var harm any
	if f.HarmKnownOn != nil {
		harm = f.HarmKnownOn.Format(time.DateOnly)
	}
	args := []any{number, actor, f.Kind, f.GoodsOrService, f.ViolationType, f.Complainant.Name, f.Complainant.Address,
		f.Anonymous, f.Respondent.Name, f.Respondent.Address, f.Respondent.CreditCode, f.Respondent.Platform,
		f.Request, f.Facts, moneyArg(f.AmountInvolved), moneyArg(f.LossRecovered), harm, f.RegionCode, now}
	var (
		ch     FormChange
		status Status
	)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return FormChange{}, fmt.Errorf("update case %s: %w", number, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	err = tx.QueryRow(ctx, updateFormSQL, args...).Scan(&ch.CaseID, &ch.Number, &status, &ch.Fields)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return FormChange{}, fmt.Errorf("update case %s: %w", number, ErrNotFound)
	case err != nil:
		return FormChange{}, fmt.Errorf("update case %s: %w", number, classify(err))
	case status == StatusClosed:
		return FormChange{}, fmt.Errorf("update case %s: %w", number, ErrCaseClosed)
	}
	if ch.Fields == nil {
		ch.Fields = []string{}
	}
	// A new jurisdiction hands the case over to the office that has it.
	if slices.Contains(ch.Fields, "region_code") {
		d, err := dispatch(ctx, tx, ch.CaseID, DispatchOnCaseForm, actor, now)
		if err != nil {
			return FormChange{}, fmt.Errorf("update case %s: %w", number, err)
		}
		ch.Dispatch = &d
	}
	// The trail has the change and its author already; the audit log is the cross-case
	// record of who changed what.
	if err := s.appendAudit(ctx, tx, audit.Record{Actor: actor, Action: audit.CaseChanged, Target: audit.CaseTarget(string(number)),
		Detail: map[string]any{"fields": ch.Fields, "via": "case_form"}}); err != nil {
		return FormChange{}, fmt.Errorf("update case %s: %w", number, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return FormChange{}, fmt.Errorf("update case %s: %w", number, err)
	}
	return ch, nil
}

// caseChangedDetail is the detail of a case_changed entry.
type caseChangedDetail struct {
	Fields []string `json:"fields"`
}

// ChangedFields reads the field names of a case_changed trail entry.
func ChangedFields(e Event) ([]string, error) {
	if e.Kind != EventCaseChanged {
		return nil, fmt.Errorf("event %d is a %s entry, not %s", e.ID, e.Kind, EventCaseChanged)
	}
	var d caseChangedDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return nil, fmt.Errorf("event %d: %w", e.ID, err)
	}
	return d.Fields, nil
}
