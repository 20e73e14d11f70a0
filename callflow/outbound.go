package callflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/acd"
	"hotline/cases"
	"hotline/pbx"
)

// Callbacks works callback tasks: a caller who left a message, hung up waiting, or asked to
// be called back keeping their place gets a task on their case (cases.CreateCallbackTask).
//
// Run is the scheduler: it puts every open task that is due (its retry policy says so) in
// the distributor as an item of kind callback, keeping the task's place (its enqueue time).
// The dispatcher reserves an agent for it only when one is free, and hands the reservation
// to Take (ACDConfig.Callbacks). Start is the desk's "call back" button: the agent takes a
// task of the list themselves.
//
// Either way the task is claimed in the case store first (cases.ClaimCallbackTask: one
// agent only, whatever the number of controllers), and one goroutine then owns the whole
// callback: the offer on the agent's desk and seat (CallbackLine), the originate to the
// caller's number through DialString, the bridge of the callee with the agent's seat, the
// call row on the SAME case (direction outbound), the trail entries, and the outcome:
// reached (task done), not answered (the attempt is counted and the task waits for the
// next one by policy, or is given up), wrong number (marked by the agent: task done). The
// distributor's item is finished (the agent goes to wrap-up) or, when the agent did not
// take the offer, back in its place.
type Callbacks struct {
	cfg CallbackConfig
	log *slog.Logger

	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[cases.TaskID]*outbound
	base    context.Context // Run's: the callbacks the desk starts end with it
	stopped bool            // Run has ended: no callback starts any more
}

// errStopping refuses a callback once Run has ended.
var errStopping = errors.New("callbacks are stopping")

