package sim

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"hotline/audio"
)

// playback is one ARI playback. Guarded by Server.mu.
type playback struct {
	id, mediaURI, targetURI, language, state string
	medias                                   []string
	ch                                       *channel
	br                                       *bridge
	stop                                     func()
	samples                                  []int16 // what plays now
	first, repeat                            []int16 // tones: played first, then repeat looped (nil: silence)
	loop                                     bool    // tones play until stopped
	gen                                      int     // audio generation, bumped on restart
	// over is set, under Server.mu, once the playback has finished or been dropped: the
	// callbacks its audio still makes (the engine's done after a stop, the timer after the
	// engine's end) return without taking the server lock.
	over atomic.Bool
}

func (pb *playback) json() playbackJSON {
	return playbackJSON{ID: pb.id, MediaURI: pb.mediaURI, TargetURI: pb.targetURI, Language: pb.language, State: pb.state}
}

func (pb *playback) apps() []string {
	if pb.ch != nil {
		return pb.ch.apps
	}
	if pb.br != nil {
		return pb.br.apps
	}
	return nil
}

// errUnknownScheme marks a media URI Asterisk cannot play and never finishes.
var errUnknownScheme = errors.New("unknown media scheme")

// errNoMedia marks a media URI whose file is missing: the playback fails.
var errNoMedia = errors.New("media not found")

// soundPath resolves sound:NAME for a language: SoundsDir/<lang>/NAME.wav,
// then SoundsDir/NAME.wav.
func (s *Server) soundPath(name, lang string) (string, bool) {
	if s.cfg.SoundsDir == "" || name == "" || strings.Contains(name, "..") {
		return "", false
	}
	var tries []string
	if lang != "" {
		tries = append(tries, filepath.Join(s.cfg.SoundsDir, lang, name+".wav"))
	}
	tries = append(tries, filepath.Join(s.cfg.SoundsDir, name+".wav"))
	for _, p := range tries {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

func (s *Server) loadSound(name, lang string) ([]int16, error) {
	p, ok := s.soundPath(name, lang)
	if !ok {
		return nil, errNoMedia
	}
	return s.readWAVCached(p)
}

// readWAVCached reads a WAV, keeping it while its size and time are
// unchanged: prompts are played thousands of times. Caller holds s.mu.
func (s *Server) readWAVCached(p string) ([]int16, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, errNoMedia
	}
	if c, ok := s.wavCache[p]; ok && c.size == st.Size() && c.mod.Equal(st.ModTime()) {
		return c.samples, nil
	}
	samples, err := audio.ReadWAVFile(p)
	if err != nil {
		s.log.Warn("unreadable sound", "path", p, "err", err)
		return nil, errNoMedia
	}
	if len(s.wavCache) > 256 {
		clear(s.wavCache)
	}
	s.wavCache[p] = cachedWAV{samples: samples, size: st.Size(), mod: st.ModTime()}
	return samples, nil
}

type cachedWAV struct {
	samples []int16
	size    int64
	mod     time.Time
	parts   [][]int16 // a join's parts (joinSamples); nil for a file
}

// joinSamples returns parts one after another. A prompt made of several sounds (the
// welcome and its notice) is played for every caller: the join is kept, under a key no
// file path can have, while its parts are the same cached samples, so it is not copied
// again under the server lock each time. Caller holds s.mu.
func (s *Server) joinSamples(medias []string, lang string, parts [][]int16) []int16 {
	key := "\x00join\x00" + lang + "\x00" + strings.Join(medias, ",")
	if c, ok := s.wavCache[key]; ok && sameParts(c.parts, parts) {
		return c.samples
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]int16, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	if len(s.wavCache) > 256 {
		clear(s.wavCache)
	}
	s.wavCache[key] = cachedWAV{samples: out, parts: parts}
	return out
}

// sameParts reports whether a and b are the same slices of the same arrays.
func sameParts(a, b [][]int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) || unsafe.SliceData(a[i]) != unsafe.SliceData(b[i]) {
			return false
		}
	}
	return true
}

// toneFreqs names Asterisk's indications.conf tones (us zone).
var toneFreqs = map[string][]float64{
	"dial": {350, 440}, "ring": {440, 480}, "busy": {480, 620}, "congestion": {480, 620},
	"callwaiting": {440}, "dialrecall": {350, 440}, "record": {1400}, "info": {950},
}

