package wallboard

import (
	"slices"
	"time"

	"hotline/acd"
)

// Board is what the supervisors' wallboard shows, as pushed over the WebSocket: every
// queue's statistics of the day so far and its live waiting calls, the agents one by one,
// and the day in 15-minute intervals. "Today" is the calendar day in the centre's zone.
type Board struct {
	At       time.Time `json:"at"`
	Day      string    `json:"day"` // 2026-11-27
	DayStart time.Time `json:"day_start"`
	DayEnd   time.Time `json:"day_end"`
	// Queues are in the configuration's order; their ratios count the day so far.
	Queues []acd.QueueStats `json:"queues"`
	// AgentsByState counts the logged-in agents by state name (every state present).
	AgentsByState map[string]int `json:"agents_by_state"`
	// QueueAgents counts, for each queue, the logged-in agents who serve it by state
	// (every state present): those with the queue's skills at its levels, and whoever
	// works on one of its items now. An agent counts in every queue they serve.
	QueueAgents map[acd.QueueName]map[string]int `json:"queue_agents"`
	// Agents are the logged-in agents, by id.
	Agents          []AgentView `json:"agents"`
	IntervalSeconds float64     `json:"interval_seconds"`
	// Intervals are the day's intervals up to now over every queue; QueueIntervals each
	// queue's own.
	Intervals      []acd.Interval                   `json:"intervals"`
	QueueIntervals map[acd.QueueName][]acd.Interval `json:"queue_intervals"`
}

// AgentView is one agent on the wallboard.
type AgentView struct {
	ID     acd.AgentID `json:"id"`
	Name   string      `json:"name,omitempty"`
	State  string      `json:"state"`
	Reason acd.Reason  `json:"reason,omitempty"`
	Since  time.Time   `json:"since"`
	// InState is the time in the current state at the board's time; the page keeps it
	// running between boards.
	InState float64 `json:"in_state_seconds"`
	// Work is what the agent is reserved for, ringing for, talking on or wrapping up.
	Work *WorkView `json:"work,omitempty"`
	// Seat is the agent's seat health, when this controller holds the seat.
	Seat *SeatView `json:"seat,omitempty"`
	// Actions are what a supervisor may do with the agent from the wallboard: listen,
	// whisper and barge while the agent is on a call (POST /api/supervise); the page draws
	// a button for each.
	Actions []string `json:"actions"`
}

// WorkView is an agent's current item. The caller's number is not shown: a wallboard is
// seen by the whole room.
type WorkView struct {
	Queue      acd.QueueName  `json:"queue"`
	Kind       string         `json:"kind"` // call or callback
	Class      string         `json:"class,omitempty"`
	CaseNumber acd.CaseNumber `json:"case_number,omitempty"`
	AnsweredAt *time.Time     `json:"answered_at,omitempty"`
}

// Inputs are the state a board is made from, read from the store at At.
type Inputs struct {
	At time.Time
	// Waiting and Outcomes (of the day so far) by queue.
	Waiting  map[acd.QueueName][]acd.Item
	Outcomes map[acd.QueueName][]acd.Outcome
	Agents   []acd.Agent
	// Cases are the case numbers of the agents' current items, by item.
	Cases map[acd.ItemID]acd.CaseNumber
	// Seats is the health of the agents' WebRTC seats held by this controller.
	Seats map[acd.AgentID]SeatView
}

// SeatView is the health of an agent's WebRTC seat: the supervisor sees a failing one
// before the agent's callers complain.
type SeatView struct {
	State    string `json:"state"`     // connecting, connected, disconnected, failed, closed
	ICEState string `json:"ice_state"` // the browser connection's ICE state
	// Loss is the share of the agent's audio lost on the way in (0..1); JitterMs its
	// interarrival jitter.
	Loss     float64 `json:"loss"`
	JitterMs float64 `json:"jitter_ms"`
}

// Assemble makes the board of in for the queues of cfg, the day in loc.
func Assemble(cfg acd.Config, loc *time.Location, in Inputs) Board {
	start, end := acd.DayBounds(in.At, loc)
	b := Board{At: in.At, Day: start.Format(time.DateOnly), DayStart: start, DayEnd: end,
		AgentsByState: map[string]int{}, QueueAgents: map[acd.QueueName]map[string]int{}, Agents: []AgentView{}, Queues: []acd.QueueStats{},
		IntervalSeconds: acd.IntervalWidth.Seconds(), QueueIntervals: map[acd.QueueName][]acd.Interval{}}
	var series [][]acd.Interval
	for _, q := range cfg.Queues {
		outs := in.Outcomes[q.Name]
		b.Queues = append(b.Queues, acd.ComputeQueueStats(q, outs, in.Waiting[q.Name], in.At))
		ivs := acd.ComputeIntervals([]acd.Queue{q}, outs, start, in.At, acd.IntervalWidth)
		b.QueueIntervals[q.Name] = ivs
		series = append(series, ivs)
	}
	b.Intervals = acd.SumIntervals(series...)
	byState := func() map[string]int {
		m := map[string]int{}
		for _, s := range acd.States[1:] {
			m[s.String()] = 0
		}
		return m
	}
	b.AgentsByState = byState()
	for _, q := range cfg.Queues {
		b.QueueAgents[q.Name] = byState()
	}
	for _, a := range in.Agents {
		if a.State == acd.StateLoggedOut {
			continue
		}
		b.AgentsByState[a.State.String()]++
		for _, q := range cfg.Queues {
			if serves(a, q) {
				b.QueueAgents[q.Name][a.State.String()]++
			}
		}
		v := agentView(a, in.At, in.Cases)
		if seat, ok := in.Seats[a.ID]; ok {
			v.Seat = &seat
		}
		b.Agents = append(b.Agents, v)
	}
	slices.SortFunc(b.Agents, func(x, y AgentView) int {
		if x.ID < y.ID {
			return -1
		}
		if x.ID > y.ID {
			return 1
		}
		return 0
	})
	return b
}

