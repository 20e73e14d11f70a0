package cases_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"hotline/cases"
	"hotline/cases/casestest"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func newCase(at time.Time, caller string) cases.NewCase {
	return cases.NewCase{Kind: cases.KindComplaint, Channel: cases.ChannelPhone, ReceivedAt: at, CallerNumber: cases.Phone(caller)}
}

func TestConcurrentCaseNumbersAreDistinctAndWellFormed(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, shanghai)
	const n = 50
	numbers := make(chan cases.Number, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, num, _, err := s.CreateCaseWithCall(ctx, newCase(at, "13800000001"), cases.NewCall{
				ChannelID: "chan-" + string(rune('A'+i/26)) + string(rune('a'+i%26)), Direction: cases.Inbound,
				CallerNumber: "13800000001", CalledNumber: "12315", StartedAt: at})
			if err != nil {
				errs <- err
				return
			}
			numbers <- num
		}()
	}
	wg.Wait()
	close(numbers)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	format := regexp.MustCompile(`^620000-20261127-[0-9]{6}$`)
	seen := map[cases.Number]bool{}
	for num := range numbers {
		if !format.MatchString(string(num)) {
			t.Errorf("case number %q is not region-date-sequence", num)
		}
		if seen[num] {
			t.Errorf("case number %q handed out twice", num)
		}
		seen[num] = true
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct numbers, want %d", len(seen), n)
	}
}

