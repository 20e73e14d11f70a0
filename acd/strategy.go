package acd

import (
	"fmt"
	"math"
	"time"
)

// ReadyAgent is what a strategy knows about a ready agent.
type ReadyAgent struct {
	ID          AgentID
	ReadySince  time.Time
	LastOfferAt time.Time
	LoginAt     time.Time
	Busy        time.Duration
}

// Strategy chooses among the agents eligible for an item. Implementations are small pure
// types; ties are broken by agent id so every controller makes the same choice.
type Strategy interface {
	Name() StrategyName
	// Prefer reports whether x should get the work before y.
	Prefer(x, y *ReadyAgent, now time.Time) bool
	// Explain says in a few words where the agent stands, for the trace.
	Explain(x *ReadyAgent, now time.Time) string
}

// Ranker is implemented by strategies whose preference does not change with time: they
// prefer the smaller rank, then the smaller id, exactly as Prefer does. The pool ranks each
// agent once when it becomes ready, so choosing among many is a scan of integers.
type Ranker interface {
	Rank(x *ReadyAgent) int64
}

// NewStrategy returns the named strategy.
func NewStrategy(name StrategyName) (Strategy, error) {
	switch name {
	case LongestIdle, "":
		return ByLongestIdle{}, nil
	case LeastOccupied:
		return ByLeastOccupied{}, nil
	case RoundRobin:
		return ByRoundRobin{}, nil
	}
	return nil, fmt.Errorf("strategy %q: %w", name, ErrInvalid)
}

// ByLongestIdle prefers the agent idle the longest: ready since the earliest time. An agent
// who just finished a long call therefore waits behind one who has had nothing to do.
type ByLongestIdle struct{}

// Name implements Strategy.
func (ByLongestIdle) Name() StrategyName { return LongestIdle }

// Prefer implements Strategy.
func (ByLongestIdle) Prefer(x, y *ReadyAgent, _ time.Time) bool {
	if !x.ReadySince.Equal(y.ReadySince) {
		return x.ReadySince.Before(y.ReadySince)
	}
	return x.ID < y.ID
}

// Rank implements Ranker.
func (ByLongestIdle) Rank(x *ReadyAgent) int64 { return x.ReadySince.UnixNano() }

// Explain implements Strategy.
func (ByLongestIdle) Explain(x *ReadyAgent, now time.Time) string {
	return "idle " + now.Sub(x.ReadySince).Round(time.Second).String()
}

// ByLeastOccupied prefers the agent with the smallest share of their logged-in time spent
// on calls and wrap-up, which evens out the load over a shift.
type ByLeastOccupied struct{}

// Name implements Strategy.
func (ByLeastOccupied) Name() StrategyName { return LeastOccupied }

// Occupancy is the share of the time since login spent on calls and wrap-up.
func Occupancy(x *ReadyAgent, now time.Time) float64 {
	in := now.Sub(x.LoginAt)
	if in <= 0 {
		return 0
	}
	return float64(x.Busy) / float64(in)
}

// Prefer implements Strategy.
func (ByLeastOccupied) Prefer(x, y *ReadyAgent, now time.Time) bool {
	ox, oy := Occupancy(x, now), Occupancy(y, now)
	if ox != oy {
		return ox < oy
	}
	return ByLongestIdle{}.Prefer(x, y, now)
}

// Explain implements Strategy.
func (ByLeastOccupied) Explain(x *ReadyAgent, now time.Time) string {
	return fmt.Sprintf("occupancy %.0f%%", 100*Occupancy(x, now))
}

// ByRoundRobin offers work to the agents in turn: the one whose seat rang least recently
// (never first, then by id). It needs no shared cursor, so several controllers agree.
type ByRoundRobin struct{}

// Name implements Strategy.
func (ByRoundRobin) Name() StrategyName { return RoundRobin }

// Prefer implements Strategy.
func (ByRoundRobin) Prefer(x, y *ReadyAgent, _ time.Time) bool {
	if !x.LastOfferAt.Equal(y.LastOfferAt) {
		return x.LastOfferAt.Before(y.LastOfferAt)
	}
	return x.ID < y.ID
}

// Rank implements Ranker.
func (ByRoundRobin) Rank(x *ReadyAgent) int64 {
	if x.LastOfferAt.IsZero() {
		return math.MinInt64
	}
	return x.LastOfferAt.UnixNano()
}

// Explain implements Strategy.
func (ByRoundRobin) Explain(x *ReadyAgent, now time.Time) string {
	if x.LastOfferAt.IsZero() {
		return "never offered"
	}
	return "last offer " + now.Sub(x.LastOfferAt).Round(time.Second).String() + " ago"
}
