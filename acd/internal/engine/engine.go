// Package engine implements acd.Store once, over a Backend that persists agent and item
// records with versions. Every operation loads the records it needs, computes the new ones
// with the pure transitions of package acd, and commits them on condition that the versions
// are unchanged (optimistic concurrency); a lost race reloads and tries again. So the
// semantics live here, once, and the memory and Redis backends only store.
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"hotline/acd"
)

// ErrStale is returned by Backend.Commit when a record's version moved: retry.
var ErrStale = errors.New("engine: stale version")

// maxAttempts bounds the retries of one operation that keeps losing races.
const maxAttempts = 32

// AgentRec is an agent record and its version; version 0 means absent.
type AgentRec struct {
	Agent acd.Agent
	Ver   uint64
}

// ItemRec is an item record and its version; version 0 means absent.
type ItemRec struct {
	Item acd.Item
	Ver  uint64
}

// AgentWrite replaces an agent record whose version is still Ver (0: absent).
type AgentWrite struct {
	Old *acd.Agent // nil when new
	Ver uint64
	New acd.Agent
}

// ItemWrite replaces or deletes (New nil) an item record whose version is still Ver.
type ItemWrite struct {
	Old *acd.Item // nil when new
	Ver uint64
	New *acd.Item
	Key int64 // New's order key (acd.Candidate.Key)
}

// Limit requires fewer than Max calls waiting in Queue (before the change).
type Limit struct {
	Queue acd.QueueName
	Max   int
}

// Change is committed atomically, or not at all.
type Change struct {
	Agents   []AgentWrite
	Items    []ItemWrite
	Outcomes []acd.Outcome
	Limit    *Limit
	// TrimBefore lets the backend drop outcomes older than this.
	TrimBefore time.Time
}

// View is what routing sees: waiting items in order (all, or a page of them), the version
// of the i-th, the pool of ready agents and their records.
type View struct {
	// Ahead counts the items before Items in the line, on pages already found to have no
	// eligible agent.
	Ahead   int
	Items   []acd.Candidate
	ItemVer func(i int) uint64
	Pool    *acd.Pool
	Agent   func(acd.AgentID) (acd.Agent, uint64)
}

// Planned is a reservation and the change that makes it.
type Planned struct {
	Reservation acd.Reservation
	Change      Change
	// Index is the item's position in the View's Items: how far into the page the plan
	// had to read, which a paging backend uses to size the next page.
	Index int
}

// Planner turns a view into reservations to commit, best first.
type Planner func(View) []Planned

// Backend stores records. Implementations are safe for concurrent use.
type Backend interface {
	// Load returns the records (version 0 when absent) in the order asked.
	Load(ctx context.Context, agents []acd.AgentID, items []acd.ItemID) ([]AgentRec, []ItemRec, error)
	// Commit applies a change if every version still matches: ErrStale if not,
	// acd.ErrQueueFull if the limit is reached.
	Commit(ctx context.Context, c Change) error
	// ReserveBest shows plan a view and commits what it plans, each Planned on its own and
	// only if its versions still match. It returns the committed ones. A backend that shows
	// pages of the waiting items sizes them for max reservations and moves to the next
	// page while plan finds nothing.
	ReserveBest(ctx context.Context, max int, plan Planner) ([]Planned, error)
	// Due lists the agents whose Work.Due is at or before now.
	Due(ctx context.Context, now time.Time) ([]acd.AgentID, error)
	Agents(ctx context.Context) ([]acd.Agent, error)
	Waiting(ctx context.Context, q acd.QueueName) ([]acd.Item, error)
	Outcomes(ctx context.Context, q acd.QueueName, since time.Time) ([]acd.Outcome, error)
}

// Engine implements acd.Store over a Backend.
type Engine struct {
	b      Backend
	router *acd.Router
	cfg    acd.Config
	clock  acd.Clock
}

// New returns an engine. The router carries the configuration.
func New(b Backend, r *acd.Router, clock acd.Clock) *Engine {
	if clock == nil {
		clock = acd.SystemClock{}
	}
	return &Engine{b: b, router: r, cfg: r.Config(), clock: clock}
}

// Router returns the engine's router.
func (e *Engine) Router() *acd.Router { return e.router }

var _ acd.Store = (*Engine)(nil)

