// Package redisbus carries the distributor's reservations between controllers over Redis
// pub/sub: the controller whose dispatcher reserved an agent for a call another controller
// enqueued publishes the reservation, and the controller that owns the call takes it
// (callflow.ReservationBus).
//
// Every controller of a centre subscribes to one channel under the ACD store's key prefix,
// "{prefix}:reservations" (with the default prefix "{hotline:acd}:reservations"), and
// receives every reservation published; each takes those of its own calls. Pub/sub is at
// most once: a reservation published while a subscriber is reconnecting is lost to it, and
// lapses in the store after the reserve timeout, the agent ready again.
package redisbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"hotline/acd"
)

// Bus is the reservation bus on one Redis deployment and key prefix.
type Bus struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
}

// Channel is the pub/sub channel of prefix.
func Channel(prefix string) string { return "{" + prefix + "}:reservations" }

// New returns the bus on rdb under prefix, the ACD store's prefix (e.g. "hotline:acd").
// A nil log logs to slog.Default().
func New(rdb redis.UniversalClient, prefix string, log *slog.Logger) (*Bus, error) {
	if rdb == nil {
		return nil, errors.New("redisbus: the redis client is required")
	}
	if prefix == "" {
		return nil, errors.New("redisbus: the key prefix is required")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Bus{rdb: rdb, channel: Channel(prefix), log: log}, nil
}

// Publish sends r to every subscribed controller.
func (b *Bus) Publish(ctx context.Context, r acd.Reservation) error {
	msg, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("redisbus: encode reservation %s: %w", r.ID, err)
	}
	if err := b.rdb.Publish(ctx, b.channel, msg).Err(); err != nil {
		return fmt.Errorf("redisbus: publish reservation %s of %s on %s: %w", r.ID, r.Item.ID, b.channel, err)
	}
	return nil
}

// Subscribe subscribes and returns once Redis has confirmed the subscription: every
// reservation published from then on is on the channel returned (go-redis resubscribes
// after a dropped connection). The channel is closed when ctx ends. A message that is not
// a reservation is logged and skipped.
func (b *Bus) Subscribe(ctx context.Context) (<-chan acd.Reservation, error) {
	ps := b.rdb.Subscribe(ctx, b.channel)
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		_ = ps.Close()
		return nil, fmt.Errorf("redisbus: subscribe to %s: %w", b.channel, err)
	}
	msgs := ps.Channel(redis.WithChannelSize(1024))
	out := make(chan acd.Reservation, 64)
	go func() {
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				var r acd.Reservation
				if err := decode(m.Payload, &r); err != nil {
					b.log.Error("redisbus: message skipped", "channel", m.Channel, "err", err)
					continue
				}
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// decode reads one message: a reservation with an id, an item and an agent.
func decode(payload string, r *acd.Reservation) error {
	if err := json.Unmarshal([]byte(payload), r); err != nil {
		return fmt.Errorf("not a reservation: %w", err)
	}
	if r.ID == "" || r.Item.ID == "" || r.Agent == "" {
		return fmt.Errorf("reservation %q lacks its id, item or agent", r.ID)
	}
	return nil
}
