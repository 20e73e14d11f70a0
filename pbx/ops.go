package pbx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// HangupReason is ARI's hangup reason, mapped by Asterisk to a Q.850 cause.
type HangupReason string

const (
	HangupNormal     HangupReason = "normal"
	HangupBusy       HangupReason = "busy"
	HangupCongestion HangupReason = "congestion"
	HangupNoAnswer   HangupReason = "no_answer"
	HangupRejected   HangupReason = "rejected"
)

// do runs one library call, giving up when ctx ends. The library's calls take
// no context; the request itself is bounded by Config.RequestTimeout, so an
// abandoned call does not linger long.
func (c *Client) do(ctx context.Context, op, id string, kind opKind, f func() error) error {
	_, err := call(ctx, c, op, id, kind, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// call is do for calls with a result. The result travels with the error, so
// an abandoned call never writes into its caller's variables.
func call[T any](ctx context.Context, c *Client, op, id string, kind opKind, f func() (T, error)) (T, error) {
	var zero T
	if c.ari == nil || c.ctx.Err() != nil {
		return zero, newOpError(op, id, kind, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return zero, newOpError(op, id, kind, err)
	}
	if err := checkID(id); err != nil {
		return zero, newOpError(op, id, kind, err)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, newOpError(op, id, kind, r.err)
	case <-ctx.Done():
		return zero, newOpError(op, id, kind, ctx.Err())
	}
}

// checkID rejects ids the library would splice into a URL path unescaped
// (it does no escaping): a '#' or '/' would silently address something else.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidID)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:@+", r)
		if !ok {
			return fmt.Errorf("%w: %q has %q", ErrInvalidID, id, r)
		}
	}
	return nil
}

// SubscribeChannel routes a channel's events to the returned subscription.
// Inbound callers arrive subscribed; use this for channels found otherwise
// (e.g. an orphan to adopt).
func (c *Client) SubscribeChannel(channelID string) (*Subscription, error) {
	return c.router.subscribe(ChannelTarget(channelID), KindInbound, false)
}

// SubscribeBridge routes a bridge's events (bridge playbacks and recordings,
// BridgeDestroyed) to the returned subscription.
func (c *Client) SubscribeBridge(bridgeID string) (*Subscription, error) {
	return c.router.subscribe(BridgeTarget(bridgeID), KindInbound, false)
}

// Answer answers a ringing channel.
func (c *Client) Answer(ctx context.Context, channelID string) error {
	return c.do(ctx, "answer", channelID, opChannelControl, func() error {
		return c.ari.Channel().Answer(c.key(ari.ChannelKey, channelID))
	})
}

// Hangup hangs a channel up (works on channels outside Stasis too).
func (c *Client) Hangup(ctx context.Context, channelID string, reason HangupReason) error {
	if reason == "" {
		reason = HangupNormal
	}
	return c.do(ctx, "hangup", channelID, opOther, func() error {
		return c.ari.Channel().Hangup(c.key(ari.ChannelKey, channelID), string(reason))
	})
}

// Continue sends the channel back to the dialplan at its next priority.
func (c *Client) Continue(ctx context.Context, channelID string) error {
	return c.do(ctx, "continue", channelID, opChannelControl, func() error {
		return c.ari.Channel().Continue(c.key(ari.ChannelKey, channelID), "", "", 0)
	})
}

// Play starts media (e.g. "sound:hotline/welcome") on a channel under the
// playback id the caller chose ("" makes one), and returns that id. Its
// Playback* events arrive on the channel's subscription.
func (c *Client) Play(ctx context.Context, channelID, media, playbackID string) (string, error) {
	if playbackID == "" {
		playbackID = c.newID("pb")
	}
	if err := checkID(playbackID); err != nil {
		return playbackID, newOpError("play", channelID, opOther, err)
	}
	if err := checkID(channelID); err != nil {
		return playbackID, newOpError("play", channelID, opChannelControl, err)
	}
	if f, ok := ctx.Value(playWrittenKey{}).(func(time.Time)); ok {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(w httptrace.WroteRequestInfo) {
			if w.Err == nil {
				f(time.Now())
			}
		}})
	}
	err := c.direct(ctx, "play", channelID, opChannelControl, http.MethodPost,
		"/channels/"+channelID+"/play/"+playbackID, url.Values{"media": {media}})
	return playbackID, err
}

type playWrittenKey struct{}

