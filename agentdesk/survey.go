package agentdesk

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/cases"
)

// The callback survey (回访) of a closed case, recorded from the desk: POST
// /api/cases/{number}/survey. A dissatisfied result reopens the case and opens a second
// callback task (cases.Store.RecordSurveyOutcome).

// CaseSurveyed is the audit action of a recorded survey (cases.CaseSurveyed: the store
// writes it in the survey's transaction).
const CaseSurveyed = cases.CaseSurveyed

// surveyRoles may record a survey: callbacks are worked by agents, and supervisors and
// admins may record one on any case.
var surveyRoles = []accounts.Role{accounts.RoleAgent, accounts.RoleSupervisor, accounts.RoleAdmin}

// SurveyRecorder records callback surveys (cases.Store), with their audit record in the
// same transaction. A CaseStore that is not one answers 501.
type SurveyRecorder interface {
	RecordSurveyOutcome(ctx context.Context, v cases.Survey) (cases.SurveyOutcome, error)
}

// surveyJSON is the body of POST /api/cases/{number}/survey.
type surveyJSON struct {
	Result cases.Satisfaction `json:"result"`
	Note   string             `json:"note"`
	// CallID is the call the survey was made on, if the desk knows it.
	CallID *cases.CallID `json:"call_id"`
}

// maxSurveyBody bounds the survey's body.
const maxSurveyBody = 16 << 10

// check lists every problem of the body, by field.
func (b surveyJSON) check() []cases.FieldError {
	var errs []cases.FieldError
	if !slices.Contains(cases.Satisfactions, b.Result) {
		names := make([]string, len(cases.Satisfactions))
		for i, s := range cases.Satisfactions {
			names[i] = string(s)
		}
		msg := "must be one of " + strings.Join(names, ", ")
		if b.Result == "" {
			msg = "required: " + msg
		}
		errs = append(errs, cases.FieldError{Field: "result", Message: msg})
	}
	switch {
	case !utf8.ValidString(b.Note):
		errs = append(errs, cases.FieldError{Field: "note", Message: "not valid text"})
	case utf8.RuneCountInString(strings.TrimSpace(b.Note)) > cases.MaxSurveyNoteLen:
		errs = append(errs, cases.FieldError{Field: "note", Message: fmt.Sprintf("at most %d characters", cases.MaxSurveyNoteLen)})
	}
	if b.CallID != nil && *b.CallID <= 0 {
		errs = append(errs, cases.FieldError{Field: "call_id", Message: "must be a call's id"})
	}
	return errs
}

// surveyAnswer is the answer of a recorded survey.
type surveyAnswer struct {
	Number cases.Number       `json:"number"`
	Result cases.Satisfaction `json:"result"`
	cases.SurveyOutcome
}

// postSurvey is POST /api/cases/{number}/survey: records the result of a callback survey of
// a closed case (auth, CSRF token; agents, supervisors, admins), audited. Answers 201
// {"number", "result", "survey", "reopened", "task", "no_task"}, 400 {"error", "fields"},
// 401, 403, 404, 409 (the case is not closed), 415.
func (d *Desk) postSurvey(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.PrincipalFrom(r.Context())
	number := cases.Number(r.PathValue("number"))
	rec, ok := d.cfg.Cases.(SurveyRecorder)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this controller does not record callback surveys")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send the survey as application/json")
		return
	}
	var body surveyJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSurveyBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "the body is not a survey {result, note}: "+err.Error())
		return
	}
	if errs := body.check(); len(errs) > 0 {
		writeFormError(w, &cases.FormError{Fields: errs})
		return
	}
	out, err := rec.RecordSurveyOutcome(r.Context(), cases.Survey{Number: number, CallID: body.CallID, At: d.cfg.Now(),
		Result: body.Result, Actor: p.Login, Note: strings.TrimSpace(body.Note)})
	if d.caseFailed(w, p.Login, number, err, "record survey", "could not record the survey") {
		return
	}
	d.log.Info("callback survey recorded", "agent", p.Login, "case", number, "result", body.Result,
		"reopened", out.Reopened, "task", out.Task)
	writeJSON(w, http.StatusCreated, surveyAnswer{Number: number, Result: body.Result, SurveyOutcome: out})
}
