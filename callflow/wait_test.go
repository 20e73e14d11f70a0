package callflow

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"hotline/acd"
	"hotline/acd/memstore"
	"hotline/audio"
	"hotline/ivr"
	"hotline/pbx"
)

func TestDecideAnnouncement(t *testing.T) {
	tests := []struct {
		name string
		last int
		in   queueNow
		want announcement
	}{
		{"nothing known", 0, queueNow{}, announcement{}},
		{"first position", 0, queueNow{Position: 4}, announcement{Position: 4}},
		{"improved", 4, queueNow{Position: 2}, announcement{Position: 2}},
		{"unchanged is not said again", 3, queueNow{Position: 3}, announcement{}},
		{"worse (a call went ahead) is not said", 2, queueNow{Position: 3}, announcement{}},
		{"unknown position after one said", 2, queueNow{}, announcement{}},
		{"estimate rounded up", 0, queueNow{EstimateKnown: true, Estimate: 150 * time.Second}, announcement{Minutes: 3}},
		{"whole minutes stay", 0, queueNow{EstimateKnown: true, Estimate: 2 * time.Minute}, announcement{Minutes: 2}},
		{"estimate minus the wait so far", 0, queueNow{EstimateKnown: true, Estimate: 5 * time.Minute, Waited: 3*time.Minute + time.Second}, announcement{Minutes: 2}},
		{"under a minute left says one", 0, queueNow{EstimateKnown: true, Estimate: time.Minute, Waited: 59 * time.Second}, announcement{Minutes: 1}},
		{"waited past the estimate", 0, queueNow{EstimateKnown: true, Estimate: time.Minute, Waited: 2 * time.Minute}, announcement{}},
		{"estimate unknown", 0, queueNow{Estimate: 5 * time.Minute}, announcement{}},
		{"both, estimate with an unchanged position", 5, queueNow{Position: 5, EstimateKnown: true, Estimate: 4 * time.Minute}, announcement{Minutes: 4}},
		{"both", 5, queueNow{Position: 1, EstimateKnown: true, Estimate: 4 * time.Minute, Waited: time.Minute}, announcement{Position: 1, Minutes: 3}},
	}
	for _, tt := range tests {
		if got := decideAnnouncement(tt.last, tt.in); got != tt.want {
			t.Errorf("%s: decideAnnouncement(%d, %+v) = %+v, want %+v", tt.name, tt.last, tt.in, got, tt.want)
		}
	}
}