// resolveMedia turns one media URI into samples. A tone (loop) plays
// samples, then repeat over and over, until stopped; with no repeat it
// stays playing in silence, as Asterisk's tone playbacks never finish on
// their own.
func (s *Server) resolveMedia(uri, lang string) (samples, repeat []int16, loop bool, err error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return nil, nil, false, errUnknownScheme
	}
	switch scheme {
	case "sound":
		smp, err := s.loadSound(rest, lang)
		return smp, nil, false, err
	case "recording":
		p, err := s.storedPath(rest)
		if err != nil {
			return nil, nil, false, errNoMedia
		}
		smp, err := audio.ReadWAVFile(p)
		if err != nil {
			return nil, nil, false, errNoMedia
		}
		return smp, nil, false, nil
	case "digits", "number", "characters":
		// Asterisk says these with digits/N (and letters/X) prompts.
		var out []int16
		for _, r := range rest {
			name := ""
			switch {
			case r >= '0' && r <= '9':
				name = "digits/" + string(r)
			case r == '-' && scheme == "number":
				name = "digits/minus"
			case scheme == "characters":
				name = "letters/" + strings.ToLower(string(r))
			default:
				continue
			}
			smp, err := s.loadSound(name, lang)
			if err != nil {
				return nil, nil, false, err
			}
			out = append(out, smp...)
		}
		return out, nil, false, nil
	case "tone":
		// tone:NAME or an indication list; ";tonezone=xx" is ignored.
		spec, _, _ := strings.Cut(rest, ";")
		if freqs := toneFreqs[spec]; freqs != nil {
			return nil, toneSamples(freqs, audio.SampleRate), true, nil
		}
		once, rep, err := parseToneList(spec)
		if err != nil {
			return nil, nil, false, errNoMedia
		}
		return once, rep, true, nil
	}
	return nil, nil, false, errUnknownScheme
}

// toneSamples is n samples of freqs mixed.
func toneSamples(freqs []float64, n int) []int16 {
	var parts [][]int16
	for _, f := range freqs {
		if f > 0 {
			parts = append(parts, audio.Tone(f, 0.3/float64(len(freqs)), n))
		}
	}
	if len(parts) == 0 {
		return make([]int16, n)
	}
	return audio.Mix(parts...)
}

// parseToneList reads an indication list as ast_playtones_start does:
// comma-separated parts "[!]F1[+F2|*F2][/ms]"; a part without a duration
// lasts for ever; a leading "!" plays the part once, and the list repeats
// from the first part without one. once is played first, then repeat over
// and over; repeat is nil when every part has a "!" (silence follows).
// F2 modulating F1 ("*") is approximated by mixing the two.
func parseToneList(spec string) (once, repeat []int16, err error) {
	sep := ","
	if strings.Contains(spec, "|") {
		sep = "|"
	}
	repFrom := -1 // index in out where the repeating part starts
	var out []int16
	for _, part := range strings.Split(spec, sep) {
		part = strings.TrimSpace(part)
		if part == "" {
			break // as strsep's loop in ast_playtones_start
		}
		bang := strings.HasPrefix(part, "!")
		part = strings.TrimPrefix(part, "!")
		if !bang && repFrom < 0 {
			repFrom = len(out)
		}
		fs, dur, hasDur := strings.Cut(part, "/")
		ms := 0
		if hasDur {
			if ms, err = strconv.Atoi(dur); err != nil || ms < 0 {
				return nil, nil, fmt.Errorf("tone part %q: bad duration", part)
			}
		}
		var freqs []float64
		for _, f := range strings.FieldsFunc(fs, func(r rune) bool { return r == '+' || r == '*' }) {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 {
				return nil, nil, fmt.Errorf("tone part %q: bad frequency", part)
			}
			freqs = append(freqs, v)
		}
		if len(freqs) == 0 {
			return nil, nil, fmt.Errorf("tone part %q: no frequency", part)
		}
		if ms == 0 {
			// This part never ends: what follows is never reached.
			return out, toneSamples(freqs, audio.SampleRate), nil
		}
		out = append(out, toneSamples(freqs, audio.SamplesFor(time.Duration(ms)*time.Millisecond))...)
	}
	if len(out) == 0 {
		return nil, nil, errors.New("empty tone list")
	}
	if repFrom < 0 {
		return out, nil, nil
	}
	return out[:repFrom], out[repFrom:], nil
}

func (s *Server) playChannel(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	pb, ok := s.queueChannelPlayback(w, p)
	s.mu.Unlock()
	if !ok {
		return
	}
	// The response is written outside the server lock: every ARI request and event waits
	// on that lock, and a play is the commonest request. Events may reach the socket
	// before this response, as they do with Asterisk.
	w.Header().Set("Location", "/playbacks/"+pb.ID)
	writeJSONResponse(w, http.StatusCreated, pb)
}