func TestCaseNumberDateIsTheCentresDay(t *testing.T) {
	s := casestest.NewStore(t)
	// 17:30 UTC on the 26th is 01:30 on the 27th in Shanghai.
	c, err := s.CreateCase(context.Background(), newCase(time.Date(2026, 11, 26, 17, 30, 0, 0, time.UTC), ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Number)[:15]; got != "620000-20261127" {
		t.Errorf("number %s: want the Shanghai date 20261127", c.Number)
	}
	if c.Status != cases.StatusDraft {
		t.Errorf("status %s, want draft", c.Status)
	}
}

func TestCallWithoutCaseIsRefused(t *testing.T) {
	pool := casestest.NewPool(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO calls (channel_id, direction, started_at) VALUES ('orphan', 'inbound', now())`)
	if err == nil {
		t.Fatal("a call without a case was stored")
	}
	_, err = pool.Exec(ctx, `INSERT INTO calls (case_id, channel_id, direction, started_at) VALUES (987654, 'orphan', 'inbound', now())`)
	if err == nil {
		t.Fatal("a call pointing at a missing case was stored")
	}
	s := cases.NewStore(pool, "620000", shanghai)
	_, err = s.OpenCall(ctx, 987654, cases.NewCall{ChannelID: "x", Direction: cases.Inbound, StartedAt: time.Now()})
	if !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("OpenCall on a missing case: %v, want ErrNotFound", err)
	}
}

func TestCaseEventsCannotBeChanged(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	c, err := s.CreateCase(ctx, newCase(time.Now(), "13800000002"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.AppendEvent(ctx, c.ID, cases.NewEvent{Kind: cases.EventNote, Actor: "agent:1001", Detail: map[string]string{"text": "called back"}})
	if err != nil {
		t.Fatal(err)
	}
	pool := s.Pool()
	for _, sql := range []string{
		`UPDATE case_events SET kind = 'closed' WHERE id = $1`,
		`DELETE FROM case_events WHERE id = $1`,
		`TRUNCATE case_events CASCADE`,
	} {
		var args []any
		if sql[0] != 'T' {
			args = append(args, ev.ID)
		}
		if _, err := pool.Exec(ctx, sql, args...); err == nil {
			t.Errorf("%s: succeeded", sql)
		}
	}
	d, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) != 2 || d.Events[1].Kind != cases.EventNote {
		t.Fatalf("trail changed: %+v", d.Events)
	}
}

func TestMoneyRoundTripsExactly(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	a, b := cases.Fen(10), cases.Fen(20)
	n := newCase(time.Now(), "")
	n.AmountInvolved, n.LossRecovered = &a, &b
	c, err := s.CreateCase(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if c.AmountInvolved.String() != "0.10" || c.LossRecovered.String() != "0.20" {
		t.Fatalf("stored %s and %s", c.AmountInvolved, c.LossRecovered)
	}
	var sum string
	if err := s.Pool().QueryRow(ctx, `SELECT (amount_involved + loss_recovered)::text FROM cases WHERE id = $1`, c.ID).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != "0.30" || c.AmountInvolved.Add(*c.LossRecovered).String() != "0.30" {
		t.Fatalf("0.10 + 0.20 = %s in SQL, %s in Go", sum, c.AmountInvolved.Add(*c.LossRecovered))
	}
	var typ string
	if err := s.Pool().QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'cases'::regclass AND attname = 'loss_recovered'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "numeric(14,2)" {
		t.Errorf("loss_recovered is %s", typ)
	}
}

func TestCaseWithCallsAndTrail(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, shanghai)
	caseID, number, callID, err := s.CreateCaseWithCall(ctx, newCase(start, "13900001111"), cases.NewCall{
		ChannelID: "1795764449.9418", Direction: cases.Inbound, CallerNumber: "13900001111", CalledNumber: "12315", StartedAt: start})
	if err != nil {
		t.Fatal(err)
	}
	path := json.RawMessage(`[{"node":"menu","digit":"2"}]`)
	if err := s.EndCall(ctx, callID, start.Add(time.Minute), "voicemail", path); err != nil {
		t.Fatal(err)
	}
	if err := s.EndCall(ctx, callID, start.Add(2*time.Minute), "twice", nil); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("ending a call twice: %v", err)
	}
	later := start.Add(time.Hour)
	if _, err := s.OpenCall(ctx, caseID, cases.NewCall{ChannelID: "cb-1", Direction: cases.Outbound, CalledNumber: "13900001111", StartedAt: later}); err != nil {
		t.Fatal(err)
	}
	d, err := s.FindByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.ID != caseID || len(d.Calls) != 2 {
		t.Fatalf("case %d with %d calls", d.Case.ID, len(d.Calls))
	}
	if d.Calls[0].Outcome != "voicemail" || d.Calls[0].EndedAt == nil || string(d.Calls[0].IVRPath) != `[{"node": "menu", "digit": "2"}]` {
		t.Errorf("first call: %+v (path %s)", d.Calls[0], d.Calls[0].IVRPath)
	}
	var kinds []cases.EventKind
	for _, e := range d.Events {
		kinds = append(kinds, e.Kind)
	}
	want := []cases.EventKind{cases.EventRegistered, cases.EventCallStarted, cases.EventCallEnded, cases.EventCallStarted}
	if len(kinds) != len(want) {
		t.Fatalf("trail %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("trail %v, want %v", kinds, want)
		}
	}
	if _, err := s.FindByNumber(ctx, "620000-20261127-999999"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("missing number: %v", err)
	}
}

func TestFindByCaller(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 27, 8, 0, 0, 0, shanghai)
	for i := range 3 {
		if _, err := s.CreateCase(ctx, newCase(base.Add(time.Duration(i)*time.Hour), "13700000007")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateCase(ctx, newCase(base, "13700000008")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCase(ctx, newCase(base, "")); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindByCaller(ctx, "13700000007", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[0].ReceivedAt.After(got[1].ReceivedAt) {
		t.Fatalf("got %d cases, newest first? %v", len(got), got)
	}
	if none, _ := s.FindByCaller(ctx, "", 10); len(none) != 0 {
		t.Errorf("withheld numbers matched %d cases", len(none))
	}
}

func TestRejectsBadCases(t *testing.T) {
	s := casestest.NewStore(t)
	ctx := context.Background()
	tests := []struct {
		name string
		n    cases.NewCase
	}{
		{"unknown kind", cases.NewCase{Kind: "gossip", Channel: cases.ChannelPhone, ReceivedAt: time.Now()}},
		{"no channel", cases.NewCase{Kind: cases.KindConsult, ReceivedAt: time.Now()}},
		{"no time", cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone}},
		{"unknown channel", cases.NewCase{Kind: cases.KindConsult, Channel: "pigeon", ReceivedAt: time.Now()}},
		{"letters in the number", cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone, ReceivedAt: time.Now(), CallerNumber: "13x"}},
		{"negative amount", func() cases.NewCase {
			m := cases.Fen(-1)
			return cases.NewCase{Kind: cases.KindConsult, Channel: cases.ChannelPhone, ReceivedAt: time.Now(), AmountInvolved: &m}
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.CreateCase(ctx, tt.n); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	pool := casestest.NewPool(t) // already migrated once
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cases.Migrate(ctx, pool); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func BenchmarkCreateCaseWithCall(b *testing.B) {
	s := casestest.NewStore(b)
	ctx := context.Background()
	at := time.Now()
	var seq sync.Mutex
	n := 0
	b.SetParallelism(8) // several calls register at once, as on a busy line
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			seq.Lock()
			n++
			id := n
			seq.Unlock()
			_, _, _, err := s.CreateCaseWithCall(ctx, newCase(at, "13800000001"), cases.NewCall{
				ChannelID: "bench-" + itoa(id), Direction: cases.Inbound, CallerNumber: "13800000001", CalledNumber: "12315", StartedAt: at})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}
