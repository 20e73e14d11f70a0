package cases_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
)

// closedCase makes a registered complaint of caller closed at closed.
func closedCase(t *testing.T, s *cases.Store, caller string, closed time.Time) (cases.CaseID, cases.Number) {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateCase(ctx, newCase(closed.Add(-time.Hour), caller))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []cases.Registration{
		{Kind: cases.KindComplaint, Status: cases.StatusRegistered, Event: cases.EventRegistered, Actor: "ivr", At: closed.Add(-time.Hour)},
		{Kind: cases.KindComplaint, Status: cases.StatusClosed, Event: cases.EventClosed, Actor: "alice", At: closed},
	} {
		if err := s.Register(ctx, c.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID, c.Number
}

func TestSurveyOutcome(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	closed := time.Date(2026, 11, 20, 10, 0, 0, 0, shanghai)

	// Satisfied: recorded, the case stays closed, no task.
	_, n1 := closedCase(t, s, "13900000001", closed)
	out, err := s.RecordSurveyOutcome(ctx, cases.Survey{Number: n1, At: closed.Add(24 * time.Hour), Result: cases.Satisfied, Actor: "bob", Note: "满意"})
	if err != nil || out.Survey == 0 || out.Reopened || out.Task != 0 {
		t.Fatalf("satisfied: %+v %v", out, err)
	}
	d, _ := s.FindByNumber(ctx, n1)
	if d.Case.Status != cases.StatusClosed || len(d.Tasks) != 0 {
		t.Errorf("after a satisfied survey: status %s, tasks %+v", d.Case.Status, d.Tasks)
	}

	// Dissatisfied: reopened, closed_at cleared, a second callback task (language and queue
	// of the case's earlier task).
	id2, n2 := closedCase(t, s, "13900000002", closed)
	if _, err := s.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: id2, Reason: cases.TaskVoicemail, CallerNumber: "13900000002",
		Language: "en", Queue: "complaint", Skills: map[string]int{"en": 1}, EnqueuedAt: closed.Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	at := closed.Add(48 * time.Hour)
	out, err = s.RecordSurveyOutcome(ctx, cases.Survey{Number: n2, At: at, Result: cases.Dissatisfied, Actor: "bob", Note: "未退款"})
	if err != nil || !out.Reopened || out.Task == 0 {
		t.Fatalf("dissatisfied: %+v %v", out, err)
	}
	d, err = s.Get(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.Status != cases.StatusReopened {
		t.Errorf("status %s, want reopened", d.Case.Status)
	}
	var closedAt *time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT closed_at FROM cases WHERE id = $1`, id2).Scan(&closedAt); err != nil || closedAt != nil {
		t.Errorf("closed_at %v %v, want none", closedAt, err)
	}
	task, err := s.CallbackTask(ctx, out.Task)
	if err != nil {
		t.Fatal(err)
	}
	if task.Reason != cases.TaskSurvey || task.Status != "open" || task.CallerNumber != "13900000002" || task.Language != "en" ||
		task.Queue != "complaint" || !task.EnqueuedAt.Equal(at) {
		t.Errorf("second callback task %+v", task)
	}
	var kinds []string
	for _, e := range d.Events[len(d.Events)-3:] {
		kinds = append(kinds, string(e.Kind)+"/"+e.Actor)
	}
	if got := strings.Join(kinds, ","); got != "called_back/bob,reopened/bob,callback_task_created/bob" {
		t.Errorf("trail ends %s", got)
	}
	// Reopened, it is no longer surveyed.
	var se *cases.StatusError
	if _, err := s.RecordSurveyOutcome(ctx, cases.Survey{Number: n2, At: at, Result: cases.Satisfied, Actor: "bob"}); !errors.As(err, &se) || se.HTTPStatus() != http.StatusConflict {
		t.Errorf("survey of a reopened case: %v, want 409", err)
	}

	// Dissatisfied on a case without a caller number: reopened, no task, the trail says why.
	id3, n3 := closedCase(t, s, "", closed)
	out, err = s.RecordSurveyOutcome(ctx, cases.Survey{Number: n3, At: at, Result: cases.Dissatisfied, Actor: "bob"})
	if err != nil || !out.Reopened || out.Task != 0 || out.NoTask == "" {
		t.Errorf("dissatisfied without a number: %+v %v", out, err)
	}
	d, _ = s.Get(ctx, id3)
	if last := d.Events[len(d.Events)-1]; last.Kind != cases.EventReopened || !strings.Contains(string(last.Detail), "no caller number") {
		t.Errorf("last entry %s %s", last.Kind, last.Detail)
	}

	// A survey dated before the closure, and bad values, are refused; nothing is written.
	_, n4 := closedCase(t, s, "13900000004", closed)
	if _, err := s.RecordSurveyOutcome(ctx, cases.Survey{Number: n4, At: closed.Add(-time.Minute), Result: cases.Neutral, Actor: "bob"}); !errors.As(err, &se) ||
		se.HTTPStatus() != http.StatusBadRequest || !strings.Contains(err.Error(), "before the case was closed") {
		t.Errorf("survey before closure: %v", err)
	}
	for _, tt := range []struct {
		v    cases.Survey
		want string
	}{
		{cases.Survey{Number: n4, At: at, Result: "happy", Actor: "bob"}, `result "happy" is not one of`},
		{cases.Survey{Number: n4, At: at, Result: cases.Neutral, Actor: " "}, "the actor is empty"},
		{cases.Survey{Number: n4, At: at, Result: cases.Neutral, Actor: "bob", Note: strings.Repeat("长", cases.MaxSurveyNoteLen+1)}, "longer than 1000 characters"},
		{cases.Survey{Number: n4, At: at, Result: cases.Neutral, Actor: "bob", Note: "\xff"}, "not valid text"},
	} {
		if _, err := s.RecordSurveyOutcome(ctx, tt.v); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("survey %q/%q: %v, want %q", tt.v.Result, tt.v.Actor, err, tt.want)
		}
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM callback_surveys s JOIN cases c ON c.id = s.case_id WHERE c.number = $1`, n4).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d surveys of the refused case (%v)", n, err)
	}
}
