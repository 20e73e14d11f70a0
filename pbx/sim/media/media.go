// Package media is the simulated PBX's media engine: it moves real audio
// between the legs (channels) of the simulated Asterisk, mixes bridges,
// plays and records, carries ExternalMedia legs as real PCMU RTP over UDP,
// and implements snoop (spy and whisper).
//
// Audio inside the engine is 8 kHz signed 16-bit linear mono in 20 ms frames
// of 160 samples. One goroutine, the engine's clock, computes every leg's
// frame each tick; sources are read and OnHear taps run on that goroutine.
//
// Callbacks never run while the engine holds its lock, so they may call back
// into the engine (close a leg, start a recording, ...), and callers may hold
// their own locks while calling the engine. Play and Record done functions
// run in order on one callback goroutine of the engine, never inside the
// call (stop, Close) that ended them. OnHear taps run on the clock goroutine
// and should return quickly. No callback may call Engine.Tick or
// Engine.Close.
package media

import (
	"log/slog"
	"strconv"
	"time"

	"hotline/audio"
)

// FrameSamples is the number of samples in one 20 ms frame.
const FrameSamples = audio.FrameSamples

// FrameDuration is the engine's tick and the length of one frame.
const FrameDuration = audio.FrameDuration

// Option configures an Engine.
type Option func(*Engine)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) { e.log = l }
}

// WithManualClock makes the engine tick only when Tick is called, for
// deterministic tests. Without it the engine ticks every 20 ms of real time.
func WithManualClock() Option {
	return func(e *Engine) { e.manual = true }
}

// Source is what a party sends: Next fills one frame (FrameSamples samples)
// each tick. A Source is read only by the engine's clock goroutine, so it
// needs no locking, but one Source must not be given to two legs.
type Source interface {
	Next(frame []int16)
}

// Tone returns a source that sends a continuous sine of freqHz at amplitude,
// a fraction of full scale (0..1, e.g. 0.3).
func Tone(freqHz, amplitude float64) Source {
	return toneSource{audio.NewToneGenerator(freqHz, amplitude)}
}

// Samples returns a source that sends s once and then silence.
func Samples(s []int16) Source { return &samplesSource{s: s} }

// Silence returns a source that sends silence.
func Silence() Source { return silenceSource{} }

// Direction selects the audio of a snoop: In is what the target sends (the
// caller's voice on a caller's channel), Out is what the target hears.
type Direction int

// Snoop directions, named as ARI's spy and whisper parameters.
const (
	None Direction = iota
	In
	Out
	Both
)

// String returns the ARI spelling ("none", "in", "out", "both").
func (d Direction) String() string {
	switch d {
	case None:
		return "none"
	case In:
		return "in"
	case Out:
		return "out"
	case Both:
		return "both"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

func (d Direction) hasIn() bool  { return d == In || d == Both }
func (d Direction) hasOut() bool { return d == Out || d == Both }

// RecordOptions bound a recording. Zero means no limit.
type RecordOptions struct {
	// MaxDuration ends the recording once it is this long.
	MaxDuration time.Duration
	// MaxSilence ends the recording after this much uninterrupted silence
	// (audio below audio.SilenceRMS).
	MaxSilence time.Duration
}

// EndReason says why a recording ended.
type EndReason int

// Why a recording ended.
const (
	EndStopped     EndReason = iota // stop() was called
	EndMaxDuration                  // RecordOptions.MaxDuration reached
	EndMaxSilence                   // RecordOptions.MaxSilence of silence
	EndHangup                       // the leg (or the engine) was closed
	EndError                        // writing the file failed; see Err
)

// String names the reason.
func (r EndReason) String() string {
	switch r {
	case EndStopped:
		return "stopped"
	case EndMaxDuration:
		return "max-duration"
	case EndMaxSilence:
		return "max-silence"
	case EndHangup:
		return "hangup"
	case EndError:
		return "error"
	}
	return "EndReason(" + strconv.Itoa(int(r)) + ")"
}

// RecordResult describes a finished recording. The file at Path is a
// complete, valid WAV whatever the reason (unless Err says otherwise).
type RecordResult struct {
	Path     string
	Duration time.Duration // audio in the file
	Talking  time.Duration // of which not silence
	Silent   bool          // the whole recording was silence
	Reason   EndReason
	Bytes    int64 // size of the file
	Err      error
}

// Stats counts a leg's RTP traffic (ExternalMedia legs only).
type Stats struct {
	PacketsSent     uint64
	PacketsReceived uint64 // PCMU packets accepted into the leg
	PacketsDropped  uint64 // received packets that were not PCMU RTP, or overflowed the buffer
}
