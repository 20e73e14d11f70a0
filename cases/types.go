// Package cases holds case and call records: the domain types, case numbering, money, caller
// numbers, and the PostgreSQL store with its embedded migrations.
package cases

import (
	"encoding/json"
	"fmt"
	"time"
)

// CaseID is a case's database id.
type CaseID int64

// CallID is a call's database id.
type CallID int64

// EventID is a case event's database id.
type EventID int64

// Number is a case's readable number: region code, date of receipt in the centre's time
// zone, and the sequence of the day, e.g. 620000-20261127-000123.
type Number string

// Kind is the type of a case.
type Kind string

// Case kinds, as the 12315 rules name them. Invalid holds calls with no content (silent,
// wrong number, hung up in the menu): still registered, closed at once.
const (
	KindConsult    Kind = "consult"
	KindComplaint  Kind = "complaint"
	KindReport     Kind = "report"
	KindSuggestion Kind = "suggestion"
	KindOpinion    Kind = "opinion"
	KindHelp       Kind = "help"
	KindInvalid    Kind = "invalid"
)

// Kinds lists every case kind.
var Kinds = []Kind{KindConsult, KindComplaint, KindReport, KindSuggestion, KindOpinion, KindHelp, KindInvalid}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Channel is how a contact reached the centre.
type Channel string

// Channels of contact.
const (
	ChannelPhone     Channel = "phone"
	ChannelVoicemail Channel = "voicemail"
	ChannelWeb       Channel = "web"
	ChannelSMS       Channel = "sms"
	ChannelWeChat    Channel = "wechat"
	ChannelLetter    Channel = "letter"
	ChannelVisit     Channel = "visit"
	ChannelHandover  Channel = "handover_12345"
)

// Status is where a case is in its life.
type Status string

// Case statuses.
const (
	StatusDraft      Status = "draft"
	StatusRegistered Status = "registered"
	StatusDispatched Status = "dispatched"
	StatusAccepted   Status = "accepted"
	StatusRefused    Status = "refused"
	StatusMediating  Status = "mediating"
	StatusClosed     Status = "closed"
	StatusReopened   Status = "reopened"
)

// EventKind names an entry of a case's append-only trail.
type EventKind string

// Event kinds of the trail.
const (
	EventRegistered       EventKind = "registered"
	EventCallStarted      EventKind = "call_started"
	EventCallEnded        EventKind = "call_ended"
	EventDispatched       EventKind = "dispatched"
	EventAccepted         EventKind = "accepted"
	EventRefused          EventKind = "refused"
	EventMediationStarted EventKind = "mediation_started"
	EventMediationEnded   EventKind = "mediation_ended"
	EventNotified         EventKind = "notified"
	EventSupervised       EventKind = "supervised"
	EventCalledBack       EventKind = "called_back"
	EventClosed           EventKind = "closed"
	EventReopened         EventKind = "reopened"
	EventNote             EventKind = "note"
)

// Direction of a call.
type Direction string

// Call directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Case is one case record.
type Case struct {
	ID             CaseID     `json:"id"`
	Number         Number     `json:"number"`
	Kind           Kind       `json:"kind"`
	Channel        Channel    `json:"channel"`
	Status         Status     `json:"status"`
	ReceivedAt     time.Time  `json:"received_at"`
	RegionCode     string     `json:"region_code"`
	HandlingOffice string     `json:"handling_office,omitempty"`
	RegisteredBy   string     `json:"registered_by,omitempty"`
	CallerNumber   Phone      `json:"caller_number"`
	Complainant    Party      `json:"complainant"`
	Anonymous      bool       `json:"anonymous"`
	Respondent     Business   `json:"respondent"`
	Request        string     `json:"request,omitempty"`
	Facts          string     `json:"facts,omitempty"`
	GoodsOrService string     `json:"goods_service_class,omitempty"`
	ViolationType  string     `json:"violation_type,omitempty"`
	AmountInvolved *Money     `json:"amount_involved,omitempty"`
	LossRecovered  *Money     `json:"loss_recovered,omitempty"`
	HarmKnownOn    *time.Time `json:"harm_known_on,omitempty"`
	LinkedCaseID   *CaseID    `json:"linked_case_id,omitempty"`
	DueAt          *time.Time `json:"due_at,omitempty"`
	DeadlineRule   string     `json:"deadline_rule,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Party is the person who contacted the centre.
type Party struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Business is the respondent of a complaint or the subject of a report.
type Business struct {
	Name       string `json:"name,omitempty"`
	Address    string `json:"address,omitempty"`
	CreditCode string `json:"credit_code,omitempty"`
	Platform   string `json:"platform,omitempty"`
}

// NewCase is what registering a case needs; the store assigns the id and number.
type NewCase struct {
	Kind           Kind
	Channel        Channel
	Status         Status // empty: draft
	ReceivedAt     time.Time
	RegisteredBy   string
	CallerNumber   Phone
	Request        string
	Facts          string
	Anonymous      bool
	AmountInvolved *Money
	LossRecovered  *Money
}

func (n NewCase) check() error {
	if !n.Kind.Valid() {
		return fmt.Errorf("case kind %q is not one of %v", n.Kind, Kinds)
	}
	if n.Channel == "" {
		return fmt.Errorf("case channel is empty")
	}
	if n.ReceivedAt.IsZero() {
		return fmt.Errorf("case received time is zero")
	}
	return nil
}

// Call is one call on a case.
type Call struct {
	ID           CallID          `json:"id"`
	CaseID       CaseID          `json:"case_id"`
	ChannelID    string          `json:"channel_id"`
	Direction    Direction       `json:"direction"`
	CallerNumber Phone           `json:"caller_number"`
	CalledNumber string          `json:"called_number"`
	StartedAt    time.Time       `json:"started_at"`
	AnsweredAt   *time.Time      `json:"answered_at,omitempty"`
	EndedAt      *time.Time      `json:"ended_at,omitempty"`
	Outcome      string          `json:"outcome,omitempty"`
	IVRPath      json.RawMessage `json:"ivr_path"`
}

// NewCall is what opening a call needs.
type NewCall struct {
	ChannelID    string
	Direction    Direction
	CallerNumber Phone
	CalledNumber string
	StartedAt    time.Time
}

// Event is one entry of a case's trail.
type Event struct {
	ID     EventID         `json:"id"`
	CaseID CaseID          `json:"case_id"`
	CallID *CallID         `json:"call_id,omitempty"`
	At     time.Time       `json:"at"`
	Kind   EventKind       `json:"kind"`
	Actor  string          `json:"actor"`
	Detail json.RawMessage `json:"detail"`
}

// NewEvent is what appending to a trail needs. Detail is any JSON object (nil: {}).
type NewEvent struct {
	CallID *CallID
	At     time.Time // zero: now
	Kind   EventKind
	Actor  string
	Detail any
}

// Detail is a case with its calls and trail.
type Detail struct {
	Case       Case           `json:"case"`
	Calls      []Call         `json:"calls"`
	Events     []Event        `json:"events"`
	Recordings []Recording    `json:"recordings"`
	Tasks      []CallbackTask `json:"callback_tasks"`
}