// WithPlayWritten returns a context under which Play, and the play of StopAndPlay, call f
// with the time the play request was written out to the PBX's connection (flushed to the
// socket): the moment the playback was requested, for latency measurements. f runs on
// the HTTP transport's goroutine, possibly after Play has returned.
func WithPlayWritten(ctx context.Context, f func(time.Time)) context.Context {
	return context.WithValue(ctx, playWrittenKey{}, f)
}

// StopPlayback stops a playback (barge-in). ErrNotFound once it has finished.
func (c *Client) StopPlayback(ctx context.Context, playbackID string) error {
	return c.direct(ctx, "playback.stop", playbackID, opOther, http.MethodDelete, "/playbacks/"+playbackID, nil)
}

// direct makes an ARI request itself, bound to ctx, rather than through the library,
// whose requests take no context and so each need a goroutine of their own to be
// abandoned (see call). Plays and stops are the commonest requests, on every prompt and
// every key: the goroutine's two wake-ups were a measurable part of a key's way to its
// prompt under load. id must have passed checkID.
func (c *Client) direct(ctx context.Context, op, id string, kind opKind, method, path string, query url.Values) error {
	if c.ari == nil || c.ctx.Err() != nil {
		return newOpError(op, id, kind, ErrClosed)
	}
	if err := checkID(id); err != nil {
		return newOpError(op, id, kind, err)
	}
	if _, err := c.rawDo(ctx, method, path, query, 1<<20); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr // the caller's deadline, not the transport's words for it
		}
		return newOpError(op, id, kind, err)
	}
	return nil
}

// StopAndPlay is a barge-in: it stops playback stopID and plays media on channelID, the
// two requests in flight at once, and returns when both are answered. Asterisk queues a
// channel's play behind the playback the channel is running, so whichever request it takes
// first, the new playback starts once the old one has stopped (PlaybackFinished, then
// PlaybackStarted), as after a stop and a play made one after the other. stopErr is the
// stop's (ErrNotFound: it had just ended), err the play's.
func (c *Client) StopAndPlay(ctx context.Context, stopID, channelID, media, playbackID string) (id string, stopErr, err error) {
	stopped := make(chan error, 1)
	go func() { stopped <- c.StopPlayback(ctx, stopID) }()
	id, err = c.Play(ctx, channelID, media, playbackID)
	return id, <-stopped, err
}

// RecordOptions configures a live recording.
type RecordOptions struct {
	Name        string        // stored recording name; required
	Format      string        // "wav" (default), "ulaw", "sln", ...
	MaxDuration time.Duration // 0: no limit (whole seconds)
	MaxSilence  time.Duration // 0: no limit (whole seconds)
	Beep        bool          // needs a "beep" sound installed, else the recording ends at once
	TerminateOn string        // "none" (default), "any", "*", "#"
	IfExists    string        // "fail" (default), "overwrite", "append"
}

func (o RecordOptions) library() *ari.RecordingOptions {
	if o.Format == "" {
		o.Format = "wav"
	}
	return &ari.RecordingOptions{
		Format:      o.Format,
		MaxDuration: o.MaxDuration,
		MaxSilence:  o.MaxSilence,
		Exists:      o.IfExists,
		Beep:        o.Beep,
		Terminate:   o.TerminateOn,
	}
}

// Record records a channel. Recording* events arrive on the channel's
// subscription; RecordingFinished also comes when the caller hangs up, and
// the partial file is kept.
func (c *Client) Record(ctx context.Context, channelID string, opts RecordOptions) error {
	if err := checkID(opts.Name); err != nil {
		return newOpError("record", channelID, opOther, err)
	}
	return c.do(ctx, "record", channelID, opOther, func() error {
		h, err := c.ari.Channel().StageRecord(c.key(ari.ChannelKey, channelID), opts.Name, opts.library())
		if err != nil {
			return err
		}
		return h.Exec()
	})
}

// StopRecording stops a live recording and keeps what was recorded.
func (c *Client) StopRecording(ctx context.Context, name string) error {
	return c.do(ctx, "recording.stop", name, opOther, func() error {
		return c.ari.LiveRecording().Stop(c.key(ari.LiveRecordingKey, name))
	})
}

// RecordingFile returns a stored recording's bytes (a WAV for format wav).
// The library has no call for this one.
func (c *Client) RecordingFile(ctx context.Context, name string) ([]byte, error) {
	return call(ctx, c, "recording.file", name, opOther, func() ([]byte, error) {
		return c.rawGet(ctx, "/recordings/stored/"+url.PathEscape(name)+"/file")
	})
}

