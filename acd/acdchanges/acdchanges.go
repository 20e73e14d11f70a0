// Package acdchanges tells every controller that the shared distributor state changed, so
// that live views (the supervisors' wallboard) update at once instead of polling. Store
// wraps an acd.Store and notes each change it makes; a Publisher sends the notes over Redis
// pub/sub, coalesced; Listen receives them, from every controller on the same channel.
//
// A notification says only that something changed (and roughly what, for the log): a
// listener reads the state itself. Pub/sub delivers at most once and not while a listener
// reconnects, so a listener also reads now and then without being told.
package acdchanges

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline/acd"
)

// Channel is the pub/sub channel of the distributor state kept under the key prefix
// (redisstore.New's prefix, e.g. "hotline:acd").
func Channel(prefix string) string { return "{" + prefix + "}:changes" }

// Notifier is told of each change; a Publisher is one.
type Notifier interface {
	Changed(op string)
}

// Store is an acd.Store that tells its Notifier of every change it made: each state change
// that succeeded, and the reservations and expiries that happened. Reads pass through.
type Store struct {
	acd.Store
	Notify Notifier
}

// Wrap returns s telling n of its changes.
func Wrap(s acd.Store, n Notifier) *Store { return &Store{Store: s, Notify: n} }

func (s *Store) note(op string, err error) {
	if err == nil {
		s.Notify.Changed(op)
	}
}

// Login implements acd.Store.
func (s *Store) Login(ctx context.Context, a acd.Agent, to acd.State, reason acd.Reason) (acd.Agent, error) {
	a, err := s.Store.Login(ctx, a, to, reason)
	s.note("login", err)
	return a, err
}

// Logout implements acd.Store.
func (s *Store) Logout(ctx context.Context, id acd.AgentID, from acd.State) (acd.Agent, error) {
	a, err := s.Store.Logout(ctx, id, from)
	s.note("logout", err)
	return a, err
}

// SetState implements acd.Store.
func (s *Store) SetState(ctx context.Context, id acd.AgentID, from, to acd.State, reason acd.Reason) (acd.Agent, error) {
	a, err := s.Store.SetState(ctx, id, from, to, reason)
	s.note("set_state", err)
	return a, err
}

// SetSkills implements acd.Store.
func (s *Store) SetSkills(ctx context.Context, id acd.AgentID, skills map[acd.SkillName]acd.Level, groups []acd.GroupName) (acd.Agent, error) {
	a, err := s.Store.SetSkills(ctx, id, skills, groups)
	s.note("set_skills", err)
	return a, err
}

// Enqueue implements acd.Store.
func (s *Store) Enqueue(ctx context.Context, it acd.Item) (acd.Item, error) {
	it, err := s.Store.Enqueue(ctx, it)
	s.note("enqueue", err)
	return it, err
}

// Remove implements acd.Store.
func (s *Store) Remove(ctx context.Context, id acd.ItemID, why acd.RemoveReason) (acd.Item, error) {
	it, err := s.Store.Remove(ctx, id, why)
	s.note("remove", err)
	return it, err
}

// ConvertToCallback implements acd.Store.
func (s *Store) ConvertToCallback(ctx context.Context, call acd.ItemID, task acd.Item) (acd.Item, error) {
	it, err := s.Store.ConvertToCallback(ctx, call, task)
	s.note("convert_to_callback", err)
	return it, err
}

// ReserveBest implements acd.Store.
func (s *Store) ReserveBest(ctx context.Context, max int) ([]acd.Reservation, error) {
	rs, err := s.Store.ReserveBest(ctx, max)
	if len(rs) > 0 {
		s.Notify.Changed("reserve")
	}
	return rs, err
}

// Reserve implements acd.Store.
func (s *Store) Reserve(ctx context.Context, item acd.ItemID, agent acd.AgentID) (acd.Reservation, error) {
	r, err := s.Store.Reserve(ctx, item, agent)
	s.note("reserve", err)
	return r, err
}

// Offer implements acd.Store.
func (s *Store) Offer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := s.Store.Offer(ctx, r)
	s.note("offer", err)
	return a, err
}

// Answer implements acd.Store.
func (s *Store) Answer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := s.Store.Answer(ctx, r)
	s.note("answer", err)
	return a, err
}

// Release implements acd.Store.
func (s *Store) Release(ctx context.Context, r acd.Reservation, to acd.State, reason acd.Reason) (acd.Agent, error) {
	a, err := s.Store.Release(ctx, r, to, reason)
	s.note("release", err)
	return a, err
}

// NoAnswer implements acd.Store.
func (s *Store) NoAnswer(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := s.Store.NoAnswer(ctx, r)
	s.note("no_answer", err)
	return a, err
}

// Finish implements acd.Store.
func (s *Store) Finish(ctx context.Context, r acd.Reservation) (acd.Agent, error) {
	a, err := s.Store.Finish(ctx, r)
	s.note("finish", err)
	return a, err
}

// Expire implements acd.Store.
func (s *Store) Expire(ctx context.Context) ([]acd.Expiry, error) {
	es, err := s.Store.Expire(ctx)
	if len(es) > 0 {
		s.Notify.Changed("expire")
	}
	return es, err
}

// Publisher sends the changes noted to a Redis channel. Changed never blocks and never
// waits for Redis: the changes noted while one message is on its way go together in the
// next, so a burst of changes costs a few messages, not one each.
type Publisher struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
	kick    chan struct{}

	mu  sync.Mutex
	ops map[string]struct{}
}

// NewPublisher returns a publisher to channel (Channel(prefix)); run it with Run.
func NewPublisher(rdb redis.UniversalClient, channel string, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	return &Publisher{rdb: rdb, channel: channel, log: log, kick: make(chan struct{}, 1), ops: map[string]struct{}{}}
}

// Changed notes a change; Run publishes it.
func (p *Publisher) Changed(op string) {
	p.mu.Lock()
	p.ops[op] = struct{}{}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// take returns the changes noted since the last call, sorted, and forgets them.
func (p *Publisher) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ops := make([]string, 0, len(p.ops))
	for op := range p.ops {
		ops = append(ops, op)
	}
	clear(p.ops)
	slices.Sort(ops)
	return ops
}

// publishTimeout bounds one PUBLISH: a change noted during a Redis outage is not worth
// holding up the next ones for (listeners read again on their own anyway).
const publishTimeout = 2 * time.Second

// Run publishes the changes noted until ctx ends.
func (p *Publisher) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		}
		ops := p.take()
		if len(ops) == 0 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		err := p.rdb.Publish(pctx, p.channel, strings.Join(ops, ",")).Err()
		cancel()
		if err != nil && ctx.Err() == nil {
			p.log.Warn("publish acd changes", "channel", p.channel, "ops", ops, "err", err)
		}
	}
}

// Listen calls onChange for every notification on channel until ctx ends, and each time
// the subscription is (re)established, with ops "" (what changed meanwhile is not known).
// It returns an error when the first subscription fails; later outages are bridged by the
// client, which subscribes again.
func Listen(ctx context.Context, rdb redis.UniversalClient, channel string, onChange func(ops string)) error {
	ps := rdb.Subscribe(ctx, channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("subscribe to %s: %w", channel, err)
	}
	onChange("")
	ch := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("subscription to " + channel + " closed")
			}
			if msg, isMsg := m.(*redis.Message); isMsg {
				onChange(msg.Payload)
			} else {
				onChange("") // subscribed again after an outage
			}
		}
	}
}
