package dutydesk_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/audio"
	"hotline/audit"
	"hotline/calendar"
	"hotline/callflow"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/escalation"
	"hotline/escalation/dutydesk"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/pbx/pbxtest"
	"hotline/pbx/sim"
	"hotline/recordstore"
)

// End to end: the real ARI client against the simulated PBX with scripted officers' phones,
// real PostgreSQL, the default menu and the generated prompts, the call flow with the
// emergency desk in front of a queue, and a webhook server on loopback.

var quiet = slog.New(slog.DiscardHandler)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// thursdayNight is outside opening hours: the menu offers the night menu, 9 is the emergency.
var thursdayNight = time.Date(2026, 11, 26, 23, 0, 0, 0, shanghai)

// offsetClock runs at wall-clock speed from a chosen start, with real timers.
type offsetClock struct{ base, start time.Time }

func (c offsetClock) Now() time.Time { return c.base.Add(time.Since(c.start)) }

func (offsetClock) AfterFunc(d time.Duration, f func()) callflow.Timer { return time.AfterFunc(d, f) }

// hooks is the alert webhook's receiving end.
type hooks struct {
	mu     sync.Mutex
	fail   int // answer 503 to this many requests first
	tries  int
	alerts []dutydesk.Alert
	auth   []string
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tries++
	if h.fail > 0 {
		h.fail--
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	var a dutydesk.Alert
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	h.alerts = append(h.alerts, a)
	h.auth = append(h.auth, r.Header.Get("Authorization"))
}

func (h *hooks) snapshot() ([]dutydesk.Alert, []string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]dutydesk.Alert(nil), h.alerts...), append([]string(nil), h.auth...), h.tries
}

type env struct {
	p      pbxtest.PBX
	store  *cases.Store
	desk   *dutydesk.Desk
	hooks  *hooks
	clock  offsetClock
	client *pbx.Client
}

// officer is a roster line and its simulated phone.
type officer struct {
	name     string
	phone    string
	behavior sim.Behavior
	steps    string
}

const pattern = "PJSIP/{phone}@trunk"

func soundsDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".run", "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"en/hotline/welcome.wav", "en/hotline/escalation-press.wav", "en/hotline/emergency-hold.wav", "en/digits/1.wav"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("prompt %s missing under %s: run `make prompts` first", f, dir)
		}
	}
	return dir
}

