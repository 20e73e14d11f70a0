package config

import (
	"fmt"
	"strings"
	"time"
)

// Callbacks is how callback tasks are worked (callflow.Callbacks): a caller who left a
// message or asked to be called back is dialled from an agent's desk.
type Callbacks struct {
	// DialString reaches a caller: {number} is replaced by the caller's number, e.g.
	// PJSIP/{number}@carrier (the trunk endpoint of asterisk-config/pjsip.conf).
	DialString string `key:"dial_string" default:"PJSIP/{number}@carrier"`
	// CallerID is the number the called person's phone shows.
	CallerID string `key:"caller_id" default:"12315"`
	// DialTimeout is how long the caller's phone rings before the attempt counts as not
	// answered.
	DialTimeout time.Duration `key:"dial_timeout" default:"30s"`
	// OfferTimeout is how long a callback offer rings on an agent's desk.
	OfferTimeout time.Duration `key:"offer_timeout" default:"15s"`
	// MaxAttempts is how many unanswered attempts give a task up.
	MaxAttempts int `key:"max_attempts" default:"3"`
	// RetryAfter is the wait after an unanswered attempt before the next one.
	RetryAfter time.Duration `key:"retry_after" default:"15m"`
	// Poll is how often open tasks are looked at for the distributor.
	Poll time.Duration `key:"poll" default:"10s"`
}

// problems checks the section; each problem names its key.
func (c Callbacks) problems() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	tech, res, ok := strings.Cut(c.DialString, "/")
	if !ok || tech == "" || res == "" || strings.Count(c.DialString, "{number}") != 1 {
		fail("callbacks.dial_string: %q is not TECH/resource with one {number} (e.g. PJSIP/{number}@carrier)", c.DialString)
	}
	for key, d := range map[string]time.Duration{"dial_timeout": c.DialTimeout, "offer_timeout": c.OfferTimeout,
		"retry_after": c.RetryAfter, "poll": c.Poll} {
		if d <= 0 {
			fail("callbacks.%s: %s must be above zero", key, d)
		}
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 20 {
		fail("callbacks.max_attempts: %d is out of range (1 to 20)", c.MaxAttempts)
	}
	return errs
}
