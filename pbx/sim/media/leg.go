package media

import (
	"errors"
	"fmt"
	"net"
)

// ErrClosed reports an operation on a closed leg, bridge or engine.
var ErrClosed = errors.New("media: closed")

// Leg is the audio of one simulated channel: what the party sends (its
// source) and what it hears (its bridge, playbacks and whispers). Its
// methods are safe for concurrent use.
type Leg struct {
	e  *Engine
	id string

	// Guarded by e.mu.
	closed     bool
	source     Source
	hear       func([]int16)
	bridge     *Bridge
	playbacks  []*playback
	recordings []*recording
	snoops     []*Leg // snoop legs whose target is this leg

	// Snoop legs only (guarded by e.mu).
	snoop        bool
	target       *Leg
	spy, whisper Direction
	spyNext      frame // what it spies, sent next tick
	whisperSrc   frame // its source this tick
	whisperNext  frame // whispered to the target next tick

	// Frames of the current tick, written under e.mu by the tick only.
	src       frame // from the source (and RTP), before whispers
	sent      frame // what bridge peers and recordings get
	heardBase frame // bridge and playbacks
	heard     frame // heardBase plus whispers: what the tap and RTP get

	hearFn func([]int16) // snapshot of hear for this tick; tickMu only

	ext *external // ExternalMedia legs only; immutable after creation
}

// NewLeg adds a leg that sends silence and hears nothing until it is given a
// source, bridged or played to. On a closed engine the leg is born closed.
func (e *Engine) NewLeg(id string) *Leg {
	l := &Leg{e: e, id: id}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		l.closed = true
		return l
	}
	e.legs = append(e.legs, l)
	return l
}

// NewSnoopLeg adds a snoop on target, as ARI's POST /channels/{id}/snoop.
// The snoop hears the target per spy (In: what the target sends; Out: what
// it hears; Both): that is what its OnHear tap gets and what it sends into
// a bridge, so a supervisor bridged with the snoop hears the target. What
// reaches the snoop (its Source, a Play to it, and its bridge's audio) is
// whispered to the target per whisper (Out: the target hears it; In: mixed
// into what the target sends, so the target's bridge peers hear it; Both).
// Spy audio never includes whispers, so a supervisor does not hear himself.
// Audio crosses a snoop with one frame (20 ms) of delay. When the target is
// closed the snoop stays up and hears silence.
func (e *Engine) NewSnoopLeg(id string, target *Leg, spy, whisper Direction) *Leg {
	l := &Leg{e: e, id: id, snoop: true, spy: spy, whisper: whisper}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		l.closed = true
		return l
	}
	if target != nil && !target.closed {
		l.target = target
		target.snoops = append(target.snoops, l)
	}
	e.legs = append(e.legs, l)
	return l
}

// NewExternalLeg adds an ExternalMedia leg, as ARI's POST
// /channels/externalMedia with format ulaw over RTP/UDP. It binds a UDP
// socket on bindHost port 0 and returns its address (the channel's
// UNICASTRTP_LOCAL_ADDRESS and _PORT). PCMU RTP (payload type 0) arriving
// on that socket is what the leg sends; what the leg hears is sent as 20 ms
// PCMU RTP to remote ("ip:port") from that same socket, because Asterisk's
// strict RTP makes peers answer to the address they receive from. Nothing
// is sent until the leg is bridged (or played or whispered to), as Asterisk
// does. remote and bindHost must be IP literals (or "localhost"): the
// simulator never resolves names.
func (e *Engine) NewExternalLeg(id, remote, bindHost string) (*Leg, *net.UDPAddr, error) {
	x, err := newExternal(remote, bindHost)
	if err != nil {
		return nil, nil, fmt.Errorf("media: external leg %s: %w", id, err)
	}
	go x.receive(e.log, id)
	l := &Leg{e: e, id: id, ext: x}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		x.close()
		return nil, nil, fmt.Errorf("media: external leg %s: %w", id, ErrClosed)
	}
	e.legs = append(e.legs, l)
	e.mu.Unlock()
	return l, x.localAddr(), nil
}

// ID returns the id the leg was created with.
func (l *Leg) ID() string { return l.id }

// SetSource sets what the party sends from the next frame on; nil sends
// silence. On a snoop leg the source is whispered to the target.
func (l *Leg) SetSource(s Source) {
	l.e.mu.Lock()
	l.source = s
	l.e.mu.Unlock()
}

