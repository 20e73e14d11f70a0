package reports_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/reports"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a time in Asia/Shanghai: at("11-02 10:00:00") is 2026-11-02 10:00 +08:00.
func at(s string) time.Time {
	layout := "2006-01-02 15:04:05"
	if !strings.HasPrefix(s, "2026-") {
		s = "2026-" + s
	}
	t, err := time.ParseInLocation(layout, s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// seedCase is one case of the seeded month.
type seedCase struct {
	kind     cases.Kind
	channel  cases.Channel
	class    string
	region   string
	office   string
	received string
	due      string // "" none
	closed   string // "" open
	loss     string // yuan, "" none
}

// month is November 2026. Numbers 1-11 are received in November; 12-16 are not.
var month = []seedCase{
	1:  {cases.KindComplaint, cases.ChannelPhone, "goods.food", "620102", "城关区局", "11-02 10:00:00", "11-11 00:00:00", "11-05 10:00:00", "120.50"},
	2:  {cases.KindComplaint, cases.ChannelPhone, "goods.appliances", "620102", "城关区局", "11-03 09:00:00", "11-12 00:00:00", "11-20 10:00:00", "300.00"},
	3:  {cases.KindComplaint, cases.ChannelWeb, "services.catering_lodging", "620402", "白银区局", "11-10 09:00:00", "11-19 00:00:00", "", ""},
	4:  {cases.KindReport, cases.ChannelVoicemail, "goods.food", "620102", "城关区局", "11-12 14:00:00", "12-03 00:00:00", "", ""},
	5:  {cases.KindReport, cases.ChannelWeChat, "", "620402", "白银区局", "11-01 00:00:00", "11-20 00:00:00", "", ""},
	6:  {cases.KindConsult, cases.ChannelPhone, "", "620102", "", "11-15 11:00:00", "", "11-15 11:05:00", ""},
	7:  {cases.KindSuggestion, cases.ChannelSMS, "", "620102", "", "11-16 08:00:00", "", "", ""},
	8:  {cases.KindHelp, cases.ChannelHandover, "services.education_training", "620502", "天水局", "11-20 16:00:00", "11-27 00:00:00", "", ""},
	9:  {cases.KindInvalid, cases.ChannelPhone, "", "620000", "", "11-30 23:59:59", "", "11-30 23:59:59", ""},
	10: {cases.KindOpinion, cases.ChannelLetter, "", "620102", "城关区局", "11-25 10:00:00", "11-30 00:00:00", "12-02 09:00:00", "999.99"},
	11: {cases.KindComplaint, cases.ChannelVisit, "goods.vehicles", "620102", "城关区局", "11-28 15:00:00", "12-09 00:00:00", "", ""},
	12: {cases.KindComplaint, cases.ChannelPhone, "goods.clothing", "620102", "城关区局", "10-20 10:00:00", "10-29 00:00:00", "11-03 10:00:00", "50.00"},
	13: {cases.KindComplaint, cases.ChannelPhone, "goods.food", "620102", "城关区局", "10-25 10:00:00", "11-04 00:00:00", "11-02 10:00:00", ""},
	14: {cases.KindReport, cases.ChannelWeb, "", "620100", "兰州市局", "10-01 10:00:00", "10-22 00:00:00", "", ""},
	15: {cases.KindComplaint, cases.ChannelPhone, "", "620102", "城关区局", "10-31 23:59:59", "", "", ""},
	16: {cases.KindComplaint, cases.ChannelPhone, "", "620102", "城关区局", "12-01 00:00:00", "12-10 00:00:00", "", ""},
}

// seedCall is one call of the seeded month, on case onCase.
type seedCall struct {
	onCase    int
	dir       cases.Direction
	started   string
	queuedAt  time.Duration // after started; 0: never queued
	answerAt  time.Duration // after queued; 0: never answered by an agent
	viaEvent  bool          // the answer is only on the trail (agent_connected), not on the call
	outcome   string
	endsAfter time.Duration
}

var calls = []seedCall{
	{1, cases.Inbound, "11-02 10:00:00", 30 * time.Second, 10 * time.Second, false, "agent_answered", 5 * time.Minute},  // c1: wait 10 s
	{2, cases.Inbound, "11-03 09:00:00", 30 * time.Second, 20 * time.Second, false, "agent_answered", 5 * time.Minute},  // c2: wait 20 s, at the threshold
	{6, cases.Inbound, "11-05 12:00:00", 20 * time.Second, 45 * time.Second, true, "agent_answered", 5 * time.Minute},   // c3: wait 45 s, answer on the trail only
	{7, cases.Inbound, "11-06 12:00:00", 20 * time.Second, 0, false, "queue_abandoned", 80 * time.Second},               // c4: abandoned after 60 s
	{5, cases.Inbound, "11-07 12:00:00", 20 * time.Second, 0, false, "emergency_abandoned", 25 * time.Second},           // c5: abandoned after 5 s
	{4, cases.Inbound, "11-08 12:00:00", 20 * time.Second, 0, false, "queue_voicemail", 3 * time.Minute},                // c6: left a message
	{9, cases.Inbound, "11-09 12:00:00", 0, 0, false, "hung_up_in_menu", 30 * time.Second},                              // c7: never queued
	{15, cases.Inbound, "10-31 23:59:50", 5 * time.Second, 3 * time.Second, false, "agent_answered", 5 * time.Minute},   // c8: October
	{3, cases.Outbound, "11-10 12:00:00", 0, 0, false, "callback", time.Minute},                                         // c9: outbound
	{9, cases.Inbound, "11-30 23:59:00", 10 * time.Second, 15 * time.Second, false, "agent_answered", 10 * time.Second}, // c10: wait 15 s
	{16, cases.Inbound, "12-01 00:00:00", 5 * time.Second, 3 * time.Second, false, "agent_answered", 5 * time.Minute},   // c11: December
}

type seedSurvey struct {
	onCase int
	at     string
	result cases.Satisfaction
}

var surveys = []seedSurvey{
	{1, "11-06 10:00:00", cases.VerySatisfied},
	{2, "11-21 10:00:00", cases.Dissatisfied},
	{6, "11-16 10:00:00", cases.Satisfied},
	{12, "11-04 10:00:00", cases.Unreachable},
	{13, "11-03 10:00:00", cases.Neutral},
	{12, "12-01 00:00:00", cases.Satisfied}, // December
}

func seedMonth(t *testing.T, store *cases.Store) {
	t.Helper()
	ctx := context.Background()
	ids := map[int]cases.CaseID{}
	numbers := map[int]cases.Number{}
	for i, c := range month {
		if c.kind == "" {
			continue
		}
		received := at(c.received)
		cs, err := store.CreateCase(ctx, cases.NewCase{Kind: c.kind, Channel: c.channel, ReceivedAt: received, RegisteredBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i], numbers[i] = cs.ID, cs.Number
		var loss any
		if c.loss != "" {
			loss = c.loss
		}
		if _, err := store.Pool().Exec(ctx, `UPDATE cases SET goods_service_class = $2, region_code = $3, handling_office = $4,
			loss_recovered = $5::numeric WHERE id = $1`, cs.ID, c.class, c.region, c.office, loss); err != nil {
			t.Fatal(err)
		}
		var due *time.Time
		if c.due != "" {
			due = ptr(at(c.due))
		}
		if err := store.Register(ctx, cs.ID, cases.Registration{Kind: c.kind, Status: cases.StatusRegistered, DueAt: due,
			Actor: "test", Event: cases.EventRegistered, At: received}); err != nil {
			t.Fatal(err)
		}
		if c.closed == "" {
			continue
		}
		if i == 2 {
			// Case 2 was closed on the 18th, reopened on the 19th and closed again on the
			// 20th: its closure time is the 20th.
			if err := store.Register(ctx, cs.ID, cases.Registration{Kind: c.kind, Status: cases.StatusClosed, DueAt: due,
				Actor: "test", Event: cases.EventClosed, At: at("11-18 10:00:00")}); err != nil {
				t.Fatal(err)
			}
			if err := store.Register(ctx, cs.ID, cases.Registration{Kind: c.kind, Status: cases.StatusReopened, DueAt: due,
				Actor: "test", Event: cases.EventReopened, At: at("11-19 10:00:00")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.Register(ctx, cs.ID, cases.Registration{Kind: c.kind, Status: cases.StatusClosed, DueAt: due,
			Actor: "test", Event: cases.EventClosed, At: at(c.closed)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range calls {
		started := at(k.started)
		ch := fmt.Sprintf("seed-%d", i+1)
		call, err := store.OpenCall(ctx, ids[k.onCase], cases.NewCall{ChannelID: ch, Direction: k.dir, CallerNumber: "13900000001",
			CalledNumber: "12315", StartedAt: started})
		if err != nil {
			t.Fatal(err)
		}
		if k.queuedAt > 0 {
			q := started.Add(k.queuedAt)
			if err := store.MarkQueued(ctx, call.ID, "general", q); err != nil {
				t.Fatal(err)
			}
			if k.answerAt > 0 && k.viaEvent {
				if _, err := store.AppendEvent(ctx, ids[k.onCase], cases.NewEvent{At: q.Add(k.answerAt), Kind: "agent_connected",
					Actor: "ivr", Detail: map[string]any{"channel_id": ch, "agent": "alice"}}); err != nil {
					t.Fatal(err)
				}
			} else if k.answerAt > 0 {
				if err := store.MarkAgentAnswered(ctx, call.ID, q.Add(k.answerAt)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := store.EndCall(ctx, call.ID, started.Add(k.endsAfter), k.outcome, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range surveys {
		if err := store.RecordSurvey(ctx, cases.Survey{Number: numbers[s.onCase], At: at(s.at), Result: s.result, Actor: "bob"}); err != nil {
			t.Fatal(err)
		}
	}
}

func counts(kv ...any) []reports.Count {
	var out []reports.Count
	for i := 0; i < len(kv); i += 2 {
		out = append(out, reports.Count{Key: kv[i].(string), N: kv[i+1].(int)})
	}
	return out
}

// TestMonthlyReportFromSeededMonth seeds November 2026 in a fresh database and checks
// every figure of the monthly report against numbers worked out by hand.
func TestMonthlyReportFromSeededMonth(t *testing.T) {
	store := casestest.NewStore(t)
	seedMonth(t, store)
	p, err := reports.Month("2026-11", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	// Made on 5 December: AsOf is the end of November (1 December 00:00).
	r, err := reports.Make(context.Background(), store.Pool(), p, at("12-05 09:00:00"), reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("AsOf", r.AsOf, at("12-01 00:00:00"))

	// Received in November: cases 1-11 (5 at 00:00:00 on the 1st is in; 9 at 23:59:59 on
	// the 30th is in; 15 at 23:59:59 on 31 October and 16 at 00:00:00 on 1 December are out).
	check("Received", r.Received, 11)
	// By kind: complaints 1, 2, 3, 11; reports 4, 5; consult 6; suggestion 7; help 8;
	// invalid 9; opinion 10.
	check("ByKind", r.ByKind, counts("consult", 1, "complaint", 4, "report", 2, "suggestion", 1, "opinion", 1, "help", 1, "invalid", 1))
	// By channel: phone 1, 2, 6, 9; voicemail 4; web 3; sms 7; wechat 5; letter 10;
	// visit 11; 12345 8.
	check("ByChannel", r.ByChannel, counts("phone", 4, "voicemail", 1, "web", 1, "sms", 1, "wechat", 1, "letter", 1, "visit", 1, "handover_12345", 1))
	// By class: food 1, 4; appliances 2; vehicles 11; catering 3; education 8;
	// unclassified 5, 6, 7, 9, 10.
	check("ByClass", r.ByClass, counts("goods.food", 2, "goods.clothing", 0, "goods.vehicles", 1, "goods.household", 0,
		"goods.appliances", 1, "goods.telecom", 0, "goods.other", 0, "services.catering_lodging", 1,
		"services.education_training", 1, "services.beauty", 0, "services.culture_sport", 0, "services.sales", 0,
		"services.other", 0, "unclassified", 5))
	// By region: 620000 case 9; 620102 cases 1, 2, 4, 6, 7, 10, 11; 620402 cases 3, 5;
	// 620502 case 8.
	check("ByRegion", r.ByRegion, counts("620000", 1, "620102", 7, "620402", 2, "620502", 1))

	// Calls started in November, inbound: c1-c7 and c10 = 8 (c8 is October, c9 outbound,
	// c11 December). Offered (queued): all of them but c7 = 7. Answered: c1, c2, c3 (its
	// answer only on the trail), c10 = 4. Within 20 s: c1 (10 s), c2 (20 s, the threshold
	// counts), c10 (15 s) = 3; c3 waited 45 s. Abandoned: c4, c5 = 2; c6 left a message.
	check("InboundCalls", r.InboundCalls, 8)
	check("Offered", r.Offered, 7)
	check("Answered", r.Answered, 4)
	check("AnsweredInSL", r.AnsweredInSL, 3)
	check("Abandoned", r.Abandoned, 2)
	// 4/7 = 0.571428... -> 57.14%; 3/7 = 0.428571... -> 42.86%; 2/7 = 0.285714... -> 28.57%.
	check("AnswerRate", r.AnswerRate.Percent(), "57.14%")
	check("ServiceLevel", r.ServiceLevelR.Percent(), "42.86%")
	check("AbandonRate", r.AbandonRate.Percent(), "28.57%")
	// (10 + 20 + 45 + 15) / 4 = 22.5 s, rounded half away from zero to 23 s.
	check("AvgAnswerWait", r.AvgAnswerWait, 23*time.Second)

	// Closure rate: received in November other than the invalid call 9 = 10 cases; closed
	// before 1 December: 1 (5th), 2 (20th), 6 (15th) = 3; case 10 closed on 2 December does
	// not count. 3/10 = 30.00%.
	check("ClosureRate", r.ClosureRate, reports.Ratio{Num: 3, Den: 10})
	check("ClosureRate%", r.ClosureRate.Percent(), "30.00%")
	// Closed in November: 1, 2, 6, 9, 12, 13 = 6. With a due time (6 has none, 9 is
	// invalid): 1, 2, 12, 13 = 4; on time: 1 (5th < 11th), 13 (2nd < 4th) = 2; 2 (20th >=
	// 12th) and 12 (3 Nov >= 29 Oct) are late. 2/4 = 50.00%.
	check("ClosedInPeriod", r.ClosedInPeriod, 6)
	check("OnTimeClosureRate", r.OnTimeClosureRate, reports.Ratio{Num: 2, Den: 4})
	// Losses recovered on the cases closed in November: 120.50 (1) + 300.00 (2) + 50.00
	// (12) = 470.50 yuan; 999.99 on case 10 was recovered on a case closed in December.
	check("LossRecovered", r.LossRecovered().String(), "470.50")

	// Surveys in November: 1 very satisfied, 2 dissatisfied, 6 satisfied, 12 unreachable,
	// 13 neutral (the one of 1 December is out). Reached: 4; satisfied: 1 and 6 = 2. 2/4.
	check("Surveys", r.Surveys, counts("very_satisfied", 1, "satisfied", 1, "neutral", 1, "dissatisfied", 1, "unreachable", 1))
	check("Satisfaction", r.Satisfaction, reports.Ratio{Num: 2, Den: 4})
	check("Satisfaction%", r.Satisfaction.Percent(), "50.00%")

	// Overdue at 1 December 00:00, open then, due at or before it: 3 (19th) and 5 (20th) at
	// 白银区局; 8 (due 27th) at 天水局; 10 (due 30th, closed only on 2 December) at 城关区局;
	// 14 (22 October) at 兰州市局. Not: 4 and 11 (due in December), 7 (no due time), 2 and
	// 12 (closed). Most first, then by office name in code point order (兰 < 城 < 天).
	check("OverdueTotal", r.OverdueTotal, 5)
	type off struct {
		Office string
		N      int
		Oldest time.Time
	}
	var gotOff []off
	for _, o := range r.Overdue {
		gotOff = append(gotOff, off{o.Office, o.N, o.OldestDue.In(shanghai)})
	}
	check("Overdue", gotOff, []off{
		{"白银区局", 2, at("11-19 00:00:00")},
		{"兰州市局", 1, at("10-22 00:00:00")},
		{"城关区局", 1, at("11-30 00:00:00")},
		{"天水局", 1, at("11-27 00:00:00")},
	})

	// The days: 1st: case 5; 2nd: case 1 and c1 answered; 6th: c4 abandoned; 30th: case
	// 9 and c10 answered.
	check("days", len(r.Days), 30)
	check("Nov 1", r.Days[0], reports.DayFigures{Date: "2026-11-01", Received: 1})
	check("Nov 2", r.Days[1], reports.DayFigures{Date: "2026-11-02", Received: 1, Offered: 1, Answered: 1})
	check("Nov 6", r.Days[5], reports.DayFigures{Date: "2026-11-06", Offered: 1, Abandoned: 1})
	check("Nov 30", r.Days[29], reports.DayFigures{Date: "2026-11-30", Received: 1, Offered: 1, Answered: 1})

	// The same month as CSV and HTML.
	var csvOut bytes.Buffer
	if err := reports.WriteCSV(&csvOut, r, reports.English); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\uFEFFSection,Key,Item,Value,Numerator,Denominator\r\n",
		"Calls,answer_rate,Answer rate,57.14%,4,7\r\n",
		"Handling,on_time_rate,On-time closure rate,50.00%,2,4\r\n",
		"Summary,loss_recovered,Losses recovered (yuan),470.50,,\r\n",
		"Overdue cases by office,白银区局,白银区局,2,2026-11-19 00:00:00,",
	} {
		if !strings.Contains(csvOut.String(), want) {
			t.Errorf("CSV lacks %q:\n%s", want, csvOut.String())
		}
	}
	var page bytes.Buffer
	if err := reports.WriteHTML(&page, r, reports.Chinese, at("12-05 09:00:00")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"12315热线月度情况通报", "接通率", "57.14% (4/7)", "470.50", "<svg", "@media print", "白银区局"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestDailyReport checks one day of the seeded month, and that a report of the current
// day counts up to now only.
func TestDailyReport(t *testing.T) {
	store := casestest.NewStore(t)
	seedMonth(t, store)
	ctx := context.Background()
	p, err := reports.Day("2026-11-02", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	r, err := reports.Make(ctx, store.Pool(), p, at("11-02 23:00:00"), reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// On the 2nd: case 1 received (10:00), case 13 closed on time (10:00); c1 answered in
	// 10 s. No days in a daily report.
	if r.Received != 1 || r.ClosedInPeriod != 1 || r.OnTimeClosureRate != (reports.Ratio{Num: 1, Den: 1}) ||
		r.Offered != 1 || r.AnsweredInSL != 1 || len(r.Days) != 0 {
		t.Errorf("2 Nov: %+v", r)
	}
	// Made at 09:00 the same day: nothing had happened yet.
	r, err = reports.Make(ctx, store.Pool(), p, at("11-02 09:00:00"), reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Received != 0 || r.ClosedInPeriod != 0 || r.Offered != 0 {
		t.Errorf("2 Nov at 09:00: %+v", r)
	}
}
