// Package escalation is the after-hours emergency chain as a pure state machine: who is on
// duty at a time (OnDuty), and how a chain of officers is worked through (Chain): dial the
// first officer, play the case summary when they answer, wait for 1 (accept) or 2
// (decline) with an acknowledgement timeout, move to the next officer on a decline, a
// timeout, a hang-up or a call that never connects, and when nobody is left raise an alert
// and start again after a pause, as often as the Policy says.
//
// The machine makes no requests and reads no clock: it is fed Events stamped with their
// time and answers with Actions (dial, play, timers, hang up, hand over, alert, and a Note
// for every step, which the shell writes on the case trail). The shell that carries the
// actions out over ARI is escalation/dutydesk.
package escalation

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// EntryID identifies a roster entry.
type EntryID int64

// Entry is one line of the on-duty roster: an officer reachable at Phone between From
// (inclusive) and To (exclusive), called in ascending Order.
type Entry struct {
	ID     EntryID   `json:"id"`
	Name   string    `json:"name"`
	Phone  string    `json:"phone"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Order  int       `json:"order"`
	Active bool      `json:"active"`
}

// Validate checks an entry an administrator writes; the error names every bad field.
func (e Entry) Validate() error {
	var errs []error
	if strings.TrimSpace(e.Name) == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if !validPhone(e.Phone) {
		errs = append(errs, fmt.Errorf("phone %q: want 3 to 20 digits, an optional leading +", e.Phone))
	}
	if e.From.IsZero() || e.To.IsZero() {
		errs = append(errs, errors.New("from and to are required"))
	} else if !e.To.After(e.From) {
		errs = append(errs, fmt.Errorf("to (%s) must be after from (%s)", e.To.Format(time.RFC3339), e.From.Format(time.RFC3339)))
	}
	if e.Order < 0 {
		errs = append(errs, fmt.Errorf("order %d: must not be negative", e.Order))
	}
	return errors.Join(errs...)
}

func validPhone(p string) bool {
	digits := strings.TrimPrefix(p, "+")
	if len(digits) < 3 || len(digits) > 20 {
		return false
	}
	return strings.Trim(digits, "0123456789") == ""
}

// OnDuty is the chain for an emergency at t: the active entries whose span holds t, by
// Order and then by ID, each officer (phone) once.
func OnDuty(entries []Entry, t time.Time) []Entry {
	var out []Entry
	for _, e := range entries {
		if e.Active && !t.Before(e.From) && t.Before(e.To) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].ID < out[j].ID
	})
	seen := map[string]bool{}
	kept := out[:0]
	for _, e := range out {
		if seen[e.Phone] {
			continue // the same phone twice in one round only rings one person twice
		}
		seen[e.Phone] = true
		kept = append(kept, e)
	}
	return kept
}

// DialString fills pattern's {phone} with the officer's phone, e.g.
// "PJSIP/{phone}@trunk" -> "PJSIP/13900000001@trunk".
func DialString(pattern, phone string) (string, error) {
	if !strings.Contains(pattern, "{phone}") {
		return "", fmt.Errorf("dial pattern %q has no {phone}", pattern)
	}
	if !validPhone(phone) {
		return "", fmt.Errorf("phone %q is not a phone number", phone)
	}
	return strings.ReplaceAll(pattern, "{phone}", phone), nil
}