// attempt runs load-compute-commit until the commit holds, the computation fails, or the
// attempts run out.
func (e *Engine) attempt(ctx context.Context, op string, f func(now time.Time) (Change, error)) error {
	for range maxAttempts {
		c, err := f(e.clock.Now())
		if err != nil {
			return err
		}
		err = e.b.Commit(ctx, c)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrStale) {
			return fmt.Errorf("acd: %s: %w", op, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("acd: %s: %w", op, err)
		}
	}
	return fmt.Errorf("acd: %s: %w", op, acd.ErrContention)
}

func (e *Engine) loadAgent(ctx context.Context, id acd.AgentID) (AgentRec, error) {
	as, _, err := e.b.Load(ctx, []acd.AgentID{id}, nil)
	if err != nil {
		return AgentRec{}, fmt.Errorf("acd: load agent %s: %w", id, err)
	}
	return as[0], nil
}

func (e *Engine) loadItem(ctx context.Context, id acd.ItemID) (ItemRec, error) {
	_, is, err := e.b.Load(ctx, nil, []acd.ItemID{id})
	if err != nil {
		return ItemRec{}, fmt.Errorf("acd: load item %s: %w", id, err)
	}
	return is[0], nil
}

func (e *Engine) loadPair(ctx context.Context, a acd.AgentID, it acd.ItemID) (AgentRec, ItemRec, error) {
	as, is, err := e.b.Load(ctx, []acd.AgentID{a}, []acd.ItemID{it})
	if err != nil {
		return AgentRec{}, ItemRec{}, fmt.Errorf("acd: load agent %s and item %s: %w", a, it, err)
	}
	if as[0].Ver == 0 {
		return AgentRec{}, ItemRec{}, fmt.Errorf("acd: agent %s: %w", a, acd.ErrUnknownAgent)
	}
	if is[0].Ver == 0 {
		return AgentRec{}, ItemRec{}, fmt.Errorf("acd: item %s: %w", it, acd.ErrUnknownItem)
	}
	return as[0], is[0], nil
}

func (e *Engine) trim(now time.Time) time.Time { return now.Add(-e.cfg.OutcomeRetention) }

func agentWrite(r AgentRec, n acd.Agent) AgentWrite {
	old := r.Agent
	return AgentWrite{Old: &old, Ver: r.Ver, New: n}
}

func (e *Engine) itemWrite(r ItemRec, n *acd.Item) ItemWrite {
	old := r.Item
	w := ItemWrite{Old: &old, Ver: r.Ver, New: n}
	if n != nil {
		w.Key = e.router.OrderKey(*n)
	}
	return w
}

// Login implements acd.Store.
func (e *Engine) Login(ctx context.Context, p acd.Agent, to acd.State, reason acd.Reason) (acd.Agent, error) {
	if err := e.router.CheckAgent(p); err != nil {
		return acd.Agent{}, fmt.Errorf("acd: login: %w", err)
	}
	var out acd.Agent
	err := e.attempt(ctx, "login", func(now time.Time) (Change, error) {
		r, err := e.loadAgent(ctx, p.ID)
		if err != nil {
			return Change{}, err
		}
		var prev *acd.Agent
		if r.Ver != 0 {
			prev = &r.Agent
		}
		out, err = acd.LoginAgent(prev, p, to, reason, now)
		if err != nil {
			return Change{}, err
		}
		return Change{Agents: []AgentWrite{{Old: prev, Ver: r.Ver, New: out}}}, nil
	})
	return out, err
}

// Logout implements acd.Store.
func (e *Engine) Logout(ctx context.Context, id acd.AgentID, from acd.State) (acd.Agent, error) {
	return e.SetState(ctx, id, from, acd.StateLoggedOut, "")
}

// SetState implements acd.Store.
func (e *Engine) SetState(ctx context.Context, id acd.AgentID, from, to acd.State, reason acd.Reason) (acd.Agent, error) {
	var out acd.Agent
	err := e.attempt(ctx, "set state", func(now time.Time) (Change, error) {
		r, err := e.loadAgent(ctx, id)
		if err != nil {
			return Change{}, err
		}
		if r.Ver == 0 {
			return Change{}, fmt.Errorf("acd: set state of %s: %w", id, acd.ErrUnknownAgent)
		}
		var outs []acd.Outcome
		out, outs, err = acd.ChangeState(r.Agent, from, to, reason, now)
		if err != nil {
			return Change{}, err
		}
		return Change{Agents: []AgentWrite{agentWrite(r, out)}, Outcomes: outs, TrimBefore: e.trim(now)}, nil
	})
	return out, err
}

