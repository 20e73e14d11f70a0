package acd

import (
	"fmt"
	"time"
)

// AgentID identifies an agent: their login name.
type AgentID string

// ItemID identifies a waiting work item: a call (usually the call's id) or a callback task.
type ItemID string

// QueueName names a queue in the configuration.
type QueueName string

// SkillName names a skill: a merged line (quality, food_drug, price, ip), a language (zh, en)
// or emergency handling. The configuration lists the known skills.
type SkillName string

// GroupName names a group (team) of agents; a queue may overflow to one.
type GroupName string

// ReservationID identifies one reservation of an (item, agent) pair. Every later step of
// that offer names it, so a late timer or a retried request cannot act on a newer offer.
type ReservationID string

// CaseID is the case's database id (cases.CaseID in the case store).
type CaseID int64

// CaseNumber is the case's readable number (cases.Number in the case store).
type CaseNumber string

// Reason is why an agent is not ready: a reason code chosen by the agent ("break", "lunch",
// "training") or set by the system (ReasonNoAnswer, ReasonLogin).
type Reason string

// Reasons set by the distributor itself.
const (
	// ReasonLogin is the reason of an agent who logged in without becoming ready.
	ReasonLogin Reason = "login"
	// ReasonNoAnswer is set when an offer rang out unanswered (RONA).
	ReasonNoAnswer Reason = "no_answer"
)

// Level is a skill level: 1 (basic) to 5 (expert).
type Level uint8

// MaxLevel is the highest skill level.
const MaxLevel Level = 5

// SkillReq requires a skill at a minimum level.
type SkillReq struct {
	Skill SkillName `json:"skill"`
	Min   Level     `json:"min"`
}

// Class is a waiting item's priority class. Routing gives each class a head start
// (Config.HeadStart), so by default emergency > complaint and report > consult > callback
// tasks, and waiting time raises every item's standing.
type Class uint8

// Priority classes. The zero value is not a class: an item must say what it is.
const (
	ClassEmergency Class = iota + 1
	ClassComplaint       // complaints and reports
	ClassConsult
	ClassCallback // callback tasks from voicemails and abandoned calls
)

var classNames = []string{"", "emergency", "complaint_report", "consult", "callback"}

// Classes lists the priority classes, highest first.
var Classes = []Class{ClassEmergency, ClassComplaint, ClassConsult, ClassCallback}

func (c Class) String() string { return enumString(classNames, uint8(c)) }

// MarshalText implements encoding.TextMarshaler.
func (c Class) MarshalText() ([]byte, error) { return enumMarshal(classNames, uint8(c), "class") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Class) UnmarshalText(b []byte) error {
	return enumUnmarshal(classNames, (*uint8)(c), b, "class")
}

// ItemKind says whether an item is a caller on the line or a task to call someone back.
type ItemKind uint8

// Item kinds.
const (
	KindCall ItemKind = iota + 1
	KindCallback
)

var kindNames = []string{"", "call", "callback"}

func (k ItemKind) String() string { return enumString(kindNames, uint8(k)) }

// MarshalText implements encoding.TextMarshaler.
func (k ItemKind) MarshalText() ([]byte, error) { return enumMarshal(kindNames, uint8(k), "item kind") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *ItemKind) UnmarshalText(b []byte) error {
	return enumUnmarshal(kindNames, (*uint8)(k), b, "item kind")
}

// Origin says where a callback task came from.
type Origin uint8

// Origins of callback tasks. Calls have OriginNone.
const (
	OriginNone      Origin = iota
	OriginVoicemail        // a voice message left for the hotline
	OriginAbandoned        // a caller who hung up while waiting
	OriginKeptPlace        // a waiting caller who chose to be called back (keeps their place)
)

var originNames = []string{"none", "voicemail", "abandoned", "kept_place"}

func (o Origin) String() string { return enumString(originNames, uint8(o)) }

// MarshalText implements encoding.TextMarshaler.
func (o Origin) MarshalText() ([]byte, error) { return enumMarshal(originNames, uint8(o), "origin") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Origin) UnmarshalText(b []byte) error {
	return enumUnmarshal(originNames, (*uint8)(o), b, "origin")
}

// ItemStatus is where a work item is between enqueue and the end of its conversation.
type ItemStatus uint8

// Item statuses. Waiting items are the only ones routing considers.
const (
	StatusWaiting   ItemStatus = iota + 1
	StatusReserved             // an agent is reserved for it, the seat does not ring yet
	StatusOffered              // the agent's seat rings
	StatusConnected            // the agent answered
)

var statusNames = []string{"", "waiting", "reserved", "offered", "connected"}

