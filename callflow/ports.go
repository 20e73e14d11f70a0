package callflow

import (
	"context"
	"encoding/json"
	"time"

	"hotline/cases"
	"hotline/pbx"
	"hotline/recordstore"
)

// The small interfaces the call flow needs from its neighbours. They live here, with their
// consumer, so that tests can hand in fakes; *pbx.Client, *cases.Store (through
// NewCaseStore), *recordstore.Store and CalendarDeadlines satisfy them.

// Incoming is where callers come from: (*pbx.Client).Incoming.
type Incoming interface {
	Incoming() <-chan *pbx.InboundCall
}

// PBX is what one call does to its channel.
type PBX interface {
	Answer(ctx context.Context, channelID string) error
	Hangup(ctx context.Context, channelID string, reason pbx.HangupReason) error
	Play(ctx context.Context, channelID, media, playbackID string) (string, error)
	StopPlayback(ctx context.Context, playbackID string) error
	Record(ctx context.Context, channelID string, opts pbx.RecordOptions) error
	StopRecording(ctx context.Context, name string) error
	RecordingFile(ctx context.Context, name string) ([]byte, error)
	DeleteRecording(ctx context.Context, name string) error
	SetVariable(ctx context.Context, channelID, name, value string) error
	ChannelData(ctx context.Context, channelID string) (pbx.Channel, error)
	// Continue hands a channel back to the dialplan (a draining controller turning a new
	// call away).
	Continue(ctx context.Context, channelID string) error
}

// CaseStore is the case record of calls. cases.Store has all of it but SetChannel, which
// NewCaseStore adds.
type CaseStore interface {
	CreateCaseWithCall(ctx context.Context, n cases.NewCase, call cases.NewCall) (cases.CaseID, cases.Number, cases.CallID, error)
	MarkAnswered(ctx context.Context, id cases.CallID, at time.Time) error
	// MarkQueued and MarkAgentAnswered keep the queue figures the reports count: when the
	// menu handed the call to a queue, and when an agent answered it.
	MarkQueued(ctx context.Context, id cases.CallID, queue string, at time.Time) error
	MarkAgentAnswered(ctx context.Context, id cases.CallID, at time.Time) error
	SetChannel(ctx context.Context, id cases.CaseID, ch cases.Channel) error
	Register(ctx context.Context, id cases.CaseID, r cases.Registration) error
	AppendEvent(ctx context.Context, id cases.CaseID, e cases.NewEvent) (cases.Event, error)
	AddRecording(ctx context.Context, r cases.Recording) (cases.RecordingID, error)
	CreateCallbackTask(ctx context.Context, t cases.NewCallbackTask) (cases.TaskID, error)
	FindByNumber(ctx context.Context, n cases.Number) (cases.Detail, error)
	EndCall(ctx context.Context, id cases.CallID, endedAt time.Time, outcome string, ivrPath json.RawMessage) error
}

// RecordingStore keeps voicemail audio: (*recordstore.Store).SaveWAV.
type RecordingStore interface {
	SaveWAV(name string, at time.Time, data []byte) (recordstore.Stored, error)
}

// Deadlines says when a new case and its callback are due.
type Deadlines interface {
	// CaseDue is the due time of the first statutory step of a case of kind received at
	// received, and the id of the rule set that gave it. At is nil for kinds without a
	// statutory step (consultations, suggestions, ...).
	CaseDue(kind cases.Kind, received time.Time) (Due, error)
	// CallbackDue is when a caller who left a message or was missed is to be called back.
	CallbackDue(received time.Time) (time.Time, error)
}

// Due is a case's first due time.
type Due struct {
	At   *time.Time // exclusive: the step is on time strictly before At
	Rule string     // the rule set in force at receipt; kept on the case
	Step string     // the statutory step, "" when none
}

// Clock is the call flow's time: Now stamps events and records, AfterFunc runs the IVR's
// timers. Tests inject a manual clock.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a running AfterFunc.
type Timer interface {
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
