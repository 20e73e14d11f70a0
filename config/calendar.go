package config

// Calendar replaces the shipped calendar settings of the IVR.
type Calendar struct {
	// HoursFile is a calendar settings file in the format of calendar/data/hours.yaml (time
	// zone, unknown-year policy, opening hours per day) that replaces the shipped one for the
	// IVR's open, night and holiday modes. Empty: the shipped settings.
	HoursFile string `key:"hours_file"`
}
