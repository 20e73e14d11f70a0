package wallboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hotline/acd"
)

// Source is what the hub reads the board from; every acd.Store is one.
type Source interface {
	Waiting(ctx context.Context, q acd.QueueName) ([]acd.Item, error)
	Outcomes(ctx context.Context, q acd.QueueName, since time.Time) ([]acd.Outcome, error)
	Agents(ctx context.Context) ([]acd.Agent, error)
	Item(ctx context.Context, id acd.ItemID) (acd.Item, error)
}

// HubConfig makes a Hub. Source, ACD and Location are required.
type HubConfig struct {
	Source Source
	// ACD is the distributor's configuration: the queues shown, in this order, and the
	// outcome retention, which must cover a day.
	ACD acd.Config
	// Location is the centre's time zone: "today" is its calendar day.
	Location *time.Location
	// Clock is the store's clock. Default acd.SystemClock.
	Clock acd.Clock
	// MinGap is the least time between two boards built on changes: a burst of changes
	// makes a board per gap, and a change shows within a gap plus a build. Default 250ms.
	MinGap time.Duration
	// Refresh is how often a board is built without being told of a change: it keeps the
	// waits running and makes up for a missed notification. Default 5s.
	Refresh time.Duration
	// ReadTimeout bounds the reads of one board. Default 5s.
	ReadTimeout time.Duration
	// Seats gives the health of the seats this controller holds; nil: none shown.
	Seats func() map[acd.AgentID]SeatView
	Log   *slog.Logger
}

// Hub builds the board whenever the distributor's state changes (Changed) and every
// Refresh, while anybody watches, and hands each board to every subscriber.
type Hub struct {
	cfg  HubConfig
	kick chan struct{}

	// Owned by Run.
	outcomes dayOutcomes
	cases    map[acd.ItemID]acd.CaseNumber

	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	latest []byte // the last board, encoded
	closed bool   // Run has ended: subscriptions are closed
}

// NewHub checks cfg and returns the hub; run it with Run.
func NewHub(cfg HubConfig) (*Hub, error) {
	var errs []error
	if cfg.Source == nil {
		errs = append(errs, errors.New("no source"))
	}
	if cfg.Location == nil {
		errs = append(errs, errors.New("no time zone"))
	}
	if len(cfg.ACD.Queues) == 0 {
		errs = append(errs, errors.New("no queues"))
	}
	// The stores keep outcomes for the retention (0 means its default, 24h): a shorter one
	// would make the afternoon forget the morning.
	if r := cfg.ACD.OutcomeRetention; r != 0 && r < 24*time.Hour {
		errs = append(errs, fmt.Errorf("outcome retention %s is shorter than a day: the day's statistics need 24h", r))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("wallboard: %w", errors.Join(errs...))
	}
	if cfg.Clock == nil {
		cfg.Clock = acd.SystemClock{}
	}
	if cfg.MinGap <= 0 {
		cfg.MinGap = 250 * time.Millisecond
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Hub{cfg: cfg, kick: make(chan struct{}, 1), subs: map[chan []byte]struct{}{}, cases: map[acd.ItemID]acd.CaseNumber{}}, nil
}

// Changed tells the hub that the distributor's state changed; it never blocks. Give it to
// acdchanges.Listen.
func (h *Hub) Changed() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// Subscribe returns a channel that receives every board built from now on (encoded as
// JSON), the first one at once; a subscriber that falls behind gets the latest board only.
// The channel is closed when the hub stops. cancel ends the subscription.
func (h *Hub) Subscribe() (boards <-chan []byte, cancel func()) {
	ch := make(chan []byte, 1)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	h.Changed()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// Latest returns the last board built, or nil.
func (h *Hub) Latest() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest
}

func (h *Hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		close(ch)
	}
	h.subs = nil
}

func (h *Hub) watched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// publish hands b to every subscriber, replacing a board a subscriber has not taken yet.
func (h *Hub) publish(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest = b
	for ch := range h.subs {
		select {
		case <-ch:
		default:
		}
		ch <- b // the one sender, under mu: the slot is free
	}
}

// Run builds boards until ctx ends: on each change (at most one per MinGap) and every
// Refresh, while there are subscribers. Then it closes the subscriptions.
func (h *Hub) Run(ctx context.Context) error {
	defer h.stop()
	refresh := time.NewTicker(h.cfg.Refresh)
	defer refresh.Stop()
	gap := time.NewTimer(0)
	<-gap.C
	var last time.Time
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.kick:
			pending = true
		case <-refresh.C:
			pending = true
		case <-gap.C:
		}
		if !pending || !h.watched() {
			continue
		}
		if d := buildDelay(last, time.Now(), h.cfg.MinGap); d > 0 {
			gap.Reset(d)
			continue
		}
		pending = false
		last = time.Now()
		b, err := h.Build(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.cfg.Log.Warn("wallboard: build", "err", err)
			continue
		}
		data, err := json.Marshal(b)
		if err != nil {
			h.cfg.Log.Error("wallboard: encode", "err", err)
			continue
		}
		h.publish(data)
	}
}

// Build reads the store and makes the board of now. Only Run may call it while Run runs
// (it keeps the day's outcomes between calls).
func (h *Hub) Build(ctx context.Context) (Board, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ReadTimeout)
	defer cancel()
	src := h.cfg.Source
	now := h.cfg.Clock.Now()
	start, _ := acd.DayBounds(now, h.cfg.Location)
	in := Inputs{At: now, Waiting: map[acd.QueueName][]acd.Item{}, Outcomes: map[acd.QueueName][]acd.Outcome{}}
	for _, q := range h.cfg.ACD.Queues {
		w, err := src.Waiting(ctx, q.Name)
		if err != nil {
			return Board{}, fmt.Errorf("waiting in %s: %w", q.Name, err)
		}
		in.Waiting[q.Name] = w
		read, err := src.Outcomes(ctx, q.Name, h.outcomes.since(q.Name, start))
		if err != nil {
			return Board{}, fmt.Errorf("outcomes of %s: %w", q.Name, err)
		}
		in.Outcomes[q.Name] = h.outcomes.merge(q.Name, read, now)
	}
	agents, err := src.Agents(ctx)
	if err != nil {
		return Board{}, fmt.Errorf("agents: %w", err)
	}
	in.Agents = agents
	in.Cases = h.caseNumbers(ctx, workItems(agents))
	if h.cfg.Seats != nil {
		in.Seats = h.cfg.Seats()
	}
	return Assemble(h.cfg.ACD, h.cfg.Location, in), nil
}

// caseNumbers returns the case numbers of items, read once per item and kept while an
// agent works on it.
func (h *Hub) caseNumbers(ctx context.Context, items []acd.ItemID) map[acd.ItemID]acd.CaseNumber {
	keep := make(map[acd.ItemID]acd.CaseNumber, len(items))
	for _, id := range items {
		n, ok := h.cases[id]
		if !ok {
			it, err := h.cfg.Source.Item(ctx, id)
			switch {
			case err == nil:
				n = it.CaseNumber
			case errors.Is(err, acd.ErrUnknownItem):
				// Finished meanwhile (wrap-up outlives the item): nothing to show.
			default:
				h.cfg.Log.Warn("wallboard: read item", "item", id, "err", err)
				continue // try again next board
			}
		}
		keep[id] = n
	}
	h.cases = keep
	return keep
}
