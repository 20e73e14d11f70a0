package pbx

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// ErrAlreadySubscribed is returned when a channel or bridge already has an owner.
var ErrAlreadySubscribed = errors.New("already subscribed")

// Subscription delivers the events of one channel or bridge, in order, to the
// one goroutine that owns it. Its channel is closed after the last event
// (StasisEnd for callers and snoops, ChannelDestroyed for originated and
// ExternalMedia channels, BridgeDestroyed, or a synthetic Vanished) or on Close.
// Read it until it closes, or Close it: a stream left unread keeps its queue.
type Subscription struct {
	target string
	r      *router
	mb     *mailbox[Event]
}

// Events is the subscription's event stream.
func (s *Subscription) Events() <-chan Event { return s.mb.out }

// Target is "channel:<id>" or "bridge:<id>".
func (s *Subscription) Target() string { return s.target }

// ID is the channel or bridge id.
func (s *Subscription) ID() string {
	_, id, _ := strings.Cut(s.target, ":")
	return id
}

// Close stops delivery and forgets the route; later events for the target
// are counted as unrouted.
func (s *Subscription) Close() {
	if s.r != nil {
		s.r.remove(s)
	}
	s.mb.abandon()
}

// InboundCall is a caller that entered the Stasis app. Events already holds
// the StasisStart and everything after it.
type InboundCall struct {
	Channel Channel
	Args    []string
	Events  *Subscription
}

// NoticeType classifies controller-level notices.
type NoticeType int

const (
	NoticeReplaced      NoticeType = iota // ALARM: another socket took our app (ApplicationReplaced)
	NoticeStandBy                         // the adapter stopped reconnecting (policy ReplacedStandBy)
	NoticeDisconnected                    // the event socket dropped; reconnecting
	NoticeReconnected                     // the event socket is back; a resync follows
	NoticeResynced                        // a resync finished (Vanished/Orphan notices precede it)
	NoticeOrphanChannel                   // a channel in our app that nobody owns (resync, or stray StasisStart)
	NoticeOrphanBridge                    // a bridge in our app that nobody owns
)

func (t NoticeType) String() string {
	switch t {
	case NoticeReplaced:
		return "application-replaced"
	case NoticeStandBy:
		return "standby"
	case NoticeDisconnected:
		return "disconnected"
	case NoticeReconnected:
		return "reconnected"
	case NoticeResynced:
		return "resynced"
	case NoticeOrphanChannel:
		return "orphan-channel"
	case NoticeOrphanBridge:
		return "orphan-bridge"
	}
	return fmt.Sprintf("NoticeType(%d)", int(t))
}

// Notice is something the controller as a whole must know.
type Notice struct {
	Type     NoticeType
	Time     time.Time
	Channel  Channel     // orphan channels
	Kind     ChannelKind // orphan channels: recognised by name prefix
	BridgeID string      // orphan bridges
	Err      error       // disconnects, failed resyncs
}

type route struct {
	kind    ChannelKind
	sub     *Subscription
	pending bool      // we are creating it: a resync must not call it vanished
	since   time.Time // when the route was made
	linger  *time.Timer
}

// router hands each event to the subscription of its channel or bridge.
type router struct {
	log *slog.Logger
	m   *metrics

	// lingerAfterStasisEnd bounds how long an originated or ExternalMedia
	// channel's route waits for its ChannelDestroyed after StasisEnd.
	lingerAfterStasisEnd time.Duration

	mu       sync.Mutex
	routes   map[string]*route
	closed   bool
	incoming *mailbox[*InboundCall]
	notices  *mailbox[Notice]
}

func newRouter(log *slog.Logger, m *metrics) *router {
	return &router{
		log:                  log,
		m:                    m,
		lingerAfterStasisEnd: 30 * time.Second,
		routes:               map[string]*route{},
		incoming:             newMailbox[*InboundCall](),
		notices:              newMailbox[Notice](),
	}
}

func (r *router) notice(n Notice) {
	if n.Time.IsZero() {
		n.Time = time.Now()
	}
	r.notices.put(n)
}

// subscribe makes the route for target. pending marks a resource we are about
// to create (stage, subscribe, exec): call confirm or drop after the request.
func (r *router) subscribe(target string, kind ChannelKind, pending bool) (*Subscription, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if _, taken := r.routes[target]; taken {
		return nil, fmt.Errorf("pbx subscribe %s: %w", target, errors.Join(ErrAlreadySubscribed, ErrConflict))
	}
	s := &Subscription{target: target, r: r, mb: newMailbox[Event]()}
	r.routes[target] = &route{kind: kind, sub: s, pending: pending, since: time.Now()}
	return s, nil
}