// queueChannelPlayback queues a playback on a channel and returns its JSON as it was
// queued. On failure it has written the error response. Caller holds s.mu.
func (s *Server) queueChannelPlayback(w http.ResponseWriter, p params) (playbackJSON, bool) {
	ch, ok := s.control(w, p.get("channelId"))
	if !ok || !s.stateValid(w, ch) {
		return playbackJSON{}, false
	}
	if p.integer("skipms", 0) < 0 {
		writeError(w, http.StatusBadRequest, "skipms cannot be negative")
		return playbackJSON{}, false
	}
	if p.integer("offsetms", 0) < 0 {
		writeError(w, http.StatusBadRequest, "offsetms cannot be negative")
		return playbackJSON{}, false
	}
	lang := p.get("lang")
	if lang == "" {
		lang = ch.language
	}
	pb, ok := s.newPlayback(w, p, lang)
	if !ok {
		return playbackJSON{}, false
	}
	pb.ch, pb.targetURI = ch, "channel:"+ch.id
	queued := pb.json()
	ch.playQueue = append(ch.playQueue, pb)
	if len(ch.playQueue) == 1 {
		s.startPlayback(pb)
	}
	if ch.party != nil {
		ch.party.promptChanged(len(ch.playQueue))
	}
	return queued, true
}

func (s *Server) playBridge(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[p.get("bridgeId")]
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	lang := p.get("lang")
	if lang == "" {
		lang = s.cfg.Language
	}
	pb, ok := s.newPlayback(w, p, lang)
	if !ok {
		return
	}
	pb.br, pb.targetURI = b, "bridge:"+b.id
	w.Header().Set("Location", "/playbacks/"+pb.id)
	writeJSONResponse(w, http.StatusCreated, pb.json())
	b.playbacks = append(b.playbacks, pb)
	if len(b.playbacks) == 1 {
		s.startPlayback(pb)
	}
}

func (s *Server) newPlayback(w http.ResponseWriter, p params, lang string) (*playback, bool) {
	var medias []string
	for _, m := range strings.Split(p.get("media"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			medias = append(medias, m)
		}
	}
	if len(medias) == 0 {
		writeError(w, http.StatusInternalServerError, "Failed to queue media for playback")
		return nil, false
	}
	id := p.get("playbackId")
	if id == "" {
		id = uuid.NewString()
	}
	if _, dup := s.playbacks[id]; dup {
		writeError(w, http.StatusInternalServerError, "Failed to queue media for playback")
		return nil, false
	}
	pb := &playback{id: id, mediaURI: medias[0], medias: medias, language: lang, state: "queued"}
	s.playbacks[id] = pb
	return pb, true
}

// startPlayback begins the head of a queue: PlaybackStarted, then audio for
// the media's real duration and PlaybackFinished. Caller holds s.mu.
func (s *Server) startPlayback(pb *playback) {
	pb.state = "playing"
	s.send(pb.apps(), "PlaybackStarted", kv{"playback", pb.json()})
	var samples []int16
	var parts [][]int16
	for _, m := range pb.medias {
		smp, rep, loop, err := s.resolveMedia(m, pb.language)
		if errors.Is(err, errUnknownScheme) {
			// Asterisk logs and drops such a playback: no finish event, and it
			// is gone from /playbacks.
			s.log.Warn("unknown media scheme", "media", m)
			s.dropPlayback(pb)
			return
		}
		if err != nil {
			s.log.Warn("playback failed", "media", m, "err", err)
			s.finishPlayback(pb, "failed")
			return
		}
		if loop {
			pb.loop = true
			pb.repeat = rep
			samples = smp
			if len(samples) == 0 {
				samples = rep
			}
			break
		}
		parts = append(parts, smp)
	}
	switch {
	case pb.loop:
	case len(parts) == 1:
		// One prompt: play the cached samples without copying them (a copy of a
		// long prompt, made under the server lock, was most of a play's cost).
		samples = parts[0]
	default:
		samples = s.joinSamples(pb.medias, pb.language, parts)
	}
	// The capacity is clipped so that nothing can ever append into a cache.
	samples = samples[:len(samples):len(samples)]
	pb.samples, pb.first = samples, samples
	s.playAudio(pb)
}

