package deskcalls

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/agentdesk"
	"hotline/agentdesk/media"
	"hotline/callflow"
	"hotline/cases"
	"hotline/pbx"
)

// fakeDesk records what the line tells the desk.
type fakeDesk struct {
	mu      sync.Mutex
	ringErr error
	log     []string
	offers  []agentdesk.Offer
}

func (d *fakeDesk) note(s string) {
	d.mu.Lock()
	d.log = append(d.log, s)
	d.mu.Unlock()
}

func (d *fakeDesk) Ring(_ context.Context, _ acd.AgentID, o agentdesk.Offer) error {
	d.mu.Lock()
	d.offers = append(d.offers, o)
	d.mu.Unlock()
	if d.ringErr != nil {
		return d.ringErr
	}
	d.note("ring " + string(o.ID))
	return nil
}
func (d *fakeDesk) CancelOffer(_ context.Context, _ acd.AgentID, o agentdesk.OfferID, reason string) {
	d.note("cancel " + string(o) + " " + reason)
}
func (d *fakeDesk) Connected(_ context.Context, _ acd.AgentID, c agentdesk.Call) error {
	d.note("connected " + string(c.ID) + " " + string(c.CaseNumber))
	return nil
}
func (d *fakeDesk) Ended(_ context.Context, _ acd.AgentID, c agentdesk.CallID, reason string) error {
	d.note("ended " + string(c) + " " + reason)
	return nil
}

func (d *fakeDesk) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.log)
}

type fakeSeats struct {
	mu        sync.Mutex
	attachErr error
	state     media.SeatState
	log       []string
}

func (s *fakeSeats) note(v string) {
	s.mu.Lock()
	s.log = append(s.log, v)
	s.mu.Unlock()
}
func (s *fakeSeats) AttachCall(_ context.Context, a media.AgentID, c media.CallID) (*net.UDPAddr, error) {
	if s.attachErr != nil {
		return nil, s.attachErr
	}
	s.note("attach " + string(a) + " " + string(c))
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil
}
func (s *fakeSeats) DetachCall(a media.AgentID, c media.CallID) {
	s.note("detach " + string(a) + " " + string(c))
}
func (s *fakeSeats) SetRemote(_ media.AgentID, c media.CallID, addr netip.AddrPort) error {
	s.note("remote " + string(c) + " " + addr.String())
	return nil
}
func (s *fakeSeats) Health(a media.AgentID) (media.Health, bool) {
	return media.Health{Agent: a, State: s.state}, s.state != 0
}
func (s *fakeSeats) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

type fakePBX struct {
	mu  sync.Mutex
	log []string
}

func (p *fakePBX) ExternalMedia(_ context.Context, r pbx.ExternalMediaRequest) (*pbx.ExternalMedia, error) {
	p.mu.Lock()
	p.log = append(p.log, "external "+r.ChannelID+" "+r.ExternalHost)
	p.mu.Unlock()
	return &pbx.ExternalMedia{ChannelID: r.ChannelID, LocalAddr: "127.0.0.1:30000"}, nil
}
func (p *fakePBX) Hangup(_ context.Context, id string, _ pbx.HangupReason) error {
	p.mu.Lock()
	p.log = append(p.log, "hangup "+id)
	p.mu.Unlock()
	return nil
}
func (p *fakePBX) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

type fakeLine struct{ rung []acd.AgentID }

func (f *fakeLine) Ring(_ context.Context, r callflow.AgentRing) (callflow.Leg, error) {
	f.rung = append(f.rung, r.Agent)
	return nil, errors.New("fallback rang")
}

type fixture struct {
	desk  *fakeDesk
	seats *fakeSeats
	pbx   *fakePBX
	cases *fakeCases
	line  *Line
}

func newFixture(t *testing.T, fallback callflow.AgentLine) *fixture {
	t.Helper()
	f := &fixture{desk: &fakeDesk{}, seats: &fakeSeats{state: media.SeatConnected}, pbx: &fakePBX{}, cases: &fakeCases{}}
	l, err := New(Config{Desk: f.desk, Seats: f.seats, PBX: f.pbx, Cases: f.cases, Deadlines: fixedDeadlines{},
		Fallback: fallback})
	if err != nil {
		t.Fatal(err)
	}
	f.line = l
	return f
}

