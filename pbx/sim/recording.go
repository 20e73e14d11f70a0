package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hotline/pbx/sim/media"
)

// liveRecording is one ARI live recording. Guarded by Server.mu.
type liveRecording struct {
	name, format, targetURI, state string
	ch                             *channel
	br                             *bridge
	started                        time.Time
	terminateOn                    string
	opts                           media.RecordOptions
	stop                           func()
	path, tmpPath                  string
	discard                        bool          // cancelled: delete the file when finalized
	fileDone                       chan struct{} // closed once the file is final
	duration                       *int
}

func (rec *liveRecording) json() liveRecordingJSON {
	return liveRecordingJSON{Name: rec.name, Format: rec.format, State: rec.state, TargetURI: rec.targetURI, Duration: rec.duration}
}

func (rec *liveRecording) apps() []string {
	if rec.ch != nil {
		return rec.ch.apps
	}
	if rec.br != nil {
		return rec.br.apps
	}
	return nil
}

// recordFormats are the formats Asterisk knows; the sim writes only wav.
var recordFormats = map[string]bool{"wav": true}

// storedPath maps a stored recording name to its WAV file, refusing names
// that escape RecordingsDir.
func (s *Server) storedPath(name string) (string, error) {
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return "", errors.New("recording name invalid")
	}
	return filepath.Join(s.cfg.RecordingsDir, filepath.FromSlash(name)+".wav"), nil
}