// SetSkills implements acd.Store.
func (e *Engine) SetSkills(ctx context.Context, id acd.AgentID, skills map[acd.SkillName]acd.Level, groups []acd.GroupName) (acd.Agent, error) {
	if err := e.router.CheckAgent(acd.Agent{ID: id, Skills: skills, Groups: groups}); err != nil {
		return acd.Agent{}, fmt.Errorf("acd: set skills: %w", err)
	}
	var out acd.Agent
	err := e.attempt(ctx, "set skills", func(time.Time) (Change, error) {
		r, err := e.loadAgent(ctx, id)
		if err != nil {
			return Change{}, err
		}
		if r.Ver == 0 {
			return Change{}, fmt.Errorf("acd: set skills of %s: %w", id, acd.ErrUnknownAgent)
		}
		out = r.Agent
		out.Skills, out.Groups = skills, groups
		return Change{Agents: []AgentWrite{agentWrite(r, out)}}, nil
	})
	return out, err
}

// Agent implements acd.Store.
func (e *Engine) Agent(ctx context.Context, id acd.AgentID) (acd.Agent, error) {
	r, err := e.loadAgent(ctx, id)
	if err != nil {
		return acd.Agent{}, err
	}
	if r.Ver == 0 {
		return acd.Agent{}, fmt.Errorf("acd: agent %s: %w", id, acd.ErrUnknownAgent)
	}
	return r.Agent, nil
}

// Agents implements acd.Store.
func (e *Engine) Agents(ctx context.Context) ([]acd.Agent, error) {
	as, err := e.b.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("acd: list agents: %w", err)
	}
	return as, nil
}

// Enqueue implements acd.Store.
func (e *Engine) Enqueue(ctx context.Context, it acd.Item) (acd.Item, error) {
	if it.EnqueuedAt.IsZero() {
		it.EnqueuedAt = e.clock.Now()
	}
	it.Status, it.Agent, it.Reservation = acd.StatusWaiting, "", ""
	c, err := e.router.Candidate(it)
	if err != nil {
		return acd.Item{}, fmt.Errorf("acd: enqueue: %w", err)
	}
	q, _ := e.router.Queue(it.Queue)
	retry := false
	err = e.attempt(ctx, "enqueue", func(time.Time) (Change, error) {
		if retry {
			// A create only goes stale when the id exists, or existed for a moment.
			r, err := e.loadItem(ctx, it.ID)
			if err != nil {
				return Change{}, err
			}
			if r.Ver != 0 {
				return Change{}, fmt.Errorf("acd: enqueue %s: %w", it.ID, acd.ErrItemExists)
			}
		}
		retry = true
		ch := Change{Items: []ItemWrite{{New: &it, Key: c.Key()}}}
		if it.Kind == acd.KindCall && q.MaxLength > 0 {
			ch.Limit = &Limit{Queue: q.Name, Max: q.MaxLength}
		}
		return ch, nil
	})
	if err != nil {
		return acd.Item{}, err
	}
	return it, nil
}

// Remove implements acd.Store.
func (e *Engine) Remove(ctx context.Context, id acd.ItemID, why acd.RemoveReason) (acd.Item, error) {
	var out acd.Item
	err := e.attempt(ctx, "remove", func(now time.Time) (Change, error) {
		r, err := e.loadItem(ctx, id)
		if err != nil {
			return Change{}, err
		}
		if r.Ver == 0 {
			return Change{}, fmt.Errorf("acd: remove %s: %w", id, acd.ErrUnknownItem)
		}
		var holder *acd.Agent
		var hr AgentRec
		if r.Item.Agent != "" {
			// Read the item again with its agent, at one instant.
			as, is, err := e.b.Load(ctx, []acd.AgentID{r.Item.Agent}, []acd.ItemID{id})
			if err != nil {
				return Change{}, fmt.Errorf("acd: load item %s and agent %s: %w", id, r.Item.Agent, err)
			}
			if r, hr = is[0], as[0]; r.Ver == 0 {
				return Change{}, fmt.Errorf("acd: remove %s: %w", id, acd.ErrUnknownItem)
			}
			if hr.Ver != 0 && r.Item.Agent == hr.Agent.ID {
				holder = &hr.Agent
			}
		}
		out = r.Item
		ch := Change{Items: []ItemWrite{e.itemWrite(r, nil)}, TrimBefore: e.trim(now)}
		freed, outs, err := acd.RemoveItem(r.Item, holder, why, now)
		if err != nil {
			return Change{}, err
		}
		if freed != nil {
			ch.Agents = []AgentWrite{agentWrite(hr, *freed)}
		}
		ch.Outcomes = outs
		return ch, nil
	})
	return out, err
}

