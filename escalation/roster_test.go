package escalation

import (
	"strings"
	"testing"
	"time"
)

func TestOnDuty(t *testing.T) {
	night := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) // 18:00 in Asia/Shanghai
	span := func(e Entry, from, to time.Duration) Entry {
		e.From, e.To = night.Add(from), night.Add(to)
		return e
	}
	entries := []Entry{
		span(carol, 0, 14*time.Hour),
		span(bob, 0, 14*time.Hour),
		span(alice, 0, 14*time.Hour),
		span(Entry{ID: 9, Name: "dave", Phone: "13900000009", Order: 1, Active: false}, 0, 14*time.Hour), // not active
		span(Entry{ID: 8, Name: "erin", Phone: "13900000008", Order: 0, Active: true}, 14*time.Hour, 24*time.Hour),
		span(Entry{ID: 7, Name: "bob again", Phone: bob.Phone, Order: 5, Active: true}, 0, 14*time.Hour),
		span(Entry{ID: 6, Name: "frank", Phone: "13900000006", Order: 2, Active: true}, 0, 14*time.Hour), // same order as bob, higher id
	}
	tests := []struct {
		at   time.Time
		want string
	}{
		{night, "alice bob frank carol"},
		{night.Add(-time.Second), ""},
		{night.Add(14 * time.Hour), "erin"}, // to is exclusive, from inclusive
		{night.Add(24 * time.Hour), ""},
	}
	for _, tc := range tests {
		var names []string
		for _, e := range OnDuty(entries, tc.at) {
			names = append(names, e.Name)
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("OnDuty(%s) = %q, want %q", tc.at, got, tc.want)
		}
	}
}

func TestEntryValidate(t *testing.T) {
	ok := Entry{Name: "alice", Phone: "+8613900000001", From: t0, To: t0.Add(time.Hour), Order: 1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid entry: %v", err)
	}
	bad := Entry{Name: " ", Phone: "139-0000", From: t0, To: t0, Order: -1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid entry accepted")
	}
	for _, want := range []string{"name is required", `phone "139-0000"`, "must be after from", "order -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestDialString(t *testing.T) {
	got, err := DialString("PJSIP/{phone}@trunk", "13900000001")
	if err != nil || got != "PJSIP/13900000001@trunk" {
		t.Errorf("DialString = %q, %v", got, err)
	}
	if _, err := DialString("PJSIP/trunk", "13900000001"); err == nil {
		t.Error("a pattern without {phone} was accepted")
	}
	if _, err := DialString("PJSIP/{phone}", "1390;x"); err == nil {
		t.Error("a phone with other characters was accepted")
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewChain(Policy{Retries: -1}); err == nil || !strings.Contains(err.Error(), "ack timeout") || !strings.Contains(err.Error(), "retries -1") {
		t.Errorf("NewChain with a zero policy: %v", err)
	}
}
