package sim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain lets the parallel scenario tests overlap beyond GOMAXPROCS:
// they spend their time waiting on real-time callers, not on the CPU.
// An explicit -parallel wins.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			explicit = true
		}
	})
	if !explicit {
		_ = flag.Set("test.parallel", "16")
	}
	code := m.Run()
	// Every parameter any test made an operation read must be described.
	if models, err := loadModelsDir(sharedAPIDir()); err == nil && code == 0 {
		for _, e := range allParams.undeclared(models) {
			fmt.Fprintln(os.Stderr, "conformance:", e)
			code = 1
		}
	}
	os.Exit(code)
}

// allParams records the parameters read in every server startServer made.
var allParams = &paramRecorder{}

func sharedAPIDir() string {
	base := os.Getenv("HOTLINE_SHARED_DIR")
	if base == "" {
		base = filepath.Join("..", "..", "..", "shared")
	}
	return filepath.Join(base, "asterisk-ari-api")
}