func (s *Server) recordChannel(w http.ResponseWriter, r *http.Request, p params) {
	if p.integer("maxDurationSeconds", 0) < 0 {
		writeError(w, http.StatusBadRequest, "max_duration_seconds cannot be negative")
		return
	}
	if p.integer("maxSilenceSeconds", 0) < 0 {
		writeError(w, http.StatusBadRequest, "max_silence_seconds cannot be negative")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.control(w, p.get("channelId"))
	if !ok {
		return
	}
	rec, ok := s.newRecording(w, p)
	if !ok {
		return
	}
	if ch.bridge != nil {
		writeError(w, http.StatusConflict, "Channel is in a bridge")
		return
	}
	if ch.recording != nil {
		writeError(w, http.StatusConflict, "Channel is already recording")
		return
	}
	rec.ch, rec.targetURI = ch, "channel:"+ch.id
	s.beginRecording(w, rec, p.boolean("beep", false))
}

func (s *Server) recordBridge(w http.ResponseWriter, r *http.Request, p params) {
	if p.integer("maxDurationSeconds", 0) < 0 {
		writeError(w, http.StatusBadRequest, "max_duration_seconds cannot be negative")
		return
	}
	if p.integer("maxSilenceSeconds", 0) < 0 {
		writeError(w, http.StatusBadRequest, "max_silence_seconds cannot be negative")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[p.get("bridgeId")]
	if b == nil {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	rec, ok := s.newRecording(w, p)
	if !ok {
		return
	}
	if b.recording != nil {
		writeError(w, http.StatusConflict, "Bridge is already recording")
		return
	}
	rec.br, rec.targetURI = b, "bridge:"+b.id
	s.beginRecording(w, rec, p.boolean("beep", false))
}

// newRecording validates the record parameters in Asterisk's order.
func (s *Server) newRecording(w http.ResponseWriter, p params) (*liveRecording, bool) {
	term := p.get("terminateOn")
	switch term {
	case "", "none", "any", "*", "#":
	default:
		writeError(w, http.StatusBadRequest, "terminateOn invalid")
		return nil, false
	}
	ifExists := p.get("ifExists")
	switch ifExists {
	case "", "fail", "overwrite", "append":
	default:
		writeError(w, http.StatusBadRequest, "ifExists invalid")
		return nil, false
	}
	format := p.get("format")
	if !recordFormats[format] {
		writeError(w, http.StatusUnprocessableEntity, "specified format is unknown on this system")
		return nil, false
	}
	name := p.get("name")
	path, err := s.storedPath(name)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Recording name invalid")
		return nil, false
	}
	exists := func() bool { _, err := os.Stat(path); return err == nil }
	if s.recordings[name] != nil || (ifExists == "" || ifExists == "fail") && exists() {
		writeError(w, http.StatusConflict, fmt.Sprintf("Recording '%s' already exists and can not be overwritten", name))
		return nil, false
	}
	rec := &liveRecording{
		name: name, format: format, state: "queued", terminateOn: term, path: path,
		// Each take writes its own temporary file, renamed into place when
		// final, so an overwrite never shares a file with the take before it.
		tmpPath:  fmt.Sprintf("%s.%d.part", path, time.Now().UnixNano()),
		fileDone: make(chan struct{}),
		opts: media.RecordOptions{
			MaxDuration: time.Duration(p.integer("maxDurationSeconds", 0)) * time.Second,
			MaxSilence:  time.Duration(p.integer("maxSilenceSeconds", 0)) * time.Second,
		},
	}
	return rec, true
}

// beginRecording answers 201 and starts: RecordingStarted, an optional beep,
// then audio until #, max duration, silence, stop or hang-up.
func (s *Server) beginRecording(w http.ResponseWriter, rec *liveRecording, beep bool) {
	s.recordings[rec.name] = rec
	s.unfinalized[rec] = struct{}{}
	if rec.ch != nil {
		rec.ch.recording = rec
	} else {
		rec.br.recording = rec
	}
	w.Header().Set("Location", "/recordings/live/"+rec.name)
	writeJSONResponse(w, http.StatusCreated, rec.json())

	rec.state = "recording"
	rec.started = time.Now()
	s.send(rec.apps(), "RecordingStarted", kv{"recording", rec.json()})
	if beep {
		smp, err := s.loadSound("beep", s.cfg.Language)
		if err != nil {
			// Asterisk's rig without a beep file: the recording ends at once,
			// "done" without a duration, and nothing is stored.
			s.log.Warn("File beep does not exist in any format")
			rec.discard = true
			s.fileFinal(rec)
			s.finishRecording(rec, "done", false)
			return
		}
		if rec.ch != nil && rec.ch.leg != nil {
			rec.ch.leg.Play(smp, func(bool) {
				s.mu.Lock()
				defer s.mu.Unlock()
				if rec.state == "recording" {
					s.startRecordingAudio(rec)
				}
			})
			return
		}
	}
	s.startRecordingAudio(rec)
}

func (s *Server) startRecordingAudio(rec *liveRecording) {
	rec.started = time.Now()
	if err := os.MkdirAll(filepath.Dir(rec.path), 0o755); err != nil {
		s.log.Error("recording dir", "err", err)
	}
	done := func(res media.RecordResult) { s.recordingAudioDone(rec, res) }
	var stop func()
	var err error
	switch {
	case rec.ch != nil && rec.ch.leg != nil:
		stop, err = rec.ch.leg.Record(rec.tmpPath, rec.opts, done)
	case rec.br != nil:
		stop, err = rec.br.mb.Record(rec.tmpPath, rec.opts, done)
	default:
		err = errors.New("no media")
	}
	if err != nil {
		s.log.Error("recording failed", "name", rec.name, "err", err)
		s.fileFinal(rec)
		rec.discard = true
		rec.state = "failed"
		s.send(rec.apps(), "RecordingFailed", kv{"recording", rec.json()})
		s.forgetRecording(rec)
		return
	}
	rec.stop = stop
}

// recordingAudioDone runs when the media engine has finalized the file.
func (s *Server) recordingAudioDone(rec *liveRecording, res media.RecordResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.state == "recording" {
		secs := int(res.Duration / time.Second)
		rec.duration = &secs
		if res.Err != nil || res.Reason == media.EndError {
			s.log.Error("recording failed", "name", rec.name, "err", res.Err)
			rec.discard = true
			rec.state = "failed"
			if rec.stop != nil {
				rec.stop()
			}
			s.send(rec.apps(), "RecordingFailed", kv{"recording", rec.json()})
			s.forgetRecording(rec)
		} else {
			// Ended by the engine: max duration or max silence.
			s.finishRecording(rec, "done", false)
		}
	}
	if rec.discard || res.Err != nil {
		os.Remove(rec.tmpPath)
	} else if err := os.Rename(rec.tmpPath, rec.path); err != nil {
		s.log.Error("store recording", "name", rec.name, "err", err)
	}
	s.fileFinal(rec)
}

// fileFinal marks rec's file as final (stored or discarded). Caller holds s.mu.
func (s *Server) fileFinal(rec *liveRecording) {
	delete(s.unfinalized, rec)
	select {
	case <-rec.fileDone:
	default:
		close(rec.fileDone)
	}
}

// finishRecording reports the end of a live recording; the file is stored
// when the engine has finalized it. Caller holds s.mu.
func (s *Server) finishRecording(rec *liveRecording, state string, measure bool) {
	if rec.state != "recording" && rec.state != "queued" {
		return
	}
	if measure && rec.duration == nil {
		secs := int(time.Since(rec.started) / time.Second)
		rec.duration = &secs
	}
	rec.state = state
	if rec.stop != nil {
		rec.stop()
	}
	s.send(rec.apps(), "RecordingFinished", kv{"recording", rec.json()})
	s.forgetRecording(rec)
}

func (s *Server) forgetRecording(rec *liveRecording) {
	if s.recordings[rec.name] == rec {
		delete(s.recordings, rec.name)
	}
	if rec.ch != nil && rec.ch.recording == rec {
		rec.ch.recording = nil
	}
	if rec.br != nil && rec.br.recording == rec {
		rec.br.recording = nil
	}
}

// dtmfForRecording ends a channel recording on its terminateOn digit, after
// the ChannelDtmfReceived event. Caller holds s.mu.
func (s *Server) dtmfForRecording(ch *channel, digit string) {
	rec := ch.recording
	if rec == nil || rec.state != "recording" {
		return
	}
	if rec.terminateOn == "any" || rec.terminateOn == digit {
		s.finishRecording(rec, "done", true)
	}
}

func (s *Server) getLive(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recordings[p.get("recordingName")]
	if rec == nil {
		writeError(w, http.StatusNotFound, "Recording not found")
		return
	}
	writeJSONResponse(w, http.StatusOK, rec.json())
}

func (s *Server) stopLive(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recordings[p.get("recordingName")]
	if rec == nil {
		writeError(w, http.StatusNotFound, "Recording not found")
		return
	}
	s.finishRecording(rec, "done", true)
	noContent(w)
}

// cancelLive stops a recording and discards its file ("canceled").
func (s *Server) cancelLive(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recordings[p.get("recordingName")]
	if rec == nil {
		writeError(w, http.StatusNotFound, "Recording not found")
		return
	}
	rec.discard = true
	s.finishRecording(rec, "canceled", false)
	noContent(w)
}

// waitStored waits briefly for a just-finished recording's file, so a GET
// right after RecordingFinished sees it, as on Asterisk.
func (s *Server) waitStored(name string) {
	s.mu.Lock()
	var pending []chan struct{}
	for _, rec := range s.finishing(name) {
		pending = append(pending, rec.fileDone)
	}
	s.mu.Unlock()
	for _, ch := range pending {
		select {
		case <-ch:
		case <-time.After(2 * time.Second):
		}
	}
}

// finishing lists recordings of name whose files are not final yet.
func (s *Server) finishing(name string) []*liveRecording {
	var out []*liveRecording
	for rec := range s.unfinalized {
		if rec.name == name {
			out = append(out, rec)
		}
	}
	return out
}

func (s *Server) listStored(w http.ResponseWriter, r *http.Request, p params) {
	out := []storedRecordingJSON{}
	root := s.cfg.RecordingsDir
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".wav") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return nil
		}
		out = append(out, storedRecordingJSON{Name: filepath.ToSlash(strings.TrimSuffix(rel, ".wav")), Format: "wav"})
		return nil
	})
	writeJSONResponse(w, http.StatusOK, out)
}

func (s *Server) storedFile(w http.ResponseWriter, name string) (string, bool) {
	s.waitStored(name)
	path, err := s.storedPath(name)
	if err == nil {
		if st, serr := os.Stat(path); serr == nil && !st.IsDir() {
			return path, true
		}
	}
	writeError(w, http.StatusNotFound, "Recording not found")
	return "", false
}

func (s *Server) getStored(w http.ResponseWriter, r *http.Request, p params) {
	name := p.get("recordingName")
	if _, ok := s.storedFile(w, name); !ok {
		return
	}
	writeJSONResponse(w, http.StatusOK, storedRecordingJSON{Name: name, Format: "wav"})
}

func (s *Server) deleteStored(w http.ResponseWriter, r *http.Request, p params) {
	path, ok := s.storedFile(w, p.get("recordingName"))
	if !ok {
		return
	}
	if err := os.Remove(path); err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	noContent(w)
}

func (s *Server) getStoredFile(w http.ResponseWriter, r *http.Request, p params) {
	path, ok := s.storedFile(w, p.get("recordingName"))
	if !ok {
		return
	}
	body, err := os.ReadFile(path)
	if err != nil {
		writeError(w, http.StatusForbidden, "The recording file could not be opened")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
