package callflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hotline/acd"
	"hotline/ivr"
	"hotline/pbx"
)

// ACDStore is the part of acd.Store the queue and its calls use.
type ACDStore interface {
	Enqueue(ctx context.Context, it acd.Item) (acd.Item, error)
	Remove(ctx context.Context, id acd.ItemID, why acd.RemoveReason) (acd.Item, error)
	ConvertToCallback(ctx context.Context, call acd.ItemID, task acd.Item) (acd.Item, error)
	ReserveBest(ctx context.Context, max int) ([]acd.Reservation, error)
	Offer(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Answer(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Release(ctx context.Context, r acd.Reservation, to acd.State, reason acd.Reason) (acd.Agent, error)
	NoAnswer(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Finish(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Expire(ctx context.Context) ([]acd.Expiry, error)
}

// Bridges is what a connected call needs from the PBX: (*pbx.Client).
type Bridges interface {
	CreateBridge(ctx context.Context, bridgeID, name string) (*pbx.Subscription, error)
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	RecordBridge(ctx context.Context, bridgeID string, opts pbx.RecordOptions) error
}

// ACDConfig wires an ACDQueue. Store, Line and Bridges are required.
type ACDConfig struct {
	Store   ACDStore
	ACD     acd.Config // the queues' maximum waits, relaxation steps, ring timeout
	Line    AgentLine
	Bridges Bridges
	// Batch is how many reservations one ReserveBest makes. Default 16.
	Batch int
	// Tick is how often the dispatcher calls Expire and looks for work it was not told of
	// (an agent made ready on another controller). Default 1s.
	Tick time.Duration
	// HoldMedia is played to a waiting caller, over and over, between announcements.
	// Default "tone:ring": the menu has no hold music.
	HoldMedia string
	// Announce is what a waiting caller hears besides the hold media (wait.go).
	Announce WaitAnnouncements
	// Prompts are played before a voicemail the caller reaches from the queue (key 1 or
	// the maximum wait). Default hotline/voicemail-intro.
	VoicemailPrompts []ivr.PromptName
	// RecordConversations records each conversation's bridge; the recording is stored with
	// the voicemails and attached to the case.
	RecordConversations bool
	// MaxConversation bounds a conversation's recording. Default 2h.
	MaxConversation time.Duration
	// Callbacks takes reservations of callback tasks: nobody is on the line, an agent is to
	// call someone back (the agent desk's business). When nil, such a reservation is
	// released with the agent not ready (reason ReasonCallbackTask), so that the task is
	// not reserved over and over; the desk makes the agent ready again.
	Callbacks func(ctx context.Context, r acd.Reservation)
	// Bus carries reservations between the controllers sharing the store: a reservation
	// for a call another controller enqueued is published on it, and this controller takes
	// from it the reservations of its own calls. Nil (one controller): such a reservation
	// is released at once.
	Bus ReservationBus
	// Clock is the store's clock: waits and relaxation are reviewed with it. Default
	// acd.SystemClock.
	Clock  acd.Clock
	Logger *slog.Logger
}

// ACDQueue is the Queue backed by the distributor. Offer enqueues the call and hands the
// call goroutine a Ticket: the goroutine keeps the caller waiting and carries out every
// step (ringing, bridging, hanging up). Run is the dispatcher: it reserves agents for
// waiting items in batches and delivers each reservation to the goroutine that owns the
// item, through an in-process channel keyed by item id. A reservation for an item enqueued
// by another controller goes on the Bus, where the controller that owns the item takes it;
// one that nobody takes (its call ended meanwhile, its controller is gone) lapses in the
// store after acd.Config.ReserveTimeout (Expire), and the agent is ready again.
type ACDQueue struct {
	cfg ACDConfig
	log *slog.Logger

	kick chan struct{}

	mu      sync.Mutex
	waiters map[acd.ItemID]chan acd.Reservation

	// overflow takes emergencies that waited to the queue's maximum (SetEmergencyOverflow).
	overflow EmergencyOverflow
	// bonus is the extra head start of an emergency enqueued now (SetEmergencyBonus).
	bonus func() time.Duration
}

// SetEmergencyBonus sets the extra head start an emergency gets when it is enqueued:
// incident mode's boost (incident.Watcher.EmergencyBonus). Call it before Run.
func (q *ACDQueue) SetEmergencyBonus(f func() time.Duration) { q.bonus = f }

// EmergencyOverflow takes an emergency that waited in the agents' queue to its maximum
// wait: the duty officers are called instead of the caller being sent to voicemail
// (EmergencyDesk).
type EmergencyOverflow interface {
	EscalateWaiting(ctx context.Context, o Offer) (*EscalationTicket, error)
}

// SetEmergencyOverflow sets who takes emergencies at their maximum wait; call it before
// Run.
func (q *ACDQueue) SetEmergencyOverflow(o EmergencyOverflow) { q.overflow = o }

// NewACDQueue checks cfg and returns the queue; start its dispatcher with Run.
func NewACDQueue(cfg ACDConfig) (*ACDQueue, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("the ACD store is required"))
	}
	if cfg.Line == nil {
		errs = append(errs, errors.New("the agent line is required"))
	}
	if cfg.Bridges == nil {
		errs = append(errs, errors.New("the PBX bridges are required"))
	}
	if err := cfg.ACD.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("acd queue config: %w", errors.Join(errs...))
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 16
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.HoldMedia == "" {
		cfg.HoldMedia = "tone:ring"
	}
	if len(cfg.VoicemailPrompts) == 0 {
		cfg.VoicemailPrompts = []ivr.PromptName{"hotline/voicemail-intro"}
	}
	if cfg.ACD.RingTimeout <= 0 {
		cfg.ACD.RingTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = acd.SystemClock{}
	}
	if cfg.MaxConversation <= 0 {
		cfg.MaxConversation = 2 * time.Hour
	}
	return &ACDQueue{cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1),
		waiters: map[acd.ItemID]chan acd.Reservation{}}, nil
}

// ClassOf maps the menu's priority to the distributor's class: complaints and reports
// share a class.
func ClassOf(p ivr.Priority) acd.Class {
	switch p {
	case ivr.PriorityEmergency:
		return acd.ClassEmergency
	case ivr.PriorityComplaint, ivr.PriorityReport:
		return acd.ClassComplaint
	case ivr.PriorityCallback:
		return acd.ClassCallback
	}
	return acd.ClassConsult
}

// itemOf is the waiting item of an offer: a pure function. Its enqueue time is the store's
// (zero: now by the store's clock), so that waits are measured on one clock.
func itemOf(o Offer) acd.Item {
	skills := make([]acd.SkillReq, 0, len(o.Skills))
	for _, s := range o.Skills {
		skills = append(skills, acd.SkillReq{Skill: acd.SkillName(s.Name), Min: acd.Level(s.Level)})
	}
	return acd.Item{ID: acd.ItemID(o.ChannelID), Kind: acd.KindCall, Queue: acd.QueueName(o.Queue), Class: ClassOf(o.Priority),
		Skills: skills, CaseID: acd.CaseID(o.CaseID), CaseNumber: acd.CaseNumber(o.CaseNumber),
		Number: string(o.CallerID)}
}

// Offer enqueues the call. A full queue overflows to voicemail.
func (q *ACDQueue) Offer(ctx context.Context, o Offer) (QueueResult, error) {
	qc, ok := q.cfg.ACD.Queue(acd.QueueName(o.Queue))
	if !ok {
		return QueueResult{}, fmt.Errorf("offer %s: queue %q is not configured", o.ChannelID, o.Queue)
	}
	ch := make(chan acd.Reservation, 1)
	q.mu.Lock()
	q.waiters[acd.ItemID(o.ChannelID)] = ch
	q.mu.Unlock()
	item := itemOf(o)
	if item.Class == acd.ClassEmergency && q.bonus != nil {
		item.HeadStartBonus = q.bonus()
	}
	it, err := q.cfg.Store.Enqueue(ctx, item)
	if err != nil {
		q.forget(acd.ItemID(o.ChannelID))
		if errors.Is(err, acd.ErrQueueFull) {
			return QueueResult{Decision: DecideVoicemail, Prompts: q.cfg.VoicemailPrompts, Reason: "queue full"}, nil
		}
		return QueueResult{}, fmt.Errorf("offer %s: %w", o.ChannelID, err)
	}
	q.Kick()
	return QueueResult{Decision: DecideWait, Reason: "waiting for an agent",
		Wait: &Ticket{q: q, item: it, queue: qc, offers: ch}}, nil
}

func (q *ACDQueue) forget(id acd.ItemID) {
	q.mu.Lock()
	delete(q.waiters, id)
	q.mu.Unlock()
}

// Kick asks the dispatcher to look for work now.
func (q *ACDQueue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// ReservationBus carries reservations between the controllers that share a distributor
// (acd/redisbus: Redis pub/sub). Delivery is at most once: a reservation lost on the way
// lapses in the store.
type ReservationBus interface {
	// Publish sends r to every controller subscribed.
	Publish(ctx context.Context, r acd.Reservation) error
	// Subscribe returns, once the subscription is in place, the reservations any
	// controller publishes from then on. The channel is closed when ctx ends.
	Subscribe(ctx context.Context) (<-chan acd.Reservation, error)
}

// Run dispatches until ctx ends: on every kick and tick it reserves agents, and on every
// tick it makes the store's timed transitions (Expire). With a Bus it also takes the
// reservations other controllers make for this controller's calls.
func (q *ACDQueue) Run(ctx context.Context) error {
	if q.cfg.Bus != nil {
		in, err := q.cfg.Bus.Subscribe(ctx)
		if err != nil {
			return fmt.Errorf("acd: subscribe to the reservation bus: %w", err)
		}
		go q.takeFromBus(ctx, in)
	}
	t := time.NewTicker(q.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-q.kick:
		case <-t.C:
			q.expire(ctx)
		}
		q.dispatch(ctx)
	}
}

func (q *ACDQueue) expire(ctx context.Context) {
	ex, err := q.cfg.Store.Expire(ctx)
	if err != nil {
		q.log.Error("acd: expire failed", "err", err)
		return
	}
	for _, e := range ex {
		q.log.Info("acd: expired", "agent", e.Agent, "call", e.Item, "from", e.From, "to", e.To, "reason", e.Reason)
	}
}

// dispatch reserves until no waiting item has a ready agent.
func (q *ACDQueue) dispatch(ctx context.Context) {
	for range 100 { // bounded: a store that keeps filling batches gets the next tick
		rs, err := q.cfg.Store.ReserveBest(ctx, q.cfg.Batch)
		if errors.Is(err, acd.ErrContention) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				q.log.Error("acd: reserve failed", "err", err)
			}
			return
		}
		for _, r := range rs {
			q.deliver(ctx, r)
		}
		if len(rs) < q.cfg.Batch {
			return
		}
	}
}