func startEnv(t *testing.T, officers []officer, policy escalation.Policy, failHooks int) *env {
	t.Helper()
	var eps []sim.EndpointSpec
	for _, o := range officers {
		eps = append(eps, sim.EndpointSpec{Name: strings.ReplaceAll(pattern, "{phone}", o.phone), Behavior: o.behavior,
			AnswerAfter: 300 * time.Millisecond, Steps: o.steps})
	}
	p := pbxtest.New(t, pbxtest.Options{SoundsDir: soundsDir(t), Endpoints: eps, Logger: quiet})
	if p.Real() {
		t.Skip("the officers' phones are simulated endpoints: only the simulated PBX has them")
	}
	pool := casestest.NewPool(t)
	store := cases.NewStore(pool, "620000", shanghai)
	roster := cases.NewRosterStore(pool, audit.New(pool))
	clock := offsetClock{base: thursdayNight, start: time.Now()}
	ctx := context.Background()
	for i, o := range officers {
		if _, err := roster.Add(ctx, "test", escalation.Entry{Name: o.name, Phone: o.phone, From: thursdayNight.Add(-time.Hour),
			To: thursdayNight.Add(10 * time.Hour), Order: i + 1, Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	h := &hooks{fail: failHooks}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	wh, err := dutydesk.NewWebhook(srv.URL, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	wh.Backoff, wh.Timeout = 50*time.Millisecond, 2*time.Second

	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, err := pbx.Connect(cctx, p.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	go func() {
		for range client.Notices() {
		}
	}()
	desk, err := dutydesk.New(dutydesk.Config{PBX: client, Trail: store, Roster: roster, Alerts: wh, Policy: policy,
		DialPattern: pattern, Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desk.Close)
	return &env{p: p, store: store, desk: desk, hooks: h, clock: clock, client: client}
}

// runCalls starts the call flow with the emergency desk in front of the busy queue; the
// hours are the shipped calendar's.
func (e *env) runCalls(t *testing.T) {
	t.Helper()
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	menu, err := ivr.Default()
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ivr.NewMachine(menu, cal)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := callflow.NewCalendarDeadlines()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := recordstore.New(filepath.Join(t.TempDir(), "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	q := &callflow.EmergencyDesk{Queue: callflow.BusyQueue{}, Escalator: e.desk, Hours: cal, Bridges: e.client}
	r, err := callflow.New(callflow.Config{Calls: e.client, PBX: e.client, Cases: callflow.NewCaseStore(e.store), Recordings: recs,
		Machine: machine, Deadlines: dl, Queue: q, Clock: e.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("runner: %v", err)
		}
	})
}

// trail waits until the case of caller has no chain running and its call (if any) is
// closed, and returns its trail as "actor kind(officer) detail..." lines, one per entry
// of the emergency.
// apart takes the entries of kind out of a trail and counts them: an alert's outcome comes
// back from its own goroutine, so where it falls among the chain's steps varies.
func apart(trail []string, kind string) (rest []string, n int) {
	for _, s := range trail {
		if s == kind {
			n++
			continue
		}
		rest = append(rest, s)
	}
	return rest, n
}

func (e *env) trail(t *testing.T, id cases.CaseID, within time.Duration) (cases.Detail, []string, []string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		d, err := e.store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		closed := true
		for _, c := range d.Calls {
			closed = closed && c.EndedAt != nil
		}
		if closed && !e.desk.Running(id) {
			var chain, call []string
			for _, ev := range d.Events {
				var m map[string]any
				if err := json.Unmarshal(ev.Detail, &m); err != nil {
					t.Fatal(err)
				}
				s := string(ev.Kind)
				if o, ok := m["officer"].(string); ok {
					s += "(" + o + ")"
				}
				if r, ok := m["reason"].(string); ok && string(ev.Kind) == string(escalation.NoteNoAnswer) {
					s += " " + r
				}
				switch {
				case ev.Actor == "escalation":
					chain = append(chain, s)
				case strings.HasPrefix(s, "escalation") || strings.HasPrefix(s, "emergency"):
					call = append(call, s)
				}
			}
			return d, chain, call
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %d: the escalation did not end within %s", id, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) caseOf(t *testing.T, from string, within time.Duration) cases.CaseID {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cs, err := e.store.FindByCaller(context.Background(), cases.Phone(from), 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 {
			return cs[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no case of %s", from)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got: %s\nwant: %s", what, strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

var fastPolicy = escalation.Policy{RingTimeout: time.Second, RingGrace: 3 * time.Second, AckTimeout: 3 * time.Second,
	MaxSummary: time.Minute, Retries: 1, RetryPause: 300 * time.Millisecond}

// The night caller presses 9; the first officer never answers, the second declines with 2,
// the third accepts with 1 and is bridged with the waiting caller: the caller hears the
// officer's 880 Hz, the officer hangs up, the call ends. Every step is on the case.
func TestEmergencyNoAnswerDeclineAcceptBridged(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []officer{
		{name: "alice", phone: "13900000001", behavior: sim.NoAnswer},
		{name: "bob", phone: "13900000002", steps: "m500 2"},
		{name: "carol", phone: "13900000003", steps: "m500 1 T880:3 h"},
	}, fastPolicy, 0)
	e.runCalls(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.p.Call(ctx, pbxtest.CallSpec{From: "13800000901", Steps: "m300 2 9", Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the call did not end")
	}
	d, chain, call := e.trail(t, e.caseOf(t, "13800000901", 5*time.Second), 15*time.Second)
	equal(t, "the chain's steps", chain, []string{
		"escalation_started", "escalation_dialing(alice)", "escalation_no_answer(alice) NOANSWER",
		"escalation_dialing(bob)", "escalation_answered(bob)", "escalation_declined(bob)",
		"escalation_dialing(carol)", "escalation_answered(carol)", "escalation_accepted(carol)", "escalation_handed_over(carol)"})
	equal(t, "the call's steps", call, []string{"emergency", "escalation_bridged(carol)", "escalation_call_ended(carol)"})
	if got := toneTime(c.Heard(), 880); got < time.Second {
		t.Errorf("the caller heard the officer for %s, want at least 1s", got)
	}
	if len(d.Calls) != 1 || d.Calls[0].Outcome != callflow.OutcomeAgent {
		t.Errorf("call outcome: %+v", d.Calls)
	}
	if alerts, _, _ := e.hooks.snapshot(); len(alerts) != 0 {
		t.Errorf("alerts sent although an officer accepted: %+v", alerts)
	}
}

// Nobody can be reached (busy, unreachable): the round is exhausted, the webhook gets the
// alert (after a 503, retried), the chain tries again after the pause and gives up with a
// final alert.
func TestEmergencyExhaustedAlertsWebhook(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []officer{
		{name: "dave", phone: "13900000004", behavior: sim.Busy},
		{name: "erin", phone: "13900000005", behavior: sim.Unavailable},
	}, escalation.Policy{RingTimeout: time.Second, RingGrace: 3 * time.Second, AckTimeout: 3 * time.Second,
		MaxSummary: time.Minute, Retries: 1, RetryPause: 2 * time.Second}, 1)
	// Flagged from the desk, nobody on the line: the same chain.
	ctx := context.Background()
	cs, err := e.store.CreateCase(ctx, cases.NewCase{Kind: cases.KindReport, Channel: cases.ChannelPhone, ReceivedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Flag(ctx, dutydesk.Emergency{CaseID: cs.ID, CaseNumber: cs.Number, CaseKind: "report", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Flag(ctx, dutydesk.Emergency{CaseID: cs.ID, CaseNumber: cs.Number}); err == nil {
		t.Error("a second chain for the same case was started")
	}
	_, chain, _ := e.trail(t, cs.ID, 20*time.Second)
	steps, sent := apart(chain, "escalation_alert_sent")
	equal(t, "the chain's steps", steps, []string{
		"escalation_started", "escalation_dialing(dave)", "escalation_no_answer(dave) BUSY",
		"escalation_dialing(erin)", "escalation_no_answer(erin) CHANUNAVAIL", "escalation_exhausted",
		"escalation_retry", "escalation_dialing(dave)", "escalation_no_answer(dave) BUSY",
		"escalation_dialing(erin)", "escalation_no_answer(erin) CHANUNAVAIL", "escalation_exhausted", "escalation_gave_up"})
	if sent != 2 {
		t.Errorf("%d alerts sent on the trail, want 2 (one per round)", sent)
	}
	alerts, auth, tries := e.hooks.snapshot()
	if len(alerts) != 2 || tries != 3 {
		t.Fatalf("webhook: %d alerts in %d requests, want 2 in 3 (one 503 retried): %+v", len(alerts), tries, alerts)
	}
	for i, a := range alerts {
		if a.Type != "escalation.exhausted" || a.CaseNumber != string(cs.Number) || a.Round != i+1 || a.Final != (i == 1) ||
			a.Officers != 2 || a.Trigger != "desk" || a.CallerWaiting || auth[i] != "Bearer s3cret" {
			t.Errorf("alert %d: %+v (authorization %q)", i, a, auth[i])
		}
	}
}

// Flagged from the desk and accepted: with nobody on the line the officer hears "call
// back" and is hung up.
func TestEmergencyFlaggedAcceptedNoCaller(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []officer{{name: "frank", phone: "13900000006", steps: "m300 1"}}, fastPolicy, 0)
	ctx := context.Background()
	cs, err := e.store.CreateCase(ctx, cases.NewCase{Kind: cases.KindComplaint, Channel: cases.ChannelPhone, ReceivedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Flag(ctx, dutydesk.Emergency{CaseID: cs.ID, CaseNumber: cs.Number, CaseKind: "complaint", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, chain, _ := e.trail(t, cs.ID, 20*time.Second)
	equal(t, "the chain's steps", chain, []string{"escalation_started", "escalation_dialing(frank)", "escalation_answered(frank)",
		"escalation_accepted(frank)", "escalation_no_caller(frank)"})
}

func toneTime(samples []int16, freq float64) time.Duration {
	n := 0
	for _, s := range audio.ToneShares(samples, freq) {
		if s >= audio.PresentShare {
			n++
		}
	}
	return time.Duration(n) * audio.Duration(audio.WindowSamples)
}

// The night caller presses 9 and nobody can be reached: the final alert says the caller
// waits, and the caller, not left on hold, leaves a message: an emergency voicemail with
// its callback.
func TestEmergencyGivenUpCallerLeavesMessage(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []officer{{name: "gina", phone: "13900000007", behavior: sim.Busy}},
		escalation.Policy{RingTimeout: time.Second, RingGrace: 3 * time.Second, AckTimeout: 3 * time.Second,
			MaxSummary: time.Minute, Retries: 0, RetryPause: time.Second}, 0)
	e.runCalls(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The menu and "connecting" take about 21 s, the message prompt 14 s more: the caller
	// speaks after 36 s; a # that comes early leaves the recording to its silence limit.
	c, err := e.p.Call(ctx, pbxtest.CallSpec{From: "13800000902", Steps: "m300 2 9 w36 t3 #"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(80 * time.Second):
		t.Fatal("the call did not end")
	}
	d, chain, call := e.trail(t, e.caseOf(t, "13800000902", 5*time.Second), 15*time.Second)
	steps, sent := apart(chain, "escalation_alert_sent")
	equal(t, "the chain's steps", steps, []string{"escalation_started", "escalation_dialing(gina)", "escalation_no_answer(gina) BUSY",
		"escalation_exhausted", "escalation_gave_up"})
	if sent != 1 {
		t.Errorf("%d alerts sent on the trail, want 1", sent)
	}
	equal(t, "the call's steps", call, []string{"emergency"})
	if len(d.Calls) != 1 || d.Calls[0].Outcome != callflow.OutcomeEmergencyVoicemail {
		t.Errorf("call outcome: %+v", d.Calls)
	}
	if len(d.Tasks) != 1 || d.Tasks[0].Priority != "emergency" {
		t.Errorf("callback tasks: %+v", d.Tasks)
	}
	if alerts, _, _ := e.hooks.snapshot(); len(alerts) != 1 || !alerts[0].Final || !alerts[0].CallerWaiting || alerts[0].Trigger != "ivr" ||
		alerts[0].CallerLanguage != "en" {
		t.Errorf("alerts: %+v", alerts)
	}
}