func agentView(a acd.Agent, now time.Time, cases map[acd.ItemID]acd.CaseNumber) AgentView {
	v := AgentView{ID: a.ID, Name: a.Name, State: a.State.String(), Since: a.Since,
		InState: max(0, now.Sub(a.Since)).Seconds(), Actions: []string{}}
	if a.State == acd.StateOnCall {
		v.Actions = []string{"listen", "whisper", "barge"}
	}
	if a.State == acd.StateNotReady {
		v.Reason = a.Reason
	}
	if w := a.Work; w.Item != "" && hasWork(a.State) {
		wv := &WorkView{Queue: w.Queue, Kind: w.Kind.String(), CaseNumber: cases[w.Item]}
		if w.Class != 0 {
			wv.Class = w.Class.String()
		}
		if !w.AnsweredAt.IsZero() {
			at := w.AnsweredAt
			wv.AnsweredAt = &at
		}
		v.Work = wv
	}
	return v
}

// serves says whether a counts among q's agents: working on one of its items now, or
// having each of its skills at the level it requires. Relaxation and overflow, which
// widen a queue to more agents as its calls wait, are left out: the wallboard shows who
// the queue can count on.
func serves(a acd.Agent, q acd.Queue) bool {
	if hasWork(a.State) && a.Work.Queue == q.Name {
		return true
	}
	for _, r := range q.Skills {
		if a.Skills[r.Skill] < r.Min {
			return false
		}
	}
	return true
}

// hasWork says whether an agent in state s has a current item.
func hasWork(s acd.State) bool {
	switch s {
	case acd.StateReserved, acd.StateRinging, acd.StateOnCall, acd.StateWrapUp:
		return true
	}
	return false
}

// workItems lists the items the agents work on now, whose case numbers the board shows.
func workItems(agents []acd.Agent) []acd.ItemID {
	var ids []acd.ItemID
	for _, a := range agents {
		if a.Work.Item != "" && hasWork(a.State) {
			ids = append(ids, a.Work.Item)
		}
	}
	return ids
}

// outcomeOverlap is how far back each read of the day's outcomes reaches before the end of
// the previous read. An outcome carries the clock of the controller that recorded it and
// is written a moment later, so one stamped just before the last read may appear after it.
const outcomeOverlap = time.Minute

// dayOutcomes keeps the day's outcomes of every queue, so that each board reads only the
// latest instead of the whole day again (a busy day has tens of thousands).
type dayOutcomes struct {
	start  time.Time
	queues map[acd.QueueName]*queueOutcomes
}

type queueOutcomes struct {
	list   []acd.Outcome
	seen   map[outcomeKey]struct{}
	readTo time.Time // the board time of the last read
}

// outcomeKey identifies an outcome: the stores keep each one once.
type outcomeKey struct {
	kind  acd.OutcomeKind
	item  acd.ItemID
	agent acd.AgentID
	at    int64 // µs, as stored
}

func keyOf(o acd.Outcome) outcomeKey {
	return outcomeKey{kind: o.Kind, item: o.Item, agent: o.Agent, at: o.At.UnixMicro()}
}

// since returns where the next read of q's outcomes starts for the day starting at start;
// a new day forgets the last.
func (d *dayOutcomes) since(q acd.QueueName, start time.Time) time.Time {
	if !d.start.Equal(start) {
		d.start, d.queues = start, map[acd.QueueName]*queueOutcomes{}
	}
	qo := d.queues[q]
	if qo == nil || qo.readTo.IsZero() {
		return start
	}
	if from := qo.readTo.Add(-outcomeOverlap); from.After(start) {
		return from
	}
	return start
}

// merge adds the outcomes read for q at readAt (from since(q, ...)) and returns the day's.
func (d *dayOutcomes) merge(q acd.QueueName, read []acd.Outcome, readAt time.Time) []acd.Outcome {
	if d.queues == nil {
		d.queues = map[acd.QueueName]*queueOutcomes{}
	}
	qo := d.queues[q]
	if qo == nil {
		qo = &queueOutcomes{seen: map[outcomeKey]struct{}{}}
		d.queues[q] = qo
	}
	for _, o := range read {
		if o.At.Before(d.start) {
			continue
		}
		k := keyOf(o)
		if _, dup := qo.seen[k]; dup {
			continue
		}
		qo.seen[k] = struct{}{}
		qo.list = append(qo.list, o)
	}
	qo.readTo = readAt
	return qo.list
}

// buildDelay is how long to wait before the next build: none when the last was at least
// gap ago, otherwise the rest of the gap. Builds on changes are thus at most one per gap,
// and a change is shown at most a gap (plus the build) after it happened.
func buildDelay(last, now time.Time, gap time.Duration) time.Duration {
	since := now.Sub(last)
	if last.IsZero() || since < 0 { // a clock set back must not stall the board
		return 0
	}
	return max(0, gap-since)
}