// DeleteRecording deletes a stored recording.
func (c *Client) DeleteRecording(ctx context.Context, name string) error {
	return c.do(ctx, "recording.delete", name, opOther, func() error {
		return c.ari.StoredRecording().Delete(c.key(ari.StoredRecordingKey, name))
	})
}

// GetVariable reads a channel variable (or dialplan function).
func (c *Client) GetVariable(ctx context.Context, channelID, name string) (string, error) {
	return call(ctx, c, "variable.get", channelID, opOther, func() (string, error) {
		return c.ari.Channel().GetVariable(c.key(ari.ChannelKey, channelID), name)
	})
}

// SetVariable sets a channel variable.
func (c *Client) SetVariable(ctx context.Context, channelID, name, value string) error {
	return c.do(ctx, "variable.set", channelID, opOther, func() error {
		return c.ari.Channel().SetVariable(c.key(ari.ChannelKey, channelID), name, value)
	})
}

// SendDTMF plays DTMF digits to a channel.
func (c *Client) SendDTMF(ctx context.Context, channelID, digits string) error {
	return c.do(ctx, "dtmf", channelID, opChannelControl, func() error {
		return c.ari.Channel().SendDTMF(c.key(ari.ChannelKey, channelID), digits, nil)
	})
}

// ChannelData fetches a channel's current state.
func (c *Client) ChannelData(ctx context.Context, channelID string) (Channel, error) {
	return call(ctx, c, "channel.get", channelID, opOther, func() (Channel, error) {
		d, err := c.ari.Channel().Data(c.key(ari.ChannelKey, channelID))
		if err != nil {
			return Channel{}, err
		}
		return channelFrom(d), nil
	})
}

// OriginateRequest asks Asterisk to call out into our app.
type OriginateRequest struct {
	Endpoint   string        // e.g. "PJSIP/agent-1001"; required
	ChannelID  string        // our chosen id; "" makes one
	AppArgs    string        // StasisStart args, e.g. "agent"
	CallerID   string        // e.g. "12315"
	Timeout    time.Duration // ring timeout (whole seconds); 0: Asterisk's default (30s)
	Originator string        // channel whose codecs to match
	Variables  map[string]string
	// OtherChannelID is the id of a Local channel's ;2 half, the one that
	// runs the dialplan; "" lets Asterisk choose. Only for Local endpoints.
	// Asterisk subscribes our app to ;2 too: SubscribeChannel(OtherChannelID)
	// first to receive its events.
	OtherChannelID string
}

// Originate creates an outbound channel that will enter our app. Its
// subscription exists before the request is sent, so no event is missed;
// it is a KindOriginated channel, never reported as a new caller.
func (c *Client) Originate(ctx context.Context, req OriginateRequest) (*Subscription, error) {
	id := req.ChannelID
	if id == "" {
		id = c.newID("orig")
	}
	if err := checkID(id); err != nil {
		return nil, newOpError("originate", id, opOther, err)
	}
	if req.OtherChannelID != "" {
		if err := checkID(req.OtherChannelID); err != nil {
			return nil, newOpError("originate", req.OtherChannelID, opOther, err)
		}
	}
	sub, err := c.router.subscribe(ChannelTarget(id), KindOriginated, true)
	if err != nil {
		return nil, newOpError("originate", id, opOther, err)
	}
	err = c.do(ctx, "originate", id, opOther, func() error {
		h, err := c.ari.Channel().StageOriginate(nil, ari.OriginateRequest{
			Endpoint:       req.Endpoint,
			App:            c.cfg.Application,
			AppArgs:        req.AppArgs,
			CallerID:       req.CallerID,
			Timeout:        int(req.Timeout / time.Second),
			ChannelID:      id,
			OtherChannelID: req.OtherChannelID,
			Originator:     req.Originator,
			Variables:      req.Variables,
		})
		if err != nil {
			return err
		}
		return h.Exec()
	})
	return c.settle(sub, err)
}

// settle confirms a staged subscription, or drops it when the request failed.
func (c *Client) settle(sub *Subscription, err error) (*Subscription, error) {
	if err != nil {
		sub.Close()
		return nil, err
	}
	c.router.confirm(sub)
	return sub, nil
}

