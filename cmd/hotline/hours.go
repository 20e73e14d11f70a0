package main

import (
	"fmt"
	"os"

	"hotline/calendar"
)

// loadCalendar is the IVR's calendar: the shipped one, or the shipped holidays with the
// settings of the file named by calendar.hours_file.
func loadCalendar(hoursFile string) (*calendar.Calendar, error) {
	if hoursFile == "" {
		return calendar.Default()
	}
	src, err := os.ReadFile(hoursFile)
	if err != nil {
		return nil, fmt.Errorf("calendar.hours_file: %w", err)
	}
	cfg, err := calendar.ParseConfig(hoursFile, src)
	if err != nil {
		return nil, fmt.Errorf("calendar.hours_file: %w", err)
	}
	h, err := calendar.ShippedHolidays()
	if err != nil {
		return nil, fmt.Errorf("shipped holidays: %w", err)
	}
	cal, err := calendar.New(cfg, h)
	if err != nil {
		return nil, fmt.Errorf("calendar.hours_file %s: %w", hoursFile, err)
	}
	return cal, nil
}