func (s ItemStatus) String() string { return enumString(statusNames, uint8(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s ItemStatus) MarshalText() ([]byte, error) {
	return enumMarshal(statusNames, uint8(s), "item status")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ItemStatus) UnmarshalText(b []byte) error {
	return enumUnmarshal(statusNames, (*uint8)(s), b, "item status")
}

// Item is a waiting unit of work: a call on the line or a callback task. Routing reads
// Queue, Class, Language, Skills and EnqueuedAt, which never change while the item exists.
type Item struct {
	ID    ItemID    `json:"id"`
	Kind  ItemKind  `json:"kind"`
	Queue QueueName `json:"queue"`
	Class Class     `json:"class"`
	// Language the caller chose (a language skill, e.g. "zh"); empty means any.
	Language SkillName `json:"language,omitempty"`
	// Skills required in addition to the queue's own.
	Skills []SkillReq `json:"skills,omitempty"`
	// EnqueuedAt is the original enqueue time. It is kept when an offer rings out
	// unanswered and when a waiting caller turns into a callback task, so the item keeps
	// its place.
	EnqueuedAt time.Time  `json:"enqueued_at"`
	CaseID     CaseID     `json:"case_id,omitempty"`
	CaseNumber CaseNumber `json:"case_number,omitempty"`
	// Number is the caller's number; for a callback task, the number to call.
	Number string `json:"number,omitempty"`
	Origin Origin `json:"origin,omitempty"`

	Status      ItemStatus    `json:"status"`
	Agent       AgentID       `json:"agent,omitempty"`
	Reservation ReservationID `json:"reservation,omitempty"`
	// Attempts counts offers that rang out or were released.
	Attempts int `json:"attempts,omitempty"`
	// HeadStartBonus is a head start on top of its class's (Config.HeadStart), fixed when
	// the item is enqueued: incident mode raises emergencies with it while the calls
	// already waiting keep their places.
	HeadStartBonus time.Duration `json:"head_start_bonus,omitempty"`
}

// Agent is an agent's profile (skills and groups) and live state.
type Agent struct {
	ID     AgentID             `json:"id"`
	Name   string              `json:"name,omitempty"`
	Skills map[SkillName]Level `json:"skills,omitempty"`
	Groups []GroupName         `json:"groups,omitempty"`

	State  State     `json:"state"`
	Reason Reason    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	// LoginAt starts the occupancy window of least_occupied.
	LoginAt time.Time `json:"login_at"`
	// ReadySince starts the current idle period (longest_idle). A reservation that lapses
	// or is cancelled without a conversation does not restart it.
	ReadySince time.Time `json:"ready_since"`
	// LastOfferAt is when the agent's seat last rang (round_robin).
	LastOfferAt time.Time `json:"last_offer_at"`
	// Busy is the time spent on calls and in wrap-up since login (least_occupied).
	Busy time.Duration `json:"busy"`

	// Work is the item the agent is reserved for, ringing for, talking on or wrapping up.
	Work Work `json:"work"`
}

// Work is an agent's current work item.
type Work struct {
	Reservation ReservationID `json:"reservation,omitempty"`
	Item        ItemID        `json:"item,omitempty"`
	Queue       QueueName     `json:"queue,omitempty"`
	Kind        ItemKind      `json:"kind,omitempty"`
	Class       Class         `json:"class,omitempty"`
	// Due is when the current state times out: a reservation not offered in time lapses,
	// an offer rings out (RONA), wrap-up ends.
	Due        time.Time `json:"due"`
	AnsweredAt time.Time `json:"answered_at"`
	EndedAt    time.Time `json:"ended_at"`
}

// Reservation is an (item, agent) pair reserved for an offer.
type Reservation struct {
	ID    ReservationID `json:"id"`
	Item  Item          `json:"item"`
	Agent AgentID       `json:"agent"`
	At    time.Time     `json:"at"`
	// Trace says why this agent got this item; store it on the call.
	Trace Trace `json:"trace"`
}

// RemoveReason says why an item leaves its queue without a conversation.
type RemoveReason uint8

// Reasons to remove an item.
const (
	// RemoveAbandoned: the caller hung up. Counts as abandoned in the statistics.
	RemoveAbandoned RemoveReason = iota + 1
	// RemoveDiverted: the caller left the queue for voicemail, a callback or another
	// service (maximum wait, fallback offer accepted).
	RemoveDiverted
	// RemoveCancelled: the task is no longer needed (a callback task done elsewhere).
	RemoveCancelled
)

var removeNames = []string{"", "abandoned", "diverted", "cancelled"}

func (r RemoveReason) String() string { return enumString(removeNames, uint8(r)) }

// OutcomeKind is what happened to an item, for statistics.
type OutcomeKind uint8

// Outcome kinds.
const (
	OutcomeAnswered OutcomeKind = iota + 1
	OutcomeAbandoned
	OutcomeDiverted
	OutcomeHandled // conversation and wrap-up finished
)

var outcomeNames = []string{"", "answered", "abandoned", "diverted", "handled"}

func (k OutcomeKind) String() string { return enumString(outcomeNames, uint8(k)) }

// MarshalText implements encoding.TextMarshaler.
func (k OutcomeKind) MarshalText() ([]byte, error) {
	return enumMarshal(outcomeNames, uint8(k), "outcome")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *OutcomeKind) UnmarshalText(b []byte) error {
	return enumUnmarshal(outcomeNames, (*uint8)(k), b, "outcome")
}

// Outcome is one recorded fact about an item, the input of the queue statistics.
type Outcome struct {
	Kind     OutcomeKind `json:"kind"`
	Queue    QueueName   `json:"queue"`
	Item     ItemID      `json:"item"`
	ItemKind ItemKind    `json:"item_kind"`
	Class    Class       `json:"class"`
	Agent    AgentID     `json:"agent,omitempty"`
	At       time.Time   `json:"at"`
	// Wait is from the original enqueue time to the answer or the abandon.
	Wait time.Duration `json:"wait,omitempty"`
	// Talk and WrapUp are set on OutcomeHandled.
	Talk   time.Duration `json:"talk,omitempty"`
	WrapUp time.Duration `json:"wrap_up,omitempty"`
}

func enumString(names []string, v uint8) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("unknown(%d)", v)
}

func enumMarshal(names []string, v uint8, what string) ([]byte, error) {
	if int(v) < len(names) && (names[v] != "" || v == 0) {
		return []byte(names[v]), nil
	}
	return nil, fmt.Errorf("acd: %s %d has no name", what, v)
}

func enumUnmarshal(names []string, v *uint8, b []byte, what string) error {
	for i, n := range names {
		if n == string(b) {
			*v = uint8(i)
			return nil
		}
	}
	return fmt.Errorf("acd: unknown %s %q", what, b)
}
