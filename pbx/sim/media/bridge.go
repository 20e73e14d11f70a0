package media

import "fmt"

// Bridge is a mixing bridge: each member hears the sum of the other
// members' audio (never its own), clipped to 16 bits. Its methods are safe
// for concurrent use.
type Bridge struct {
	e  *Engine
	id string

	// Guarded by e.mu.
	closed     bool
	members    []*Leg
	playbacks  []*playback
	recordings []*recording

	sum [FrameSamples]int32 // this tick's mix; tick only
}

// NewBridge adds an empty mixing bridge. On a closed engine the bridge is
// born closed.
func (e *Engine) NewBridge(id string) *Bridge {
	b := &Bridge{e: e, id: id}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		b.closed = true
		return b
	}
	e.bridges = append(e.bridges, b)
	return b
}

// ID returns the id the bridge was created with.
func (b *Bridge) ID() string { return b.id }

// Add puts l in the bridge, taking it out of any other bridge first. Adding
// a closed leg, or to a closed bridge, does nothing.
func (b *Bridge) Add(l *Leg) {
	b.e.mu.Lock()
	defer b.e.mu.Unlock()
	if b.closed || l.closed || l.bridge == b {
		return
	}
	if old := l.bridge; old != nil {
		old.members = removeLocked(old.members, l)
	}
	l.bridge = b
	b.members = append(b.members, l)
}

// Remove takes l out of the bridge; it then hears only its playbacks.
func (b *Bridge) Remove(l *Leg) {
	b.e.mu.Lock()
	defer b.e.mu.Unlock()
	if l.bridge != b {
		return
	}
	b.members = removeLocked(b.members, l)
	l.bridge = nil
}

// Play makes every member hear samples, as ARI's POST /bridges/{id}/play;
// done and stop behave as for Leg.Play.
func (b *Bridge) Play(samples []int16, done func(stopped bool)) (stop func()) {
	e := b.e
	p := &playback{samples: samples, done: done}
	e.mu.Lock()
	if b.closed {
		e.mu.Unlock()
		e.cb.post(func() { done(true) })
		return func() {}
	}
	b.playbacks = append(b.playbacks, p)
	e.mu.Unlock()
	return func() { e.stopPlayback(p, &b.playbacks) }
}

// Record writes the bridge's whole mix (every member and bridge playbacks)
// to a WAV at path, as ARI's POST /bridges/{id}/record; it ends and reports
// as Leg.Record does, with EndHangup when the bridge closes.
func (b *Bridge) Record(path string, opt RecordOptions, done func(RecordResult)) (stop func(), err error) {
	e := b.e
	r, err := newRecording(path, opt, done)
	if err != nil {
		return nil, fmt.Errorf("media: record on bridge %s: %w", b.id, err)
	}
	e.mu.Lock()
	if b.closed {
		e.mu.Unlock()
		e.finishRecording(r, EndHangup)
		return func() {}, nil
	}
	b.recordings = append(b.recordings, r)
	e.mu.Unlock()
	return func() { e.stopRecording(r, &b.recordings) }, nil
}

// Close empties and destroys the bridge: members stay up and hear only
// their playbacks; bridge playbacks and recordings end as on a hang-up.
func (b *Bridge) Close() {
	e := b.e
	e.mu.Lock()
	if b.closed {
		e.mu.Unlock()
		return
	}
	b.closed = true
	e.bridges = removeLocked(e.bridges, b)
	for _, m := range b.members {
		m.bridge = nil
	}
	b.members = nil
	pbs, recs := b.playbacks, b.recordings
	b.playbacks, b.recordings = nil, nil
	for _, p := range pbs {
		p.ended = true
	}
	for _, r := range recs {
		r.ended = true
	}
	e.mu.Unlock()

	for _, p := range pbs {
		done := p.done
		e.cb.post(func() { done(true) })
	}
	for _, r := range recs {
		e.finishRecording(r, EndHangup)
	}
}