// ReasonCallbackTask is the not-ready reason of an agent reserved for a callback task
// when no Callbacks handler is configured.
const ReasonCallbackTask acd.Reason = "callback_task"

// deliver hands a reservation to the goroutine of its item, or releases it.
func (q *ACDQueue) deliver(ctx context.Context, r acd.Reservation) {
	if r.Item.Kind == acd.KindCallback {
		if q.cfg.Callbacks != nil {
			q.cfg.Callbacks(ctx, r)
			return
		}
		q.log.Warn("acd: callback task reserved but no desk takes callbacks; agent set not ready", "task", r.Item.ID, "agent", r.Agent)
		if _, err := q.cfg.Store.Release(ctx, r, acd.StateNotReady, ReasonCallbackTask); err != nil && !errors.Is(err, acd.ErrStateConflict) {
			q.log.Error("acd: release failed", "task", r.Item.ID, "agent", r.Agent, "err", err)
		}
		return
	}
	switch q.handOver(r) {
	case handedOver:
		return
	case notOurs:
		if q.cfg.Bus != nil {
			err := q.cfg.Bus.Publish(ctx, r)
			if err == nil {
				return
			}
			q.log.Error("acd: publish reservation failed", "call", r.Item.ID, "agent", r.Agent, "err", err)
		}
		q.log.Warn("acd: reservation for an item nobody here owns; released", "call", r.Item.ID, "agent", r.Agent)
	case busy:
		q.log.Warn("acd: second reservation for a call that has one; released", "call", r.Item.ID, "agent", r.Agent)
	}
	q.release(ctx, r)
}