// ConvertToCallback implements acd.Store.
func (e *Engine) ConvertToCallback(ctx context.Context, call acd.ItemID, task acd.Item) (acd.Item, error) {
	var out acd.Item
	err := e.attempt(ctx, "convert to callback", func(now time.Time) (Change, error) {
		_, is, err := e.b.Load(ctx, nil, []acd.ItemID{call, task.ID})
		if err != nil {
			return Change{}, fmt.Errorf("acd: load %s and %s: %w", call, task.ID, err)
		}
		if is[0].Ver == 0 {
			return Change{}, fmt.Errorf("acd: convert %s: %w", call, acd.ErrUnknownItem)
		}
		if is[1].Ver != 0 {
			return Change{}, fmt.Errorf("acd: convert %s to %s: %w", call, task.ID, acd.ErrItemExists)
		}
		t, o, err := acd.KeepPlace(is[0].Item, task, now)
		if err != nil {
			return Change{}, err
		}
		c, err := e.router.Candidate(t)
		if err != nil {
			return Change{}, fmt.Errorf("acd: convert %s: %w", call, err)
		}
		out = t
		return Change{
			Items:    []ItemWrite{e.itemWrite(is[0], nil), {New: &out, Key: c.Key()}},
			Outcomes: []acd.Outcome{o}, TrimBefore: e.trim(now),
		}, nil
	})
	return out, err
}

// Item implements acd.Store.
func (e *Engine) Item(ctx context.Context, id acd.ItemID) (acd.Item, error) {
	r, err := e.loadItem(ctx, id)
	if err != nil {
		return acd.Item{}, err
	}
	if r.Ver == 0 {
		return acd.Item{}, fmt.Errorf("acd: item %s: %w", id, acd.ErrUnknownItem)
	}
	return r.Item, nil
}

// Waiting implements acd.Store.
func (e *Engine) Waiting(ctx context.Context, q acd.QueueName) ([]acd.Item, error) {
	if _, ok := e.router.Queue(q); !ok {
		return nil, fmt.Errorf("acd: waiting in %s: %w", q, acd.ErrUnknownQueue)
	}
	its, err := e.b.Waiting(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("acd: waiting in %s: %w", q, err)
	}
	return its, nil
}

func newReservationID() acd.ReservationID { return acd.ReservationID(rand.Text()[:16]) }

// ReserveBest implements acd.Store.
func (e *Engine) ReserveBest(ctx context.Context, max int) ([]acd.Reservation, error) {
	if max <= 0 {
		return nil, nil
	}
	for range maxAttempts {
		now := e.clock.Now()
		planned := 0
		done, err := e.b.ReserveBest(ctx, max, func(v View) []Planned {
			ps := e.plan(v, now, max)
			planned = len(ps)
			return ps
		})
		if err != nil {
			return nil, fmt.Errorf("acd: reserve best: %w", err)
		}
		if len(done) > 0 || planned == 0 {
			out := make([]acd.Reservation, len(done))
			for i, p := range done {
				out[i] = p.Reservation
			}
			return out, nil
		}
		// Every planned pair was taken by another controller: look again.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("acd: reserve best: %w", err)
		}
	}
	return nil, fmt.Errorf("acd: reserve best: %w", acd.ErrContention)
}

