package callflow

import (
	"testing"
	"time"

	"hotline/calendar"
	"hotline/cases"
	"hotline/ivr"
)

func TestPlan(t *testing.T) {
	queued := &queueInfo{name: "general", kind: ivr.CaseComplaint, reason: "all agents busy"}
	emergency := &queueInfo{name: "emergency", kind: ivr.CaseReport, emergency: true}
	talked := &queueInfo{name: "general", kind: ivr.CaseComplaint, agent: "1002"}
	keptPlace := &queueInfo{name: "general", kind: ivr.CaseReport, keptPlace: true}
	type want struct {
		outcome  string
		kind     cases.Kind
		channel  cases.Channel
		status   cases.Status
		event    cases.EventKind
		due      bool
		callback cases.TaskReason
		priority string
	}
	tests := []struct {
		name string
		o    observed
		want want
	}{
		{"message at a voicemail node",
			observed{result: ivr.Result{Outcome: ivr.OutcomeVoicemail, CaseKind: ivr.CaseConsult}, vm: vmRecorded},
			want{OutcomeVoicemail, cases.KindConsult, cases.ChannelVoicemail, cases.StatusRegistered, cases.EventRegistered, true, cases.TaskVoicemail, "callback"}},
		{"silent message after a queue",
			observed{result: ivr.Result{Outcome: ivr.OutcomeQueued, CaseKind: ivr.CaseComplaint}, queue: queued, vm: vmSilent},
			want{OutcomeQueueVoicemail, cases.KindComplaint, cases.ChannelVoicemail, cases.StatusRegistered, cases.EventRegistered, true, cases.TaskMissed, "callback"}},
		{"no audio after the emergency line",
			observed{result: ivr.Result{Outcome: ivr.OutcomeEmergency, CaseKind: ivr.CaseReport}, queue: emergency, vm: vmFailed},
			want{OutcomeEmergencyVoicemail, cases.KindReport, cases.ChannelVoicemail, cases.StatusRegistered, cases.EventRegistered, true, cases.TaskMissed, "emergency"}},
		{"hung up after a queue",
			observed{result: ivr.Result{Outcome: ivr.OutcomeQueued, CaseKind: ivr.CaseComplaint}, queue: queued, vm: vmAbandoned},
			want{OutcomeQueueAbandoned, cases.KindComplaint, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, false, cases.TaskAbandoned, "callback"}},
		{"hung up after the emergency line",
			observed{result: ivr.Result{Outcome: ivr.OutcomeEmergency, CaseKind: ivr.CaseReport}, queue: emergency, vm: vmAbandoned},
			want{OutcomeEmergencyAbandoned, cases.KindReport, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, false, cases.TaskAbandoned, "emergency"}},
		{"an agent answered",
			observed{result: ivr.Result{Outcome: ivr.OutcomeQueued, CaseKind: ivr.CaseComplaint}, queue: talked},
			want{OutcomeAgent, cases.KindComplaint, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, true, "", "callback"}},
		{"callback chosen while waiting",
			observed{result: ivr.Result{Outcome: ivr.OutcomeQueued, CaseKind: ivr.CaseReport}, queue: keptPlace},
			want{OutcomeQueueCallback, cases.KindReport, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, false, cases.TaskRequested, "callback"}},
		{"hung up in the menu",
			observed{result: ivr.Result{Outcome: ivr.OutcomeHungUpInMenu, CaseKind: ivr.CaseInvalid}},
			want{OutcomeHungUpInMenu, cases.KindInvalid, cases.ChannelPhone, cases.StatusClosed, cases.EventClosed, false, "", ""}},
		{"goodbye",
			observed{result: ivr.Result{Outcome: ivr.OutcomeHungUp, CaseKind: ivr.CaseInvalid}},
			want{OutcomeHungUp, cases.KindInvalid, cases.ChannelPhone, cases.StatusClosed, cases.EventClosed, false, "", ""}},
		{"status heard",
			observed{result: ivr.Result{Outcome: ivr.OutcomeLookupDone}, lookedUp: "620000-20261101-000042"},
			want{OutcomeLookupDone, cases.KindConsult, cases.ChannelPhone, cases.StatusClosed, cases.EventClosed, false, "", ""}},
		{"transfer node",
			observed{result: ivr.Result{Outcome: ivr.OutcomeTransferred, CaseKind: ivr.CaseHelp}, transfer: "12345"},
			want{OutcomeTransferRequested, cases.KindHelp, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, false, cases.TaskRequested, "callback"}},
		{"panic in the menu",
			observed{result: ivr.Result{}, aborted: "panic"},
			want{OutcomeAborted, cases.KindConsult, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, false, cases.TaskMissed, "callback"}},
		{"shutdown while the queue's prompt played",
			observed{result: ivr.Result{Outcome: ivr.OutcomeQueued, CaseKind: ivr.CaseComplaint}, queue: queued, aborted: "shutdown"},
			want{OutcomeAborted, cases.KindComplaint, cases.ChannelPhone, cases.StatusRegistered, cases.EventRegistered, false, cases.TaskMissed, "callback"}},
		{"shutdown while recording keeps the message",
			observed{result: ivr.Result{Outcome: ivr.OutcomeVoicemail, CaseKind: ivr.CaseConsult}, vm: vmRecorded, aborted: "shutdown"},
			want{OutcomeVoicemail, cases.KindConsult, cases.ChannelVoicemail, cases.StatusRegistered, cases.EventRegistered, true, cases.TaskVoicemail, "callback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := plan(tt.o)
			got := want{s.Outcome, s.Kind, s.Channel, s.Status, s.Event, s.Due, s.Callback, s.Priority}
			if got != tt.want {
				t.Errorf("plan\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.o.lookedUp != "" && s.Detail["looked_up"] != tt.o.lookedUp {
				t.Errorf("detail %v lacks the case looked up", s.Detail)
			}
		})
	}
}

func TestCalendarDeadlines(t *testing.T) {
	d, err := NewCalendarDeadlines()
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	lastDay := func(due time.Time) string {
		return calendar.DateOf(due.Add(-time.Nanosecond).In(shanghai)).String()
	}
	tests := []struct {
		name     string
		kind     cases.Kind
		received string
		due      string // last day of the limit, "" for no statutory limit
		step     string
		callback string // last day to call back
	}{
		// Spring Festival 2026: Feb 14 (Sat) is a make-up working day, Feb 15-23 are off,
		// Feb 28 (Sat) works: 14, 24, 25, 26, 27, 28, Mar 2.
		{"complaint before the Spring Festival", cases.KindComplaint, "2026-02-13 16:45:00", "2026-03-02", "complaint_accept", "2026-02-14"},
		{"complaint on an ordinary Friday", cases.KindComplaint, "2026-11-27 10:00:00", "2026-12-08", "complaint_accept", "2026-11-30"},
		{"report before National Day", cases.KindReport, "2026-09-30 09:00:00", "2026-10-27", "report_verify", "2026-10-08"},
		{"consultation: no statutory limit", cases.KindConsult, "2026-11-27 10:00:00", "", "", "2026-11-30"},
		{"message left on New Year's Eve", cases.KindSuggestion, "2026-12-31 23:00:00", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, err := d.CaseDue(tt.kind, at(tt.received))
			if err != nil {
				t.Fatal(err)
			}
			if due.Rule != "samr-2019-am2022" || due.Step != tt.step {
				t.Errorf("rule %q step %q", due.Rule, due.Step)
			}
			switch {
			case tt.due == "" && due.At != nil:
				t.Errorf("due %v, want none", due.At)
			case tt.due != "" && (due.At == nil || lastDay(*due.At) != tt.due):
				t.Errorf("due %v, want by the end of %s", due.At, tt.due)
			}
			cb, err := d.CallbackDue(at(tt.received))
			if tt.callback == "" {
				// 2027's holidays are not loaded: an error, never a guess.
				if err == nil {
					t.Errorf("callback due %v, want an error for a year without its notice", cb)
				}
				return
			}
			if err != nil || lastDay(cb) != tt.callback {
				t.Errorf("callback due %v (%v), want by the end of %s", cb, err, tt.callback)
			}
		})
	}
}

func TestCaseNumberFromKeys(t *testing.T) {
	tests := []struct {
		keys string
		want cases.Number
		ok   bool
	}{
		{"62000020261127000123", "620000-20261127-000123", true},
		{"6200002026112700012", "", false},
		{"620000202611270001234", "", false},
		{"6200002026112700012*", "", false},
	}
	for _, tt := range tests {
		got, ok := caseNumber(tt.keys)
		if got != tt.want || ok != tt.ok {
			t.Errorf("caseNumber(%q) = %q, %v; want %q, %v", tt.keys, got, ok, tt.want, tt.ok)
		}
	}
}
