package callflow

import (
	"context"
	"sync"
	"testing"
	"time"

	"hotline/cases"
	"hotline/pbx"
)

type fakeIncident struct {
	prompt string
	active bool
}

func (f fakeIncident) Announcement() (string, bool) { return f.prompt, f.active }

// startWithIncident is unit.start with an incident switch.
func (u *unit) startWithIncident(inc Incident) *unit {
	u.r = u.runner()
	u.r.cfg.Incident = inc
	sub, feed := pbx.NewFeed(pbx.ChannelTarget(u.channel.ID))
	u.feed = feed
	feed.Send(pbx.Event{Type: pbx.StasisStart, Channel: u.channel})
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.done = make(chan struct{})
	go func() {
		defer close(u.done)
		u.r.handle(ctx, &pbx.InboundCall{Channel: u.channel, Events: sub})
	}()
	u.t.Cleanup(func() {
		cancel()
		feed.End()
		<-u.done
	})
	return u
}

func TestIncidentAnnouncementBeforeTheMenu(t *testing.T) {
	u := newUnit(t)
	u.startWithIncident(fakeIncident{prompt: "hotline/incident", active: true})
	a := u.pbx.waitOp(t, "the incident announcement", isPlay("sound:hotline/incident"))
	u.key("9") // ignored: the announcement cannot be skipped, and the key is not kept
	u.finished(a.ID, "done")
	u.toMainMenu()
	var plays []string
	for _, o := range u.pbx.snapshot() {
		if o.Name == "play" {
			plays = append(plays, o.Media)
		}
	}
	if len(plays) < 2 || plays[0] != "sound:hotline/incident" || plays[1] != welcomeMedia {
		t.Errorf("plays %q, want the announcement, then the welcome", plays)
	}
}

func TestNoAnnouncementWhileIncidentModeIsOff(t *testing.T) {
	u := newUnit(t)
	u.startWithIncident(fakeIncident{prompt: "hotline/incident", active: false})
	u.toMainMenu()
	for _, o := range u.pbx.snapshot() {
		if o.Name == "play" && o.Media == "sound:hotline/incident" {
			t.Fatal("the announcement played with incident mode off")
		}
	}
}

func TestHangUpDuringTheIncidentAnnouncement(t *testing.T) {
	u := newUnit(t)
	u.startWithIncident(fakeIncident{prompt: "hotline/incident", active: true})
	u.pbx.waitOp(t, "the incident announcement", isPlay("sound:hotline/incident"))
	u.callerHangsUp()
	end := u.ended()
	u.waitDone()
	c := u.onlyCase()
	if end.Outcome != OutcomeHungUpInMenu || c.Kind != cases.KindInvalid || c.Status != cases.StatusClosed {
		t.Errorf("outcome %q, case %s %s; want hung up in the menu, an invalid closed case", end.Outcome, c.Kind, c.Status)
	}
}

// The queue figures of the reports, on the fake store: kept beside it (its fields are in
// fakes_test.go), keyed by the store.

type queueMark struct {
	queue         string
	queuedAt      time.Time
	agentAnswered time.Time
}

var queueMarks = struct {
	sync.Mutex
	m map[*fakeStore]map[cases.CallID]queueMark
}{m: map[*fakeStore]map[cases.CallID]queueMark{}}

func (s *fakeStore) mark(id cases.CallID, f func(*queueMark)) {
	queueMarks.Lock()
	defer queueMarks.Unlock()
	if queueMarks.m[s] == nil {
		queueMarks.m[s] = map[cases.CallID]queueMark{}
	}
	m := queueMarks.m[s][id]
	f(&m)
	queueMarks.m[s][id] = m
}

func (s *fakeStore) marks(id cases.CallID) queueMark {
	queueMarks.Lock()
	defer queueMarks.Unlock()
	return queueMarks.m[s][id]
}

func (s *fakeStore) MarkQueued(_ context.Context, id cases.CallID, queue string, at time.Time) error {
	s.mark(id, func(m *queueMark) { m.queue, m.queuedAt = queue, at })
	return nil
}

func (s *fakeStore) MarkAgentAnswered(_ context.Context, id cases.CallID, at time.Time) error {
	s.mark(id, func(m *queueMark) { m.agentAnswered = at })
	return nil
}

func TestOfferedCallIsMarkedQueued(t *testing.T) {
	u := newUnit(t)
	u.start()
	u.toRecording("2", "sound:hotline/connecting")
	c := u.onlyCase()
	m := u.store.marks(cases.CallID(c.ID * 10))
	if m.queue != "general" || !m.queuedAt.Equal(t0) {
		t.Errorf("queue mark %+v, want general at %v", m, t0)
	}
}
