package media

import (
	"log/slog"
	"sync"
	"time"

	"hotline/audio"
)

// frame is one 20 ms frame of linear audio.
type frame = [FrameSamples]int16

// Engine owns the 20 ms clock that moves audio between legs; one per
// simulated PBX.
type Engine struct {
	log    *slog.Logger
	manual bool
	cb     *callbackQueue

	stopClock chan struct{}
	clockDone chan struct{}

	// tickMu serializes ticks; it is held while OnHear taps run, never
	// taken by the API otherwise.
	tickMu sync.Mutex
	// Scratch of the tick, guarded by tickMu.
	hears   []*Leg
	sends   []*Leg
	endRecs []endedRecording
	endPlay []*playback

	// mu guards the graph: legs, bridges and everything in them.
	mu      sync.Mutex
	closed  bool
	legs    []*Leg
	bridges []*Bridge
}

type endedRecording struct {
	r      *recording
	reason EndReason
}

// NewEngine returns a running engine.
func NewEngine(opts ...Option) *Engine {
	e := &Engine{log: slog.Default()}
	for _, o := range opts {
		o(e)
	}
	e.cb = newCallbackQueue()
	if !e.manual {
		e.stopClock = make(chan struct{})
		e.clockDone = make(chan struct{})
		go e.runClock()
	}
	return e
}

func (e *Engine) runClock() {
	defer close(e.clockDone)
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-e.stopClock:
			return
		case <-t.C:
			e.Tick()
		}
	}
}

// Close stops the clock and hangs up every leg and bridge: running
// recordings are finalized and reported, playbacks report done(true). It
// returns once every callback has run. Close must not be called from a
// callback (Leg.Close and Bridge.Close may). Calling Close again does nothing.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	legs := append([]*Leg(nil), e.legs...)
	bridges := append([]*Bridge(nil), e.bridges...)
	e.mu.Unlock()

	if !e.manual {
		close(e.stopClock)
		<-e.clockDone
	}
	for _, l := range legs {
		l.Close()
	}
	for _, b := range bridges {
		b.Close()
	}
	e.cb.close()
	return nil
}

// Tick advances the engine by one 20 ms frame. With WithManualClock it is
// the only way time passes; otherwise the engine's clock calls it.
func (e *Engine) Tick() {
	e.tickMu.Lock()
	defer e.tickMu.Unlock()

	e.mu.Lock()
	e.mixLocked()
	e.mu.Unlock()

	// Outside the graph lock: sockets, taps, files and callbacks.
	for _, l := range e.sends {
		l.ext.send(e.log, l.id)
	}
	for _, l := range e.hears {
		if l.hearFn != nil {
			l.hearFn(l.heard[:])
		}
		l.hearFn = nil
	}
	for _, p := range e.endPlay {
		done := p.done
		e.cb.post(func() { done(false) })
	}
	for _, er := range e.endRecs {
		e.finishRecording(er.r, er.reason)
	}
	clear(e.sends)
	clear(e.hears)
	clear(e.endPlay)
	clear(e.endRecs)
	e.sends, e.hears, e.endPlay, e.endRecs = e.sends[:0], e.hears[:0], e.endPlay[:0], e.endRecs[:0]
}

