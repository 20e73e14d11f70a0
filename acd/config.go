package acd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fallback is what a caller is offered instead of waiting on.
type Fallback uint8

// Fallbacks a relaxation step can offer.
const (
	FallbackNone Fallback = iota
	FallbackVoicemail
	FallbackCallback
	FallbackVoicemailOrCallback
)

var fallbackNames = []string{"none", "voicemail", "callback", "voicemail_or_callback"}

func (f Fallback) String() string { return enumString(fallbackNames, uint8(f)) }

// MarshalText implements encoding.TextMarshaler.
func (f Fallback) MarshalText() ([]byte, error) {
	return enumMarshal(fallbackNames, uint8(f), "fallback")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Fallback) UnmarshalText(b []byte) error {
	return enumUnmarshal(fallbackNames, (*uint8)(f), b, "fallback")
}

// RelaxStep applies once an item has waited After. Steps add up: a later step keeps the
// earlier steps' relaxations.
type RelaxStep struct {
	After time.Duration
	// LowerLevels accepts agents this many levels below each required skill level (never
	// below 1). Languages are never relaxed: a caller always gets someone who speaks their
	// language.
	LowerLevels int
	// Overflow also accepts agents of the queue's OverflowGroup, whatever their line skills.
	Overflow bool
	// Offer asks the call flow to offer the caller voicemail or a callback.
	Offer Fallback
}

// Queue is a queue's configuration.
type Queue struct {
	Name QueueName
	// Skills every agent needs for this queue's items (items may add more).
	Skills []SkillReq
	// MaxLength is the most calls that may wait (callback tasks do not count); 0 means no
	// limit. Beyond it Enqueue fails with ErrQueueFull.
	MaxLength int
	// MaxWait is the longest a call may wait; 0 means no limit. Then Review returns
	// ActionMaxWait.
	MaxWait time.Duration
	// ServiceLevel is the answer time target of the service level, e.g. 20s.
	ServiceLevel time.Duration
	// WrapUp is the agent's wrap-up time after a conversation from this queue.
	WrapUp time.Duration
	// Relax lists the relaxation steps in order of After.
	Relax []RelaxStep
	// OverflowGroup is the group a step with Overflow opens the queue to.
	OverflowGroup GroupName
}

// StrategyName names an agent selection strategy.
type StrategyName string

// Strategies.
const (
	LongestIdle   StrategyName = "longest_idle"
	LeastOccupied StrategyName = "least_occupied"
	RoundRobin    StrategyName = "round_robin"
)

// Config is the distributor's configuration, shared by every controller.
type Config struct {
	// Skills lists the known skills: lines, languages, emergency. Agents and queues may
	// only use these.
	Skills []SkillName
	// Languages lists which of the skills are languages. Relaxation never lowers them and
	// overflow agents still need them: a caller always gets someone who speaks their
	// language.
	Languages []SkillName
	// Groups lists the known agent groups (overflow targets).
	Groups []GroupName
	Queues []Queue
	// Strategy chooses among the eligible agents of an item. Default longest_idle.
	Strategy StrategyName
	// HeadStart is each class's head start in waiting time: an item's standing is its
	// waiting time plus its class's head start. The defaults make a complaint worth a
	// minute of waiting over a consult, an emergency an hour, and a callback task start
	// half an hour behind.
	HeadStart map[Class]time.Duration
	// LanguageLevel is the lowest level of a language skill that serves a caller who chose
	// that language. Default 1.
	LanguageLevel Level
	// RingTimeout is how long an offer rings before it goes back (RONA). Default 15s.
	RingTimeout time.Duration
	// ReserveTimeout is how long a reservation may wait to be offered before it lapses
	// (the controller that made it died). Default 5s.
	ReserveTimeout time.Duration
	// OutcomeRetention is how long stores keep outcomes for statistics. Default 24h.
	OutcomeRetention time.Duration
}

// DefaultHeadStart is the default Config.HeadStart.
var DefaultHeadStart = map[Class]time.Duration{
	ClassEmergency: time.Hour,
	ClassComplaint: time.Minute,
	ClassConsult:   0,
	ClassCallback:  -30 * time.Minute,
}

// DefaultConfig is a working configuration for a provincial 12315 centre, named as the
// default menu (ivr/menus/12315.yaml) names things: one general queue where the caller's
// choice travels as item skills (the case kind, the merged lines, English), an emergency
// queue that overflows to the duty group, and a queue for callback tasks.
func DefaultConfig() Config {
	return Config{
		Skills: []SkillName{"consult", "complaint", "report", "product_quality", "food_drug", "price",
			"intellectual_property", "zh", "english", "emergency"},
		Languages: []SkillName{"zh", "english"},
		Groups:    []GroupName{"general", "duty"},
		Queues: []Queue{
			{Name: "general", MaxLength: 100, MaxWait: 15 * time.Minute, ServiceLevel: 20 * time.Second, WrapUp: time.Minute,
				OverflowGroup: "general",
				Relax: []RelaxStep{
					{After: time.Minute, LowerLevels: 2},
					{After: 2 * time.Minute, Overflow: true},
					{After: 5 * time.Minute, Offer: FallbackVoicemailOrCallback},
				}},
			// An emergency waits at most 2 minutes for an agent: then the duty officers are
			// called (callflow's emergency overflow), or, with no chain, it leaves a message.
			{Name: "emergency", Skills: []SkillReq{{Skill: "emergency", Min: 1}}, ServiceLevel: 10 * time.Second,
				MaxWait: 2 * time.Minute, WrapUp: 2 * time.Minute, OverflowGroup: "duty",
				Relax: []RelaxStep{{After: 20 * time.Second, Overflow: true}}},
			{Name: "callback", ServiceLevel: time.Hour, WrapUp: 2 * time.Minute},
		},
		Strategy:         LongestIdle,
		HeadStart:        DefaultHeadStart,
		LanguageLevel:    1,
		RingTimeout:      15 * time.Second,
		ReserveTimeout:   5 * time.Second,
		OutcomeRetention: 24 * time.Hour,
	}
}

