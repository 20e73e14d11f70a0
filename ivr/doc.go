// Package ivr is the hotline's interactive voice response: the menu model, its YAML loader
// and validator, the default 12315 menu, and a pure state machine that runs one call through
// a menu.
//
// The machine is a function, (State, Event) -> (State, []Action). It never reads a clock,
// never sleeps and performs no I/O: the shell (callflow) turns actions into ARI requests and
// timers, and feeds what happens back as events stamped with its own clock. Every event
// carries its time; the hours branch and the call's path use it.
//
// # Menu files
//
// A menu is YAML (ivr/menus/12315.yaml is the default, embedded in the binary):
//
//	start: welcome                 # the first node
//	languages: [zh, en]            # offered; the first is the default
//	language_skills: {en: {english: 1}}   # ACD skills a call in that language needs
//	defaults: {timeout: 8s, retries: 2, inter_digit_timeout: 6s, lookup_timeout: 10s,
//	           invalid_prompt: ..., no_input_prompt: ..., fallback: agent, max_prompt: 3m}
//	nodes:
//	  <id>: {kind: <kind>, prompts: [hotline/x, ...], ...}
//	prompts:
//	  hotline/x: {zh: 文本, en: text}
//
// Fields per kind (input = timeout, retries, invalid_prompt, no_input_prompt, fallback,
// barge_in; digits = digits | min_digits and max_digits, terminator, inter_digit_timeout):
//
//	play           next, barge_in (default false)
//	menu           choices {"1": node, ...}, input
//	language       choices {"1": zh, ...}, next, input
//	collect        next, var, digits, input
//	status_lookup  next (after a found case), statuses {status: prompt}, other_status_prompt,
//	               not_found_prompt, failed_prompt, lookup_timeout, digits, input
//	hours          open, closed, holiday (closed on a public holiday; optional)
//	queue          queue, skills {name: level}, priority, case_kind
//	emergency      queue, skills, case_kind
//	voicemail      case_kind, max_length, max_silence, beep (default true)
//	transfer       number, case_kind
//	hangup         case_kind (default invalid)
//
// Every kind but hours takes prompts. The prompts of input nodes may be interrupted unless
// barge_in is false; the last prompt before a terminal node's action never is.
//
// Load reports every problem with its line: unknown kinds and fields, unknown or missing
// targets, unreachable nodes, duplicate keys (YAML would silently keep one), choices that are
// not one of 0-9 * #, loops that never wait for the caller or that a silent caller never
// leaves, unknown prompts or prompts missing a language, values out of range, and, with
// WithSounds, prompts without a sound file.
//
// # Timers and playbacks
//
// At most one timer runs at a time: while a prompt plays it is a guard (a lost
// PlaybackFinished must not strand a call), while the machine listens it is the no-input or
// inter-digit timeout, and during a case look-up it bounds the look-up. Starting a timer
// cancels the previous one. Ids of timers and playbacks are unique within a call only; the
// shell prefixes them with the channel id where Asterisk needs global uniqueness. Events
// naming a timer or playback that is no longer current are ignored, so a cancel racing a
// timeout or a finish racing a stop is harmless.
//
// # Keys pressed while a prompt plays
//
//   - During an interruptible prompt of a node that waits for input, the key stops the
//     prompt (StopPlayback) and is taken as input at once (barge-in).
//   - During an interruptible prompt that leads on to another node (a play node, a case
//     status), the key stops the prompt and is kept as type-ahead for the next node that
//     waits for input.
//   - During a non-interruptible prompt (the welcome and the recording notice, which every
//     caller must hear) the key is kept as type-ahead.
//   - Type-ahead holds at most MaxTypeahead keys; later keys are dropped. It is consumed in
//     order by the next node that waits for input; an interruptible prompt of that node is
//     then skipped, as if the caller had barged in.
//   - An invalid key or a no-input timeout discards the rest of the type-ahead: the caller's
//     keys have gone astray and they should hear the retry prompt.
//   - Keys during a look-up, and during the last prompt before the call leaves the menu
//     (queue, voicemail, emergency, transfer, goodbye), are dropped.
package ivr
