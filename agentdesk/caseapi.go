package agentdesk

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/auth"
	"hotline/cases"
)

// caseFormJSON is the body of PUT /api/cases/{number}. Amounts are decimal strings of yuan
// ("12.30"), the date "2006-01-02".
type caseFormJSON struct {
	Kind           cases.Kind `json:"kind"`
	GoodsOrService string     `json:"goods_service_class"`
	ViolationType  string     `json:"violation_type"`
	Complainant    struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"complainant"`
	Anonymous  bool `json:"anonymous"`
	Respondent struct {
		Name       string `json:"name"`
		Address    string `json:"address"`
		CreditCode string `json:"credit_code"`
		Platform   string `json:"platform"`
	} `json:"respondent"`
	Request        string `json:"request"`
	Facts          string `json:"facts"`
	AmountInvolved string `json:"amount_involved"`
	LossRecovered  string `json:"loss_recovered"`
	HarmKnownOn    string `json:"harm_known_on"`
	RegionCode     string `json:"region_code"`
}

// form turns the body into a cases.CaseForm; amounts and the date that do not parse are
// field errors.
func (j caseFormJSON) form() (cases.CaseForm, []cases.FieldError) {
	f := cases.CaseForm{Kind: j.Kind, GoodsOrService: j.GoodsOrService, ViolationType: j.ViolationType,
		Complainant: cases.Party{Name: j.Complainant.Name, Address: j.Complainant.Address}, Anonymous: j.Anonymous,
		Respondent: cases.Business{Name: j.Respondent.Name, Address: j.Respondent.Address, CreditCode: j.Respondent.CreditCode,
			Platform: j.Respondent.Platform},
		Request: j.Request, Facts: j.Facts, RegionCode: j.RegionCode}
	var errs []cases.FieldError
	amount := func(field, s string) *cases.Money {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		m, err := cases.ParseMoney(s)
		if err != nil {
			errs = append(errs, cases.FieldError{Field: field, Message: "want yuan with at most two decimals, like 12.30"})
			return nil
		}
		return &m
	}
	f.AmountInvolved = amount("amount_involved", j.AmountInvolved)
	f.LossRecovered = amount("loss_recovered", j.LossRecovered)
	if s := strings.TrimSpace(j.HarmKnownOn); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			errs = append(errs, cases.FieldError{Field: "harm_known_on", Message: "want a date like 2026-03-02"})
		} else {
			f.HarmKnownOn = &t
		}
	}
	return f, errs
}

// maxFormBody bounds the case form's body.
const maxFormBody = 64 << 10

// putCase is PUT /api/cases/{number}: saves the case form (auth, CSRF token, and for an
// agent a case they are working on), audited. Answers 200 {"number", "changed": [fields]},
// 400 {"error", "fields": [{field, message}]}, 403, 404, 409 (closed), 415.
func (d *Desk) putCase(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.PrincipalFrom(r.Context())
	number := cases.Number(r.PathValue("number"))
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send the case form as application/json")
		return
	}
	if p.Role == accounts.RoleAgent && !d.handles(acd.AgentID(p.Login), number) {
		writeError(w, http.StatusForbidden, "case "+string(number)+" is not one you are working on")
		return
	}
	var body caseFormJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "the body is not a case form: "+err.Error())
		return
	}
	form, ferrs := body.form()
	if len(ferrs) > 0 {
		// Report the format problems together with the rest of the form's.
		if err := form.Normalize().Validate(d.cfg.Now()); err != nil {
			var fe *cases.FormError
			if errors.As(err, &fe) {
				ferrs = append(ferrs, fe.Fields...)
			}
		}
		writeFormError(w, &cases.FormError{Fields: ferrs})
		return
	}
	ch, err := d.cfg.Cases.UpdateCaseForm(r.Context(), number, form, p.Login)
	var fe *cases.FormError
	if errors.As(err, &fe) {
		writeFormError(w, fe)
		return
	}
	if d.caseFailed(w, p.Login, number, err, "save case form", "could not save the case") {
		return
	}
	d.log.Info("case form saved", "agent", p.Login, "case", number, "changed", ch.Fields)
	writeJSON(w, http.StatusOK, ch)
}

func writeFormError(w http.ResponseWriter, fe *cases.FormError) {
	writeJSON(w, fe.HTTPStatus(), map[string]any{"error": fe.Error(), "fields": fe.Fields})
}

// auditRead records that the request's principal read cases (GET /api/cases...). It is
// called before the answer is written: no case is shown without its record.
func (d *Desk) auditRead(r *http.Request, via string, numbers ...cases.Number) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return fmt.Errorf("audit case read: %w", auth.ErrNoSession)
	}
	return d.auditReads(r.Context(), p.Login, numbers, map[string]any{"via": via})
}

// caseFailed answers a failed change to case number, if err is one, and says so: 404 for a
// case that is not there, the store's own 4xx with its words, else a logged 500 saying what
// could not be done (op names it in the log).
func (d *Desk) caseFailed(w http.ResponseWriter, login string, number cases.Number, err error, op, failed string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, cases.ErrNotFound):
		writeError(w, http.StatusNotFound, "case "+string(number)+" not found")
	case statusOf(err) < 500:
		writeError(w, statusOf(err), err.Error())
	default:
		d.log.Error(op, "agent", login, "case", number, "err", err)
		writeError(w, http.StatusInternalServerError, failed)
	}
	return true
}
