package callflow

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/pbx"
)

// swapPBX is the fake PBX with pbx.Client's StopAndPlay, logged as one "swap" op (Value:
// the playback stopped).
type swapPBX struct {
	*fakePBX
	stopErr error // what the swap's stop answers
	playErr error // what the swap's play answers
}

func (s swapPBX) StopAndPlay(_ context.Context, stopID, ch, media, id string) (string, error, error) {
	s.log(op{Name: "swap", Channel: ch, ID: id, Media: media, Value: stopID})
	return id, s.stopErr, s.playErr
}

// startSwapping runs u's call against a PBX that can swap playbacks.
func (u *unit) startSwapping(p swapPBX) {
	u.t.Helper()
	r := u.runner()
	r.cfg.PBX = p
	u.r = r
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
}

// A barge-in stops the prompt and plays the next with one swap when the PBX can; a stop
// followed by anything but bookkeeping (here: setting the language) stays a plain stop.
func TestBargeInSwapsPlaybacks(t *testing.T) {
	for _, tc := range []struct {
		name             string
		stopErr, playErr error
		wantErrors       map[string]float64 // error counter by op after the swap
		wantFinished     bool               // the failed play counts as played: the menu goes on
	}{
		{name: "both answered"},
		{name: "the prompt had just ended", stopErr: &pbx.OpError{Op: "playback.stop", Err: pbx.ErrNotFound}},
		{name: "the stop failed", stopErr: errors.New("boom"), wantErrors: map[string]float64{"stop_playback": 2}}, // both swaps,
		{name: "the play failed", playErr: errors.New("boom"), wantErrors: map[string]float64{"play": 1}, wantFinished: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t)
			u.channel.Language = "" // not offered: zh is set, so choosing English sets it again
			u.startSwapping(swapPBX{fakePBX: u.pbx, stopErr: tc.stopErr, playErr: tc.playErr})
			w := u.pbx.waitOp(t, "the welcome", isPlay(welcomeMedia))
			u.finished(w.ID, "done")
			l := u.pbx.waitOp(t, "the language prompt", isPlay("sound:hotline/choose-language"))
			u.key("2") // English: the stop, the language, then the main menu
			u.pbx.waitOp(t, "the language prompt stopped", func(o op) bool { return o.Name == "stop" && o.ID == l.ID })
			u.pbx.waitOp(t, "the language set", isOp("setvar"))
			main := u.pbx.waitOp(t, "the main menu", isPlay("sound:hotline/main-menu"))
			u.key("5") // barge into the main menu: the lines menu
			sw := u.pbx.waitOp(t, "the swap", isOp("swap"))
			if sw.Value != main.ID || sw.Media != "sound:hotline/lines-menu" || sw.Channel != chanID {
				t.Fatalf("swap %+v, want %s stopped for the lines menu on %s", sw, main.ID, chanID)
			}
			// Back to the main menu: a swap again, or a plain play when the lines menu
			// failed (it counts as played, so nothing is left to stop).
			u.key("*")
			next := u.pbx.waitOp(t, "the main menu again", func(o op) bool {
				return (o.Name == "play" || o.Name == "swap") && o.Media == "sound:hotline/main-menu"
			})
			if tc.wantFinished != (next.Name == "play") {
				t.Errorf("the main menu came by %q after a swap whose play failed=%v", next.Name, tc.wantFinished)
			}
			if ops := u.pbx.snapshot(); countOps(ops, "stop") != 1 {
				t.Errorf("%d plain stops, want only the language prompt's: %+v", countOps(ops, "stop"), ops)
			}
			// The PBX logs a request when it gets it; the call counts its failure after
			// the answer: give the call goroutine a moment.
			for _, name := range []string{"stop_playback", "play"} {
				got := testutil.ToFloat64(u.r.m.errors.WithLabelValues(name))
				for wait := 0; got != tc.wantErrors[name] && wait < 100; wait++ {
					time.Sleep(10 * time.Millisecond)
					got = testutil.ToFloat64(u.r.m.errors.WithLabelValues(name))
				}
				if got != tc.wantErrors[name] {
					t.Errorf("errors[%s] = %v, want %v", name, got, tc.wantErrors[name])
				}
			}
		})
	}
}

func countOps(ops []op, name string) int {
	n := 0
	for _, o := range ops {
		if o.Name == name {
			n++
		}
	}
	return n
}
