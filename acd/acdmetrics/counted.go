package acdmetrics

import (
	"context"

	"hotline/acd"
)

// Counted is a store whose changes count their errors in Errors, by operation and kind:
// a rise of state_conflict means controllers racing over the same agents or items, which
// the compare-and-set store refuses instead of overwriting. Reads are not counted.
type Counted struct {
	acd.Store
	Errors *Errors
}

// Count wraps s so that e counts its errors.
func Count(s acd.Store, e *Errors) *Counted { return &Counted{Store: s, Errors: e} }

func (c *Counted) Login(ctx context.Context, a acd.Agent, to acd.State, reason acd.Reason) (acd.Agent, error) {
	r, err := c.Store.Login(ctx, a, to, reason)
	c.Errors.Count("login", err)
	return r, err
}

func (c *Counted) Logout(ctx context.Context, id acd.AgentID, from acd.State) (acd.Agent, error) {
	r, err := c.Store.Logout(ctx, id, from)
	c.Errors.Count("logout", err)
	return r, err
}

func (c *Counted) SetState(ctx context.Context, id acd.AgentID, from, to acd.State, reason acd.Reason) (acd.Agent, error) {
	r, err := c.Store.SetState(ctx, id, from, to, reason)
	c.Errors.Count("set_state", err)
	return r, err
}

func (c *Counted) Enqueue(ctx context.Context, it acd.Item) (acd.Item, error) {
	r, err := c.Store.Enqueue(ctx, it)
	c.Errors.Count("enqueue", err)
	return r, err
}

func (c *Counted) Remove(ctx context.Context, id acd.ItemID, why acd.RemoveReason) (acd.Item, error) {
	r, err := c.Store.Remove(ctx, id, why)
	c.Errors.Count("remove", err)
	return r, err
}

func (c *Counted) ConvertToCallback(ctx context.Context, call acd.ItemID, task acd.Item) (acd.Item, error) {
	r, err := c.Store.ConvertToCallback(ctx, call, task)
	c.Errors.Count("convert_to_callback", err)
	return r, err
}

func (c *Counted) ReserveBest(ctx context.Context, max int) ([]acd.Reservation, error) {
	r, err := c.Store.ReserveBest(ctx, max)
	c.Errors.Count("reserve", err)
	return r, err
}

func (c *Counted) Reserve(ctx context.Context, item acd.ItemID, agent acd.AgentID) (acd.Reservation, error) {
	r, err := c.Store.Reserve(ctx, item, agent)
	c.Errors.Count("reserve_agent", err)
	return r, err
}

func (c *Counted) Offer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := c.Store.Offer(ctx, r)
	c.Errors.Count("offer", err)
	return a, err
}

func (c *Counted) Answer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := c.Store.Answer(ctx, r)
	c.Errors.Count("answer", err)
	return a, err
}

func (c *Counted) Release(ctx context.Context, r acd.Reservation, to acd.State, reason acd.Reason) (acd.Agent, error) {
	a, err := c.Store.Release(ctx, r, to, reason)
	c.Errors.Count("release", err)
	return a, err
}

func (c *Counted) NoAnswer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := c.Store.NoAnswer(ctx, r)
	c.Errors.Count("no_answer", err)
	return a, err
}

func (c *Counted) Finish(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := c.Store.Finish(ctx, r)
	c.Errors.Count("finish", err)
	return a, err
}

func (c *Counted) Expire(ctx context.Context) ([]acd.Expiry, error) {
	r, err := c.Store.Expire(ctx)
	c.Errors.Count("expire", err)
	return r, err
}