func (e *Engine) plan(v View, now time.Time, max int) []Planned {
	ds := e.router.Match(now, v.Items, v.Pool, max)
	out := make([]Planned, 0, len(ds))
	due := now.Add(e.cfg.ReserveTimeout)
	for _, d := range ds {
		a, av := v.Agent(d.Agent)
		c := v.Items[d.Index]
		rid := newReservationID()
		na, ni, err := acd.ReservePair(a, *c.Item, rid, due, now)
		if err != nil {
			// The view held an agent that is no longer ready: the commit would fail too.
			continue
		}
		old := *c.Item
		d.Trace.Passed += v.Ahead
		out = append(out, Planned{
			Reservation: acd.Reservation{ID: rid, Item: ni, Agent: na.ID, At: now, Trace: d.Trace},
			Change: Change{
				Agents: []AgentWrite{{Old: &a, Ver: av, New: na}},
				Items:  []ItemWrite{{Old: &old, Ver: v.ItemVer(d.Index), New: &ni, Key: c.Key()}},
			},
			Index: d.Index,
		})
	}
	return out
}

// Reserve implements acd.Store.
func (e *Engine) Reserve(ctx context.Context, item acd.ItemID, agent acd.AgentID) (acd.Reservation, error) {
	var out acd.Reservation
	err := e.attempt(ctx, "reserve", func(now time.Time) (Change, error) {
		ar, ir, err := e.loadPair(ctx, agent, item)
		if err != nil {
			return Change{}, err
		}
		if ir.Item.Status != acd.StatusWaiting {
			return Change{}, &acd.ConflictError{Op: "reserve", Item: item, Want: acd.StatusWaiting.String(), Got: ir.Item.Status.String()}
		}
		c, err := e.router.Candidate(ir.Item)
		if err != nil {
			return Change{}, fmt.Errorf("acd: reserve %s: %w", item, err)
		}
		fit, ok := e.router.Eligible(c, ar.Agent, now)
		if !ok {
			return Change{}, fmt.Errorf("acd: reserve %s for %s: %w", item, agent, acd.ErrNotEligible)
		}
		rid := newReservationID()
		na, ni, err := acd.ReservePair(ar.Agent, ir.Item, rid, now.Add(e.cfg.ReserveTimeout), now)
		if err != nil {
			return Change{}, err
		}
		wait := now.Sub(ni.EnqueuedAt)
		q, _ := e.router.Queue(ni.Queue)
		out = acd.Reservation{ID: rid, Item: ni, Agent: agent, At: now, Trace: acd.Trace{
			Item: item, Queue: ni.Queue, Kind: ni.Kind, Class: ni.Class, Agent: agent,
			Waited: wait, Standing: time.Duration(now.UnixMicro()-c.Key()) * time.Microsecond,
			Stage: q.StageAt(wait), Fit: fit, Strategy: "given pair", Eligible: 1, Basis: "reserved by request",
		}}
		return Change{Agents: []AgentWrite{agentWrite(ar, na)}, Items: []ItemWrite{e.itemWrite(ir, &ni)}}, nil
	})
	return out, err
}

// pairOp loads a reservation's agent and item and commits what step computes.
func (e *Engine) pairOp(ctx context.Context, op string, r acd.Reservation,
	step func(a acd.Agent, it acd.Item, now time.Time) (acd.Agent, *acd.Item, []acd.Outcome, error)) (acd.Agent, error) {
	var out acd.Agent
	err := e.attempt(ctx, op, func(now time.Time) (Change, error) {
		ar, ir, err := e.loadPair(ctx, r.Agent, r.Item.ID)
		if err != nil {
			return Change{}, err
		}
		na, ni, outs, err := step(ar.Agent, ir.Item, now)
		if err != nil {
			return Change{}, err
		}
		out = na
		return Change{
			Agents: []AgentWrite{agentWrite(ar, na)}, Items: []ItemWrite{e.itemWrite(ir, ni)},
			Outcomes: outs, TrimBefore: e.trim(now),
		}, nil
	})
	return out, err
}

// Offer implements acd.Store.
func (e *Engine) Offer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	return e.pairOp(ctx, "offer", r, func(a acd.Agent, it acd.Item, now time.Time) (acd.Agent, *acd.Item, []acd.Outcome, error) {
		na, ni, err := acd.OfferPair(a, it, r.ID, now.Add(e.cfg.RingTimeout), now)
		return na, &ni, nil, err
	})
}

