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
		{ID: "a<2>", Name: "王芳 \"x\" & \\ \u2028", Skills: map[acd.SkillName]acd.Level{"zh": 3, "price": 5, "a&b": 1}, Groups: []acd.GroupName{"general", "price"},
			State: 5, Reason: "break", Since: us(at), LoginAt: 1, ReadySince: 2, LastOfferAt: 3, Busy: 4,
			Work: &workRec{Reservation: "r1", Item: "c1", Queue: "price", Kind: 1, Class: 2, Due: 5, AnsweredAt: 6, EndedAt: 7}},
		{ID: "a3", Work: &workRec{}},
		{ID: "a4", Skills: map[acd.SkillName]acd.Level{"zh": 0}, Groups: []acd.GroupName{}},
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

// TestDecodersMatchJSON: the hand-written decoders read what encoding/json reads into the
// record types, for what the encoders write and for what another writer may: members in
// any order, white space, escapes, nulls and fields this version does not know.
func TestDecodersMatchJSON(t *testing.T) {
	agents := []string{
		`{"i":"a1"}`,
		`{"i":"a<2>","n":"王芳 \"x\" \u0026 \\ \u2028","s":{"a\u0026b":1,"price":5,"zh":3},"g":["general","price"],"st":5,"rs":"break","t":1772442000123456,"li":1,"rd":2,"lo":3,"b":4,"w":{"r":"r1","i":"c1","q":"price","k":1,"c":2,"d":5,"a":6,"e":7}}`,
		` { "w" : { } , "i" : "a3" , "s" : { "zh" : 0 } , "g" : [ ] } `,
		`{"future":{"x":[1,2.5e3,true,false,null,"y"]},"i":"a4","st":1,"n":null,"w":null,"s":null,"g":null,"b":-9}`,
		`{"i":"a5","st":6,"i":"a6"}`,
	}
	matchJSON(t, "agent", agents, decodeAgent, agentFromRec)
	items := []string{
		`{"i":"c1","k":0,"q":"","c":0,"e":0,"st":0}`,
		`{"i":"cb|1\n","k":2,"q":"price","c":4,"l":"en","s":[{"s":"price","m":2},{"s":"zh","m":0}],"e":1772442000123456,"ci":77,"cn":"620000-20260302-000077","n":"+86 138 0000 0000","o":1,"st":3,"a":"a2","r":"r9","at":2,"hb":86400000000}`,
		"{\"st\":1,\t\"s\":[{\"m\":3,\"s\":\"zh\",\"x\":{}}],\r\n\"i\":\"c2\",\"more\":\"\\\"\"}",
	}
	matchJSON(t, "item", items, decodeItem, itemFromRec)
}

// matchJSON checks that decode reads each input as encoding/json does into the record
// type R, turned into the model by fromRec.
func matchJSON[R, M any](t *testing.T, what string, inputs []string, decode func([]byte) (M, error), fromRec func(R) M) {
	t.Helper()
	for _, in := range inputs {
		var r R
		if err := json.Unmarshal([]byte(in), &r); err != nil {
			t.Fatalf("reference %s: %v", in, err)
		}
		got, err := decode([]byte(in))
		if want := fromRec(r); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s:\n got %+v (%v)\nwant %+v", what, in, got, err, want)
		}
	}
}

// TestDecodersReject: a damaged record is an error, never a half-read record taken as whole.
func TestDecodersReject(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `"a"`, `{`, `{"i":"a1"`, `{"i":"a1"}x`, `{"i":"a1",}`, `{"i" "a1"}`, `{i:"a1"}`,
		`{"i":"a1}`, "{\"i\":\"a\x01\"}", `{"i":"\x"}`, `{"st":1.5}`, `{"st":1e2}`, `{"st":256}`, `{"st":-1}`,
		`{"st":"1"}`, `{"t":99999999999999999999}`, `{"s":{"zh":"3"}}`, `{"s":[1]}`, `{"g":["a",]}`,
		`{"w":{"d":--1}}`, `{"x":nul}`, `{"x":tru}`, `{"st":}`,
	} {
		if a, err := decodeAgent([]byte(in)); err == nil {
			t.Errorf("agent %q: no error, got %+v", in, a)
		}
	}
	for _, in := range []string{`{"at":4294967296}`, `{"s":[{"m":300}]}`, `{"s":{}}`, `{"e":1.0}`} {
		if it, err := decodeItem([]byte(in)); err == nil {
			t.Errorf("item %q: no error, got %+v", in, it)
		}
	}
}