// spawn runs f on a goroutine Run waits for, unless Run has ended (false): a WaitGroup
// must not gain a goroutine while it is being waited for.
func (c *Callbacks) spawn(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// CallbackTasks is the case store's side of callbacks: (*cases.Store).
type CallbackTasks interface {
	ClaimCallbackTask(ctx context.Context, id cases.TaskID, agent string, at time.Time) (cases.ClaimedTask, error)
	ClaimCallbackAttempt(ctx context.Context, id cases.TaskID, attempt int, agent string, at time.Time) (cases.ClaimedTask, error)
	ClaimCallbackTaskOfCall(ctx context.Context, channelID, agent string, at time.Time) (cases.ClaimedTask, error)
	ReleaseCallbackTask(ctx context.Context, id cases.TaskID, agent, reason string, at time.Time) error
	CloseCallbackTask(ctx context.Context, id cases.TaskID, outcome cases.TaskOutcome, agent string, call *cases.CallID, at time.Time) error
	RetryCallbackTask(ctx context.Context, id cases.TaskID, agent, reason string, call *cases.CallID, maxAttempts int, at time.Time) (int, bool, error)
	OpenTaskAttempts(ctx context.Context, limit int) ([]cases.TaskAttempts, error)
	RenewCallbackClaim(ctx context.Context, id cases.TaskID, agent string, at time.Time) error
	ReleaseExpiredClaims(ctx context.Context, at time.Time) ([]cases.TaskID, error)
	OpenCall(ctx context.Context, caseID cases.CaseID, call cases.NewCall) (cases.Call, error)
	MarkAnswered(ctx context.Context, id cases.CallID, at time.Time) error
	EndCall(ctx context.Context, id cases.CallID, endedAt time.Time, outcome string, ivrPath json.RawMessage) error
	AppendEvent(ctx context.Context, id cases.CaseID, e cases.NewEvent) (cases.Event, error)
}

// CallbackACD is the part of acd.Store callbacks use.
type CallbackACD interface {
	Enqueue(ctx context.Context, it acd.Item) (acd.Item, error)
	Remove(ctx context.Context, id acd.ItemID, why acd.RemoveReason) (acd.Item, error)
	Item(ctx context.Context, id acd.ItemID) (acd.Item, error)
	Reserve(ctx context.Context, item acd.ItemID, agent acd.AgentID) (acd.Reservation, error)
	Offer(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Answer(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Release(ctx context.Context, r acd.Reservation, to acd.State, reason acd.Reason) (acd.Agent, error)
	NoAnswer(ctx context.Context, r acd.Reservation) (acd.Agent, error)
	Finish(ctx context.Context, r acd.Reservation) (acd.Agent, error)
}

// CallbackLine offers a callback task to an agent and connects the agent's audio: the
// agent desk's seats (deskcalls.Line). The leg answers when the agent's side is up.
type CallbackLine interface {
	RingCallback(ctx context.Context, r CallbackRing) (Leg, error)
}

// CallbackRing is one callback offered to an agent.
type CallbackRing struct {
	Agent      acd.AgentID
	ChannelID  string // the agent leg's channel id: the callee's channel id + "-a1"
	Task       cases.TaskID
	CaseNumber string
	Number     string // the number to call, in full: the desk masks it
	Queue      string
	EnqueuedAt time.Time
	Timeout    time.Duration // the offer rings no longer than this
	// Picked: the agent chose the task on the desk; connect without ringing.
	Picked bool
}

// RetryPolicy says when a callback that did not reach the caller is tried again.
type RetryPolicy struct {
	// MaxAttempts is how many unanswered attempts give the task up. Default 3.
	MaxAttempts int
	// Backoff is the wait after the n-th unanswered attempt (the last entry repeats).
	// Default 15m, 1h.
	Backoff []time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if len(p.Backoff) == 0 {
		p.Backoff = []time.Duration{15 * time.Minute, time.Hour}
	}
	return p
}

// NextAttempt is when a task with attempts unanswered attempts, the last ending at last,
// may be tried again; the zero time when it never was tried. A pure function.
func (p RetryPolicy) NextAttempt(attempts int, last *time.Time) time.Time {
	p = p.withDefaults()
	if attempts <= 0 || last == nil {
		return time.Time{}
	}
	return last.Add(p.Backoff[min(attempts, len(p.Backoff))-1])
}

// Due says whether such a task is to be offered at now.
func (p RetryPolicy) Due(attempts int, last *time.Time, now time.Time) bool {
	if attempts >= p.withDefaults().MaxAttempts {
		return false
	}
	return !now.Before(p.NextAttempt(attempts, last))
}

// CallbackConfig wires Callbacks. ACD, Tasks, Line, PBX, Bridges and DialString are
// required.
type CallbackConfig struct {
	ACD     CallbackACD
	Tasks   CallbackTasks
	Line    CallbackLine
	PBX     Originator
	Bridges Bridges
	// DialString reaches a caller: "{number}" is replaced by the number, e.g.
	// "PJSIP/{number}@trunk".
	DialString string
	// CallerID is the number the called person sees. Default "12315".
	CallerID string
	// DialTimeout is how long the caller's phone rings. Default 30s.
	DialTimeout time.Duration
	// OfferTimeout is how long an offer rings on the agent's desk. Default 15s.
	OfferTimeout time.Duration
	// DefaultQueue is the distributor queue of tasks that name none. Default "general".
	DefaultQueue string
	// Distributor is the distributor's configuration: tasks of queues it lacks go to
	// DefaultQueue. Zero: not checked.
	Distributor acd.Config
	Retry       RetryPolicy
	// Poll is how often the scheduler looks for due tasks. Default 10s.
	Poll time.Duration
	// LeaseRenew is how often a running callback renews its claim on the task, well within
	// cases.ClaimLease. Default a quarter of it.
	LeaseRenew time.Duration
	// Kick wakes the dispatcher after tasks were enqueued ((*ACDQueue).Kick); nil: none.
	Kick           func()
	RequestTimeout time.Duration // each store and PBX request; default 5s
	Now            func() time.Time
	Logger         *slog.Logger
}

// NewCallbacks checks cfg and returns the callbacks; start the scheduler with Run and give
// Take to the queue (ACDConfig.Callbacks).
func NewCallbacks(cfg CallbackConfig) (*Callbacks, error) {
	var errs []error
	for name, missing := range map[string]bool{"ACD": cfg.ACD == nil, "Tasks": cfg.Tasks == nil, "Line": cfg.Line == nil,
		"PBX": cfg.PBX == nil, "Bridges": cfg.Bridges == nil} {
		if missing {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if err := CheckDialString(cfg.DialString); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("callbacks config: %w", errors.Join(errs...))
	}
	if cfg.CallerID == "" {
		cfg.CallerID = "12315"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.OfferTimeout <= 0 {
		cfg.OfferTimeout = 15 * time.Second
	}
	if cfg.DefaultQueue == "" {
		cfg.DefaultQueue = "general"
	}
	cfg.Retry = cfg.Retry.withDefaults()
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Second
	}
	if cfg.LeaseRenew <= 0 || cfg.LeaseRenew >= cases.ClaimLease/2 {
		cfg.LeaseRenew = cases.ClaimLease / 4
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Callbacks{cfg: cfg, log: cfg.Logger, running: map[cases.TaskID]*outbound{}}, nil
}

// CheckDialString checks an outbound dial string: a technology, a resource and exactly
// one "{number}".
func CheckDialString(s string) error {
	tech, res, ok := strings.Cut(s, "/")
	if !ok || tech == "" || res == "" || strings.Count(s, "{number}") != 1 {
		return fmt.Errorf("outbound dial string %q: want TECH/resource with one {number}, e.g. PJSIP/{number}@trunk", s)
	}
	return nil
}

var dialable = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

// dialString is where number is reached; an error for a number that is not dialable.
func (c *Callbacks) dialString(number cases.Phone) (string, error) {
	if !dialable.MatchString(string(number)) {
		return "", fmt.Errorf("number %q is not dialable", number.Masked())
	}
	return strings.ReplaceAll(c.cfg.DialString, "{number}", string(number)), nil
}

// Item ids: a task the scheduler enqueued is "cbt-<task>-<attempt>", one an agent picked on
// the desk "cbp-<task>-<attempt>" (its own id: a stale scheduler item removed meanwhile is
// never the agent's); a waiting caller who kept their place is "cb-<channel>" (the waiting
// call's goroutine made it).
const (
	taskItemPrefix   = "cbt-"
	pickedItemPrefix = "cbp-"
	keptItemPrefix   = "cb-"
)

func taskItemID(t cases.TaskID, attempts int) acd.ItemID {
	return acd.ItemID(taskItemPrefix + strconv.FormatInt(int64(t), 10) + "-" + strconv.Itoa(attempts))
}

// itemRef is the task an item stands for.
type itemRef struct {
	task    cases.TaskID // the scheduler's item: the task ...
	attempt int          // ... for this attempt (0 the first)
	channel string       // a caller's kept place: the call's channel (first attempt)
}

// itemTask says which task an item is: a task id and attempt, or the channel of the call
// that kept its place. A pure function.
func itemTask(id acd.ItemID) (itemRef, error) {
	s := string(id)
	rest, ok := strings.CutPrefix(s, taskItemPrefix)
	if !ok {
		rest, ok = strings.CutPrefix(s, pickedItemPrefix)
	}
	if ok {
		num, att, _ := strings.Cut(rest, "-")
		n, err := strconv.ParseInt(num, 10, 64)
		a, aerr := strconv.Atoi(att)
		if err != nil || n <= 0 || aerr != nil || a < 0 {
			return itemRef{}, fmt.Errorf("callback item %q is not %s<task>-<attempt>", id, taskItemPrefix)
		}
		return itemRef{task: cases.TaskID(n), attempt: a}, nil
	}
	if ch, ok := strings.CutPrefix(s, keptItemPrefix); ok && ch != "" {
		return itemRef{channel: ch}, nil
	}
	return itemRef{}, fmt.Errorf("callback item %q is neither %s<task>-<attempt> nor %s<channel>", id, taskItemPrefix, keptItemPrefix)
}

// taskItem is the distributor's item of a task: a pure function.
func (c *Callbacks) taskItem(t cases.TaskAttempts) acd.Item {
	q := t.Task.Queue
	if q == "" {
		q = c.cfg.DefaultQueue
	}
	var skills []acd.SkillReq
	var m map[string]int
	if json.Unmarshal(t.Task.Skills, &m) == nil {
		for name, level := range m {
			skills = append(skills, acd.SkillReq{Skill: acd.SkillName(name), Min: acd.Level(level)})
		}
	}
	origin := acd.OriginAbandoned
	switch t.Task.Reason {
	case cases.TaskVoicemail:
		origin = acd.OriginVoicemail
	case cases.TaskRequested:
		origin = acd.OriginKeptPlace
	}
	return acd.Item{ID: taskItemID(t.Task.ID, t.Attempts), Kind: acd.KindCallback, Queue: acd.QueueName(q), Class: acd.ClassCallback,
		Skills: skills, EnqueuedAt: t.Task.EnqueuedAt, CaseID: acd.CaseID(t.Task.CaseID), CaseNumber: acd.CaseNumber(t.CaseNumber),
		Number: string(t.Task.CallerNumber), Origin: origin}
}

func (c *Callbacks) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.cfg.RequestTimeout)
}

// Run is the scheduler: until ctx ends it puts the due open tasks in the distributor, then
// waits for the callbacks in progress (each hangs up at ctx's end).
func (c *Callbacks) Run(ctx context.Context) error {
	c.mu.Lock()
	c.base = ctx
	c.mu.Unlock()
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	defer func() {
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		c.wg.Wait()
	}()
	for {
		c.schedule(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// maxScheduled bounds the tasks one scheduling round reads.
const maxScheduled = 500

func (c *Callbacks) schedule(ctx context.Context) {
	// Claims whose controller stopped renewing them (it crashed, or lost the database for
	// longer than the lease) are given back first, so they are queued in this round.
	released, err := c.cfg.Tasks.ReleaseExpiredClaims(ctx, c.cfg.Now())
	if err != nil && ctx.Err() == nil {
		c.log.Error("callbacks: expired claims not released", "err", err)
	}
	for _, id := range released {
		c.log.Warn("callbacks: a claim ran out unrenewed; the task is open again", "task", id)
	}
	open, err := c.cfg.Tasks.OpenTaskAttempts(ctx, maxScheduled)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("callbacks: open tasks not read", "err", err)
		}
		return
	}
	now := c.cfg.Now()
	added := 0
	for _, t := range open {
		if !c.cfg.Retry.Due(t.Attempts, t.LastAttempt, now) {
			continue
		}
		if t.Task.Reason == cases.TaskRequested && t.Attempts == 0 && t.Channel != "" {
			// The caller's kept place is in the distributor already (ConvertToCallback); it is
			// queued here only once that item is gone (taken before the task was written).
			if _, err := c.cfg.ACD.Item(ctx, acd.ItemID(keptItemPrefix+t.Channel)); err == nil {
				continue
			}
		}
		_, err := c.enqueue(ctx, c.taskItem(t))
		switch {
		case err == nil:
			added++
			c.log.Info("callbacks: task queued", "task", t.Task.ID, "case", t.CaseNumber, "attempt", t.Attempts+1)
		case errors.Is(err, acd.ErrItemExists), errors.Is(err, acd.ErrQueueFull):
		default:
			c.log.Error("callbacks: task not queued", "task", t.Task.ID, "case", t.CaseNumber, "err", err)
		}
	}
	if added > 0 {
		c.cfg.Kick()
	}
}

// enqueue puts a task's item in the distributor; a task of a queue the distributor does not
// have (the configuration changed since it was made) goes to the default queue, so that it
// is routed at all.
func (c *Callbacks) enqueue(ctx context.Context, it acd.Item) (acd.Item, error) {
	if len(c.cfg.Distributor.Queues) > 0 {
		if _, ok := c.cfg.Distributor.Queue(it.Queue); !ok {
			c.log.Warn("callbacks: task of an unknown queue; the default queue takes it", "item", it.ID, "queue", it.Queue)
			it.Queue = acd.QueueName(c.cfg.DefaultQueue)
		}
	}
	return c.cfg.ACD.Enqueue(ctx, it)
}

// Take is ACDConfig.Callbacks: an agent is reserved for a callback item. It never blocks
// the dispatcher: the callback's goroutine does everything.
func (c *Callbacks) Take(ctx context.Context, r acd.Reservation) {
	if c.spawn(func() { c.take(ctx, r) }) {
		return
	}
	// The controller is stopping: the item goes back to its place, the agent is ready.
	cctx, cancel := c.opCtx()
	defer cancel()
	if _, err := c.cfg.ACD.Release(cctx, r, acd.StateReady, ""); err != nil && !errors.Is(err, acd.ErrStateConflict) {
		c.log.Error("callbacks: reservation not given back at shutdown", "agent", r.Agent, "item", r.Item.ID, "err", err)
	}
}

func (c *Callbacks) take(ctx context.Context, r acd.Reservation) {
	log := c.log.With("agent", r.Agent, "item", r.Item.ID, "case", r.Item.CaseNumber)
	ref, err := itemTask(r.Item.ID)
	var claimed cases.ClaimedTask
	if err == nil {
		cctx, cancel := c.opCtx()
		if ref.channel != "" {
			claimed, err = c.cfg.Tasks.ClaimCallbackTaskOfCall(cctx, ref.channel, string(r.Agent), c.cfg.Now())
		} else {
			claimed, err = c.cfg.Tasks.ClaimCallbackAttempt(cctx, ref.task, ref.attempt, string(r.Agent), c.cfg.Now())
		}
		cancel()
	}
	if err != nil {
		// Taken by another agent, done, made for an earlier attempt, or not written yet (the
		// scheduler queues it once it is): this item is stale. The agent is ready again.
		log.Info("callbacks: reserved item has no open task; removed", "err", err)
		cctx, cancel := c.opCtx()
		if _, err := c.cfg.ACD.Remove(cctx, r.Item.ID, acd.RemoveDiverted); err != nil && !errors.Is(err, acd.ErrStateConflict) {
			log.Error("callbacks: stale item not removed", "err", err)
		}
		cancel()
		c.cfg.Kick()
		return
	}
	c.work(ctx, r, claimed, false)
}

// Start is the desk's "call back": agent takes task themselves. The task is claimed for
// them (cases.ErrTaskTaken, HTTP 409, when another agent has it) and the agent, who must be
// ready, reserved for its item; the callback then goes on in its own goroutine.
func (c *Callbacks) Start(ctx context.Context, agent acd.AgentID, task cases.TaskID) error {
	claimed, err := c.cfg.Tasks.ClaimCallbackTask(ctx, task, string(agent), c.cfg.Now())
	if err != nil {
		return fmt.Errorf("call back task %d: %w", task, err)
	}
	it := c.taskItem(cases.TaskAttempts{Task: claimed.Task, CaseNumber: claimed.CaseNumber, Attempts: claimed.Attempts})
	it.ID = acd.ItemID(pickedItemPrefix + strings.TrimPrefix(string(it.ID), taskItemPrefix))
	var r acd.Reservation
	for range 3 { // a dispatcher may hold the item a moment (it then removes it: the task is ours)
		if _, err = c.enqueue(ctx, it); err != nil && !errors.Is(err, acd.ErrItemExists) {
			break
		}
		if r, err = c.cfg.ACD.Reserve(ctx, it.ID, agent); err == nil {
			break
		}
		if !errors.Is(err, acd.ErrUnknownItem) && !errors.Is(err, acd.ErrStateConflict) {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		rctx, cancel := c.opCtx()
		// The picked item must not stay in the distributor for another agent: the task
		// goes back to the list, and the scheduler queues it again in its place.
		if _, rerr := c.cfg.ACD.Remove(rctx, it.ID, acd.RemoveDiverted); rerr != nil && !errors.Is(rerr, acd.ErrUnknownItem) &&
			!errors.Is(rerr, acd.ErrStateConflict) {
			c.log.Error("callbacks: picked item not removed", "task", task, "agent", agent, "err", rerr)
		}
		if rerr := c.cfg.Tasks.ReleaseCallbackTask(rctx, task, string(agent), "not reserved", c.cfg.Now()); rerr != nil {
			c.log.Error("callbacks: task not released", "task", task, "agent", agent, "err", rerr)
		}
		cancel()
		if errors.Is(err, acd.ErrStateConflict) {
			err = fmt.Errorf("the agent must be ready and free: %w", err)
		}
		return fmt.Errorf("call back task %d: %w", task, err)
	}
	if c.spawn(func() { c.work(c.baseCtx(), r, claimed, true) }) {
		return nil
	}
	// Run ended meanwhile: undo the reservation and the claim.
	rctx, cancel := c.opCtx()
	defer cancel()
	if _, err := c.cfg.ACD.Release(rctx, r, acd.StateReady, ""); err != nil && !errors.Is(err, acd.ErrStateConflict) {
		c.log.Error("callbacks: reservation not given back at shutdown", "agent", agent, "task", task, "err", err)
	}
	if _, err := c.cfg.ACD.Remove(rctx, it.ID, acd.RemoveDiverted); err != nil && !errors.Is(err, acd.ErrUnknownItem) &&
		!errors.Is(err, acd.ErrStateConflict) {
		c.log.Error("callbacks: picked item not removed", "task", task, "agent", agent, "err", err)
	}
	if err := c.cfg.Tasks.ReleaseCallbackTask(rctx, task, string(agent), "shutdown", c.cfg.Now()); err != nil {
		c.log.Error("callbacks: task not released", "task", task, "agent", agent, "err", err)
	}
	return fmt.Errorf("call back task %d: %w", task, errStopping)
}

// baseCtx is the context of Run, for callbacks the desk starts; Background before Run.
func (c *Callbacks) baseCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == nil {
		return context.Background()
	}
	return c.base
}

// Mark records the agent's verdict on a callback in progress: wrong number (someone else
// answered) closes the task without retry. The callback's goroutine applies it at its end.
func (c *Callbacks) Mark(agent acd.AgentID, task cases.TaskID, outcome cases.TaskOutcome) error {
	if outcome != cases.OutcomeWrongNumber && outcome != cases.OutcomeReached {
		return fmt.Errorf("mark callback task %d: outcome %q is not %s or %s", task, outcome, cases.OutcomeReached, cases.OutcomeWrongNumber)
	}
	c.mu.Lock()
	o := c.running[task]
	c.mu.Unlock()
	if o == nil || o.r.Agent != agent {
		return fmt.Errorf("mark callback task %d: %w", task, cases.ErrTaskTaken)
	}
	select {
	case o.marks <- outcome:
		return nil
	default:
		return fmt.Errorf("mark callback task %d: a verdict is pending", task)
	}
}

// work runs one callback: the goroutine that owns it.
func (c *Callbacks) work(ctx context.Context, r acd.Reservation, t cases.ClaimedTask, picked bool) {
	o := &outbound{c: c, r: r, t: t, picked: picked, marks: make(chan cases.TaskOutcome, 1),
		id:  fmt.Sprintf("cbo-%d-%d-%d", t.Task.ID, t.Attempts+1, c.cfg.Now().UnixMilli()%1_000_000),
		log: c.log.With("agent", r.Agent, "task", t.Task.ID, "case", t.CaseNumber)}
	c.mu.Lock()
	c.running[t.Task.ID] = o
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.running, t.Task.ID)
		c.mu.Unlock()
	}()
	defer func() {
		if p := recover(); p != nil {
			o.log.Error("callbacks: panic; the callback is ended", "panic", p)
			o.end(resultCancelled, "panic")
		}
	}()
	renewing, stopRenewing := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		c.renew(renewing, o)
	}()
	defer func() {
		stopRenewing()
		<-renewed
	}()
	o.run(ctx)
}

// renew keeps o's claim on its task alive until ctx ends: the callback's goroutine may
// wait on the agent and the caller for longer than the lease.
func (c *Callbacks) renew(ctx context.Context, o *outbound) {
	t := time.NewTicker(c.cfg.LeaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := c.opCtx()
		err := c.cfg.Tasks.RenewCallbackClaim(cctx, o.t.Task.ID, string(o.r.Agent), c.cfg.Now())
		cancel()
		if err != nil {
			// Logged, not acted on: the callback goes on; if the claim ran out, the task's
			// outcome is refused at the end and the trail says why.
			o.log.Error("callbacks: claim not renewed", "err", err)
		}
	}
}

// callbackResult is how one callback ended.
type callbackResult int

const (
	resultReached   callbackResult = iota + 1
	resultNoAnswer                 // dialled, not answered: counts as an attempt
	resultCancelled                // not dialled, or the agent gave up while it rang: untried
)

// outbound is one callback; it belongs to its goroutine.
type outbound struct {
	c      *Callbacks
	r      acd.Reservation
	t      cases.ClaimedTask
	picked bool
	id     string // the callee's channel id
	log    *slog.Logger
	marks  chan cases.TaskOutcome

	offered  bool // the ACD rings the agent
	answered bool // the agent took the offer (ACD on_call)
	leg      Leg
	callee   *pbx.Subscription
	up       bool // the callee answered
	callID   cases.CallID
	bridge   string
	verdict  cases.TaskOutcome
	reason   string
	finished bool
}

func (o *outbound) fail(op string, err error) {
	o.log.Error("callbacks: "+op+" failed", "err", err)
}

func (o *outbound) run(ctx context.Context) {
	c := o.c
	cctx, cancel := c.opCtx()
	_, err := c.cfg.ACD.Offer(cctx, o.r)
	cancel()
	if err != nil {
		o.fail("acd.offer", err)
		o.end(resultCancelled, "offer failed")
		return
	}
	o.offered = true
	cctx, cancel = c.opCtx()
	o.leg, err = c.cfg.Line.RingCallback(cctx, CallbackRing{Agent: o.r.Agent, ChannelID: o.id + "-a1", Task: o.t.Task.ID,
		CaseNumber: string(o.t.CaseNumber), Number: string(o.t.Task.CallerNumber), Queue: string(o.r.Item.Queue),
		EnqueuedAt: o.t.Task.EnqueuedAt, Timeout: c.cfg.OfferTimeout, Picked: o.picked})
	cancel()
	if err != nil {
		o.fail("agent.ring", err)
		o.end(resultCancelled, "agent not reachable")
		return
	}
	// The agent's decision.
	for !o.answered {
		select {
		case <-ctx.Done():
			o.end(resultCancelled, "shutdown")
			return
		case le, ok := <-o.leg.Events():
			if !ok || le.Kind != LegAnswered {
				o.log.Info("callbacks: the agent did not take the callback", "reason", le.Reason)
				o.end(resultCancelled, "agent: "+le.Reason)
				return
			}
			cctx, cancel := c.opCtx()
			_, err := c.cfg.ACD.Answer(cctx, o.r)
			cancel()
			if err != nil {
				o.fail("acd.answer", err)
				o.end(resultCancelled, "offer taken back")
				return
			}
			o.answered = true
		}
	}
	if !o.dial() {
		o.end(resultNoAnswer, o.reason)
		return
	}
	o.end(o.talk(ctx), o.reason)
}

// dial opens the call row on the task's case and originates to the caller.
func (o *outbound) dial() bool {
	c := o.c
	ep, err := c.dialString(o.t.Task.CallerNumber)
	if err != nil {
		o.reason = "WRONGNUMBER"
		o.fail("dial", err)
		return false
	}
	now := c.cfg.Now()
	cctx, cancel := c.opCtx()
	call, err := c.cfg.Tasks.OpenCall(cctx, o.t.Task.CaseID, cases.NewCall{ChannelID: o.id, Direction: cases.Outbound,
		CallerNumber: cases.Phone(c.cfg.CallerID), CalledNumber: string(o.t.Task.CallerNumber), StartedAt: now})
	cancel()
	if err != nil {
		o.fail("db.open_call", err) // the callback goes on: a caller is never left unserved for a record
	} else {
		o.callID = call.ID
	}
	timeout := ((c.cfg.DialTimeout + time.Second - 1) / time.Second) * time.Second
	cctx, cancel = c.opCtx()
	o.callee, err = c.cfg.PBX.Originate(cctx, pbx.OriginateRequest{Endpoint: ep, ChannelID: o.id, AppArgs: "callback",
		CallerID: c.cfg.CallerID, Timeout: timeout})
	cancel()
	if err != nil {
		o.reason = "CHANUNAVAIL"
		o.fail("originate", err)
		return false
	}
	o.log.Info("callbacks: dialling the caller", "channel", o.id, "attempt", o.t.Attempts+1)
	return true
}

// talk follows the callee's channel and the agent's leg until the callback ends.
func (o *outbound) talk(ctx context.Context) callbackResult {
	c := o.c
	guard := time.NewTimer(c.cfg.DialTimeout + 2*c.cfg.RequestTimeout)
	defer guard.Stop()
	legEvents := o.leg.Events()
	for {
		select {
		case <-ctx.Done():
			o.reason = "shutdown"
			if o.up {
				return resultReached
			}
			return resultCancelled
		case <-guard.C:
			if !o.up {
				o.reason = "NOANSWER"
				return resultNoAnswer
			}
		case m := <-o.marks:
			o.verdict = m
			o.log.Info("callbacks: agent's verdict", "outcome", m)
		case ev, ok := <-o.callee.Events():
			if !ok {
				ev = pbx.Event{Type: pbx.Vanished}
			}
			k, reason, relevant := legEvent(ev, o.up)
			if !relevant {
				continue
			}
			switch k {
			case LegAnswered:
				o.connect()
			case LegFailed:
				o.reason = reason
				return resultNoAnswer
			case LegGone:
				o.reason = "caller hung up"
				return resultReached
			}
		case le, ok := <-legEvents:
			if ok {
				switch le.Kind {
				case LegAnswered, LegSeatLost, LegSeatBack:
					// A seat that flaps does not end a callback: the agent's seat
					// reconnects on its own or the agent hangs up.
					continue
				case LegHold, LegTransfer:
					reply(le, errors.New("hold and transfer are not available on a callback"))
					continue
				}
			}
			o.reason = "agent hung up"
			o.leg.Close()
			o.leg = nil
			legEvents = nil
			if !o.up && o.calleeAnswered() {
				// The caller picked up as the agent hung up: the caller was reached.
				o.up = true
				o.markAnswered(c.cfg.Now())
			}
			if o.up {
				return resultReached
			}
			return resultCancelled
		}
	}
}

// connect bridges the callee who answered with the agent's leg.
func (o *outbound) connect() {
	c := o.c
	o.up = true
	now := c.cfg.Now()
	o.markAnswered(now)
	o.bridge = "br-" + o.id
	cctx, cancel := c.opCtx()
	sub, err := c.cfg.Bridges.CreateBridge(cctx, o.bridge, "callback "+o.id)
	cancel()
	if err != nil {
		o.fail("bridge.create", err)
		o.bridge = ""
	} else {
		sub.Close() // the legs' own events end the callback
		cctx, cancel := c.opCtx()
		if err := c.cfg.Bridges.AddToBridge(cctx, o.bridge, o.id, o.leg.ChannelID()); err != nil {
			o.fail("bridge.add", err)
		}
		cancel()
	}
	o.appendEvent(now, eventCallbackAnswered, map[string]any{"task": o.t.Task.ID, "agent": o.r.Agent, "channel_id": o.id,
		"agent_channel_id": o.leg.ChannelID(), "attempt": o.t.Attempts + 1, "picked": o.picked})
	o.log.Info("callbacks: caller answered; connected to the agent", "bridge", o.bridge)
}

// markAnswered records on the call row that the callee answered.
func (o *outbound) markAnswered(at time.Time) {
	if o.callID == 0 {
		return
	}
	cctx, cancel := o.c.opCtx()
	defer cancel()
	if err := o.c.cfg.Tasks.MarkAnswered(cctx, o.callID, at); err != nil {
		o.fail("db.mark_answered", err)
	}
}

// calleeAnswered reports whether the callee's answer is already among its unread events.
func (o *outbound) calleeAnswered() bool {
	for {
		select {
		case ev, ok := <-o.callee.Events():
			if !ok {
				return false
			}
			if k, _, relevant := legEvent(ev, false); relevant {
				return k == LegAnswered
			}
		default:
			return false
		}
	}
}

// eventCallbackAnswered is the trail entry of a callee who answered a callback.
const eventCallbackAnswered cases.EventKind = "callback_answered"

func (o *outbound) appendEvent(at time.Time, kind cases.EventKind, detail map[string]any) {
	e := cases.NewEvent{At: at, Kind: kind, Actor: string(o.r.Agent), Detail: detail}
	if o.callID != 0 {
		id := o.callID
		e.CallID = &id
	}
	cctx, cancel := o.c.opCtx()
	if _, err := o.c.cfg.Tasks.AppendEvent(cctx, o.t.Task.CaseID, e); err != nil {
		o.fail("db.append_event", err)
	}
	cancel()
}

// end hangs up what is left, records the call and the task's outcome and frees the agent.
func (o *outbound) end(res callbackResult, reason string) {
	if o.finished {
		return
	}
	o.finished = true
	c := o.c
	now := c.cfg.Now()
	if o.callee != nil {
		cctx, cancel := c.opCtx()
		if err := c.cfg.PBX.Hangup(cctx, o.id, pbx.HangupNormal); err != nil && !errors.Is(err, pbx.ErrNotFound) {
			o.fail("hangup callee", err)
		}
		cancel()
		o.callee.Close()
	}
	if o.leg != nil {
		cctx, cancel := c.opCtx()
		if err := o.leg.Hangup(cctx); err != nil {
			o.fail("hangup agent leg", err)
		}
		cancel()
		o.leg.Close()
	}
	if o.bridge != "" {
		cctx, cancel := c.opCtx()
		if err := c.cfg.Bridges.DestroyBridge(cctx, o.bridge); err != nil && !errors.Is(err, pbx.ErrNotFound) {
			o.fail("bridge.destroy", err)
		}
		cancel()
	}
	select {
	case m := <-o.marks:
		o.verdict = m
	default:
	}
	outcome := "callback_" + map[callbackResult]string{resultReached: "reached", resultNoAnswer: "no_answer", resultCancelled: "cancelled"}[res]
	if res == resultReached && o.verdict == cases.OutcomeWrongNumber {
		outcome = "callback_wrong_number"
	}
	if o.callID != 0 {
		cctx, cancel := c.opCtx()
		if err := c.cfg.Tasks.EndCall(cctx, o.callID, now, outcome, nil); err != nil {
			o.fail("db.end_call", err)
		}
		cancel()
	}
	var call *cases.CallID
	if o.callID != 0 {
		call = &o.callID
	}
	agent := string(o.r.Agent)
	cctx, cancel := c.opCtx()
	var err error
	switch res {
	case resultReached:
		v := cases.OutcomeReached
		if o.verdict == cases.OutcomeWrongNumber {
			v = cases.OutcomeWrongNumber
		}
		err = c.cfg.Tasks.CloseCallbackTask(cctx, o.t.Task.ID, v, agent, call, now)
	case resultNoAnswer:
		var n int
		var gaveUp bool
		n, gaveUp, err = c.cfg.Tasks.RetryCallbackTask(cctx, o.t.Task.ID, agent, reason, call, c.cfg.Retry.MaxAttempts, now)
		if err == nil {
			o.log.Info("callbacks: caller not reached", "reason", reason, "attempts", n, "given_up", gaveUp,
				"next_attempt", c.cfg.Retry.NextAttempt(n, &now))
		}
	default:
		err = c.cfg.Tasks.ReleaseCallbackTask(cctx, o.t.Task.ID, agent, reason, now)
	}
	cancel()
	if err != nil {
		o.fail("db.task_outcome", err)
	}
	cctx, cancel = c.opCtx()
	defer cancel()
	switch {
	case o.answered:
		_, err = c.cfg.ACD.Finish(cctx, o.r) // the item is done; the agent wraps up
	case o.offered:
		_, err = c.cfg.ACD.NoAnswer(cctx, o.r) // RONA: the item back in its place
	default:
		_, err = c.cfg.ACD.Release(cctx, o.r, acd.StateReady, "")
	}
	if err != nil && !errors.Is(err, acd.ErrStateConflict) {
		o.fail("acd.end", err)
	}
	c.cfg.Kick()
	o.log.Info("callbacks: callback ended", "outcome", outcome, "reason", reason)
}