// withDefaults fills the zero fields that have defaults.
func (c Config) withDefaults() Config {
	if c.Strategy == "" {
		c.Strategy = LongestIdle
	}
	if c.HeadStart == nil {
		c.HeadStart = DefaultHeadStart
	}
	if c.LanguageLevel == 0 {
		c.LanguageLevel = 1
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = 15 * time.Second
	}
	if c.ReserveTimeout == 0 {
		c.ReserveTimeout = 5 * time.Second
	}
	if c.OutcomeRetention == 0 {
		c.OutcomeRetention = 24 * time.Hour
	}
	return c
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	skills := map[SkillName]bool{}
	for _, s := range c.Skills {
		if s == "" || strings.ContainsAny(string(s), " \t\n") {
			fail("skill %q: names are non-empty and have no spaces", s)
		}
		if skills[s] {
			fail("skill %q listed twice", s)
		}
		skills[s] = true
	}
	for _, l := range c.Languages {
		if !skills[l] {
			fail("language %q: %w", l, ErrUnknownSkill)
		}
	}
	groups := map[GroupName]bool{}
	for _, g := range c.Groups {
		if g == "" || groups[g] {
			fail("group %q: empty or listed twice", g)
		}
		groups[g] = true
	}
	names := map[QueueName]bool{}
	for _, q := range c.Queues {
		where := fmt.Sprintf("queue %q", q.Name)
		if q.Name == "" || strings.ContainsAny(string(q.Name), " \t\n{}:") {
			fail("%s: names are non-empty, without spaces, braces or colons", where)
		}
		if names[q.Name] {
			fail("%s listed twice", where)
		}
		names[q.Name] = true
		for _, r := range q.Skills {
			if !skills[r.Skill] {
				fail("%s: skill %q: %w", where, r.Skill, ErrUnknownSkill)
			}
			if r.Min < 1 || r.Min > MaxLevel {
				fail("%s: skill %q: level %d is not 1-%d", where, r.Skill, r.Min, MaxLevel)
			}
		}
		if q.MaxLength < 0 || q.MaxWait < 0 || q.ServiceLevel < 0 || q.WrapUp < 0 {
			fail("%s: max_length, max_wait, service_level and wrap_up are not negative", where)
		}
		if q.OverflowGroup != "" && !groups[q.OverflowGroup] {
			fail("%s: overflow group %q: %w", where, q.OverflowGroup, ErrUnknownGroup)
		}
		for i, s := range q.Relax {
			if s.After <= 0 {
				fail("%s: relaxation step %d: after must be positive", where, i+1)
			}
			if i > 0 && s.After <= q.Relax[i-1].After {
				fail("%s: relaxation step %d: steps are in increasing order of after", where, i+1)
			}
			if s.LowerLevels < 0 || s.LowerLevels >= int(MaxLevel) {
				fail("%s: relaxation step %d: lower_levels %d is not 0-%d", where, i+1, s.LowerLevels, MaxLevel-1)
			}
			if s.Overflow && q.OverflowGroup == "" {
				fail("%s: relaxation step %d overflows but the queue has no overflow group", where, i+1)
			}
			if s.Offer > FallbackVoicemailOrCallback {
				fail("%s: relaxation step %d: unknown fallback %d", where, i+1, s.Offer)
			}
			if s.LowerLevels == 0 && !s.Overflow && s.Offer == FallbackNone {
				fail("%s: relaxation step %d does nothing", where, i+1)
			}
		}
	}
	if len(c.Queues) == 0 {
		fail("no queues")
	}
	if !slices.Contains([]StrategyName{LongestIdle, LeastOccupied, RoundRobin}, c.Strategy) {
		fail("strategy %q is not one of %s, %s, %s", c.Strategy, LongestIdle, LeastOccupied, RoundRobin)
	}
	for _, cl := range Classes {
		if _, ok := c.HeadStart[cl]; !ok {
			fail("head start of class %s is missing", cl)
		}
	}
	for cl := range c.HeadStart {
		if !slices.Contains(Classes, cl) {
			fail("head start of unknown class %d", cl)
		}
	}
	if c.LanguageLevel > MaxLevel {
		fail("language level %d is not 1-%d", c.LanguageLevel, MaxLevel)
	}
	if c.RingTimeout < 0 || c.ReserveTimeout < 0 || c.OutcomeRetention < 0 {
		fail("ring_timeout, reserve_timeout and outcome_retention are not negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("acd config: %w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// Queue returns the named queue's configuration.
func (c Config) Queue(name QueueName) (Queue, bool) {
	for _, q := range c.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}
