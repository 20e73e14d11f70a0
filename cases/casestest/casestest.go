// Package casestest gives tests a migrated, private PostgreSQL database on the server that
// scripts/services.sh started (HOTLINE_DATABASE_URL), dropped when the test ends.
package casestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
	"hotline/cases"
)

// ServerURL returns the test server's URL or fails the test with what to do.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("HOTLINE_DATABASE_URL")
	if u == "" {
		t.Fatal("HOTLINE_DATABASE_URL is not set: run `make test`, or `scripts/services.sh up` and `eval \"$(scripts/services.sh env)\"` first")
	}
	return u
}

// NewDatabase creates an empty database for this test and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", redact(base), err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "hotline_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse HOTLINE_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewPool returns a pool on a fresh, migrated database of its own.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 60
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := cases.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return pool
}

// NewStore returns a case store on a fresh, migrated database, numbering cases in region
// 620000, dating them in Asia/Shanghai and auditing in that database's audit log.
func NewStore(t testing.TB) *cases.Store {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(t)
	return cases.NewStore(pool, "620000", loc).WithAudit(audit.New(pool))
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(database URL)"
	}
	return fmt.Sprint(u.Redacted())
}

// CaseState is everything a case form save or a survey may write about case number, as
// one string to compare before and after: the case row, the counts of its trail entries,
// surveys and callback tasks, and of its audit records.
func CaseState(t testing.TB, pool *pgxpool.Pool, number cases.Number) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT concat_ws(' | ',
			(SELECT row_to_json(c)::text FROM cases c WHERE c.number = $1),
			(SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.number = $1),
			(SELECT count(*) FROM callback_surveys v JOIN cases c ON c.id = v.case_id WHERE c.number = $1),
			(SELECT count(*) FROM callback_tasks k JOIN cases c ON c.id = k.case_id WHERE c.number = $1),
			(SELECT count(*) FROM audit_log WHERE target = $2))`, number, audit.CaseTarget(string(number))).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
