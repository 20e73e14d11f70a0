package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline/audit"
	"hotline/cases/casestest"
)

func TestAppendAndFind(t *testing.T) {
	ctx := context.Background()
	pool := casestest.NewPool(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	log := audit.New(pool, audit.WithClock(func() time.Time { return now }))

	appendAt := func(at time.Time, r audit.Record) audit.Entry {
		t.Helper()
		now = at
		e, err := log.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	t0 := now
	first := appendAt(t0, audit.Record{Actor: "alice", Action: audit.LoginSucceeded, Target: audit.AgentTarget("alice"),
		Detail: map[string]any{"ip": "192.0.2.7"}})
	appendAt(t0.Add(time.Minute), audit.Record{Actor: "alice", Action: audit.CaseRead, Target: audit.CaseTarget("620000-20260302-000001")})
	appendAt(t0.Add(2*time.Minute), audit.Record{Actor: "bob", Action: audit.CaseRead, Target: audit.CaseTarget("620000-20260302-000001")})
	appendAt(t0.Add(3*time.Minute), audit.Record{Actor: "alice", Action: audit.CaseChanged, Target: audit.CaseTarget("620000-20260302-000002"),
		Detail: map[string]any{"field": "status", "to": "accepted"}})

	if first.ID == 0 || !first.At.Equal(t0) || first.Detail["ip"] != "192.0.2.7" {
		t.Errorf("first entry %+v", first)
	}

	summary := func(es []audit.Entry) string {
		var parts []string
		for _, e := range es {
			parts = append(parts, e.Actor+"/"+string(e.Action))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		name string
		q    audit.Query
		want string
	}{
		{"everything, newest first", audit.Query{}, "alice/case.changed bob/case.read alice/case.read alice/login.succeeded"},
		{"who read case 1", audit.Query{Target: "case:620000-20260302-000001"}, "bob/case.read alice/case.read"},
		{"what alice did", audit.Query{Actor: "alice"}, "alice/case.changed alice/case.read alice/login.succeeded"},
		{"reads by alice", audit.Query{Actor: "alice", Action: audit.CaseRead}, "alice/case.read"},
		{"since is inclusive", audit.Query{Since: t0.Add(time.Minute)}, "alice/case.changed bob/case.read alice/case.read"},
		{"until is exclusive", audit.Query{Until: t0.Add(2 * time.Minute)}, "alice/case.read alice/login.succeeded"},
		{"range", audit.Query{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, "bob/case.read alice/case.read"},
		{"limit", audit.Query{Limit: 2}, "alice/case.changed bob/case.read"},
		{"nothing", audit.Query{Actor: "carol"}, ""},
	} {
		got, err := log.Find(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if s := summary(got); s != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, s, tc.want)
		}
	}
	changed, err := log.Find(ctx, audit.Query{Action: audit.CaseChanged})
	if err != nil || len(changed) != 1 || changed[0].Detail["to"] != "accepted" || changed[0].Target != "case:620000-20260302-000002" {
		t.Errorf("detail round trip: %+v, %v", changed, err)
	}
}

func TestRejects(t *testing.T) {
	ctx := context.Background()
	pool := casestest.NewPool(t)
	log := audit.New(pool)
	for name, r := range map[string]audit.Record{
		"no actor":        {Action: audit.CaseRead},
		"no action":       {Actor: "alice"},
		"action format":   {Actor: "alice", Action: "Read Case"},
		"action one word": {Actor: "alice", Action: "read"},
	} {
		if _, err := log.Append(ctx, r); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s: Append(%+v) = %v, want ErrInvalid", name, r, err)
		}
	}
	t0 := time.Now()
	for name, q := range map[string]audit.Query{
		"negative limit":      {Limit: -1},
		"limit over the max":  {Limit: audit.MaxLimit + 1},
		"since not before to": {Since: t0, Until: t0},
	} {
		if _, err := log.Find(ctx, q); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s: Find(%+v) = %v, want ErrInvalid", name, q, err)
		}
	}
}

// The log cannot be rewritten, and a record written in a transaction that rolls back is gone
// with the change it described.
func TestAppendOnlyAndTransactional(t *testing.T) {
	ctx := context.Background()
	pool := casestest.NewPool(t)
	log := audit.New(pool)
	e, err := log.Append(ctx, audit.Record{Actor: "alice", Action: audit.CaseRead, Target: "case:x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE audit_log SET actor = 'mallory' WHERE id = $1`, e.ID); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update of an audit entry: %v", err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM audit_log`); err == nil {
		t.Error("delete from the audit log succeeded")
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.AppendWith(ctx, tx, audit.Record{Actor: "alice", Action: audit.CaseChanged, Target: "case:x"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := log.AppendWith(ctx, tx, audit.Record{Actor: "bob", Action: audit.CaseChanged, Target: "case:x"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := log.Find(ctx, audit.Query{Target: "case:x"})
	if err != nil || len(got) != 2 || got[0].Actor != "bob" || got[1].Actor != "alice" || got[1].Action != audit.CaseRead {
		t.Errorf("entries after a rolled-back and a committed append: %+v, %v", got, err)
	}
}
