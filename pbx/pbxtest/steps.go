package pbxtest

import "hotline/pbx/steps"

// The caller's steps, in the simulated PBX's syntax: the real harness plays them itself on
// its Local channels, read by the same parser as the simulated PBX's callers.

type step = steps.Step

const (
	stepPause   = steps.Pause
	stepDTMF    = steps.DTMF
	stepTone    = steps.Tone
	stepSilence = steps.Silence
	stepFile    = steps.File
	stepPrompt  = steps.Prompt
	stepHangup  = steps.Hangup
	dtmfPress   = steps.DTMFPress
	dtmfPause   = steps.DTMFPause
)

func parseSteps(spec string) ([]step, error) { return steps.Parse(spec) }