func (r *router) confirm(s *Subscription) {
	r.mu.Lock()
	if rt := r.routes[s.target]; rt != nil && rt.sub == s {
		rt.pending = false
	}
	r.mu.Unlock()
}

func (r *router) remove(s *Subscription) {
	r.mu.Lock()
	if rt := r.routes[s.target]; rt != nil && rt.sub == s {
		if rt.linger != nil {
			rt.linger.Stop()
		}
		delete(r.routes, s.target)
	}
	r.mu.Unlock()
}

// end delivers a last event (if any) and closes the route's stream after it.
func (r *router) endLocked(rt *route) {
	delete(r.routes, rt.sub.target)
	if rt.linger != nil {
		rt.linger.Stop()
	}
	rt.sub.mb.finish()
}

// dispatch routes one event. It never blocks on a subscriber.
func (r *router) dispatch(ev Event) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	rt := r.routes[ev.Target]
	if rt == nil {
		if ev.Type == StasisStart && strings.HasPrefix(ev.Target, "channel:") {
			r.newChannelLocked(ev)
			return
		}
		r.mu.Unlock()
		r.m.unrouted.Inc()
		r.log.Debug("pbx: event for nobody", "type", ev.Type.String(), "target", ev.Target, "call", ev.Channel.ID)
		return
	}
	rt.sub.mb.put(ev)
	switch {
	case ev.Type == ChannelDestroyed, ev.Type == BridgeDestroyed:
		r.endLocked(rt)
	case ev.Type == StasisEnd && (rt.kind == KindInbound || rt.kind == KindSnoop):
		// Asterisk sends these channels no ChannelDestroyed: the app's
		// subscription ends with StasisEnd.
		r.endLocked(rt)
	case ev.Type == StasisEnd:
		// Originated and ExternalMedia channels normally get ChannelDestroyed
		// next; do not wait for ever if they went back to the dialplan.
		sub := rt.sub
		rt.linger = time.AfterFunc(r.lingerAfterStasisEnd, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if cur := r.routes[sub.target]; cur != nil && cur.sub == sub {
				r.endLocked(cur)
			}
		})
	}
	r.mu.Unlock()
}

// newChannelLocked handles a StasisStart nobody was waiting for: a caller,
// unless its name says the app created it (then it is an orphan, e.g. from a
// previous run, and must not be answered as a caller). Unlocks r.mu.
func (r *router) newChannelLocked(ev Event) {
	if kind, appMade := kindFromName(ev.Channel.Name); appMade {
		r.mu.Unlock()
		r.log.Warn("pbx: app-created channel entered Stasis unannounced", "call", ev.Channel.ID, "name", ev.Channel.Name, "kind", kind.String())
		r.notice(Notice{Type: NoticeOrphanChannel, Channel: ev.Channel, Kind: kind})
		return
	}
	s := &Subscription{target: ev.Target, r: r, mb: newMailbox[Event]()}
	r.routes[ev.Target] = &route{kind: KindInbound, sub: s, since: time.Now()}
	s.mb.put(ev)
	r.mu.Unlock()
	r.log.Info("pbx: new caller", "call", ev.Channel.ID, "from", ev.Channel.CallerNumber, "exten", ev.Channel.Exten)
	r.incoming.put(&InboundCall{Channel: ev.Channel, Args: ev.Args, Events: s})
}

// snapshot lists the confirmed routes made before t, by target.
func (r *router) snapshot(before time.Time) map[string]*Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*Subscription{}
	for t, rt := range r.routes {
		if !rt.pending && rt.since.Before(before) {
			out[t] = rt.sub
		}
	}
	return out
}

// known reports whether target has a route now.
func (r *router) known(target string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.routes[target]
	return ok
}

// finishWith delivers ev to s as its last event, if s still owns its route.
func (r *router) finishWith(s *Subscription, ev Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.routes[s.target]
	if rt == nil || rt.sub != s {
		return false
	}
	rt.sub.mb.put(ev)
	r.endLocked(rt)
	return true
}

// deliver hands ev to s if s still owns its route.
func (r *router) deliver(s *Subscription, ev Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.routes[s.target]
	if rt == nil || rt.sub != s {
		return false
	}
	return rt.sub.mb.put(ev)
}

func (r *router) close() {
	r.mu.Lock()
	r.closed = true
	routes := r.routes
	r.routes = map[string]*route{}
	r.mu.Unlock()
	for _, rt := range routes {
		if rt.linger != nil {
			rt.linger.Stop()
		}
		rt.sub.mb.abandon()
	}
	// Nobody is obliged to read these after Close: drop what is queued.
	r.incoming.abandon()
	r.notices.abandon()
}
