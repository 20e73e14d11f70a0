package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Escalation is the after-hours emergency chain (escalation, escalation/dutydesk): the
// on-duty officers of the roster are called in order until one presses 1.
type Escalation struct {
	// Enabled sends emergencies nobody on the desk can take now (after hours, or no agent
	// with the emergency skill ready) to the duty officers. Off: they go to the emergency
	// queue like any call.
	Enabled bool `key:"enabled" default:"true"`
	// DialPattern makes an officer's dial string from the roster phone: {phone} is
	// replaced, e.g. PJSIP/{phone}@carrier (the trunk endpoint of asterisk-config/pjsip.conf).
	DialPattern string `key:"dial_pattern" default:"PJSIP/{phone}@carrier"`
	// CallerID is the number the officers' phones show.
	CallerID string `key:"caller_id" default:"12315"`
	// RingTimeout is how long an officer's phone rings before the next officer is called.
	RingTimeout time.Duration `key:"ring_timeout" default:"30s"`
	// AckTimeout is how long an officer has, after the case summary, to press 1 (accept)
	// or 2 (decline); silence counts as a decline.
	AckTimeout time.Duration `key:"ack_timeout" default:"20s"`
	// Retries is how many more rounds of the whole roster follow an exhausted one.
	Retries int `key:"retries" default:"2"`
	// RetryPause is the pause between an exhausted round and the next.
	RetryPause time.Duration `key:"retry_pause" default:"1m"`
	// EmergencySkill is the ACD skill of agents who take emergencies during opening hours.
	EmergencySkill string `key:"emergency_skill" default:"emergency"`
	// WebhookURL receives a JSON POST for every exhausted round. Empty: the alert is only
	// logged and marked failed on the case.
	WebhookURL string `key:"webhook_url"`
	// WebhookToken is sent as "Authorization: Bearer <token>"; from HOTLINE_ESCALATION_WEBHOOK_TOKEN only.
	WebhookToken string `key:"webhook_token" secret:"true"`
	// WebhookTimeout bounds one POST.
	WebhookTimeout time.Duration `key:"webhook_timeout" default:"5s"`
	// WebhookAttempts is how many times one alert is tried (5xx, 429 and network errors).
	WebhookAttempts int `key:"webhook_attempts" default:"3"`
}

// problems checks the section; each problem names its key.
func (e Escalation) problems() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !strings.Contains(e.DialPattern, "{phone}") {
		fail("escalation.dial_pattern: %q has no {phone} (e.g. PJSIP/{phone}@carrier)", e.DialPattern)
	}
	for key, d := range map[string]time.Duration{"ring_timeout": e.RingTimeout, "ack_timeout": e.AckTimeout,
		"retry_pause": e.RetryPause, "webhook_timeout": e.WebhookTimeout} {
		if d <= 0 {
			fail("escalation.%s: %s must be above zero", key, d)
		}
	}
	if e.Retries < 0 || e.Retries > 100 {
		fail("escalation.retries: %d is out of range (0 to 100)", e.Retries)
	}
	if e.WebhookAttempts < 1 || e.WebhookAttempts > 20 {
		fail("escalation.webhook_attempts: %d is out of range (1 to 20)", e.WebhookAttempts)
	}
	if e.WebhookURL != "" {
		if u, err := url.Parse(e.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail("escalation.webhook_url: %q is not an http(s) URL (e.g. https://alerts.example/hooks/12315)", e.WebhookURL)
		}
	}
	if e.EmergencySkill == "" {
		fail("escalation.emergency_skill: is empty")
	}
	return errs
}