func (q *ACDQueue) release(ctx context.Context, r acd.Reservation) {
	if _, err := q.cfg.Store.Release(ctx, r, acd.StateReady, ""); err != nil && !errors.Is(err, acd.ErrStateConflict) {
		q.log.Error("acd: release failed", "call", r.Item.ID, "agent", r.Agent, "err", err)
	}
}

// handOverResult says what became of a reservation offered to this controller's calls.
type handOverResult int

const (
	handedOver handOverResult = iota + 1 // the call goroutine has it
	notOurs                              // no call of this controller waits for that item
	busy                                 // the call has a reservation it has not taken yet
)

// handOver gives r to the goroutine of its item if that call is this controller's.
func (q *ACDQueue) handOver(r acd.Reservation) handOverResult {
	q.mu.Lock()
	ch := q.waiters[r.Item.ID]
	q.mu.Unlock()
	if ch == nil {
		return notOurs
	}
	select {
	case ch <- r:
		return handedOver
	default: // never two
		return busy
	}
}

// takeFromBus hands this controller's calls the reservations published on the bus (every
// controller's, its own included); the others are another controller's business.
func (q *ACDQueue) takeFromBus(ctx context.Context, in <-chan acd.Reservation) {
	for r := range in {
		if r.Item.Kind != acd.KindCall {
			continue
		}
		switch q.handOver(r) {
		case handedOver:
			q.log.Debug("acd: reservation taken from the bus", "call", r.Item.ID, "agent", r.Agent)
		case busy:
			q.log.Warn("acd: second reservation for a call that has one; released", "call", r.Item.ID, "agent", r.Agent)
			q.release(ctx, r)
		case notOurs:
		}
	}
}

// Ticket is a call waiting in the distributor: what the call goroutine holds.
type Ticket struct {
	q      *ACDQueue
	item   acd.Item
	queue  acd.Queue
	offers chan acd.Reservation
}

// Item is the waiting item as enqueued.
func (t *Ticket) Item() acd.Item { return t.item }

// done stops deliveries to this call.
func (t *Ticket) done() { t.q.forget(t.item.ID) }