// mixLocked computes one frame for every leg and bridge. Snoops read their
// target's previous frame, so the order of legs never matters and a snoop
// bridged with its own target cannot loop.
func (e *Engine) mixLocked() {
	// 1. What each party sends.
	for _, l := range e.legs {
		switch {
		case l.snoop:
			// A snoop sends what it spies; its source is whispered.
			l.src = l.spyNext
			if l.source != nil {
				l.source.Next(l.whisperSrc[:])
			} else {
				clear(l.whisperSrc[:])
			}
		case l.source != nil:
			l.source.Next(l.src[:])
		default:
			clear(l.src[:])
		}
		if l.ext != nil {
			l.ext.mixReceived(&l.src)
		}
	}
	for _, l := range e.legs {
		l.sent = l.src
		if l.snoop {
			continue
		}
		for _, s := range l.snoops {
			if s.whisper.hasIn() {
				addClip(&l.sent, &s.whisperNext)
			}
		}
	}

	// 2. Bridges: the sum of all members; each hears the sum minus itself.
	for _, b := range e.bridges {
		clear(b.sum[:])
		for _, m := range b.members {
			for i, v := range m.sent {
				b.sum[i] += int32(v)
			}
		}
		// A playback to the bridge is heard by every member.
		if len(b.playbacks) > 0 {
			e.advancePlaybacks(&b.playbacks, &b.sum)
		}
		if len(b.recordings) > 0 {
			var f frame
			clipInto(&f, &b.sum)
			e.writeRecordings(&b.recordings, &f)
		}
	}

	// 3. What each party hears.
	for _, l := range e.legs {
		var acc [FrameSamples]int32
		if b := l.bridge; b != nil {
			for i, v := range l.sent {
				acc[i] = b.sum[i] - int32(v)
			}
		}
		if len(l.playbacks) > 0 {
			e.advancePlaybacks(&l.playbacks, &acc)
		}
		clipInto(&l.heardBase, &acc)
		whispered := false
		for _, s := range l.snoops {
			if s.whisper.hasOut() {
				for i, v := range s.whisperNext {
					acc[i] += int32(v)
				}
				whispered = true
			}
		}
		if whispered {
			clipInto(&l.heard, &acc)
		} else {
			l.heard = l.heardBase
		}
		if len(l.recordings) > 0 {
			e.writeRecordings(&l.recordings, &l.sent)
		}
		if l.ext != nil && (l.bridge != nil || len(l.playbacks) > 0 || whispered) {
			// As Asterisk: an ExternalMedia channel streams once bridged
			// (or when something is played or whispered to it).
			l.ext.prepare(&l.heard)
			e.sends = append(e.sends, l)
		}
	}

	// 4. Snoops: the spied audio and the whisper for the next tick. A
	// snoop's tap hears what it spies (what it sends), and what reaches it
	// (its bridge, plays to it, its source) is whispered.
	for _, l := range e.legs {
		if !l.snoop {
			continue
		}
		l.heard = l.src
		var next [FrameSamples]int32
		if t := l.target; t != nil {
			if l.spy.hasIn() {
				for i, v := range t.src {
					next[i] += int32(v)
				}
			}
			if l.spy.hasOut() {
				for i, v := range t.heardBase {
					next[i] += int32(v)
				}
			}
		}
		clipInto(&l.spyNext, &next)
		l.whisperNext = l.heardBase
		addClip(&l.whisperNext, &l.whisperSrc)
	}

	for _, l := range e.legs {
		if l.hear != nil {
			l.hearFn = l.hear
			e.hears = append(e.hears, l)
		}
	}
}

func (e *Engine) advancePlaybacks(pbs *[]*playback, acc *[FrameSamples]int32) {
	kept := (*pbs)[:0]
	for _, p := range *pbs {
		if p.mixInto(acc) {
			p.ended = true
			e.endPlay = append(e.endPlay, p)
			continue
		}
		kept = append(kept, p)
	}
	clear((*pbs)[len(kept):])
	*pbs = kept
}

func (e *Engine) writeRecordings(recs *[]*recording, f *frame) {
	kept := (*recs)[:0]
	for _, r := range *recs {
		if reason, end := r.write(f[:]); end {
			r.ended = true
			e.endRecs = append(e.endRecs, endedRecording{r, reason})
			continue
		}
		kept = append(kept, r)
	}
	clear((*recs)[len(kept):])
	*recs = kept
}

func (e *Engine) finishRecording(r *recording, reason EndReason) {
	res := r.finish(reason)
	if res.Err != nil {
		e.log.Warn("recording finished with error", "path", res.Path, "reason", reason, "err", res.Err)
	}
	done := r.done
	e.cb.post(func() { done(res) })
}

// removeLocked drops x from s by swapping the last element in.
func removeLocked[T comparable](s []T, x T) []T {
	for i, v := range s {
		if v == x {
			last := len(s) - 1
			s[i] = s[last]
			var zero T
			s[last] = zero
			return s[:last]
		}
	}
	return s
}

func clipInto(dst *frame, acc *[FrameSamples]int32) {
	for i, v := range acc {
		dst[i] = audio.Clip(v)
	}
}

func addClip(dst *frame, src *frame) {
	for i, v := range src {
		dst[i] = audio.Clip(int32(dst[i]) + int32(v))
	}
}
