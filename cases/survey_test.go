package cases_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
)

func TestQueueMarksAndClosureTime(t *testing.T) {
	store := casestest.NewStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	id, number, callID, err := store.CreateCaseWithCall(ctx, newCase(t0, "13900000001"),
		cases.NewCall{ChannelID: "ch-1", Direction: cases.Inbound, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.MarkAgentAnswered(ctx, callID, t0.Add(time.Minute)); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("answered before queued: %v, want ErrNotFound", err)
	}
	if err := store.MarkQueued(ctx, callID, "general", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkQueued(ctx, callID, "general", t0.Add(20*time.Second)); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("queued twice: %v, want ErrNotFound", err)
	}
	if err := store.MarkAgentAnswered(ctx, callID, t0); err == nil {
		t.Error("an answer before the call was queued was accepted")
	}
	if err := store.MarkAgentAnswered(ctx, callID, t0.Add(25*time.Second)); err != nil {
		t.Fatal(err)
	}
	var queue string
	var queued, answered time.Time
	if err := store.Pool().QueryRow(ctx, `SELECT queue, queued_at, agent_answered_at FROM calls WHERE id = $1`, callID).Scan(&queue, &queued, &answered); err != nil {
		t.Fatal(err)
	}
	if queue != "general" || !queued.Equal(t0.Add(10*time.Second)) || !answered.Equal(t0.Add(25*time.Second)) {
		t.Errorf("call queue %q queued %v answered %v", queue, queued, answered)
	}

	// A survey needs a closed case.
	survey := cases.Survey{Number: number, At: t0.Add(48 * time.Hour), Result: cases.Satisfied, Actor: "bob"}
	var se *cases.StatusError
	if err := store.RecordSurvey(ctx, survey); !errors.As(err, &se) || se.HTTPStatus() != http.StatusConflict {
		t.Errorf("survey of an open case: %v, want 409", err)
	}
	closedAt := func() *time.Time {
		var c *time.Time
		if err := store.Pool().QueryRow(ctx, `SELECT closed_at FROM cases WHERE id = $1`, id).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// closed_at follows the trail: the closed entry's time, cleared by a reopening.
	reg := func(st cases.Status, ev cases.EventKind, at time.Time) {
		if err := store.Register(ctx, id, cases.Registration{Kind: cases.KindComplaint, Status: st, Event: ev, At: at, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	reg(cases.StatusClosed, cases.EventClosed, t0.Add(time.Hour))
	if c := closedAt(); c == nil || !c.Equal(t0.Add(time.Hour)) {
		t.Errorf("closed_at %v, want %v", c, t0.Add(time.Hour))
	}
	reg(cases.StatusReopened, cases.EventReopened, t0.Add(2*time.Hour))
	if c := closedAt(); c != nil {
		t.Errorf("closed_at %v after reopening, want none", c)
	}
	reg(cases.StatusClosed, cases.EventClosed, t0.Add(3*time.Hour))
	if c := closedAt(); c == nil || !c.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("closed_at %v, want %v", c, t0.Add(3*time.Hour))
	}

	if err := store.RecordSurvey(ctx, survey); err != nil {
		t.Fatal(err)
	}
	d, err := store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	last := d.Events[len(d.Events)-1]
	if last.Kind != cases.EventCalledBack || last.Actor != "bob" || string(last.Detail) != `{"survey": "satisfied"}` {
		t.Errorf("last trail entry %+v %s, want called_back by bob with the result", last, last.Detail)
	}
	for _, bad := range []cases.Survey{
		{Number: number, At: t0, Result: "happy", Actor: "bob"},
		{Number: number, At: t0, Result: cases.Neutral},
		{Number: number, Result: cases.Neutral, Actor: "bob"},
	} {
		if err := store.RecordSurvey(ctx, bad); err == nil {
			t.Errorf("survey %+v accepted", bad)
		}
	}
	if err := store.RecordSurvey(ctx, cases.Survey{Number: "620000-20261127-999999", At: t0, Result: cases.Neutral, Actor: "bob"}); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("survey of no case: %v, want ErrNotFound", err)
	}
}
