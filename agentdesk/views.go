package agentdesk

import (
	"time"
	"unicode/utf8"

	"hotline/accounts"
	"hotline/acd"
	"hotline/agentdesk/media"
	"hotline/cases"
)

// message is every message the server sends; each type fills its own fields (API.md).
type message struct {
	Type string `json:"type"`
	// ID is the id of the client message answered (ack, error, pong, seat_answer, snapshot).
	ID  string `json:"id,omitempty"`
	For string `json:"for,omitempty"` // ack: the type of the message acknowledged

	Agent      *agentView   `json:"agent,omitempty"`
	State      *stateView   `json:"state,omitempty"`
	Offer      *offerView   `json:"offer,omitempty"`
	OfferID    OfferID      `json:"offer_id,omitempty"`
	Call       *callView    `json:"call,omitempty"`
	CallID     CallID       `json:"call_id,omitempty"`
	Wrapup     *wrapView    `json:"wrapup,omitempty"`
	Wrapups    *[]wrapView  `json:"wrapups,omitempty"`
	Seat       *seatView    `json:"seat,omitempty"`
	Tasks      *[]taskView  `json:"callback_tasks,omitempty"`
	Options    *optionsView `json:"options,omitempty"`
	ServerTime *time.Time   `json:"server_time,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	SDP        string       `json:"sdp,omitempty"`

	Code   int                `json:"code,omitempty"`
	Error  string             `json:"error,omitempty"`
	Fields []cases.FieldError `json:"fields,omitempty"`
}

type agentView struct {
	Login       string        `json:"login"`
	DisplayName string        `json:"display_name"`
	Role        accounts.Role `json:"role"`
}

// stateView is an agent's ACD state.
type stateView struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

func stateOf(a acd.Agent) stateView {
	return stateView{State: a.State.String(), Reason: string(a.Reason), Since: a.Since}
}

// offerView is an offer with its screen pop; the caller's number is masked.
type offerView struct {
	ID          OfferID       `json:"id"`
	Call        CallID        `json:"call"`
	Kind        OfferKind     `json:"kind"`
	CaseNumber  cases.Number  `json:"case_number"`
	Caller      string        `json:"caller"`
	Queue       string        `json:"queue"`
	Language    string        `json:"language,omitempty"`
	IVRPath     []PathStep    `json:"ivr_path"`
	EnqueuedAt  time.Time     `json:"enqueued_at"`
	WaitSeconds int           `json:"wait_seconds"`
	RingUntil   *time.Time    `json:"ring_until,omitempty"`
	Task        cases.TaskID  `json:"task,omitempty"`
	History     []historyView `json:"history"`
	Accepted    bool          `json:"accepted"`
	// Note is the transferring agent's note, for a transferred call.
	Note string `json:"note,omitempty"`
}

// historyView is one of the caller's earlier cases, as the screen pop lists it.
type historyView struct {
	Number     cases.Number `json:"number"`
	Kind       cases.Kind   `json:"kind"`
	Status     cases.Status `json:"status"`
	ReceivedAt time.Time    `json:"received_at"`
	Caller     string       `json:"caller"`
	Respondent string       `json:"respondent,omitempty"`
	Request    string       `json:"request,omitempty"`
}

// historySnippet bounds the request text a history line shows, in characters.
const historySnippet = 120

func historyOf(c cases.Case) historyView {
	return historyView{Number: c.Number, Kind: c.Kind, Status: c.Status, ReceivedAt: c.ReceivedAt, Caller: c.CallerNumber.Masked(),
		Respondent: snippet(c.Respondent.Name, historySnippet), Request: snippet(c.Request, historySnippet)}
}

func snippet(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// callView is the agent's connected call.
type callView struct {
	ID          CallID          `json:"id"`
	CaseNumber  cases.Number    `json:"case_number"`
	Caller      string          `json:"caller"`
	Direction   cases.Direction `json:"direction"`
	Queue       string          `json:"queue,omitempty"`
	Task        cases.TaskID    `json:"task,omitempty"`
	ConnectedAt time.Time       `json:"connected_at"`
	Muted       bool            `json:"muted"`
	Held        bool            `json:"held"`
	// HeldSince is when the caller was put on hold, while held; HeldSeconds the time held
	// before (earlier holds of the call).
	HeldSince   *time.Time    `json:"held_since,omitempty"`
	HeldSeconds int           `json:"held_seconds"`
	Note        string        `json:"note,omitempty"` // the transfer note of the offer
	IVRPath     []PathStep    `json:"ivr_path,omitempty"`
	History     []historyView `json:"history"`
}

// wrapView is an ended call waiting for its disposition.
type wrapView struct {
	Call       CallID       `json:"call"`
	CaseNumber cases.Number `json:"case_number"`
	EndedAt    time.Time    `json:"ended_at"`
	Reason     string       `json:"reason,omitempty"`
}

// seatView is the softphone's health.
type seatView struct {
	State     string     `json:"state"` // none, connecting, connected, disconnected, failed, closed
	Reason    string     `json:"reason,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	ICEState  string     `json:"ice_state,omitempty"`
	Call      string     `json:"call,omitempty"`
	Muted     bool       `json:"muted"`
	Held      bool       `json:"held"`
	FromAgent streamView `json:"from_agent"`
	ToAgent   streamView `json:"to_agent"`
}