// Answer implements acd.Store.
func (e *Engine) Answer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	return e.pairOp(ctx, "answer", r, func(a acd.Agent, it acd.Item, now time.Time) (acd.Agent, *acd.Item, []acd.Outcome, error) {
		na, ni, o, err := acd.AnswerPair(a, it, r.ID, now)
		return na, &ni, []acd.Outcome{o}, err
	})
}

// Release implements acd.Store.
func (e *Engine) Release(ctx context.Context, r acd.Reservation, to acd.State, reason acd.Reason) (acd.Agent, error) {
	return e.pairOp(ctx, "release", r, func(a acd.Agent, it acd.Item, now time.Time) (acd.Agent, *acd.Item, []acd.Outcome, error) {
		na, ni, err := acd.ReleasePair(a, it, r.ID, to, reason, now)
		return na, &ni, nil, err
	})
}

// NoAnswer implements acd.Store.
func (e *Engine) NoAnswer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	return e.pairOp(ctx, "no answer", r, func(a acd.Agent, it acd.Item, now time.Time) (acd.Agent, *acd.Item, []acd.Outcome, error) {
		na, ni, err := acd.NoAnswerPair(a, it, r.ID, now)
		return na, &ni, nil, err
	})
}

// Finish implements acd.Store.
func (e *Engine) Finish(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	return e.pairOp(ctx, "finish", r, func(a acd.Agent, it acd.Item, now time.Time) (acd.Agent, *acd.Item, []acd.Outcome, error) {
		q, _ := e.router.Queue(it.Queue)
		na, outs, err := acd.FinishPair(a, it, r.ID, q.WrapUp, now)
		return na, nil, outs, err
	})
}

// Expire implements acd.Store.
func (e *Engine) Expire(ctx context.Context) ([]acd.Expiry, error) {
	ids, err := e.b.Due(ctx, e.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("acd: expire: %w", err)
	}
	var out []acd.Expiry
	var errs []error
	for _, id := range ids {
		var x *acd.Expiry
		err := e.attempt(ctx, "expire", func(now time.Time) (Change, error) {
			x = nil
			ar, err := e.loadAgent(ctx, id)
			if err != nil {
				return Change{}, err
			}
			a := ar.Agent
			if ar.Ver == 0 || !acd.Due(a, now) {
				return Change{}, errNothingDue
			}
			w := a.Work
			x = &acd.Expiry{Agent: id, Item: w.Item, Reservation: w.Reservation, From: a.State}
			if a.State == acd.StateWrapUp {
				na, outs, err := acd.ChangeState(a, acd.StateWrapUp, acd.StateReady, "", now)
				if err != nil {
					return Change{}, err
				}
				x.To = na.State
				return Change{Agents: []AgentWrite{agentWrite(ar, na)}, Outcomes: outs, TrimBefore: e.trim(now)}, nil
			}
			// Read the agent again with its item, at one instant.
			ar, ir, err := e.loadPair(ctx, id, w.Item)
			if err != nil {
				return Change{}, err
			}
			if a = ar.Agent; !acd.Due(a, now) || a.Work.Reservation != w.Reservation {
				return Change{}, errNothingDue
			}
			var na acd.Agent
			var ni acd.Item
			if a.State == acd.StateRinging {
				na, ni, err = acd.NoAnswerPair(a, ir.Item, w.Reservation, now)
			} else {
				// Reserved and never offered: the controller that reserved died. Not the
				// agent's fault, so back to ready.
				na, ni, err = acd.ReleasePair(a, ir.Item, w.Reservation, acd.StateReady, "", now)
			}
			if err != nil {
				return Change{}, err
			}
			x.To, x.Reason = na.State, na.Reason
			return Change{Agents: []AgentWrite{agentWrite(ar, na)}, Items: []ItemWrite{e.itemWrite(ir, &ni)}}, nil
		})
		switch {
		case errors.Is(err, errNothingDue):
		case err != nil:
			errs = append(errs, err)
		default:
			out = append(out, *x)
		}
	}
	return out, errors.Join(errs...)
}

var errNothingDue = errors.New("nothing due")

// Outcomes implements acd.Store.
func (e *Engine) Outcomes(ctx context.Context, q acd.QueueName, since time.Time) ([]acd.Outcome, error) {
	os, err := e.b.Outcomes(ctx, q, since)
	if err != nil {
		return nil, fmt.Errorf("acd: outcomes of %s: %w", q, err)
	}
	return os, nil
}
