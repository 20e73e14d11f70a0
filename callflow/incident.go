package callflow

import (
	"context"

	"hotline/ivr"
)

// Incident says whether incident mode is on, and the prompt announcing it:
// (*incident.Watcher).Announcement, a cached copy of the switch (no database round trip on
// the call path).
type Incident interface {
	Announcement() (prompt string, active bool)
}

// incidentNotice plays the incident announcement before the menu while incident mode is
// on. The mode is read once, at the start of the call: a call already in the menu when the
// switch changes keeps going as it was. Keys pressed during the announcement are ignored.
// It reports false when the controller is shutting down; a caller who hangs up during the
// announcement is left to the menu, which registers the hang-up.
func (c *call) incidentNotice(ctx context.Context) bool {
	if c.r.cfg.Incident == nil {
		return true
	}
	prompt, active := c.r.cfg.Incident.Announcement()
	if !active || prompt == "" {
		return true
	}
	c.log.Info("callflow: incident mode: announcement before the menu", "prompt", prompt)
	if !c.playThrough(ctx, ivr.PromptName(prompt).Media()) {
		return c.aborted == ""
	}
	return true
}

// SetIncident sets the incident switch the calls consult (Config.Incident). Call it before
// Run.
func (r *Runner) SetIncident(i Incident) { r.cfg.Incident = i }
