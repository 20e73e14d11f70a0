package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadCalendar(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	allDay := write("all-day.yaml", allDayHours)
	noHoliday := write("no-holiday.yaml", strings.Replace(allDayHours, "  holiday: [\"00:00-24:00\"]\n", "", 1))
	// 2026-11-29 03:00 in Shanghai is a Sunday night: closed by the shipped hours.
	night := time.Date(2026, 11, 28, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name, file string
		open       bool
		err        string
	}{
		{"shipped", "", false, ""},
		{"around the clock", allDay, true, ""},
		{"missing file", filepath.Join(dir, "nope.yaml"), false, "calendar.hours_file"},
		{"day missing", noHoliday, false, "hours.holiday: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal, err := loadCalendar(tt.file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cal.IsOpen(night); got != tt.open {
				t.Errorf("open on Sunday 03:00 Shanghai: %v, want %v", got, tt.open)
			}
		})
	}
}