type streamView struct {
	Packets      uint64  `json:"packets"`
	Lost         int64   `json:"lost"`
	FractionLost float64 `json:"fraction_lost,omitempty"`
	JitterMS     float64 `json:"jitter_ms"`
}

func streamOf(s media.StreamStats) streamView {
	return streamView{Packets: s.Packets, Lost: s.Lost, FractionLost: s.FractionLost, JitterMS: float64(s.Jitter) / float64(time.Millisecond)}
}

// seatView reads the agent's seat health; e, when given, is the event that prompted it (its
// state wins: it is what just happened).
func (d *Desk) seatView(agent acd.AgentID, e *media.Event) *seatView {
	v := &seatView{State: "none"}
	if d.cfg.Seats == nil {
		return v
	}
	if h, ok := d.cfg.Seats.Health(media.AgentID(agent)); ok {
		since := h.Since
		v = &seatView{State: h.State.String(), Reason: h.Reason, Since: &since, ICEState: h.ICEState, Call: string(h.Call),
			Muted: h.Muted, Held: h.Held, FromAgent: streamOf(h.FromAgent), ToAgent: streamOf(h.ToAgent)}
	}
	if e != nil {
		at := e.At
		v.State, v.Reason, v.Since, v.Call = e.State.String(), e.Reason, &at, string(e.Call)
	}
	return v
}

// taskView is an open callback task; the number is masked.
type taskView struct {
	ID         cases.TaskID     `json:"id"`
	CaseID     cases.CaseID     `json:"case_id"`
	Reason     cases.TaskReason `json:"reason"`
	Caller     string           `json:"caller"`
	Language   string           `json:"language"`
	Queue      string           `json:"queue"`
	EnqueuedAt time.Time        `json:"enqueued_at"`
	DueAt      *time.Time       `json:"due_at,omitempty"`
}

func taskOf(t cases.CallbackTask) taskView {
	return taskView{ID: t.ID, CaseID: t.CaseID, Reason: t.Reason, Caller: t.CallerNumber.Masked(), Language: t.Language,
		Queue: t.Queue, EnqueuedAt: t.EnqueuedAt, DueAt: t.DueAt}
}

// optionsView is what the desk's forms choose from.
type optionsView struct {
	NotReadyReasons     []acd.Reason   `json:"not_ready_reasons"`
	TransferQueues      []string       `json:"transfer_queues"`
	CaseKinds           []cases.Kind   `json:"case_kinds"`
	DispositionStatuses []cases.Status `json:"disposition_statuses"`
	GoodsServiceClasses []string       `json:"goods_service_classes"`
	ViolationTypes      []string       `json:"violation_types"`
	Softphone           bool           `json:"softphone"`
}

func (d *Desk) options() *optionsView {
	return &optionsView{NotReadyReasons: d.cfg.NotReadyReasons, TransferQueues: d.cfg.TransferQueues, CaseKinds: cases.Kinds,
		DispositionStatuses: DispositionStatuses, GoodsServiceClasses: cases.GoodsServiceClasses, ViolationTypes: cases.ViolationTypes,
		Softphone: d.cfg.Seats != nil}
}
