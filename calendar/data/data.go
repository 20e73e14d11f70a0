// Package data embeds the calendar's data files: public holidays per year, default opening
// hours and deadline rule sets. See README.md for how to add a year.
package data

import "embed"

// FS holds holidays/*.yaml, hours.yaml and rules/*.yaml.
//
//go:embed holidays/*.yaml hours.yaml rules/*.yaml
var FS embed.FS
