package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
	"hotline/cases/casestest"
)

func TestOfficeCommand(t *testing.T) {
	url := casestest.NewDatabase(t)
	t.Setenv("HOTLINE_DATABASE_URL", url)
	t.Setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0") // read by config, never dialled here
	t.Setenv("HOTLINE_CONFIG", "")
	ctx := context.Background()
	if err := runMigrate(ctx, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runOffice(ctx, &out, args)
		return out.String(), err
	}
	out, err := run("list")
	if err != nil || !strings.Contains(out, "gs-centre") || !strings.Contains(out, "provincial centre, example data") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err = run("add", "--code", "gs-qilihe", "--name-zh", "七里河区局", "--name-en", "Qilihe", "--regions", "620103, 620111"); err != nil {
		t.Fatalf("add: %v %s", err, out)
	}
	if _, err := run("add", "--code", "gs-x", "--name-zh", "x", "--name-en", "x", "--regions", "620103"); err == nil ||
		!strings.Contains(err.Error(), "620103 is listed by both gs-qilihe and gs-x") {
		t.Errorf("add a listed region: %v", err)
	}
	if _, err := run("add", "--code", "gs-y", "--name-zh", "y", "--name-en", "y", "--regions", "6201"); err == nil || !strings.Contains(err.Error(), `regions[0] "6201"`) {
		t.Errorf("add a bad region: %v", err)
	}
	if _, err := run("disable", "--code", "gs-qilihe"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("disable", "--code", "gs-nowhere"); err == nil || !strings.Contains(err.Error(), "gs-nowhere") {
		t.Errorf("disable a missing office: %v", err)
	}
	out, _ = run("list")
	if !strings.Contains(out, "gs-qilihe     no ") {
		t.Errorf("list after disable:\n%s", out)
	}
	for _, bad := range [][]string{{}, {"remove"}, {"disable"}, {"list", "extra"}} {
		if _, err := run(bad...); !errors.Is(err, errUsage) {
			t.Errorf("office %q: %v, want a usage error", bad, err)
		}
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, a := range []audit.Action{officeAdded, officeDisabled} {
		got, err := audit.New(pool).Find(ctx, audit.Query{Action: a, Target: "office:gs-qilihe"})
		if err != nil || len(got) != 1 || !strings.HasPrefix(got[0].Actor, "cli:") {
			t.Errorf("audit %s: %+v %v", a, got, err)
		}
	}
}
