package pbx

import (
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// EventType names an event. ARI's own names are used for what Asterisk sends;
// the adapter adds Vanished and Resynced.
type EventType string

const (
	StasisStart          EventType = "StasisStart"
	StasisEnd            EventType = "StasisEnd"
	ChannelStateChange   EventType = "ChannelStateChange"
	ChannelDtmfReceived  EventType = "ChannelDtmfReceived"
	ChannelHangupRequest EventType = "ChannelHangupRequest"
	ChannelDestroyed     EventType = "ChannelDestroyed"
	ChannelVarset        EventType = "ChannelVarset"
	ChannelEnteredBridge EventType = "ChannelEnteredBridge"
	ChannelLeftBridge    EventType = "ChannelLeftBridge"
	Dial                 EventType = "Dial"
	PlaybackStarted      EventType = "PlaybackStarted"
	PlaybackContinuing   EventType = "PlaybackContinuing"
	PlaybackFinished     EventType = "PlaybackFinished"
	RecordingStarted     EventType = "RecordingStarted"
	RecordingFinished    EventType = "RecordingFinished"
	RecordingFailed      EventType = "RecordingFailed"
	BridgeDestroyed      EventType = "BridgeDestroyed"

	// Vanished is synthesised by a resync: the channel or bridge no longer
	// exists in Asterisk (it ended while the event socket was down). It is the
	// last event of its subscription.
	Vanished EventType = "Vanished"
	// Resynced is synthesised after a reconnect for channels that survived:
	// events may have been lost while the socket was down, so an owner waiting
	// for one (a PlaybackFinished, a DTMF) should re-check.
	Resynced EventType = "Resynced"
)

func (t EventType) String() string { return string(t) }

// ChannelKind says how a channel came into the app.
type ChannelKind int

const (
	KindInbound       ChannelKind = iota // a caller sent to Stasis() by the dialplan
	KindOriginated                       // created by Originate
	KindExternalMedia                    // UnicastRTP/ created by ExternalMedia
	KindSnoop                            // Snoop/ created by Snoop
)

func (k ChannelKind) String() string {
	switch k {
	case KindInbound:
		return "inbound"
	case KindOriginated:
		return "originated"
	case KindExternalMedia:
		return "external-media"
	case KindSnoop:
		return "snoop"
	}
	return "unknown"
}

// kindFromName recognises app-created channels by Asterisk's name prefix, for
// those whose id we did not choose (or no longer remember).
func kindFromName(name string) (ChannelKind, bool) {
	switch {
	case strings.HasPrefix(name, "UnicastRTP/"):
		return KindExternalMedia, true
	case strings.HasPrefix(name, "Snoop/"):
		return KindSnoop, true
	}
	return KindInbound, false
}

// Channel is what the adapter reports about a channel.
type Channel struct {
	ID           string
	Name         string
	State        string // "Ring", "Up", "Down", ...
	CallerNumber string
	CallerName   string
	Language     string
	Context      string
	Exten        string
	Vars         map[string]string
}

func channelFrom(d *ari.ChannelData) Channel {
	if d == nil {
		return Channel{}
	}
	c := Channel{ID: d.ID, Name: d.Name, State: d.State, Language: d.Language, Vars: d.ChannelVars}
	if d.Caller != nil {
		c.CallerNumber, c.CallerName = d.Caller.Number, d.Caller.Name
	}
	if d.Dialplan != nil {
		c.Context, c.Exten = d.Dialplan.Context, d.Dialplan.Exten
	}
	return c
}

// Event is one thing that happened to a channel or bridge. Only the fields
// that belong to Type are set.
type Event struct {
	Type     EventType
	Time     time.Time
	Channel  Channel // the channel concerned (empty for bridge-only events)
	BridgeID string  // Channel{Entered,Left}Bridge, BridgeDestroyed, bridge playbacks/recordings

	Args []string // StasisStart

	Digit      string // ChannelDtmfReceived
	DurationMs int    // ChannelDtmfReceived

	Cause    int    // ChannelHangupRequest (32 = Asterisk's soft-hangup flag), ChannelDestroyed
	CauseTxt string // ChannelDestroyed
	Soft     bool   // ChannelHangupRequest

	Variable, Value string // ChannelVarset

	DialStatus string // Dial ("", "RINGING", "ANSWER", ...)

	PlaybackID    string // Playback*
	PlaybackState string // "playing", "done", "failed", ...
	MediaURI      string

	RecordingName     string // Recording*
	RecordingState    string // "recording", "done", "failed", ...
	RecordingDuration time.Duration
	RecordingCause    string

	// Target is "channel:<id>" or "bridge:<id>", the subscription this event
	// was routed to.
	Target string

	// Received is when the event's frame arrived from Asterisk, by our clock (Time is
	// Asterisk's, in whole milliseconds). Zero for events the adapter made itself.
	Received time.Time
}

// ChannelTarget and BridgeTarget build routing keys in ARI's target_uri form.
func ChannelTarget(id string) string { return "channel:" + id }
func BridgeTarget(id string) string  { return "bridge:" + id }

// fromLibrary converts the library's typed event into ours and names the
// target it belongs to. ok is false for events the adapter does not route.
func fromLibrary(e ari.Event) (ev Event, ok bool) {
	ev.Type = EventType(e.GetType())
	switch x := e.(type) {
	case *ari.StasisStart:
		ev.Time, ev.Channel, ev.Args = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Args
	case *ari.StasisEnd:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelStateChange:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelDtmfReceived:
		ev.Time, ev.Channel, ev.Digit, ev.DurationMs = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Digit, x.DurationMs
	case *ari.ChannelHangupRequest:
		ev.Time, ev.Channel, ev.Cause, ev.Soft = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Cause, x.Soft
	case *ari.ChannelDestroyed:
		ev.Time, ev.Channel, ev.Cause, ev.CauseTxt = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Cause, x.CauseTxt
	case *ari.ChannelVarset:
		ev.Time, ev.Channel, ev.Variable, ev.Value = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Variable, x.Value
		if ev.Channel.ID == "" {
			return ev, false // a global variable
		}
	case *ari.ChannelEnteredBridge:
		ev.Time, ev.Channel, ev.BridgeID = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Bridge.ID
	case *ari.ChannelLeftBridge:
		ev.Time, ev.Channel, ev.BridgeID = time.Time(x.Timestamp), channelFrom(&x.Channel), x.Bridge.ID
	case *ari.Dial:
		ev.Time, ev.Channel, ev.DialStatus = time.Time(x.Timestamp), channelFrom(&x.Peer), x.Dialstatus
	case *ari.ChannelConnectedLine:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelCallerID:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelDialplan:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelTalkingStarted:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelTalkingFinished:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelHold:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.ChannelUnhold:
		ev.Time, ev.Channel = time.Time(x.Timestamp), channelFrom(&x.Channel)
	case *ari.PlaybackStarted:
		ev.Time = time.Time(x.Timestamp)
		ev.PlaybackID, ev.PlaybackState, ev.MediaURI = x.Playback.ID, x.Playback.State, x.Playback.MediaURI
		return ev.target(x.Playback.TargetURI)
	case *ari.PlaybackContinuing:
		ev.Time = time.Time(x.Timestamp)
		ev.PlaybackID, ev.PlaybackState, ev.MediaURI = x.Playback.ID, x.Playback.State, x.Playback.MediaURI
		return ev.target(x.Playback.TargetURI)
	case *ari.PlaybackFinished:
		ev.Time = time.Time(x.Timestamp)
		ev.PlaybackID, ev.PlaybackState, ev.MediaURI = x.Playback.ID, x.Playback.State, x.Playback.MediaURI
		return ev.target(x.Playback.TargetURI)
	case *ari.RecordingStarted:
		ev.Time = time.Time(x.Timestamp)
		ev.setRecording(&x.Recording)
		return ev.target(x.Recording.TargetURI)
	case *ari.RecordingFinished:
		ev.Time = time.Time(x.Timestamp)
		ev.setRecording(&x.Recording)
		return ev.target(x.Recording.TargetURI)
	case *ari.RecordingFailed:
		ev.Time = time.Time(x.Timestamp)
		ev.setRecording(&x.Recording)
		return ev.target(x.Recording.TargetURI)
	case *ari.BridgeDestroyed:
		ev.Time, ev.BridgeID = time.Time(x.Timestamp), x.Bridge.ID
		ev.Target = BridgeTarget(x.Bridge.ID)
		return ev, true
	default:
		return ev, false
	}
	if ev.Channel.ID == "" {
		return ev, false
	}
	ev.Target = ChannelTarget(ev.Channel.ID)
	return ev, true
}

func (ev *Event) setRecording(r *ari.LiveRecordingData) {
	ev.RecordingName, ev.RecordingState, ev.RecordingCause = r.Name, r.State, r.Cause
	ev.RecordingDuration = time.Duration(r.Duration)
}

// target routes playback and recording events by their target_uri
// ("channel:<id>" or "bridge:<id>").
func (ev Event) target(uri string) (Event, bool) {
	kind, id, found := strings.Cut(uri, ":")
	if !found || id == "" {
		return ev, false
	}
	switch kind {
	case "channel":
		ev.Channel.ID = id
	case "bridge":
		ev.BridgeID = id
	default:
		return ev, false
	}
	ev.Target = uri
	return ev, true
}
