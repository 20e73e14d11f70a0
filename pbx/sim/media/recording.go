package media

import (
	"fmt"
	"time"

	"hotline/audio"
)

// recording streams frames into a WAV file and watches its limits. Only
// the tick writes to it while it is attached; whoever detaches it (under
// e.mu, setting ended) finalizes it.
type recording struct {
	path string
	opt  RecordOptions
	w    *audio.WAVWriter
	done func(RecordResult)

	ended     bool // guarded by e.mu
	frames    int
	talking   int // frames above the silence threshold
	silentRun int // consecutive silent frames at the end
	err       error
}

func newRecording(path string, opt RecordOptions, done func(RecordResult)) (*recording, error) {
	w, err := audio.CreateWAV(path)
	if err != nil {
		return nil, err
	}
	return &recording{path: path, opt: opt, w: w, done: done}, nil
}

// write appends one frame and reports whether a limit (or an error) ends
// the recording.
func (r *recording) write(f []int16) (EndReason, bool) {
	if err := r.w.Write(f); err != nil {
		r.err = fmt.Errorf("media: write recording: %w", err)
		return EndError, true
	}
	r.frames++
	if audio.IsSilent(f) {
		r.silentRun++
	} else {
		r.talking++
		r.silentRun = 0
	}
	if d := r.opt.MaxDuration; d > 0 && framesDuration(r.frames) >= d {
		return EndMaxDuration, true
	}
	if d := r.opt.MaxSilence; d > 0 && framesDuration(r.silentRun) >= d {
		return EndMaxSilence, true
	}
	return 0, false
}

// finish finalizes the file and describes it.
func (r *recording) finish(reason EndReason) RecordResult {
	err := r.w.Close()
	if r.err != nil {
		err = r.err
	}
	if err != nil {
		reason = EndError
	}
	return RecordResult{
		Path:     r.path,
		Duration: audio.Duration(int(r.w.Samples())),
		Talking:  framesDuration(r.talking),
		Silent:   r.talking == 0,
		Reason:   reason,
		Bytes:    r.w.Bytes(),
		Err:      err,
	}
}

func framesDuration(n int) time.Duration { return time.Duration(n) * FrameDuration }
