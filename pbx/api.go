package pbx

import (
	"context"
	"sync"
)

// The interfaces the rest of the hotline programs against. *Client
// implements all of them; tests of callflow, acd or agentdesk can implement
// the few methods they use and feed events with NewFeed.

// Events is where calls and alarms come from.
type Events interface {
	Incoming() <-chan *InboundCall
	Notices() <-chan Notice
	SubscribeChannel(channelID string) (*Subscription, error)
	SubscribeBridge(bridgeID string) (*Subscription, error)
}

// ChannelControl acts on one channel in the app.
type ChannelControl interface {
	Answer(ctx context.Context, channelID string) error
	Hangup(ctx context.Context, channelID string, reason HangupReason) error
	Continue(ctx context.Context, channelID string) error
	Play(ctx context.Context, channelID, media, playbackID string) (string, error)
	StopPlayback(ctx context.Context, playbackID string) error
	Record(ctx context.Context, channelID string, opts RecordOptions) error
	StopRecording(ctx context.Context, name string) error
	GetVariable(ctx context.Context, channelID, name string) (string, error)
	SetVariable(ctx context.Context, channelID, name, value string) error
	SendDTMF(ctx context.Context, channelID, digits string) error
	ChannelData(ctx context.Context, channelID string) (Channel, error)
}

// Recordings reads and deletes stored recordings.
type Recordings interface {
	RecordingFile(ctx context.Context, name string) ([]byte, error)
	DeleteRecording(ctx context.Context, name string) error
}

// ChannelCreator makes channels in the app; none of them is ever offered as
// an inbound caller.
type ChannelCreator interface {
	Originate(ctx context.Context, req OriginateRequest) (*Subscription, error)
	ExternalMedia(ctx context.Context, req ExternalMediaRequest) (*ExternalMedia, error)
	Snoop(ctx context.Context, channelID string, req SnoopRequest) (*Subscription, error)
}

// Bridges mixes channels.
type Bridges interface {
	CreateBridge(ctx context.Context, bridgeID, name string) (*Subscription, error)
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	RemoveFromBridge(ctx context.Context, bridgeID, channelID string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	RecordBridge(ctx context.Context, bridgeID string, opts RecordOptions) error
	PlayBridge(ctx context.Context, bridgeID, media, playbackID string) (string, error)
}

// PBX is everything above.
type PBX interface {
	Events
	ChannelControl
	Recordings
	ChannelCreator
	Bridges
}

var _ PBX = (*Client)(nil)

// Feed drives a Subscription made by NewFeed, for tests of code that
// consumes pbx events without an Asterisk.
type Feed struct {
	sub  *Subscription
	once sync.Once
}

// NewFeed returns a subscription for target ("channel:<id>" or
// "bridge:<id>", see ChannelTarget) and the feed that fills it.
func NewFeed(target string) (*Subscription, *Feed) {
	s := &Subscription{target: target, mb: newMailbox[Event]()}
	return s, &Feed{sub: s}
}

// Send queues ev (never blocks); Target is filled in when empty.
func (f *Feed) Send(ev Event) {
	if ev.Target == "" {
		ev.Target = f.sub.target
	}
	f.sub.mb.put(ev)
}

// End closes the stream after what was sent, as a last event would.
func (f *Feed) End() { f.once.Do(f.sub.mb.finish) }