func TestAnnouncementMedia(t *testing.T) {
	tests := []struct {
		a    announcement
		want string
	}{
		{announcement{}, ""},
		{announcement{Position: 12}, "sound:hotline/queue-position,number:12,sound:hotline/queue-position-end"},
		{announcement{Minutes: 3}, "sound:hotline/estimated-wait,number:3,sound:hotline/estimated-wait-end"},
		{announcement{Position: 2, Minutes: 7}, "sound:hotline/queue-position,number:2,sound:hotline/queue-position-end," +
			"sound:hotline/estimated-wait,number:7,sound:hotline/estimated-wait-end"},
	}
	for _, tt := range tests {
		if got := tt.a.media(); got != tt.want {
			t.Errorf("%+v.media() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestPositionOf(t *testing.T) {
	items := []acd.Item{
		{ID: "cb-1", Kind: acd.KindCallback, Status: acd.StatusWaiting},
		{ID: "a", Status: acd.StatusOffered}, // ringing an agent: no longer in line
		{ID: "b", Status: acd.StatusWaiting},
		{ID: "c", Status: acd.StatusWaiting},
	}
	for id, want := range map[acd.ItemID]int{"cb-1": 1, "a": 0, "b": 2, "c": 3, "gone": 0} {
		if got := positionOf(items, id); got != want {
			t.Errorf("positionOf(%s) = %d, want %d", id, got, want)
		}
	}
}

// Every prompt the queue plays must be in the default menu, in both languages (a missing
// one is a failed playback: the caller hears only the hold tone).
func TestWaitPromptsInMenu(t *testing.T) {
	menu, err := ivr.Default()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range menu.Prompts() {
		have[p.Name] = p.Text["zh"] != "" && p.Text["en"] != ""
	}
	want := WaitAnnouncements{}.withDefaults().Intro
	want = append(want, "hotline/queue-position", "hotline/queue-position-end",
		"hotline/estimated-wait", "hotline/estimated-wait-end", promptAgentHold, promptAgentReconnecting)
	for _, p := range want {
		if !have[string(p)] {
			t.Errorf("prompt %s is not in the default menu with zh and en texts", p)
		}
	}
}

func TestWaitAnnouncementsDefaults(t *testing.T) {
	d := WaitAnnouncements{}.withDefaults()
	if d.Off || d.Every != 30*time.Second || d.Window != time.Hour ||
		len(d.Intro) != 2 || d.Intro[0] != "hotline/agents-busy" || d.Intro[1] != "hotline/queue-options" {
		t.Errorf("defaults %+v", d)
	}
	if off := (WaitAnnouncements{Off: true, Every: time.Second}).withDefaults(); len(off.Intro) != 0 || off.Every != 0 {
		t.Errorf("off %+v: want no intro and no period", off)
	}
}

// TestE2EWaitIntro: a caller who waits with nobody logged in hears the queue's intro, the
// exit keys included (TestWaitAnnouncements covers what follows it).
func TestE2EWaitIntro(t *testing.T) {
	t.Parallel()
	h := startACDHotline(t, friday, testACDConfig(), nil)
	options, err := audio.ReadWAVFile(filepath.Join(soundsDir(t), "en", "hotline", "queue-options.wav"))
	if err != nil {
		t.Fatal(err)
	}
	const from = "13800000730"
	// After the prompt awaited ("connecting" may follow it), 4 s of agents-busy, then the
	// options: 12 s reach well into them.
	c := h.dialListening(t, from, "m300 2 2 p w12 h")
	h.wait(t, testCaller{channelID: c.ChannelID(), done: c.Done()}, from, time.Now().Add(60*time.Second))
	at := audio.SamplesFor(time.Second)
	if !containsClip(c.Heard(), options[at:at+audio.SamplesFor(200*time.Millisecond)]) {
		t.Error("the caller never heard hotline/queue-options")
	}
}

// containsClip reports whether clip occurs in samples, within the error of a μ-law round
// trip (the simulated PBX plays the WAV's samples).
func containsClip(samples, clip []int16) bool {
	const tol = 512
	for i := 0; i+len(clip) <= len(samples); i++ {
		j := 0
		for ; j < len(clip); j++ {
			d := int(samples[i+j]) - int(clip[j])
			if d > tol || d < -tol {
				break
			}
		}
		if j == len(clip) {
			return true
		}
	}
	return false
}

// TestWaitAnnouncements: on the fake PBX and the in-memory distributor, a caller second in
// line hears the intro, then the hold tone; every 30 s the position (only when it improved:
// not again while the call ahead waits, then once it has left) and what the estimate leaves
// of the wait; key 1 barges in on an announcement.
func TestWaitAnnouncements(t *testing.T) {
	u := newUnit(t)
	cfg := testACDConfig()
	router, err := acd.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(router, u.clock)
	ctx := context.Background()
	// History: a call answered after 3 minutes (the estimate); then one that waits ahead.
	if _, err := store.Login(ctx, acd.Agent{ID: "a1", Groups: []acd.GroupName{"general"},
		Skills: map[acd.SkillName]acd.Level{"zh": 3}}, acd.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Enqueue(ctx, acd.Item{ID: "before", Kind: acd.KindCall, Queue: "general", Class: acd.ClassConsult}); err != nil {
		t.Fatal(err)
	}
	u.clock.Advance(3 * time.Minute)
	rs, err := store.ReserveBest(ctx, 1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("reserve: %v %v", rs, err)
	}
	for _, step := range []func(context.Context, acd.Reservation) (acd.Agent, error){store.Offer, store.Answer} {
		if _, err := step(ctx, rs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Enqueue(ctx, acd.Item{ID: "ahead", Kind: acd.KindCall, Queue: "general", Class: acd.ClassComplaint}); err != nil {
		t.Fatal(err)
	}
	u.clock.Advance(time.Second) // "ahead" came first
	q, err := NewACDQueue(ACDConfig{Store: store, ACD: cfg, Line: SIPLine{}, Bridges: &pbx.Client{}, Clock: u.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	u.queue = q
	u.start()

	u.toMainMenu()
	u.key("2")
	c := u.pbx.waitOp(t, "the connecting prompt", isPlay("sound:hotline/connecting"))
	u.finished(c.ID, "done")
	intro := u.pbx.waitOp(t, "the intro", isPlay("sound:hotline/agents-busy,sound:hotline/queue-options"))
	u.clock.waitTimer(t, 30*time.Second)
	u.finished(intro.ID, "done")
	u.pbx.waitOp(t, "the hold tone", isPlay("tone:ring"))

	u.clock.Advance(30 * time.Second)
	first := u.pbx.waitOp(t, "the first announcement", func(o op) bool { return o.Name == "play" && o.Media != "tone:ring" })
	if want := "sound:hotline/queue-position,number:2,sound:hotline/queue-position-end," +
		"sound:hotline/estimated-wait,number:3,sound:hotline/estimated-wait-end"; first.Media != want {
		t.Errorf("first announcement %q, want %q", first.Media, want)
	}
	u.finished(first.ID, "done")
	u.pbx.waitOp(t, "the hold tone again", isPlay("tone:ring"))

	u.clock.waitTimer(t, 30*time.Second)
	u.clock.Advance(30 * time.Second)
	second := u.pbx.waitOp(t, "the second announcement", func(o op) bool { return o.Name == "play" && o.Media != "tone:ring" })
	if want := "sound:hotline/estimated-wait,number:2,sound:hotline/estimated-wait-end"; second.Media != want {
		t.Errorf("second announcement %q, want %q (the position has not improved)", second.Media, want)
	}
	u.finished(second.ID, "done")
	u.pbx.waitOp(t, "the hold tone again", isPlay("tone:ring"))

	if _, err := store.Remove(ctx, "ahead", acd.RemoveAbandoned); err != nil {
		t.Fatal(err)
	}
	u.clock.waitTimer(t, 30*time.Second)
	u.clock.Advance(30 * time.Second)
	third := u.pbx.waitOp(t, "the third announcement", func(o op) bool { return o.Name == "play" && o.Media != "tone:ring" })
	if want := "sound:hotline/queue-position,number:1,sound:hotline/queue-position-end," +
		"sound:hotline/estimated-wait,number:2,sound:hotline/estimated-wait-end"; third.Media != want {
		t.Errorf("third announcement %q, want %q (first in line now)", third.Media, want)
	}
	u.key("1")
	u.pbx.waitOp(t, "the announcement stopped by key 1", func(o op) bool { return o.Name == "stop" && o.ID == third.ID })
	u.pbx.waitOp(t, "the voicemail prompt", isPlay("sound:hotline/voicemail-intro"))
}
