package cases_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/audit"
	"hotline/cases"
	"hotline/cases/casestest"
	"hotline/escalation"
)

func TestRosterStore(t *testing.T) {
	pool := casestest.NewPool(t)
	log := audit.New(pool)
	s := cases.NewRosterStore(pool, log)
	ctx := context.Background()
	night := time.Date(2026, 11, 27, 18, 0, 0, 0, shanghai)
	entry := func(name, phone string, order int) escalation.Entry {
		return escalation.Entry{Name: name, Phone: phone, From: night, To: night.Add(15 * time.Hour), Order: order, Active: true}
	}

	bob, err := s.Add(ctx, "admin", entry("bob", "13900000002", 2))
	if err != nil {
		t.Fatal(err)
	}
	alice, err := s.Add(ctx, "admin", entry("alice", "13900000001", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "admin", entry("day shift", "13900000003", 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "admin", escalation.Entry{Name: "x", Phone: "abc", From: night, To: night}); err == nil ||
		!strings.Contains(err.Error(), `phone "abc"`) {
		t.Errorf("an invalid entry: %v", err)
	}
	// The day shift ends before the night: move it.
	day, _ := s.List(ctx)
	ds := day[len(day)-1]
	if ds.Name != "day shift" {
		ds = day[0]
	}
	ds.From, ds.To = night.Add(-9*time.Hour), night
	if _, err := s.Update(ctx, "admin2", ds); err != nil {
		t.Fatal(err)
	}

	on, err := s.OnDuty(ctx, night.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(on) != 2 || on[0].ID != alice.ID || on[1].ID != bob.ID || !on[0].From.Equal(night) {
		t.Fatalf("on duty at night: %+v", on)
	}
	if on, _ := s.OnDuty(ctx, night.Add(-time.Hour)); len(on) != 1 || on[0].Name != "day shift" {
		t.Fatalf("on duty in the afternoon: %+v", on)
	}

	bob.Active = false
	if _, err := s.Update(ctx, "admin2", bob); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.OnDuty(ctx, night.Add(time.Hour)); len(on) != 1 || on[0].ID != alice.ID {
		t.Fatalf("an inactive officer is on duty: %+v", on)
	}
	if err := s.Delete(ctx, "admin", alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "admin", alice.ID); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.Update(ctx, "admin", alice); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("updating a deleted entry: %v", err)
	}

	var actions []string
	es, err := log.Find(ctx, audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(es) - 1; i >= 0; i-- {
		actions = append(actions, es[i].Actor+" "+string(es[i].Action)+" "+es[i].Target)
	}
	want := []string{"admin roster.added " + cases.RosterTarget(bob.ID), "admin roster.added " + cases.RosterTarget(alice.ID),
		"admin roster.added " + cases.RosterTarget(ds.ID), "admin2 roster.updated " + cases.RosterTarget(ds.ID),
		"admin2 roster.updated " + cases.RosterTarget(bob.ID), "admin roster.deleted " + cases.RosterTarget(alice.ID)}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
	if before := es[1].Detail["before"].(map[string]any); before["active"] != true {
		t.Errorf("the update's audit record keeps the entry before: %v", es[1].Detail)
	}
}
