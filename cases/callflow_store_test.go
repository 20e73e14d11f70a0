package cases_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
)

func TestVoicemailCaseWithRecordingAndCallbackTask(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	at := time.Date(2026, 2, 13, 22, 15, 0, 0, shanghai)
	caseID, _, callID, err := s.CreateCaseWithCall(ctx, newCase(at, "13800000009"), cases.NewCall{
		ChannelID: "vm-1", Direction: cases.Inbound, CallerNumber: "13800000009", CalledNumber: "12315", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAnswered(ctx, callID, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 3, 2, 23, 59, 59, 0, shanghai)
	err = s.Register(ctx, caseID, cases.Registration{Kind: cases.KindComplaint, Status: cases.StatusRegistered, DueAt: &due,
		DeadlineRule: "samr-2022", Event: cases.EventRegistered, Actor: "ivr", Detail: map[string]string{"channel": "voicemail"}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	if _, err := s.AddRecording(ctx, cases.Recording{CaseID: caseID, CallID: &callID, Name: "vm-1", Path: "vm/vm-1.wav", Format: "wav",
		SHA256: sum, SizeBytes: 48044, DurationMS: 3000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRecording(ctx, cases.Recording{CaseID: caseID, Name: "bad", Path: "x", SHA256: "nothex"}); err == nil {
		t.Error("a recording with a malformed checksum was stored")
	}
	if _, err := s.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: caseID, CallID: &callID, Reason: cases.TaskVoicemail,
		CallerNumber: "13800000009", Queue: "complaint", Skills: map[string]int{"zh": 1}, EnqueuedAt: at, DueAt: &due}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Get(ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.Kind != cases.KindComplaint || d.Case.Status != cases.StatusRegistered || d.Case.DueAt == nil || !d.Case.DueAt.Equal(due) || d.Case.DeadlineRule != "samr-2022" {
		t.Errorf("case not registered: %+v", d.Case)
	}
	if d.Calls[0].AnsweredAt == nil {
		t.Error("answer time not stored")
	}
	if len(d.Recordings) != 1 || d.Recordings[0].SHA256 != sum || d.Recordings[0].DurationMS != 3000 {
		t.Errorf("recordings: %+v", d.Recordings)
	}
	if len(d.Tasks) != 1 || d.Tasks[0].Status != "open" || d.Tasks[0].Reason != cases.TaskVoicemail || !d.Tasks[0].EnqueuedAt.Equal(at) {
		t.Errorf("tasks: %+v", d.Tasks)
	}
	var kinds []string
	for _, e := range d.Events {
		kinds = append(kinds, string(e.Kind))
	}
	if got := strings.Join(kinds, ","); got != "registered,call_started,registered,dispatched,recording_added,callback_task_created" {
		t.Errorf("trail %s", got)
	}
	open, err := s.OpenCallbackTasks(ctx, 10)
	if err != nil || len(open) != 1 {
		t.Fatalf("open tasks %v %v", open, err)
	}
	if err := s.Register(ctx, 999999, cases.Registration{Kind: cases.KindInvalid, Status: cases.StatusClosed, Event: cases.EventClosed}); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("register a missing case: %v", err)
	}
	if _, err := s.CreateCallbackTask(ctx, cases.NewCallbackTask{CaseID: 999999, Reason: cases.TaskMissed, EnqueuedAt: at}); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("task on a missing case: %v", err)
	}
}
