package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/cases/casestest"
)

// lockedBuffer is written by the demo's goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoRegistersEveryCall runs `hotline demo` as make run does, on the embedded
// simulated PBX and the real services, with two callers who hang up in the menu: both
// calls end and both become invalid cases.
func TestDemoRegistersEveryCall(t *testing.T) {
	sounds, err := filepath.Abs("../../.run/sounds")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sounds, "zh", "hotline", "welcome.wav")); err != nil {
		t.Fatalf("prompts missing in %s: run `make prompts` first", sounds)
	}
	t.Setenv("HOTLINE_DATABASE_URL", casestest.NewDatabase(t))
	if os.Getenv("HOTLINE_REDIS_URL") == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`")
	}
	t.Setenv("HOTLINE_HTTP_LISTEN", freeAddr(t))
	t.Setenv("HOTLINE_LOG_LEVEL", "warn")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out lockedBuffer
	err = runDemo(ctx, &out, []string{"-config", "../../hotline.example.yaml", "-sim-listen", freeAddr(t),
		"-sounds", sounds, "-data", t.TempDir(), "-rate", "120", "-calls", "2", "-caller", "hangup", "-summary", "1h"})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("demo did not finish its two calls in time:\n%s", out.String())
	}
	final := regexp.MustCompile(`calls placed 2, ended 2, failed Stasis 0 \| cases 2 \(invalid/phone 2\)`)
	if !final.MatchString(out.String()) {
		t.Fatalf("summary does not show two invalid cases:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "hotline sim call -sim http://") {
		t.Errorf("the demo does not tell how to place a call:\n%s", out.String())
	}
}

func TestDemoRejectsAnUnknownCaller(t *testing.T) {
	err := runDemo(context.Background(), &bytes.Buffer{}, []string{"-caller", "poet"})
	if err == nil || !strings.Contains(err.Error(), `-caller "poet" is not one of complaint, report, consult, hangup, lookup, silent`) {
		t.Fatalf("err = %v", err)
	}
}