func next(t *testing.T, leg callflow.Leg) (callflow.LegEvent, bool) {
	t.Helper()
	select {
	case e, ok := <-leg.Events():
		return e, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no leg event")
	}
	return callflow.LegEvent{}, false
}

const agent acd.AgentID = "a1"

func ring(t *testing.T, f *fixture, timeout time.Duration) callflow.Leg {
	t.Helper()
	leg, err := f.line.Ring(context.Background(), callflow.AgentRing{Agent: agent, ChannelID: "call1-a1",
		CallerID: "13800000001", CaseNumber: "C1", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return leg
}

func TestRingOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		timeout   time.Duration
		act       func(*fixture) error
		attachErr error
		want      callflow.LegEvent
		wantDesk  []string
		wantSeats []string
		wantPBX   []string
	}{
		{name: "rings out", timeout: 20 * time.Millisecond, act: func(*fixture) error { return nil },
			want:     callflow.LegEvent{Kind: callflow.LegFailed, Reason: "NOANSWER"},
			wantDesk: []string{"ring call1-a1", "cancel call1-a1 no answer"}},
		{name: "rejected", timeout: time.Minute,
			act:      func(f *fixture) error { return f.line.Reject(context.Background(), agent, "call1-a1") },
			want:     callflow.LegEvent{Kind: callflow.LegFailed, Reason: "REJECTED"},
			wantDesk: []string{"ring call1-a1"}},
		{name: "accepted", timeout: time.Minute,
			act:       func(f *fixture) error { return f.line.Accept(context.Background(), agent, "call1-a1") },
			want:      callflow.LegEvent{Kind: callflow.LegAnswered},
			wantDesk:  []string{"ring call1-a1", "connected call1 C1", "ended call1 caller hung up"},
			wantSeats: []string{"attach a1 call1", "remote call1 127.0.0.1:30000", "detach a1 call1"},
			wantPBX:   []string{"external call1-a1 127.0.0.1:40000", "hangup call1-a1"}},
		{name: "seat cannot attach", timeout: time.Minute, attachErr: media.ErrSeatDown,
			act:      func(f *fixture) error { return f.line.Accept(context.Background(), agent, "call1-a1") },
			want:     callflow.LegEvent{Kind: callflow.LegFailed, Reason: "CHANUNAVAIL"},
			wantDesk: []string{"ring call1-a1", "cancel call1-a1 the softphone could not be connected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.seats.attachErr = tt.attachErr
			leg := ring(t, f, tt.timeout)
			if err := tt.act(f); err != nil {
				t.Fatal(err)
			}
			got, ok := next(t, leg)
			if !ok || got != tt.want {
				t.Fatalf("leg event %+v (open %v), want %+v", got, ok, tt.want)
			}
			leg.Close()
			if d := f.desk.seen(); !slices.Equal(d, tt.wantDesk) {
				t.Errorf("desk saw %q, want %q", d, tt.wantDesk)
			}
			if s := f.seats.seen(); !slices.Equal(s, tt.wantSeats) {
				t.Errorf("seats saw %q, want %q", s, tt.wantSeats)
			}
			if p := f.pbx.seen(); !slices.Equal(p, tt.wantPBX) {
				t.Errorf("pbx saw %q, want %q", p, tt.wantPBX)
			}
			if err := f.line.Accept(context.Background(), agent, "call1-a1"); err == nil {
				t.Error("accept after the ring ended succeeded")
			}
		})
	}
}

func TestRingOffer(t *testing.T) {
	f := newFixture(t, nil)
	leg := ring(t, f, time.Minute)
	defer leg.Close()
	o := f.desk.offers[0]
	if o.ID != "call1-a1" || o.Call != "call1" || o.CaseNumber != "C1" || o.Caller != "13800000001" || o.Kind != agentdesk.OfferCall {
		t.Errorf("offer %+v", o)
	}
	if leg.ChannelID() != "call1-a1" {
		t.Errorf("leg channel %q", leg.ChannelID())
	}
	if err := f.line.Accept(context.Background(), "someone-else", "call1-a1"); err == nil {
		t.Error("another agent accepted the offer")
	}
}

