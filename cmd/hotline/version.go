package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func runVersion(out io.Writer, _ []string) error {
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev != "" {
		_, err := fmt.Fprintf(out, "hotline %s (%s)\n", version, rev)
		return err
	}
	_, err := fmt.Fprintf(out, "hotline %s\n", version)
	return err
}
