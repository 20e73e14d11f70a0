package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/reports"
)

// TestReportCountsDeskSurveys checks that surveys recorded the way the desk records them
// (cases.Store.RecordSurveyOutcome) reach the monthly figures, and that the case a
// dissatisfied survey reopened no longer counts as closed.
func TestReportCountsDeskSurveys(t *testing.T) {
	store := casestest.NewStore(t)
	ctx := context.Background()
	results := []cases.Satisfaction{cases.VerySatisfied, cases.Dissatisfied, cases.Unreachable}
	for i, res := range results {
		received := at("11-02 10:00:00").Add(time.Duration(i) * time.Hour)
		c, err := store.CreateCase(ctx, cases.NewCase{Kind: cases.KindComplaint, Channel: cases.ChannelPhone, ReceivedAt: received,
			RegisteredBy: "test", CallerNumber: cases.Phone(fmt.Sprintf("1390000000%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []cases.Registration{
			{Kind: cases.KindComplaint, Status: cases.StatusRegistered, Event: cases.EventRegistered, Actor: "ivr", At: received},
			{Kind: cases.KindComplaint, Status: cases.StatusClosed, Event: cases.EventClosed, Actor: "alice", At: at("11-05 10:00:00")},
		} {
			if err := store.Register(ctx, c.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.RecordSurveyOutcome(ctx, cases.Survey{Number: c.Number, At: at("11-06 10:00:00"), Result: res, Actor: "bob"}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := reports.Month("2026-11", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	r, err := reports.Make(ctx, store.Pool(), p, at("12-05 09:00:00"), reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(r.Surveys), fmt.Sprint(counts("very_satisfied", 1, "satisfied", 0, "neutral", 0, "dissatisfied", 1, "unreachable", 1)); got != want {
		t.Errorf("Surveys = %s, want %s", got, want)
	}
	if r.Satisfaction != (reports.Ratio{Num: 1, Den: 2}) {
		t.Errorf("Satisfaction = %+v, want 1/2", r.Satisfaction)
	}
	// Three received, two still closed: the reopened one is open again.
	if r.ClosureRate != (reports.Ratio{Num: 2, Den: 3}) || r.ClosedInPeriod != 2 {
		t.Errorf("ClosureRate = %+v, ClosedInPeriod = %d, want 2/3 and 2", r.ClosureRate, r.ClosedInPeriod)
	}
}