func TestAgentHangsUp(t *testing.T) {
	f := newFixture(t, nil)
	leg := ring(t, f, time.Minute)
	if err := f.line.Hangup(context.Background(), agent, "call1"); err == nil {
		t.Error("hang up of a ringing call succeeded")
	}
	if err := f.line.Accept(context.Background(), agent, "call1-a1"); err != nil {
		t.Fatal(err)
	}
	if e, _ := next(t, leg); e.Kind != callflow.LegAnswered {
		t.Fatalf("got %+v", e)
	}
	if err := f.line.Hangup(context.Background(), agent, "call1"); err != nil {
		t.Fatal(err)
	}
	if p := f.pbx.seen(); !slices.Contains(p, "hangup call1-a1") {
		t.Errorf("pbx saw %q", p)
	}
	leg.Close()
	if d := f.desk.seen(); !slices.Contains(d, "ended call1 agent hung up") {
		t.Errorf("desk saw %q", d)
	}
}

func TestCallerHangsUpWhileRinging(t *testing.T) {
	f := newFixture(t, nil)
	leg := ring(t, f, time.Minute)
	if err := leg.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	leg.Close()
	want := []string{"ring call1-a1", "cancel call1-a1 caller hung up"}
	if d := f.desk.seen(); !slices.Equal(d, want) {
		t.Errorf("desk saw %q, want %q", d, want)
	}
	if p := f.pbx.seen(); len(p) != 0 {
		t.Errorf("pbx saw %q", p)
	}
}

func TestRingChoosesLine(t *testing.T) {
	tests := []struct {
		name     string
		seat     media.SeatState
		ringErr  error
		fallback bool
		wantSIP  bool
		wantErr  bool
	}{
		{name: "connected seat", seat: media.SeatConnected, fallback: true},
		{name: "no seat, fallback", fallback: true, wantSIP: true, wantErr: true},
		{name: "seat failed, fallback", seat: media.SeatFailed, fallback: true, wantSIP: true, wantErr: true},
		{name: "no seat, no fallback, desk closed", ringErr: agentdesk.ErrNotConnected, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sip := &fakeLine{}
			var fb callflow.AgentLine
			if tt.fallback {
				fb = sip
			}
			f := newFixture(t, fb)
			f.seats.state = tt.seat
			f.desk.ringErr = tt.ringErr
			leg, err := f.line.Ring(context.Background(), callflow.AgentRing{Agent: agent, ChannelID: "c-a1", CaseNumber: "C1", Timeout: time.Minute})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if leg != nil {
				leg.Close()
			}
			if (len(sip.rung) > 0) != tt.wantSIP {
				t.Errorf("fallback rung %v, want %v", sip.rung, tt.wantSIP)
			}
			if tt.ringErr != nil && !errors.Is(err, tt.ringErr) {
				t.Errorf("err %v, want %v", err, tt.ringErr)
			}
		})
	}
}

func TestCallOf(t *testing.T) {
	tests := map[string]agentdesk.CallID{"abc-a1": "abc", "1700.12-a12": "1700.12", "x-ab": "x-ab", "a1": "a1"}
	for in, want := range tests {
		if got := CallOf(in); got != want {
			t.Errorf("CallOf(%q) = %q, want %q", in, got, want)
		}
	}
}

type fakeCases struct {
	regs []cases.Registration
	ids  []cases.CaseID
}

func (c *fakeCases) FindByNumber(_ context.Context, n cases.Number) (cases.Detail, error) {
	if n != "C1" {
		return cases.Detail{}, cases.ErrNotFound
	}
	return cases.Detail{Case: cases.Case{ID: 7, Number: n, ReceivedAt: received}}, nil
}
func (c *fakeCases) Register(_ context.Context, id cases.CaseID, r cases.Registration) error {
	c.ids = append(c.ids, id)
	c.regs = append(c.regs, r)
	return nil
}

var received = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type fixedDeadlines struct{}