// ExternalMediaRequest asks for a UnicastRTP channel streaming to ExternalHost.
type ExternalMediaRequest struct {
	ChannelID    string // our chosen id; "" makes one
	ExternalHost string // "host:port" we receive RTP on, and send from; required
	Format       string // default "ulaw"
	Direction    string // default "both"
}

// ExternalMedia is a created ExternalMedia channel.
type ExternalMedia struct {
	ChannelID string
	// LocalAddr is where Asterisk sends from and expects our RTP
	// (UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT).
	LocalAddr string
	Events    *Subscription
}

// ExternalMedia creates an ExternalMedia channel in our app. The library
// discards the response body, so the local RTP address is read back from the
// channel's variables. Delete the channel (Hangup) when the seat or call ends.
func (c *Client) ExternalMedia(ctx context.Context, req ExternalMediaRequest) (*ExternalMedia, error) {
	id := req.ChannelID
	if id == "" {
		id = c.newID("em")
	}
	if req.Format == "" {
		req.Format = "ulaw"
	}
	if req.Direction == "" {
		req.Direction = "both"
	}
	if err := checkID(id); err != nil {
		return nil, newOpError("externalMedia", id, opOther, err)
	}
	sub, err := c.router.subscribe(ChannelTarget(id), KindExternalMedia, true)
	if err != nil {
		return nil, newOpError("externalMedia", id, opOther, err)
	}
	err = c.do(ctx, "externalMedia", id, opOther, func() error {
		h, err := c.ari.Channel().StageExternalMedia(nil, ari.ExternalMediaOptions{
			ChannelID:     id,
			App:           c.cfg.Application,
			ExternalHost:  req.ExternalHost,
			Encapsulation: "rtp",
			Transport:     "udp",
			Format:        req.Format,
			Direction:     req.Direction,
		})
		if err != nil {
			return err
		}
		return h.Exec()
	})
	if sub, err = c.settle(sub, err); err != nil {
		return nil, err
	}
	addr, err := c.GetVariable(ctx, id, "UNICASTRTP_LOCAL_ADDRESS")
	if err == nil && addr == "" {
		err = newOpError("externalMedia", id, opOther, fmt.Errorf("UNICASTRTP_LOCAL_ADDRESS is empty"))
	}
	var port string
	if err == nil {
		port, err = c.GetVariable(ctx, id, "UNICASTRTP_LOCAL_PORT")
		if err == nil && port == "" {
			err = newOpError("externalMedia", id, opOther, fmt.Errorf("UNICASTRTP_LOCAL_PORT is empty"))
		}
	}
	if err != nil {
		// A channel we cannot use must not leak.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RequestTimeout)
		defer cancel()
		_ = c.Hangup(hctx, id, HangupNormal)
		return &ExternalMedia{ChannelID: id, Events: sub}, err
	}
	return &ExternalMedia{ChannelID: id, LocalAddr: net.JoinHostPort(addr, port), Events: sub}, nil
}

// Direction of snooped or whispered audio.
type Direction string

const (
	DirNone Direction = "none"
	DirIn   Direction = "in"   // from the channel
	DirOut  Direction = "out"  // to the channel
	DirBoth Direction = "both" // both ways
)

// SnoopRequest asks for a Snoop channel on a channel.
type SnoopRequest struct {
	SnoopID string    // our chosen id; "" makes one
	Spy     Direction // audio the snoop hears
	Whisper Direction // audio the snoop injects
	AppArgs string
}

// Snoop creates a Snoop/ channel in our app (supervisor listen or whisper).
func (c *Client) Snoop(ctx context.Context, channelID string, req SnoopRequest) (*Subscription, error) {
	id := req.SnoopID
	if id == "" {
		id = c.newID("snoop")
	}
	if err := checkID(id); err != nil {
		return nil, newOpError("snoop", id, opOther, err)
	}
	sub, err := c.router.subscribe(ChannelTarget(id), KindSnoop, true)
	if err != nil {
		return nil, newOpError("snoop", id, opOther, err)
	}
	err = c.do(ctx, "snoop", channelID, opChannelControl, func() error {
		h, err := c.ari.Channel().StageSnoop(c.key(ari.ChannelKey, channelID), id, &ari.SnoopOptions{
			App:     c.cfg.Application,
			AppArgs: req.AppArgs,
			Spy:     ari.Direction(req.Spy),
			Whisper: ari.Direction(req.Whisper),
		})
		if err != nil {
			return err
		}
		return h.Exec()
	})
	return c.settle(sub, err)
}

