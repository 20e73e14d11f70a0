package acd

import (
	"fmt"
	"time"
)

// Stage is the relaxation in force for an item after some waiting time.
type Stage struct {
	// Steps is how many of the queue's relaxation steps apply (0: none yet).
	Steps int `json:"steps"`
	// LowerLevels is how far required line skill levels are lowered.
	LowerLevels int `json:"lower_levels,omitempty"`
	// Overflow opens the item to the queue's overflow group.
	Overflow bool `json:"overflow,omitempty"`
	// Offer is the fallback the caller should be offered.
	Offer Fallback `json:"offer,omitempty"`
}

// StageAt folds the relaxation steps that apply after waiting wait.
func (q Queue) StageAt(wait time.Duration) Stage {
	var s Stage
	for _, step := range q.Relax {
		if wait < step.After {
			break
		}
		s.Steps++
		s.LowerLevels += step.LowerLevels
		s.Overflow = s.Overflow || step.Overflow
		if step.Offer != FallbackNone {
			s.Offer = step.Offer
		}
	}
	return s
}

// Action is what the call flow should do with a waiting caller now.
type Action uint8

// Actions.
const (
	// ActionWait: keep waiting (music, position announcements).
	ActionWait Action = iota
	// ActionOffer: offer the caller Review.Offer (voicemail or callback); if they accept,
	// take the call out with Store.ConvertToCallback or Store.Remove(RemoveDiverted).
	ActionOffer
	// ActionMaxWait: the queue's maximum wait is reached; take the call out of the queue
	// (voicemail or callback) with Store.Remove(RemoveDiverted).
	ActionMaxWait
)

var actionNames = []string{"wait", "offer", "max_wait"}

func (a Action) String() string { return enumString(actionNames, uint8(a)) }

// Review is where a waiting item stands at a given time.
type Review struct {
	Wait   time.Duration `json:"wait"`
	Stage  Stage         `json:"stage"`
	Action Action        `json:"action"`
	Offer  Fallback      `json:"offer,omitempty"`
	// Next is when the review next changes (a relaxation step or the maximum wait); zero
	// when it never will. The call flow sets its timer to it.
	Next time.Time `json:"next"`
}

// ReviewItem returns where a waiting item stands at now: the relaxation in force, the action
// for the call flow, and when to look again. Callback tasks relax their skills like calls
// but are never offered a fallback nor timed out: nobody is on the line.
func ReviewItem(q Queue, it Item, now time.Time) Review {
	wait := max(now.Sub(it.EnqueuedAt), 0)
	r := Review{Wait: wait, Stage: q.StageAt(wait)}
	if r.Stage.Steps < len(q.Relax) {
		r.Next = it.EnqueuedAt.Add(q.Relax[r.Stage.Steps].After)
	}
	if it.Kind != KindCall {
		return r
	}
	switch {
	case q.MaxWait > 0 && wait >= q.MaxWait:
		r.Action, r.Next = ActionMaxWait, time.Time{}
	case r.Stage.Offer != FallbackNone:
		r.Action, r.Offer = ActionOffer, r.Stage.Offer
	}
	if q.MaxWait > 0 && r.Action != ActionMaxWait {
		if end := it.EnqueuedAt.Add(q.MaxWait); r.Next.IsZero() || end.Before(r.Next) {
			r.Next = end
		}
	}
	return r
}

// Admit checks the queue's maximum length for one more call, given the calls waiting.
func (q Queue) Admit(waitingCalls int) error {
	if q.MaxLength > 0 && waitingCalls >= q.MaxLength {
		return fmt.Errorf("queue %s has %d calls waiting (max %d): %w", q.Name, waitingCalls, q.MaxLength, ErrQueueFull)
	}
	return nil
}
