package agentdesk_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/acd"
	"hotline/calendar"
	"hotline/callflow"
	"hotline/cases"
	"hotline/deskcalls"
	"hotline/ivr"
	"hotline/pbx"
	"hotline/recordstore"
)

// soundsDir is the prompts directory `make prompts` fills (.run/sounds at the module root),
// as an absolute path: the browser half runs from the same directory but needs it named.
func soundsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".run", "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "zh", "hotline", "welcome.wav")); err != nil {
		t.Fatalf("prompts missing under %s: run `make prompts` first", dir)
	}
	return dir
}

// fridayClock runs at wall-clock speed from a Friday morning in Shanghai: the menu is the
// day menu whenever the test runs.
type fridayClock struct{ base, start time.Time }

func (c fridayClock) Now() time.Time                                   { return c.base.Add(time.Since(c.start)) }
func (fridayClock) AfterFunc(d time.Duration, f func()) callflow.Timer { return time.AfterFunc(d, f) }

// startCallPath runs the call flow (the shipped menu and calendar) and the distributor's
// queue, ringing agents through line, until the returned stop is called.
func startCallPath(t *testing.T, client *pbx.Client, store *cases.Store, acdStore acd.Store, line *deskcalls.Line,
	deadlines callflow.Deadlines, log *slog.Logger) (stop func()) {
	t.Helper()
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	menu, err := ivr.Default()
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ivr.NewMachine(menu, cal)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := recordstore.New(filepath.Join(t.TempDir(), "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	queue, err := callflow.NewACDQueue(callflow.ACDConfig{Store: acdStore, ACD: acd.DefaultConfig(), Line: line, Bridges: client,
		Tick: 200 * time.Millisecond, Logger: log.With("component", "acd")})
	if err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, shanghaiLoc)
	runner, err := callflow.New(callflow.Config{Calls: client, PBX: client, Cases: callflow.NewCaseStore(store),
		Recordings: recs, Machine: machine, Deadlines: deadlines, Queue: queue,
		Clock: fridayClock{base: friday, start: time.Now()}, Logger: log.With("component", "callflow")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 2)
	go func() { ran <- queue.Run(ctx) }()
	go func() { ran <- runner.Run(ctx) }()
	return func() {
		cancel()
		for range 2 {
			if err := <-ran; err != nil {
				t.Errorf("call path: %v", err)
			}
		}
	}
}
