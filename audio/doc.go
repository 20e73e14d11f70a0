// Package audio holds the project's telephone-audio primitives: G.711 µ-law
// (PCMU), 8 kHz 16-bit mono WAV files, tone generation, and the Goertzel
// detector used throughout the tests to prove who hears whom (caller 440 Hz,
// agent 880 Hz, supervisor 1300 Hz).
//
// All audio is 8 kHz signed 16-bit linear mono.
package audio

import "time"

const (
	// SampleRate is the sample rate of all audio in the project, in Hz.
	SampleRate = 8000
	// FrameSamples is the number of samples in one 20 ms frame (one RTP packet).
	FrameSamples = 160
	// FrameDuration is the duration of one frame.
	FrameDuration = 20 * time.Millisecond
)

// Duration returns how long n samples last at SampleRate.
func Duration(n int) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

// SamplesFor returns how many samples last d at SampleRate (rounded down).
func SamplesFor(d time.Duration) int {
	return int(d * SampleRate / time.Second)
}
