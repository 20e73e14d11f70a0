package config

import (
	"fmt"
	"time"
)

// Reports tunes the situation reports (package reports).
type Reports struct {
	// ServiceLevel is the answer threshold of the service level: calls answered by an agent
	// within it count as answered in time.
	ServiceLevel time.Duration `key:"service_level" default:"20s"`
}

// Incident tunes incident mode (package incident).
type Incident struct {
	// Boost is added to the ACD emergency class's head start while incident mode is on.
	Boost time.Duration `key:"boost" default:"24h"`
	// Refresh is how often each controller reads the switch even without a notification.
	Refresh time.Duration `key:"refresh" default:"5s"`
}

// problems checks the section; each problem names its key.
func (r Reports) problems() []error {
	if r.ServiceLevel <= 0 || r.ServiceLevel > time.Hour {
		return []error{fmt.Errorf("reports.service_level: %s is out of range (above zero, at most 1h)", r.ServiceLevel)}
	}
	return nil
}

// problems checks the section; each problem names its key.
func (c Incident) problems() []error {
	var errs []error
	if c.Boost <= 0 {
		errs = append(errs, fmt.Errorf("incident.boost: %s must be above zero", c.Boost))
	}
	if c.Refresh < time.Second || c.Refresh > 10*time.Minute {
		errs = append(errs, fmt.Errorf("incident.refresh: %s is out of range (1s to 10m)", c.Refresh))
	}
	return errs
}
