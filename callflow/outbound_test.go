package callflow

import (
	"testing"
	"time"

	"hotline/acd"
	"hotline/cases"
)

func TestRetryPolicy(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	p := RetryPolicy{MaxAttempts: 3, Backoff: []time.Duration{10 * time.Minute, time.Hour}}
	for _, c := range []struct {
		name     string
		attempts int
		last     *time.Time
		now      time.Time
		next     time.Time
		due      bool
	}{
		{"never tried", 0, nil, at, time.Time{}, true},
		{"first backoff not over", 1, &at, at.Add(9 * time.Minute), at.Add(10 * time.Minute), false},
		{"first backoff over", 1, &at, at.Add(10 * time.Minute), at.Add(10 * time.Minute), true},
		{"second backoff", 2, &at, at.Add(30 * time.Minute), at.Add(time.Hour), false},
		{"given up", 3, &at, at.Add(48 * time.Hour), at.Add(time.Hour), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := p.NextAttempt(c.attempts, c.last); !got.Equal(c.next) {
				t.Errorf("next attempt %s, want %s", got, c.next)
			}
			if got := p.Due(c.attempts, c.last, c.now); got != c.due {
				t.Errorf("due %v, want %v", got, c.due)
			}
		})
	}
	if d := (RetryPolicy{}).withDefaults(); d.MaxAttempts != 3 || len(d.Backoff) != 2 {
		t.Errorf("defaults %+v", d)
	}
	// The last backoff repeats.
	one := RetryPolicy{MaxAttempts: 9, Backoff: []time.Duration{time.Hour}}
	if got := one.NextAttempt(5, &at); !got.Equal(at.Add(time.Hour)) {
		t.Errorf("fifth attempt after %s", got)
	}
}

func TestItemTask(t *testing.T) {
	for _, c := range []struct {
		id   acd.ItemID
		want itemRef
		bad  bool
	}{
		{id: "cbt-42-0", want: itemRef{task: 42}},
		{id: "cbt-42-3", want: itemRef{task: 42, attempt: 3}},
		{id: "cbp-42-1", want: itemRef{task: 42, attempt: 1}},
		{id: "cb-1795798860.80519", want: itemRef{channel: "1795798860.80519"}},
		{id: "cbt-x-1", bad: true},
		{id: "cbt--1", bad: true},
		{id: "cbt-42", bad: true},
		{id: "cbt-42--1", bad: true},
		{id: "cb-", bad: true},
		{id: "1795798860.80519", bad: true},
	} {
		got, err := itemTask(c.id)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("itemTask(%q) = %+v, %v", c.id, got, err)
		}
	}
	if got := taskItemID(42, 3); got != "cbt-42-3" {
		t.Errorf("taskItemID = %q", got)
	}
}

func TestDialString(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"PJSIP/{number}@carrier", true},
		{"SIP/trunk/{number}", true},
		{"PJSIP/carrier", false},
		{"{number}", false},
		{"PJSIP/{number}@{number}", false},
		{"", false},
	} {
		if err := CheckDialString(c.s); (err == nil) != c.ok {
			t.Errorf("CheckDialString(%q) = %v", c.s, err)
		}
	}
	cb := &Callbacks{cfg: CallbackConfig{DialString: "PJSIP/{number}@carrier"}}
	if got, err := cb.dialString("13800000902"); err != nil || got != "PJSIP/13800000902@carrier" {
		t.Errorf("dial string %q, %v", got, err)
	}
	for _, bad := range []cases.Phone{"", "12", "1380000&x", "138 0000"} {
		if _, err := cb.dialString(bad); err == nil {
			t.Errorf("number %q dialled", bad)
		}
	}
}

func TestTaskItem(t *testing.T) {
	cb := &Callbacks{cfg: CallbackConfig{DefaultQueue: "general"}}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	it := cb.taskItem(cases.TaskAttempts{Task: cases.CallbackTask{ID: 7, CaseID: 3, Reason: cases.TaskRequested,
		CallerNumber: "13800000902", Skills: []byte(`{"complaint": 1}`), EnqueuedAt: at}, CaseNumber: "620000-20261127-000001", Attempts: 1})
	if it.ID != "cbt-7-1" || it.Kind != acd.KindCallback || it.Queue != "general" || it.Class != acd.ClassCallback ||
		!it.EnqueuedAt.Equal(at) || it.Origin != acd.OriginKeptPlace || it.Number != "13800000902" ||
		len(it.Skills) != 1 || it.Skills[0] != (acd.SkillReq{Skill: "complaint", Min: 1}) {
		t.Errorf("item %+v", it)
	}
}
