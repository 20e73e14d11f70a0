package acd

import (
	"context"
	"time"
)

// Clock tells the time. Stores take one so tests control time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Store holds the distributor's shared state: agents, waiting items, reservations, offers
// and the outcomes the statistics are computed from. acd/memstore keeps it in one process;
// acd/redisstore in Redis, shared by several controllers. Both pass the contract suite of
// acd/acdtest.
//
// Every change is compare-and-set: a method that finds an agent or item in another state
// than the one it needs changes nothing and returns an error matching ErrStateConflict.
// Times come from the store's Clock.
type Store interface {
	// Login logs an agent in (profile from a) as ready or not ready. The agent must be
	// logged out or new.
	Login(ctx context.Context, a Agent, to State, reason Reason) (Agent, error)
	// Logout logs out an agent who is in state from (ready, not ready or wrap-up).
	Logout(ctx context.Context, id AgentID, from State) (Agent, error)
	// SetState makes one of the agent's own moves (see ChangeState) if the agent is in
	// state from. Leaving wrap-up records the conversation as handled.
	SetState(ctx context.Context, id AgentID, from, to State, reason Reason) (Agent, error)
	// SetSkills replaces an agent's skills and groups, in any state.
	SetSkills(ctx context.Context, id AgentID, skills map[SkillName]Level, groups []GroupName) (Agent, error)
	Agent(ctx context.Context, id AgentID) (Agent, error)
	// Agents lists every agent ever logged in, in no particular order.
	Agents(ctx context.Context) ([]Agent, error)

	// Enqueue adds a waiting item. A zero EnqueuedAt means now; an item taking the place
	// of an earlier one passes the earlier time. ErrQueueFull when the queue's maximum
	// length of calls is reached, ErrItemExists for a duplicate id.
	Enqueue(ctx context.Context, it Item) (Item, error)
	// Remove takes an item out without a conversation (see RemoveItem): a waiting item, or
	// one reserved or ringing, whose agent then goes back to ready.
	Remove(ctx context.Context, id ItemID, why RemoveReason) (Item, error)
	// ConvertToCallback replaces a waiting call by a callback task that keeps its place
	// (see KeepPlace), atomically.
	ConvertToCallback(ctx context.Context, call ItemID, task Item) (Item, error)
	Item(ctx context.Context, id ItemID) (Item, error)
	// Waiting lists a queue's waiting items in routing order.
	Waiting(ctx context.Context, q QueueName) ([]Item, error)

	// ReserveBest makes up to max routing decisions over every queue and reserves them
	// atomically: each agent ready -> reserved, each item waiting -> reserved. It returns
	// none when no waiting item has an eligible ready agent. No item is reserved twice
	// and no agent holds two reservations, whatever the number of controllers; a store
	// that keeps losing races to other controllers returns ErrContention (try again). Each
	// reservation lapses after Config.ReserveTimeout unless offered.
	ReserveBest(ctx context.Context, max int) ([]Reservation, error)
	// Reserve reserves a given pair if the agent is ready, the item waiting and the agent
	// eligible for it now (ErrNotEligible).
	Reserve(ctx context.Context, item ItemID, agent AgentID) (Reservation, error)
	// Offer rings the reserved agent: reserved -> ringing until the ring timeout.
	Offer(ctx context.Context, r Reservation) (Agent, error)
	// Answer connects: ringing -> on_call; records the answer and its wait.
	Answer(ctx context.Context, r Reservation) (Agent, error)
	// Release cancels a reservation or an offer: the item goes back to waiting in its
	// place, the agent to ready or not ready (to).
	Release(ctx context.Context, r Reservation, to State, reason Reason) (Agent, error)
	// NoAnswer is RONA now: the item goes back to the front, the agent to not ready with
	// ReasonNoAnswer.
	NoAnswer(ctx context.Context, r Reservation) (Agent, error)
	// Finish ends the conversation: the item is done, the agent in wrap-up for the queue's
	// wrap-up time (ready at once when it is zero).
	Finish(ctx context.Context, r Reservation) (Agent, error)
	// Expire makes the timed transitions that are due: reservations never offered lapse
	// (agent ready, item waiting), offers ring out (RONA), wrap-ups end (agent ready).
	// Any controller may call it; each expiry happens once.
	Expire(ctx context.Context) ([]Expiry, error)

	// Outcomes lists a queue's recorded outcomes since a time, oldest first.
	Outcomes(ctx context.Context, q QueueName, since time.Time) ([]Outcome, error)
}
