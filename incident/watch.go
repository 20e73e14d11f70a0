package incident

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/acd"
)

// DefaultBoost is what incident mode adds to the emergency class's head start.
const DefaultBoost = 24 * time.Hour

// EmergencyHeadStart is the ACD's head start per class while incident mode is active or
// not: when active, the emergency class gets boost more than in base. It is pure and
// returns a new map; base is not changed.
//
// An item's standing in the ACD is its waiting time plus its class's head start, fixed when
// it is enqueued (acd.Router.OrderKey). With the default head starts (emergency 1 h,
// complaint 1 min, consult 0, callback -30 min) an emergency caller passes everyone who has
// waited less than an hour; with a boost of a day, everyone.
func EmergencyHeadStart(base map[acd.Class]time.Duration, active bool, boost time.Duration) map[acd.Class]time.Duration {
	out := maps.Clone(base)
	if out == nil {
		out = maps.Clone(acd.DefaultHeadStart)
	}
	if active {
		out[acd.ClassEmergency] += boost
	}
	return out
}

// Watcher keeps a copy of the switch for the call path: reading it costs an atomic load.
type Watcher struct {
	store    *Store
	pool     *pgxpool.Pool
	interval time.Duration
	boost    time.Duration
	log      *slog.Logger
	cur      atomic.Pointer[State]
}

// NewWatcher reads the switch once and returns a watcher; Run keeps it fresh. interval is
// how often it is read even without a notification (default 5s); boost is the emergency
// head start added while active (default DefaultBoost).
func NewWatcher(ctx context.Context, store *Store, interval, boost time.Duration, log *slog.Logger) (*Watcher, error) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if boost <= 0 {
		boost = DefaultBoost
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Watcher{store: store, pool: store.pool, interval: interval, boost: boost, log: log}
	st, err := store.Get(ctx)
	if err != nil {
		return nil, err
	}
	w.cur.Store(&st)
	return w, nil
}

// State is the switch as last read.
func (w *Watcher) State() State { return *w.cur.Load() }

// Announcement is the prompt to play before the menu, and whether incident mode is on.
func (w *Watcher) Announcement() (string, bool) {
	st := w.cur.Load()
	return st.Prompt, st.Active
}

// HeadStart is the ACD's head start per class now (see EmergencyHeadStart).
func (w *Watcher) HeadStart(base map[acd.Class]time.Duration) map[acd.Class]time.Duration {
	return EmergencyHeadStart(base, w.cur.Load().Active, w.boost)
}

// EmergencyBonus is what to add to an emergency item's head start when it is enqueued now:
// Boost while incident mode is on, else 0. The ACD fixes an item's order key at enqueue, so
// an emergency call enqueued during an incident keeps its boost after the switch goes off,
// and one enqueued before keeps its place.
func (w *Watcher) EmergencyBonus() time.Duration {
	if w.cur.Load().Active {
		return w.boost
	}
	return 0
}

// Refresh reads the switch now.
func (w *Watcher) Refresh(ctx context.Context) error {
	st, err := w.store.Get(ctx)
	if err != nil {
		return err
	}
	if old := w.cur.Swap(&st); old.Version != st.Version {
		w.log.Info("incident mode changed", "active", st.Active, "prompt", st.Prompt, "by", st.ChangedBy, "reason", st.Reason)
	}
	return nil
}

// Run keeps the copy fresh until ctx ends: it listens on NotifyChannel and reads the switch
// on every notification and at least every interval. A lost connection is retried after
// interval; meanwhile the last state read stands.
func (w *Watcher) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := w.listen(ctx)
		if ctx.Err() != nil {
			break
		}
		w.log.Warn("incident: listening failed; retrying", "err", err, "after", w.interval)
		select {
		case <-ctx.Done():
		case <-time.After(w.interval):
		}
	}
	return nil
}

func (w *Watcher) listen(ctx context.Context) error {
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// LISTEN state stays on the connection: it never goes back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	for {
		// Read after LISTEN, so that no switch falls between the read and the listening.
		if err := w.Refresh(ctx); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, w.interval)
		_, err := pc.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return err
		}
	}
}