// OnHear sets a tap that gets every frame the party hears (nil removes it).
// It runs on the clock goroutine once per tick, even when the party hears
// silence; frame is only valid during the call (copy it to keep it).
func (l *Leg) OnHear(fn func(frame []int16)) {
	l.e.mu.Lock()
	l.hear = fn
	l.e.mu.Unlock()
}

// Stats returns the RTP counters of an ExternalMedia leg (zero for others).
func (l *Leg) Stats() Stats {
	if l.ext == nil {
		return Stats{}
	}
	return l.ext.stats()
}

// Close hangs the leg up: it leaves its bridge, a running recording is
// finalized (the partial file is kept) and reported with EndHangup,
// playbacks report done(true), snoops on it hear silence from now on, and
// an ExternalMedia leg's socket is closed. Calling Close again does nothing.
func (l *Leg) Close() {
	e := l.e
	e.mu.Lock()
	if l.closed {
		e.mu.Unlock()
		return
	}
	l.closed = true
	e.legs = removeLocked(e.legs, l)
	if b := l.bridge; b != nil {
		b.members = removeLocked(b.members, l)
		l.bridge = nil
	}
	pbs, recs := l.playbacks, l.recordings
	l.playbacks, l.recordings = nil, nil
	for _, p := range pbs {
		p.ended = true
	}
	for _, r := range recs {
		r.ended = true
	}
	for _, s := range l.snoops {
		s.target = nil
	}
	l.snoops = nil
	if t := l.target; t != nil {
		t.snoops = removeLocked(t.snoops, l)
		l.target = nil
	}
	l.source, l.hear = nil, nil
	e.mu.Unlock()

	for _, p := range pbs {
		done := p.done
		e.cb.post(func() { done(true) })
	}
	for _, r := range recs {
		e.finishRecording(r, EndHangup)
	}
	if l.ext != nil {
		l.ext.close()
	}
}

// Play makes the party hear samples, mixed with everything else it hears,
// over their real duration (len/8000 s). done runs exactly once, on the
// engine's callback goroutine: done(false) after the last sample was heard,
// done(true) when stop is called first or the leg closes. stop may be
// called any number of times. Playing to a snoop leg whispers the samples.
func (l *Leg) Play(samples []int16, done func(stopped bool)) (stop func()) {
	e := l.e
	p := &playback{samples: samples, done: done}
	e.mu.Lock()
	if l.closed {
		e.mu.Unlock()
		e.cb.post(func() { done(true) })
		return func() {}
	}
	l.playbacks = append(l.playbacks, p)
	e.mu.Unlock()
	return func() { e.stopPlayback(p, &l.playbacks) }
}

// Record writes what the party sends (for a snoop leg: what it spies) to a
// new 8 kHz 16-bit mono WAV at path. Recording ends on stop(), at
// MaxDuration, after MaxSilence of silence, or when the leg closes; the file
// is then finalized and done runs exactly once, on the engine's callback
// goroutine. When Record returns an error, done never runs.
func (l *Leg) Record(path string, opt RecordOptions, done func(RecordResult)) (stop func(), err error) {
	e := l.e
	e.mu.Lock()
	closed := l.closed
	e.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("media: record %s on leg %s: %w", path, l.id, ErrClosed)
	}
	r, err := newRecording(path, opt, done)
	if err != nil {
		return nil, fmt.Errorf("media: record on leg %s: %w", l.id, err)
	}
	e.mu.Lock()
	if l.closed {
		// Hung up while the file was being created.
		e.mu.Unlock()
		e.finishRecording(r, EndHangup)
		return func() {}, nil
	}
	l.recordings = append(l.recordings, r)
	e.mu.Unlock()
	return func() { e.stopRecording(r, &l.recordings) }, nil
}

func (e *Engine) stopPlayback(p *playback, owner *[]*playback) {
	e.mu.Lock()
	if p.ended {
		e.mu.Unlock()
		return
	}
	p.ended = true
	*owner = removeLocked(*owner, p)
	e.mu.Unlock()
	done := p.done
	e.cb.post(func() { done(true) })
}

func (e *Engine) stopRecording(r *recording, owner *[]*recording) {
	e.mu.Lock()
	if r.ended {
		e.mu.Unlock()
		return
	}
	r.ended = true
	*owner = removeLocked(*owner, r)
	e.mu.Unlock()
	e.finishRecording(r, EndStopped)
}
