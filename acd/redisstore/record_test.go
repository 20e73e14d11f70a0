package redisstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"hotline/acd"
)

// TestStoredCodes pins the numeric codes records store for enums: renumbering a constant
// would silently change what every stored record means.
func TestStoredCodes(t *testing.T) {
	codes := []struct {
		name string
		got  uint8
		want uint8
	}{
		{"logged_out", uint8(acd.StateLoggedOut), 0}, {"ready", uint8(acd.StateReady), 1},
		{"reserved", uint8(acd.StateReserved), 2}, {"ringing", uint8(acd.StateRinging), 3},
		{"on_call", uint8(acd.StateOnCall), 4}, {"wrap_up", uint8(acd.StateWrapUp), 5},
		{"not_ready", uint8(acd.StateNotReady), 6},
		{"emergency", uint8(acd.ClassEmergency), 1}, {"complaint_report", uint8(acd.ClassComplaint), 2},
		{"consult", uint8(acd.ClassConsult), 3}, {"callback class", uint8(acd.ClassCallback), 4},
		{"call", uint8(acd.KindCall), 1}, {"callback", uint8(acd.KindCallback), 2},
		{"voicemail", uint8(acd.OriginVoicemail), 1}, {"abandoned", uint8(acd.OriginAbandoned), 2},
		{"kept_place", uint8(acd.OriginKeptPlace), 3},
		{"waiting", uint8(acd.StatusWaiting), 1}, {"reserved item", uint8(acd.StatusReserved), 2},
		{"offered", uint8(acd.StatusOffered), 3}, {"connected", uint8(acd.StatusConnected), 4},
		{"answered", uint8(acd.OutcomeAnswered), 1}, {"abandoned outcome", uint8(acd.OutcomeAbandoned), 2},
		{"diverted", uint8(acd.OutcomeDiverted), 3}, {"handled", uint8(acd.OutcomeHandled), 4},
	}
	for _, c := range codes {
		if c.got != c.want {
			t.Errorf("%s is stored as %d, was %d", c.name, c.got, c.want)
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC)
	agents := []acd.Agent{
		{ID: "a1"},
		{ID: "a2", Name: "王芳", Skills: map[acd.SkillName]acd.Level{"price": 5, "zh": 3}, Groups: []acd.GroupName{"general"},
			State: acd.StateWrapUp, Reason: "", Since: at, LoginAt: at.Add(-time.Hour), ReadySince: at.Add(-time.Minute),
			LastOfferAt: at.Add(-2 * time.Minute), Busy: 90 * time.Second,
			Work: acd.Work{Reservation: "r1", Item: "c1", Queue: "price", Kind: acd.KindCall, Class: acd.ClassComplaint,
				Due: at.Add(30 * time.Second), AnsweredAt: at.Add(-3 * time.Minute), EndedAt: at}},
		{ID: "a3", State: acd.StateNotReady, Reason: acd.ReasonNoAnswer, Since: at},
	}
	for _, a := range agents {
		b, err := encodeAgent(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeAgent(b)
		if err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("agent round trip:\n got %+v (%v)\nwant %+v\n%s", back, err, a, b)
		}
	}
	items := []acd.Item{
		{ID: "c1", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult, EnqueuedAt: at, Status: acd.StatusWaiting},
		{ID: "cb|1", Kind: acd.KindCallback, Queue: "price", Class: acd.ClassCallback, Language: "en",
			Skills: []acd.SkillReq{{Skill: "price", Min: 2}}, EnqueuedAt: at, CaseID: 77, CaseNumber: "620000-20260302-000077",
			Number: "+86 138 0000 0000", Origin: acd.OriginVoicemail, Status: acd.StatusOffered, Agent: "a2", Reservation: "r9", Attempts: 2},
	}
	for _, it := range items {
		b, err := encodeItem(it)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeItem(b)
		if err != nil || !reflect.DeepEqual(back, it) {
			t.Fatalf("item round trip:\n got %+v (%v)\nwant %+v", back, err, it)
		}
	}
	o := acd.Outcome{Kind: acd.OutcomeHandled, Queue: "general", Item: "c1", ItemKind: acd.KindCall, Class: acd.ClassConsult,
		Agent: "a2", At: at, Wait: 1500 * time.Millisecond, Talk: time.Minute, WrapUp: 30 * time.Second}
	b, err := encodeOutcome(o)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decodeOutcome(b); err != nil || back != o {
		t.Fatalf("outcome round trip: %+v %v", back, err)
	}
}

// TestEncodersMatchJSON: the hand-written encoders write exactly what encoding/json writes
// for the record types, so records stored before and after read the same.
func TestEncodersMatchJSON(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC)
	agents := []agentRec{
		{ID: "a1"},
		{ID: "a<2>", Name: "王芳 \"x\" & \\ \u2028", Skills: map[string]uint8{"zh": 3, "price": 5, "a&b": 1}, Groups: []acd.GroupName{"general", "price"},
			State: 5, Reason: "break", Since: us(at), LoginAt: 1, ReadySince: 2, LastOfferAt: 3, Busy: 4,
			Work: &workRec{Reservation: "r1", Item: "c1", Queue: "price", Kind: 1, Class: 2, Due: 5, AnsweredAt: 6, EndedAt: 7}},
		{ID: "a3", Work: &workRec{}},
		{ID: "a4", Skills: map[string]uint8{"zh": 0}, Groups: []acd.GroupName{}},
	}
	for _, r := range agents {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAgentRec(nil, &r); string(got) != string(want) {
			t.Errorf("agent %s:\n got %s\nwant %s", r.ID, got, want)
		}
	}
	items := []itemRec{
		{ID: "c1"},
		{ID: "cb|1\n", Kind: 2, Queue: "price", Class: 4, Language: "en", Skills: []skillRec{{Skill: "price", Min: 2}, {Skill: "zh"}},
			EnqueuedAt: us(at), CaseID: 77, CaseNumber: "620000-20260302-000077", Number: "+86 138 0000 0000",
			Origin: 1, Status: 3, Agent: "a2", Reservation: "r9", Attempts: 2, Bonus: 86400000000},
		{ID: "c2", Skills: []skillRec{}},
	}
	for _, r := range items {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendItemRec(nil, &r); string(got) != string(want) {
			t.Errorf("item %s:\n got %s\nwant %s", r.ID, got, want)
		}
	}
}
