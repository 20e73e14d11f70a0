package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"hotline/cases/casestest"
)

func TestRosterCommand(t *testing.T) {
	t.Setenv("HOTLINE_DATABASE_URL", casestest.NewDatabase(t))
	t.Setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0") // read by config, never dialled here
	t.Setenv("HOTLINE_CONFIG", "")
	ctx := context.Background()
	if err := runMigrate(ctx, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runRoster(ctx, &out, args)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("hotline roster %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	night := []string{"-from", "2026-11-27T18:00:00+08:00", "-to", "2026-11-28T09:00:00+08:00"}
	if out := must(append([]string{"add", "-name", "Wang", "-phone", "13900000001", "-order", "2"}, night...)...); out != "added roster entry 1 (Wang)\n" {
		t.Errorf("add said %q", out)
	}
	must(append([]string{"add", "-name", "Li", "-phone", "13900000002", "-order", "1"}, night...)...)
	must(append([]string{"update", "-id", "1", "-name", "Wang", "-phone", "13900000001", "-order", "3", "-active=false"}, night...)...)
	out := must("list", "-at", "2026-11-27T23:00:00+08:00")
	if !strings.Contains(out, "Li") || strings.Contains(out, "Wang") {
		t.Errorf("on duty at 23:00:\n%s", out)
	}
	if out := must("list"); strings.Count(out, "\n") != 3 {
		t.Errorf("list:\n%s", out)
	}
	must("delete", "-id", "2")
	if _, err := run("delete", "-id", "2"); err == nil || !strings.Contains(err.Error(), "no roster entry 2") {
		t.Errorf("deleting twice: %v", err)
	}
	for _, bad := range [][]string{
		{"add", "-name", "X", "-phone", "13900000003", "-from", "yesterday", "-to", "2026-11-28T09:00:00+08:00"},
		{"delete"},
		{"rota"},
	} {
		if _, err := run(bad...); !errors.Is(err, errUsage) {
			t.Errorf("roster %v: %v, want a usage error", bad, err)
		}
	}
	if _, err := run(append([]string{"add", "-name", "X", "-phone", "12-3"}, night...)...); err == nil || !strings.Contains(err.Error(), `phone "12-3"`) {
		t.Errorf("a bad phone: %v", err)
	}
}