func (fixedDeadlines) CaseDue(kind cases.Kind, at time.Time) (callflow.Due, error) {
	if kind != cases.KindComplaint {
		return callflow.Due{Rule: "r"}, nil
	}
	due := at.Add(7 * 24 * time.Hour)
	return callflow.Due{At: &due, Rule: "r"}, nil
}
func (fixedDeadlines) CallbackDue(at time.Time) (time.Time, error) { return at, nil }

func TestWrapUpDone(t *testing.T) {
	due := received.Add(7 * 24 * time.Hour)
	tests := []struct {
		name      string
		d         agentdesk.Disposition
		wantErr   bool
		wantEvent cases.EventKind
		wantDue   *time.Time
	}{
		{name: "complaint registered", d: agentdesk.Disposition{CaseNumber: "C1", Kind: cases.KindComplaint, Status: cases.StatusRegistered, Summary: "s"},
			wantEvent: cases.EventRegistered, wantDue: &due},
		{name: "consultation closed", d: agentdesk.Disposition{CaseNumber: "C1", Kind: cases.KindConsult, Status: cases.StatusClosed, Summary: "s"},
			wantEvent: cases.EventClosed},
		{name: "unknown case", d: agentdesk.Disposition{CaseNumber: "C2", Kind: cases.KindConsult, Status: cases.StatusClosed}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			err := f.line.WrapUpDone(context.Background(), agent, "call1", tt.d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if tt.wantErr {
				return
			}
			r := f.cases.regs[0]
			if f.cases.ids[0] != 7 || r.Kind != tt.d.Kind || r.Status != tt.d.Status || r.Event != tt.wantEvent || r.Actor != string(agent) {
				t.Errorf("registration %+v of case %d", r, f.cases.ids[0])
			}
			if (r.DueAt == nil) != (tt.wantDue == nil) || (r.DueAt != nil && !r.DueAt.Equal(*tt.wantDue)) {
				t.Errorf("due %v, want %v", r.DueAt, tt.wantDue)
			}
		})
	}
}

func TestCommandsNeedAConnectedCall(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for name, err := range map[string]error{
		"hold":     f.line.Hold(ctx, agent, "call1", true),
		"transfer": f.line.Transfer(ctx, agent, "call1", agentdesk.Transfer{Queue: "consult"}),
	} {
		var hs interface{ HTTPStatus() int }
		if !errors.As(err, &hs) || hs.HTTPStatus() != 409 {
			t.Errorf("%s: %v, want a 409 refusal", name, err)
		}
	}
	if err := f.line.Callback(ctx, agent, 1); !errors.Is(err, ErrNotSupported) {
		t.Errorf("callback: %v, want not supported", err)
	}
}