// FuzzDecodeRecords: no input makes the decoders panic, and whatever they accept encodes
// and reads back to the same record.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte(`{"i":"a2","s":{"zh":3},"g":["general"],"st":5,"w":{"r":"r1","d":5}}`))
	f.Add([]byte(`{"i":"c1","k":2,"s":[{"s":"price","m":2}],"e":1,"st":1,"at":2}`))
	f.Add([]byte(`{"x":[{"y":null},-1.5e3,true],"n":"\u00e9\n"}`))
	f.Add([]byte("{\"a\":\"\xcc\"}")) // invalid UTF-8 is written as U+FFFD
	f.Fuzz(func(t *testing.T, b []byte) {
		readsBack(t, "agent", b, decodeAgent, encodeAgent, normalAgent)
		readsBack(t, "item", b, decodeItem, encodeItem, normalItem)
	})
}

// readsBack: if decode accepts b, the record encodes and decodes again to itself, as the
// encoder keeps it (normal).
func readsBack[M any](t *testing.T, what string, b []byte, decode func([]byte) (M, error), encode func(M) ([]byte, error), normal func(M) M) {
	t.Helper()
	m, err := decode(b)
	if err != nil {
		return
	}
	enc, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decode(enc); err != nil || !reflect.DeepEqual(back, normal(m)) {
		t.Fatalf("%s %q: read back %+v (%v), want %+v", what, b, back, err, m)
	}
}

// normalAgent is a as the encoder keeps it: empty collections left out, times in UTC.
func normalAgent(a acd.Agent) acd.Agent {
	if len(a.Skills) == 0 {
		a.Skills = nil
	}
	if len(a.Groups) == 0 {
		a.Groups = nil
	}
	return a
}

func normalItem(it acd.Item) acd.Item {
	if len(it.Skills) == 0 {
		it.Skills = nil
	}
	return it
}

// agentFromRec and itemFromRec turn records read by encoding/json into the model, the
// reference the decoders are held to.
func agentFromRec(r agentRec) acd.Agent {
	a := acd.Agent{
		ID: r.ID, Name: r.Name, Groups: r.Groups, State: acd.State(r.State), Reason: r.Reason,
		Since: fromUS(r.Since), LoginAt: fromUS(r.LoginAt), ReadySince: fromUS(r.ReadySince), LastOfferAt: fromUS(r.LastOfferAt),
		Busy: fromDurUS(r.Busy),
	}
	if len(r.Skills) > 0 {
		a.Skills = r.Skills
	}
	if w := r.Work; w != nil {
		a.Work = acd.Work{Reservation: w.Reservation, Item: w.Item, Queue: w.Queue, Kind: acd.ItemKind(w.Kind), Class: acd.Class(w.Class),
			Due: fromUS(w.Due), AnsweredAt: fromUS(w.AnsweredAt), EndedAt: fromUS(w.EndedAt)}
	}
	return normalAgent(a)
}

func itemFromRec(r itemRec) acd.Item {
	it := acd.Item{
		ID: r.ID, Kind: acd.ItemKind(r.Kind), Queue: r.Queue, Class: acd.Class(r.Class), Language: r.Language,
		EnqueuedAt: fromUS(r.EnqueuedAt), CaseID: r.CaseID, CaseNumber: r.CaseNumber, Number: r.Number,
		Origin: acd.Origin(r.Origin), Status: acd.ItemStatus(r.Status), Agent: r.Agent, Reservation: r.Reservation, Attempts: r.Attempts,
		HeadStartBonus: fromDurUS(r.Bonus),
	}
	for _, s := range r.Skills {
		it.Skills = append(it.Skills, acd.SkillReq{Skill: s.Skill, Min: acd.Level(s.Min)})
	}
	return it
}
