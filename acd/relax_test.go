package acd_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/acd"
)

func TestReviewItem(t *testing.T) {
	cfg := testConfig()
	price, _ := cfg.Queue("price")
	price.MaxWait = 10 * time.Minute
	general := acd.Queue{Name: "general", MaxWait: 3 * time.Minute}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name  string
		q     acd.Queue
		kind  acd.ItemKind
		wait  time.Duration
		stage acd.Stage
		act   acd.Action
		offer acd.Fallback
		next  time.Time
	}{
		{"fresh", price, acd.KindCall, 0, acd.Stage{}, acd.ActionWait, 0, at(time.Minute)},
		{"just before T1", price, acd.KindCall, time.Minute - time.Nanosecond, acd.Stage{}, acd.ActionWait, 0, at(time.Minute)},
		{"T1 lowers the level", price, acd.KindCall, time.Minute, acd.Stage{Steps: 1, LowerLevels: 2}, acd.ActionWait, 0, at(2 * time.Minute)},
		{"T2 opens the overflow group and keeps T1", price, acd.KindCall, 2 * time.Minute, acd.Stage{Steps: 2, LowerLevels: 2, Overflow: true}, acd.ActionWait, 0, at(5 * time.Minute)},
		{"T3 offers voicemail or callback", price, acd.KindCall, 5 * time.Minute,
			acd.Stage{Steps: 3, LowerLevels: 2, Overflow: true, Offer: acd.FallbackVoicemailOrCallback}, acd.ActionOffer, acd.FallbackVoicemailOrCallback, at(10 * time.Minute)},
		{"maximum wait", price, acd.KindCall, 10 * time.Minute,
			acd.Stage{Steps: 3, LowerLevels: 2, Overflow: true, Offer: acd.FallbackVoicemailOrCallback}, acd.ActionMaxWait, 0, time.Time{}},
		{"a callback task relaxes but is never offered nor timed out", price, acd.KindCallback, time.Hour,
			acd.Stage{Steps: 3, LowerLevels: 2, Overflow: true, Offer: acd.FallbackVoicemailOrCallback}, acd.ActionWait, 0, time.Time{}},
		{"no steps: the next look is the maximum wait", general, acd.KindCall, time.Minute, acd.Stage{}, acd.ActionWait, 0, at(3 * time.Minute)},
		{"no steps, no limit: never look again", acd.Queue{Name: "x"}, acd.KindCall, time.Hour, acd.Stage{}, acd.ActionWait, 0, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := acd.Item{ID: "i", Kind: tc.kind, Queue: tc.q.Name, EnqueuedAt: t0}
			r := acd.ReviewItem(tc.q, it, t0.Add(tc.wait))
			if r.Stage != tc.stage || r.Action != tc.act || r.Offer != tc.offer || !r.Next.Equal(tc.next) || r.Wait != tc.wait {
				t.Fatalf("got %+v (action %s), want stage %+v action %s offer %s next %s", r, r.Action, tc.stage, tc.act, tc.offer, tc.next)
			}
		})
	}
}

func TestAdmit(t *testing.T) {
	q := acd.Queue{Name: "general", MaxLength: 2}
	if err := q.Admit(1); err != nil {
		t.Fatal(err)
	}
	if err := q.Admit(2); !errors.Is(err, acd.ErrQueueFull) {
		t.Fatalf("admit a third: %v", err)
	}
	if err := (acd.Queue{Name: "open"}).Admit(1000); err != nil {
		t.Fatalf("no limit: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := acd.DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if _, err := acd.NewRouter(acd.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*acd.Config)
		want string
	}{
		{"no queues", func(c *acd.Config) { c.Queues = nil }, "no queues"},
		{"unknown skill", func(c *acd.Config) { c.Queues[1].Skills = []acd.SkillReq{{Skill: "plumbing", Min: 1}} }, `skill "plumbing": acd: unknown skill`},
		{"level 6", func(c *acd.Config) { c.Queues[1].Skills[0].Min = 6 }, "level 6 is not 1-5"},
		{"duplicate queue", func(c *acd.Config) { c.Queues[1].Name = c.Queues[0].Name }, "listed twice"},
		{"steps out of order", func(c *acd.Config) { c.Queues[0].Relax[1].After = time.Second }, "increasing order"},
		{"overflow without a group", func(c *acd.Config) { c.Queues[0].OverflowGroup = "" }, "no overflow group"},
		{"unknown overflow group", func(c *acd.Config) { c.Queues[0].OverflowGroup = "night" }, "unknown group"},
		{"a step that does nothing", func(c *acd.Config) { c.Queues[0].Relax[2].Offer = acd.FallbackNone }, "does nothing"},
		{"lowering all levels", func(c *acd.Config) { c.Queues[0].Relax[0].LowerLevels = 5 }, "lower_levels 5"},
		{"unknown strategy", func(c *acd.Config) { c.Strategy = "random" }, `strategy "random"`},
		{"missing head start", func(c *acd.Config) { c.HeadStart = map[acd.Class]time.Duration{acd.ClassEmergency: 0} }, "head start of class consult is missing"},
		{"language not a skill", func(c *acd.Config) { c.Languages = append(c.Languages, "fr") }, `language "fr"`},
		{"queue name with a colon", func(c *acd.Config) { c.Queues[0].Name = "a:b" }, "without spaces, braces or colons"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := acd.DefaultConfig()
			c.Queues = append([]acd.Queue(nil), c.Queues...)
			for i := range c.Queues {
				c.Queues[i].Skills = append([]acd.SkillReq(nil), c.Queues[i].Skills...)
				c.Queues[i].Relax = append([]acd.RelaxStep(nil), c.Queues[i].Relax...)
			}
			tc.mod(&c)
			err := c.Validate()
			if !errors.Is(err, acd.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