// answered rings and accepts call1 for agent and returns the answered leg.
func answered(t *testing.T, f *fixture) callflow.Leg {
	t.Helper()
	leg, err := f.line.Ring(context.Background(), callflow.AgentRing{Agent: agent, ChannelID: "call1-a1", CallID: "call1",
		CallerID: "13800000001", CaseNumber: "C1", Note: "wants a refund", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.line.Accept(context.Background(), agent, "call1-a1"); err != nil {
		t.Fatal(err)
	}
	if e, _ := next(t, leg); e.Kind != callflow.LegAnswered {
		t.Fatalf("got %+v", e)
	}
	return leg
}

// TestCommandsReachTheCall: hold and transfer go to the call's goroutine as leg events and
// return what it replies; a transfer that fails leaves the end reason alone.
func TestCommandsReachTheCall(t *testing.T) {
	f := newFixture(t, nil)
	leg := answered(t, f)
	defer leg.Close()
	ctx := context.Background()
	tests := []struct {
		name  string
		do    func() error
		want  callflow.LegEvent
		reply error
	}{
		{"hold", func() error { return f.line.Hold(ctx, agent, "call1", true) }, callflow.LegEvent{Kind: callflow.LegHold, Held: true}, nil},
		{"resume", func() error { return f.line.Hold(ctx, agent, "call1", false) }, callflow.LegEvent{Kind: callflow.LegHold}, nil},
		{"transfer refused", func() error {
			return f.line.Transfer(ctx, agent, "call1", agentdesk.Transfer{Agent: "a2", Note: "n"})
		}, callflow.LegEvent{Kind: callflow.LegTransfer, To: callflow.LegTransferTarget{Agent: "a2", Note: "n"}}, callflow.ErrTargetNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() { errc <- tt.do() }()
			got, ok := next(t, leg)
			if !ok || got.Reply == nil {
				t.Fatalf("leg event %+v (open %v): want a command", got, ok)
			}
			got.Reply <- tt.reply
			got.Reply = nil
			if got != tt.want {
				t.Errorf("leg event %+v, want %+v", got, tt.want)
			}
			if err := <-errc; !errors.Is(err, tt.reply) || (tt.reply == nil && err != nil) {
				t.Errorf("outcome %v, want %v", err, tt.reply)
			}
		})
	}
	leg.Close()
	if d := f.desk.seen(); !slices.Contains(d, "ended call1 caller hung up") {
		t.Errorf("desk saw %q: a refused transfer must not name the end", d)
	}
}

// TestEndNoted: the reason the call goroutine notes is what the desk shows.
func TestEndNoted(t *testing.T) {
	f := newFixture(t, nil)
	leg := answered(t, f)
	leg.(callflow.EndNoter).NoteEnd(callflow.EndTransferred)
	if err := leg.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	leg.Close()
	if d := f.desk.seen(); !slices.Contains(d, "ended call1 transferred") {
		t.Errorf("desk saw %q", d)
	}
}

func TestSeatNotice(t *testing.T) {
	tests := []struct {
		state media.SeatState
		lost  bool
		want  callflow.LegEventKind
		ok    bool
	}{
		{media.SeatConnected, false, 0, false},
		{media.SeatConnecting, false, 0, false},
		{media.SeatDisconnected, false, callflow.LegSeatLost, true},
		{media.SeatFailed, false, callflow.LegSeatLost, true},
		{media.SeatClosed, false, callflow.LegSeatLost, true},
		{media.SeatFailed, true, 0, false},
		{media.SeatConnecting, true, 0, false},
		{media.SeatConnected, true, callflow.LegSeatBack, true},
	}
	for _, tt := range tests {
		if got, ok := seatNotice(tt.state, tt.lost); got != tt.want || ok != tt.ok {
			t.Errorf("seatNotice(%s, lost %v) = %s %v, want %s %v", tt.state, tt.lost, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSeatDropAndReconnect: the seat's events reach the call as notices, and a reconnect
// deletes the old channel before it makes the new one at the seat.
func TestSeatDropAndReconnect(t *testing.T) {
	f := newFixture(t, nil)
	leg := answered(t, f)
	f.line.SeatEvent(media.Event{Agent: media.AgentID(agent), State: media.SeatFailed, Call: "call1", Reason: "ice failed"})
	if e, _ := next(t, leg); e.Kind != callflow.LegSeatLost || e.Reason != "ice failed" || e.Grace != callflow.DefaultSeatGrace {
		t.Fatalf("got %+v, want seat lost", e)
	}
	f.line.SeatEvent(media.Event{Agent: "somebody-else", State: media.SeatConnected})
	f.line.SeatEvent(media.Event{Agent: media.AgentID(agent), State: media.SeatConnected, Call: "call1"})
	if e, _ := next(t, leg); e.Kind != callflow.LegSeatBack {
		t.Fatalf("got %+v, want seat back", e)
	}
	id, err := leg.(callflow.Reconnector).Reconnect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id != "call1-a1-r1" || leg.ChannelID() != id {
		t.Errorf("new channel %q, leg says %q", id, leg.ChannelID())
	}
	want := []string{"external call1-a1 127.0.0.1:40000", "hangup call1-a1", "external call1-a1-r1 127.0.0.1:40000"}
	if p := f.pbx.seen(); !slices.Equal(p, want) {
		t.Errorf("pbx saw %q, want %q", p, want)
	}
	leg.Close()
	if p := f.pbx.seen(); p[len(p)-1] != "hangup call1-a1-r1" {
		t.Errorf("pbx saw %q: the new channel is not deleted at the end", p)
	}
}
