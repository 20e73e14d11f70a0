package agentdesk

import (
	"errors"
	"net/http"
	"os"
	"strconv"

	"hotline/cases"
)

// RecordingFiles opens stored recordings by their path in the store: (*recordstore.Store).
type RecordingFiles interface {
	Open(rel string) (*os.File, error)
}

// WithRecordings mounts GET /api/cases/{number}/recordings/{id}: the audio (WAV) of a
// recording of the case, such as the voicemail a callback offer is about, for a signed-in
// agent or supervisor. Every play is audited as a read of the case (via recording). The
// files are read from files; the case and its recordings from d's case store.
func WithRecordings(d *Desk, files RecordingFiles) Option {
	h := func(w http.ResponseWriter, r *http.Request) {
		number := cases.Number(r.PathValue("number"))
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusBadRequest, "the recording id must be a positive number")
			return
		}
		det, err := d.cfg.Cases.FindByNumber(r.Context(), number)
		if errors.Is(err, cases.ErrNotFound) {
			writeError(w, http.StatusNotFound, "case "+string(number)+" not found")
			return
		}
		if err != nil {
			d.log.Error("recording: read the case", "case", number, "err", err)
			writeError(w, http.StatusInternalServerError, "could not read the case")
			return
		}
		var rec *cases.Recording
		for i := range det.Recordings {
			if det.Recordings[i].ID == cases.RecordingID(id) {
				rec = &det.Recordings[i]
			}
		}
		if rec == nil {
			writeError(w, http.StatusNotFound, "case "+string(number)+" has no recording "+strconv.FormatInt(id, 10))
			return
		}
		if err := d.auditRead(r, "recording", number); err != nil {
			d.log.Error("recording: audit", "case", number, "recording", id, "err", err)
			writeError(w, http.StatusInternalServerError, "could not record the access; the recording is not served")
			return
		}
		f, err := files.Open(rec.Path)
		if err != nil {
			d.log.Error("recording: open", "case", number, "recording", id, "err", err)
			writeError(w, http.StatusNotFound, "the recording's file is missing")
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "could not read the recording")
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Cache-Control", "private, no-store")
		http.ServeContent(w, r, rec.Name+".wav", st.ModTime(), f)
	}
	return WithRoute("GET /api/cases/{number}/recordings/{id}", d.cfg.Auth.RequireRole(deskRoles...)(http.HandlerFunc(h)))
}