// playAudio sends pb's samples to its target; a looping tone starts over
// until stopped. Caller holds s.mu.
func (s *Server) playAudio(pb *playback) {
	pb.gen++
	gen := pb.gen
	done := func(stopped bool) {
		if pb.over.Load() {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if pb.gen != gen || pb.state != "playing" {
			return // restarted, or already finished by a stop or hang-up
		}
		if pb.loop && !stopped {
			if pb.repeat == nil {
				// A tone list played once: silence until stopped.
				return
			}
			pb.samples = pb.repeat
			s.playAudio(pb)
			return
		}
		s.finishPlayback(pb, "done")
	}
	switch {
	case pb.ch != nil && pb.ch.leg != nil:
		pb.stop = pb.ch.leg.Play(pb.samples, done)
	case pb.br != nil:
		pb.stop = pb.br.mb.Play(pb.samples, done)
	default:
		s.finishPlayback(pb, "done")
		return
	}
	if !pb.loop {
		// The playback ends after the file's real duration even when a
		// loaded machine makes the media clock lag behind the wall clock.
		t := time.AfterFunc(audio.Duration(len(pb.samples)), func() { done(false) })
		stopAudio := pb.stop
		pb.stop = func() {
			t.Stop()
			stopAudio()
		}
	}
}

// finishPlayback ends pb with PlaybackFinished and starts the next queued one.
func (s *Server) finishPlayback(pb *playback, state string) {
	if pb.state == "done" || pb.state == "failed" {
		return
	}
	pb.state = state
	pb.over.Store(true)
	if pb.stop != nil {
		pb.stop()
	}
	pb.samples = nil
	s.send(pb.apps(), "PlaybackFinished", kv{"playback", pb.json()})
	s.dropPlayback(pb)
}

// dropPlayback forgets pb and starts the next one in its queue.
func (s *Server) dropPlayback(pb *playback) {
	pb.over.Store(true)
	delete(s.playbacks, pb.id)
	var next *playback
	if ch := pb.ch; ch != nil && len(ch.playQueue) > 0 && ch.playQueue[0] == pb {
		ch.playQueue = ch.playQueue[1:]
		if len(ch.playQueue) > 0 && !ch.gone {
			next = ch.playQueue[0]
		}
	}
	if b := pb.br; b != nil && len(b.playbacks) > 0 && b.playbacks[0] == pb {
		b.playbacks = b.playbacks[1:]
		if len(b.playbacks) > 0 {
			next = b.playbacks[0]
		}
	}
	if next != nil {
		s.startPlayback(next)
	}
	if pb.ch != nil && pb.ch.party != nil {
		pb.ch.party.promptChanged(len(pb.ch.playQueue))
	}
}

func (s *Server) getPlayback(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pb := s.playbacks[p.get("playbackId")]
	if pb == nil {
		writeError(w, http.StatusNotFound, "Playback not found")
		return
	}
	writeJSONResponse(w, http.StatusOK, pb.json())
}

func (s *Server) stopPlayback(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pb := s.playbacks[p.get("playbackId")]
	if pb == nil {
		writeError(w, http.StatusNotFound, "Playback not found")
		return
	}
	if pb.state == "queued" {
		// Never started: it just leaves the queue.
		s.removeQueued(pb)
		noContent(w)
		return
	}
	s.finishPlayback(pb, "done")
	noContent(w)
}

func (s *Server) removeQueued(pb *playback) {
	delete(s.playbacks, pb.id)
	remove := func(q []*playback) []*playback {
		for i, x := range q {
			if x == pb {
				return append(q[:i], q[i+1:]...)
			}
		}
		return q
	}
	if pb.ch != nil {
		pb.ch.playQueue = remove(pb.ch.playQueue)
		if pb.ch.party != nil {
			pb.ch.party.promptChanged(len(pb.ch.playQueue))
		}
	}
	if pb.br != nil {
		pb.br.playbacks = remove(pb.br.playbacks)
	}
}

// controlPlayback supports stop and restart; pause/unpause/reverse/forward
// answer 409 as for a playback that cannot do them.
func (s *Server) controlPlayback(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pb := s.playbacks[p.get("playbackId")]
	if pb == nil {
		writeError(w, http.StatusNotFound, "Playback not found")
		return
	}
	switch op := p.get("operation"); op {
	case "stop":
		if pb.state == "queued" {
			s.removeQueued(pb)
		} else {
			s.finishPlayback(pb, "done")
		}
		noContent(w)
	case "restart":
		if pb.state != "playing" {
			writeError(w, http.StatusConflict, "Playback not playing")
			return
		}
		old := pb.stop
		pb.samples = pb.first
		s.playAudio(pb) // a new generation: the old one's done is ignored
		if old != nil {
			old()
		}
		noContent(w)
	case "pause", "unpause", "reverse", "forward":
		writeError(w, http.StatusConflict, "Operation not supported by the simulated PBX")
	default:
		writeError(w, http.StatusBadRequest, "Invalid operation "+op)
	}
}