// CreateBridge creates a mixing bridge under our chosen id ("" makes one) and
// returns its subscription (bridge playbacks, recordings, BridgeDestroyed).
func (c *Client) CreateBridge(ctx context.Context, bridgeID, name string) (*Subscription, error) {
	if bridgeID == "" {
		bridgeID = c.newID("br")
	}
	if err := checkID(bridgeID); err != nil {
		return nil, newOpError("bridge.create", bridgeID, opOther, err)
	}
	sub, err := c.router.subscribe(BridgeTarget(bridgeID), KindInbound, true)
	if err != nil {
		return nil, newOpError("bridge.create", bridgeID, opOther, err)
	}
	err = c.do(ctx, "bridge.create", bridgeID, opOther, func() error {
		h, err := c.ari.Bridge().StageCreate(c.key(ari.BridgeKey, bridgeID), "mixing", name)
		if err != nil {
			return err
		}
		return h.Exec()
	})
	return c.settle(sub, err)
}

// AddToBridge puts channels into a bridge (one request).
func (c *Client) AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return c.do(ctx, "bridge.addChannel", bridgeID, opOther, func() error {
		return c.ari.Bridge().AddChannel(c.key(ari.BridgeKey, bridgeID), strings.Join(channelIDs, ","))
	})
}

// RemoveFromBridge takes a channel out of a bridge.
func (c *Client) RemoveFromBridge(ctx context.Context, bridgeID, channelID string) error {
	return c.do(ctx, "bridge.removeChannel", bridgeID, opOther, func() error {
		return c.ari.Bridge().RemoveChannel(c.key(ari.BridgeKey, bridgeID), channelID)
	})
}

// DestroyBridge destroys a bridge; its channels stay up.
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	return c.do(ctx, "bridge.destroy", bridgeID, opOther, func() error {
		return c.ari.Bridge().Delete(c.key(ari.BridgeKey, bridgeID))
	})
}

// RecordBridge records a bridge's mixed audio (a bridged channel cannot be
// recorded itself). Events arrive on the bridge's subscription.
func (c *Client) RecordBridge(ctx context.Context, bridgeID string, opts RecordOptions) error {
	if err := checkID(opts.Name); err != nil {
		return newOpError("bridge.record", bridgeID, opOther, err)
	}
	return c.do(ctx, "bridge.record", bridgeID, opOther, func() error {
		h, err := c.ari.Bridge().StageRecord(c.key(ari.BridgeKey, bridgeID), opts.Name, opts.library())
		if err != nil {
			return err
		}
		return h.Exec()
	})
}

// PlayBridge plays media to every channel in a bridge.
func (c *Client) PlayBridge(ctx context.Context, bridgeID, media, playbackID string) (string, error) {
	if playbackID == "" {
		playbackID = c.newID("pb")
	}
	if err := checkID(playbackID); err != nil {
		return playbackID, newOpError("bridge.play", bridgeID, opOther, err)
	}
	err := c.do(ctx, "bridge.play", bridgeID, opOther, func() error {
		h, err := c.ari.Bridge().StagePlay(c.key(ari.BridgeKey, bridgeID), playbackID, media)
		if err != nil {
			return err
		}
		return h.Exec()
	})
	return playbackID, err
}

// ping checks reachability and credentials with ctx: GET /asterisk/info.
func (c *Client) ping(ctx context.Context) error {
	_, err := c.rawGet(ctx, "/asterisk/info")
	return newOpError("asterisk.info", c.cfg.URL, opOther, err)
}

// httpStatusError carries an ARI status and message for requests made
// without the library.
type httpStatusError struct {
	status  int
	message string
}

func (e *httpStatusError) Error() string { return e.message }
func (e *httpStatusError) Code() int     { return e.status }

func (c *Client) rawGet(ctx context.Context, path string) ([]byte, error) {
	return c.rawDo(ctx, http.MethodGet, path, nil, 512<<20)
}

// rawDo makes an ARI request on our own HTTP client and returns the body of a 2xx answer,
// read up to limit bytes; any other answer is an *httpStatusError with Asterisk's message.
func (c *Client) rawDo(ctx context.Context, method, path string, query url.Values, limit int64) ([]byte, error) {
	u := c.cfg.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var msg struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &msg)
		if msg.Message == "" {
			msg.Message = http.StatusText(resp.StatusCode)
		}
		return nil, &httpStatusError{status: resp.StatusCode, message: msg.Message}
	}
	return body, nil
}
