package supervise_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/acd"
	"hotline/agentdesk/media"
	"hotline/audio"
	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/pbx"
	"hotline/pbx/sim"
	"hotline/rtp"
	"hotline/supervise"
)

var quiet = slog.New(slog.DiscardHandler)

// Tones as tags: who hears whom.
const (
	callerHz     = 440
	agentHz      = 880
	supervisorHz = 1300
)

// endpoint is a party at the end of an ExternalMedia channel: it sends its tone over real
// RTP on loopback and keeps what it hears.
type endpoint struct {
	conn *net.UDPConn
	tone float64

	mu    sync.Mutex
	heard []int16
}

func newEndpoint(t *testing.T, ctx context.Context, tone float64) *endpoint {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e := &endpoint{conn: conn, tone: tone}
	go func() {
		_ = rtp.NewReceiver(conn).Run(ctx, func(_ *rtp.Packet, _ netip.AddrPort, samples []int16) {
			e.mu.Lock()
			e.heard = append(e.heard, samples...)
			e.mu.Unlock()
		})
	}()
	return e
}

func (e *endpoint) addr() *net.UDPAddr { return e.conn.LocalAddr().(*net.UDPAddr) }

// send starts sending the endpoint's tone to Asterisk's side of its channel.
func (e *endpoint) send(ctx context.Context, to netip.AddrPort) {
	gen := audio.NewToneGenerator(e.tone, 0.3) // as the simulated callers
	go func() { _ = rtp.NewSender(e.conn, to).Run(ctx, gen.Fill) }()
}

func (e *endpoint) mark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.heard)
}

func (e *endpoint) since(mark int) []int16 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int16(nil), e.heard[min(mark, len(e.heard)):]...)
}

// seats is the supervisor's seat: one endpoint per supervision.
type seats struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	open     map[media.CallID]*endpoint
	detached []media.CallID
	last     *endpoint
}

func (s *seats) AttachCall(_ context.Context, _ media.AgentID, call media.CallID) (*net.UDPAddr, error) {
	e := newEndpoint(s.t, s.ctx, supervisorHz)
	s.mu.Lock()
	s.open[call], s.last = e, e
	s.mu.Unlock()
	return e.addr(), nil
}

func (s *seats) DetachCall(_ media.AgentID, call media.CallID) {
	s.mu.Lock()
	delete(s.open, call)
	s.detached = append(s.detached, call)
	s.mu.Unlock()
}

func (s *seats) SetRemote(_ media.AgentID, call media.CallID, addr netip.AddrPort) error {
	s.mu.Lock()
	e := s.open[call]
	s.mu.Unlock()
	e.send(s.ctx, addr)
	return nil
}

func (s *seats) current() *endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

type calls struct {
	mu   sync.Mutex
	call map[acd.AgentID]supervise.Call
}

func (c *calls) CallOf(agent acd.AgentID) (supervise.Call, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call, ok := c.call[agent]
	return call, ok
}

type notices struct {
	mu  sync.Mutex
	got []supervise.Notice
}

func (n *notices) Supervised(_ acd.AgentID, x supervise.Notice) {
	n.mu.Lock()
	n.got = append(n.got, x)
	n.mu.Unlock()
}

func (n *notices) list() []supervise.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.got)
}

// heard reports whether a tone is present in what a party heard over a window.
func heard(samples []int16, hz float64) bool { return audio.HasTone(samples, hz) }

