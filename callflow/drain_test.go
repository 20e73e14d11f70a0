package callflow

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/ivr"
	"hotline/pbx"
	"hotline/recordstore"
)

// TestDrainTurnsNewCallsAwayAndLetsCallsInProgressFinish: after Drain a new call is marked
// and handed back to the dialplan without a case, while the call already in the menu goes
// on; WaitIdle returns only when that call has ended.
func TestDrainTurnsNewCallsAwayAndLetsCallsInProgressFinish(t *testing.T) {
	p := newFakePBX()
	store := newFakeStore()
	menu, _ := ivr.Default()
	m, _ := ivr.NewMachine(menu, fixedHours{open: true})
	dl, _ := NewCalendarDeadlines()
	recs, _ := recordstore.New(t.TempDir())
	in := make(fakeIncoming, 2)
	r, err := New(Config{Calls: in, PBX: p, Cases: store, Recordings: recs, Machine: m, Deadlines: dl,
		Clock: newFakeClock(t0), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()

	call := func(id string) *pbx.Feed {
		sub, feed := pbx.NewFeed(pbx.ChannelTarget(id))
		ch := pbx.Channel{ID: id, CallerNumber: "13800000001", Language: "zh", Exten: "12315"}
		feed.Send(pbx.Event{Type: pbx.StasisStart, Channel: ch})
		in <- &pbx.InboundCall{Channel: ch, Events: sub}
		return feed
	}
	a := call("A")
	welcome := p.waitOp(t, "A's welcome", func(o op) bool { return o.Name == "play" && o.Channel == "A" })
	if r.Active() != 1 {
		t.Fatalf("active calls %d, want 1", r.Active())
	}

	r.Drain()
	b := call("B")
	defer b.End()
	p.waitOp(t, "B marked for the dialplan", func(o op) bool {
		return o.Name == "setvar" && o.Channel == "B" && o.Var == DrainVariable && o.Value == "1"
	})
	p.waitOp(t, "B handed back to the dialplan", func(o op) bool { return o.Name == "continue" && o.Channel == "B" })

	// A is still served: the next prompt of its menu follows the welcome.
	a.Send(pbx.Event{Type: pbx.PlaybackFinished, PlaybackID: welcome.ID, Channel: pbx.Channel{ID: "A"}})
	p.waitOp(t, "A's language prompt", func(o op) bool {
		return o.Name == "play" && o.Channel == "A" && o.Media == "sound:hotline/choose-language"
	})
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if err := r.WaitIdle(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle with a call in progress: %v, want the deadline", err)
	}

	a.Send(pbx.Event{Type: pbx.StasisEnd, Channel: pbx.Channel{ID: "A"}})
	a.End()
	idle, stopIdle := context.WithTimeout(ctx, 5*time.Second)
	defer stopIdle()
	if err := r.WaitIdle(idle); err != nil {
		t.Fatalf("WaitIdle after the last call ended: %v", err)
	}
	store.mu.Lock()
	creates := store.creates
	store.mu.Unlock()
	if creates != 1 {
		t.Errorf("cases created %d, want 1 (only the call taken before the drain)", creates)
	}
	for _, o := range p.snapshot() {
		if o.Channel == "B" && o.Name != "setvar" && o.Name != "continue" {
			t.Errorf("turned-away call B got %s", o.Name)
		}
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}