// TestListenWhisperBarge: a caller (440 Hz) talks to an agent on an ExternalMedia leg
// (880 Hz) in a bridge of the simulated Asterisk; a supervisor (1300 Hz) joins through a
// snoop on the agent's leg. Listen: the supervisor hears both and nobody hears the
// supervisor. Whisper: the agent hears the supervisor, the caller does not. Barge: both
// do. Every join and leave is in the audit log and on the case, and the agent is told of
// whisper and barge. When the call ends the supervision ends by itself.
func TestListenWhisperBarge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := casestest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := cases.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	store := cases.NewStore(pool, "620000", shanghai)
	auditLog := audit.New(pool)

	s, err := sim.New(sim.Config{Username: "hotline", Password: "secret", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	client, err := pbx.Connect(ctx, pbx.Config{URL: s.URL() + "/ari", Application: "hotline", Username: "hotline",
		Password: "secret", RequestTimeout: 3 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)

	// The conversation: the caller in a bridge with the agent's ExternalMedia leg.
	caller, err := s.Call(ctx, sim.CallSpec{From: "13800000077", Steps: "T440:60", Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	var in *pbx.InboundCall
	select {
	case in = <-client.Incoming():
	case <-ctx.Done():
		t.Fatal("no inbound call")
	}
	defer in.Events.Close()
	if err := client.Answer(ctx, in.Channel.ID); err != nil {
		t.Fatal(err)
	}
	_, number, _, err := store.CreateCaseWithCall(ctx,
		cases.NewCase{Kind: cases.KindComplaint, Channel: cases.ChannelPhone, ReceivedAt: time.Now(), CallerNumber: "13800000077"},
		cases.NewCall{ChannelID: in.Channel.ID, Direction: cases.Inbound, CallerNumber: "13800000077", StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	agent := newEndpoint(t, ctx, agentHz)
	br, err := client.CreateBridge(ctx, "conv-1", "conversation")
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	em, err := client.ExternalMedia(ctx, pbx.ExternalMediaRequest{ChannelID: "agent-leg-1", ExternalHost: agent.addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Events.Close()
	waitStart(t, ctx, em.Events)
	if err := client.AddToBridge(ctx, "conv-1", in.Channel.ID, em.ChannelID); err != nil {
		t.Fatal(err)
	}
	agent.send(ctx, netip.MustParseAddrPort(em.LocalAddr))

	seat := &seats{t: t, ctx: ctx, open: map[media.CallID]*endpoint{}}
	told := &notices{}
	svc, err := supervise.New(supervise.Config{
		Calls: &calls{call: map[acd.AgentID]supervise.Call{"li.na": {CallID: in.Channel.ID, AgentChannel: em.ChannelID,
			CaseNumber: string(number)}}}, // the desk knows the number; the service finds the case
		PBX: client, Seats: seat, Audit: auditLog, Cases: store, Notify: told, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()

	// listen: hear a window after the join settles.
	window := func(what string) (callerHeard, agentHeard, supHeard []int16) {
		time.Sleep(300 * time.Millisecond) // the bridge and the relays settle
		c0, a0 := len(caller.Heard()), agent.mark()
		sup := seat.current()
		s0 := sup.mark()
		time.Sleep(1500 * time.Millisecond)
		callerHeard, agentHeard, supHeard = caller.Heard()[c0:], agent.since(a0), sup.since(s0)
		if len(callerHeard) < 4000 || len(agentHeard) < 4000 || len(supHeard) < 4000 {
			t.Fatalf("%s: too little audio: caller %d, agent %d, supervisor %d samples", what,
				len(callerHeard), len(agentHeard), len(supHeard))
		}
		return callerHeard, agentHeard, supHeard
	}
	for _, tt := range []struct {
		mode                    supervise.Mode
		callerHears, agentHears bool // the supervisor
	}{
		{supervise.Listen, false, false},
		{supervise.Whisper, false, true},
		{supervise.Barge, true, true},
	} {
		info, err := svc.Join(ctx, supervise.Request{Supervisor: "sam", SupervisorName: "Sam", Agent: "li.na", Mode: tt.mode})
		if err != nil {
			t.Fatalf("%s: %v", tt.mode, err)
		}
		if info.Mode != tt.mode || info.CaseNumber != string(number) {
			t.Errorf("%s: info %+v", tt.mode, info)
		}
		c, a, sup := window(string(tt.mode))
		if !heard(sup, callerHz) || !heard(sup, agentHz) {
			t.Errorf("%s: the supervisor must hear both sides: caller %v, agent %v", tt.mode, heard(sup, callerHz), heard(sup, agentHz))
		}
		if !heard(a, callerHz) || !heard(c, agentHz) {
			t.Errorf("%s: the conversation itself broke: agent hears caller %v, caller hears agent %v", tt.mode,
				heard(a, callerHz), heard(c, agentHz))
		}
		if got := heard(c, supervisorHz); got != tt.callerHears {
			t.Errorf("%s: caller hears the supervisor: %v, want %v", tt.mode, got, tt.callerHears)
		}
		if got := heard(a, supervisorHz); got != tt.agentHears {
			t.Errorf("%s: agent hears the supervisor: %v, want %v", tt.mode, got, tt.agentHears)
		}
	}
	if err := svc.Leave(ctx, "sam"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Leave(ctx, "sam"); err != supervise.ErrNone {
		t.Errorf("leaving twice: %v, want ErrNone", err)
	}
	if n := len(svc.Active()); n != 0 {
		t.Errorf("%d supervisions still active", n)
	}
	// The supervisor's channels are gone; the conversation is not.
	names := channelNames(t, s)
	if slices.ContainsFunc(names, func(n string) bool { return len(n) > 6 && n[:6] == "Snoop/" }) {
		t.Errorf("a snoop channel is left: %v", names)
	}
	if len(names) != 2 {
		t.Errorf("channels after the supervisor left: %v, want the caller and the agent's leg", names)
	}

	// Whisper, then the call ends (the caller hangs up and the controller deletes the
	// agent's leg, as deskcalls does): Asterisk hangs the snoop up with the leg it spies on
	// and the supervision ends by itself.
	if _, err := svc.Join(ctx, supervise.Request{Supervisor: "sam", SupervisorName: "Sam", Agent: "li.na", Mode: supervise.Whisper}); err != nil {
		t.Fatal(err)
	}
	caller.Hangup()
	if err := client.Hangup(ctx, em.ChannelID, pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(svc.Active()) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the supervision outlived the call")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The desk may still name the call for a moment: Asterisk's 404 on the snoop decides.
	if _, err := svc.Join(ctx, supervise.Request{Supervisor: "sam", Agent: "li.na", Mode: supervise.Listen}); err != supervise.ErrNoCall {
		t.Errorf("joining a call whose agent leg is gone: %v, want ErrNoCall", err)
	}
	if names := channelNames(t, s); len(names) != 0 {
		t.Errorf("channels left: %v", names)
	}
	seat.mu.Lock()
	if len(seat.open) != 0 || len(seat.detached) != 5 {
		t.Errorf("supervisor seat: %d calls attached, %d detached; want 0 and 5", len(seat.open), len(seat.detached))
	}
	seat.mu.Unlock()

	// The record: 4 supervisions (listen, whisper, barge, whisper) and the attempt Asterisk
	// refused (audited before anything is connected: no audit entry, no audio) -> a start
	// and an end each in the audit log and on the case.
	entries, err := auditLog.Find(ctx, audit.Query{Actor: "sam", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var started, ended []string
	for _, e := range entries {
		switch e.Action {
		case supervise.ActionStarted:
			started = append(started, e.Detail["mode"].(string))
		case supervise.ActionEnded:
			ended = append(ended, e.Detail["mode"].(string)+":"+e.Detail["why"].(string))
		}
		if e.Target != audit.CaseTarget(string(number)) {
			t.Errorf("audit target %q, want the case", e.Target)
		}
	}
	slices.Sort(started)
	if !slices.Equal(started, []string{"barge", "listen", "listen", "whisper", "whisper"}) || len(ended) != 5 {
		t.Errorf("audit: started %v, ended %v", started, ended)
	}
	if !slices.Contains(ended, "whisper:call ended") || !slices.Contains(ended, "barge:supervisor left") ||
		!slices.ContainsFunc(ended, func(e string) bool { return strings.HasPrefix(e, "listen:not connected") }) {
		t.Errorf("audit ends %v: want the barge left by the supervisor and the whisper ended with the call", ended)
	}
	detail, err := store.FindByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	var joined, left int
	for _, e := range detail.Events {
		switch e.Kind {
		case supervise.EventJoined:
			joined++
		case supervise.EventLeft:
			left++
		}
	}
	if joined != len(started) || left != len(ended) {
		t.Errorf("case timeline: %d joined, %d left; audit %d started, %d ended", joined, left, len(started), len(ended))
	}
	// The agent is told of whisper and barge only (joined, then left), never of listen.
	var modes []string
	for _, n := range told.list() {
		modes = append(modes, string(n.Mode)+"/"+n.Supervisor)
	}
	want := []string{"whisper/Sam", "/Sam", "barge/Sam", "/Sam", "whisper/Sam", "/Sam"}
	if !slices.Equal(modes, want) {
		t.Errorf("agent notices %v, want %v", modes, want)
	}
}

func waitStart(t *testing.T, ctx context.Context, sub *pbx.Subscription) {
	t.Helper()
	for {
		select {
		case ev := <-sub.Events():
			if ev.Type == pbx.StasisStart {
				return
			}
		case <-ctx.Done():
			t.Fatal("no StasisStart")
		}
	}
}

// channelNames lists the simulated Asterisk's channels by name (GET /ari/channels).
func channelNames(t *testing.T, s *sim.Server) []string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/ari/channels", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("hotline", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var chans []struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&chans); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range chans {
		out = append(out, c.Name)
	}
	return out
}
