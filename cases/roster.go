package cases

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
	"hotline/escalation"
)

// RosterAuditor writes an audit record inside the caller's transaction: (*audit.Log).
type RosterAuditor interface {
	AppendWith(ctx context.Context, q audit.Querier, rec audit.Record) (audit.Entry, error)
}

// Audit actions of roster changes.
const (
	RosterAdded   audit.Action = "roster.added"
	RosterUpdated audit.Action = "roster.updated"
	RosterDeleted audit.Action = "roster.deleted"
)

// RosterTarget is the audit target of a roster entry.
func RosterTarget(id escalation.EntryID) string { return "roster:" + strconv.FormatInt(int64(id), 10) }

// RosterStore keeps the on-duty roster of the escalation chain (table duty_roster). Every
// change is audited in the same transaction.
type RosterStore struct {
	pool  *pgxpool.Pool
	audit RosterAuditor
}

// NewRosterStore returns the roster store; auditor records every change.
func NewRosterStore(pool *pgxpool.Pool, auditor RosterAuditor) *RosterStore {
	return &RosterStore{pool: pool, audit: auditor}
}

const selectRosterSQL = `SELECT id, officer_name, phone, valid_from, valid_to, sort_order, active FROM duty_roster`

func scanEntries(rows pgx.Rows) ([]escalation.Entry, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (escalation.Entry, error) {
		var e escalation.Entry
		err := r.Scan(&e.ID, &e.Name, &e.Phone, &e.From, &e.To, &e.Order, &e.Active)
		return e, err
	})
}

// List returns every entry, by span and order.
func (s *RosterStore) List(ctx context.Context) ([]escalation.Entry, error) {
	rows, err := s.pool.Query(ctx, selectRosterSQL+` ORDER BY valid_from, sort_order, id`)
	if err != nil {
		return nil, fmt.Errorf("list roster: %w", err)
	}
	out, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("list roster: %w", err)
	}
	return out, nil
}

// OnDuty returns the chain for an emergency at t (escalation.OnDuty over the active
// entries whose span holds t).
func (s *RosterStore) OnDuty(ctx context.Context, t time.Time) ([]escalation.Entry, error) {
	rows, err := s.pool.Query(ctx, selectRosterSQL+` WHERE active AND valid_from <= $1 AND valid_to > $1`, t)
	if err != nil {
		return nil, fmt.Errorf("roster on duty at %s: %w", t.Format(time.RFC3339), err)
	}
	out, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("roster on duty at %s: %w", t.Format(time.RFC3339), err)
	}
	return escalation.OnDuty(out, t), nil
}

// Get returns one entry; ErrNotFound when there is none.
func (s *RosterStore) Get(ctx context.Context, id escalation.EntryID) (escalation.Entry, error) {
	return s.get(ctx, s.pool, id)
}

func (s *RosterStore) get(ctx context.Context, q querier, id escalation.EntryID) (escalation.Entry, error) {
	rows, err := q.Query(ctx, selectRosterSQL+` WHERE id = $1`, id)
	if err != nil {
		return escalation.Entry{}, fmt.Errorf("roster entry %d: %w", id, err)
	}
	out, err := scanEntries(rows)
	if err != nil {
		return escalation.Entry{}, fmt.Errorf("roster entry %d: %w", id, err)
	}
	if len(out) == 0 {
		return escalation.Entry{}, fmt.Errorf("roster entry %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

func entryDetail(e escalation.Entry) map[string]any {
	// The phone is kept whole: the audit log is where an administrator checks who was
	// reachable at which number on a night.
	return map[string]any{"name": e.Name, "phone": e.Phone, "from": e.From, "to": e.To, "order": e.Order, "active": e.Active}
}

// Add stores a new entry (its ID is ignored) and returns it with its ID. actor is who
// does it, for the audit log.
func (s *RosterStore) Add(ctx context.Context, actor string, e escalation.Entry) (escalation.Entry, error) {
	if err := e.Validate(); err != nil {
		return escalation.Entry{}, fmt.Errorf("add roster entry: %w", err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO duty_roster (officer_name, phone, valid_from, valid_to, sort_order, active, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, e.Name, e.Phone, e.From, e.To, e.Order, e.Active, actor).Scan(&e.ID)
		if err != nil {
			return err
		}
		_, err = s.audit.AppendWith(ctx, tx, audit.Record{Actor: actor, Action: RosterAdded, Target: RosterTarget(e.ID), Detail: entryDetail(e)})
		return err
	})
	if err != nil {
		return escalation.Entry{}, fmt.Errorf("add roster entry for %s: %w", e.Name, err)
	}
	return s.Get(ctx, e.ID)
}

// Update replaces entry e.ID; ErrNotFound when there is none. The audit record keeps the
// entry before and after.
func (s *RosterStore) Update(ctx context.Context, actor string, e escalation.Entry) (escalation.Entry, error) {
	if err := e.Validate(); err != nil {
		return escalation.Entry{}, fmt.Errorf("update roster entry %d: %w", e.ID, err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err := s.get(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE duty_roster SET officer_name = $2, phone = $3, valid_from = $4, valid_to = $5,
			sort_order = $6, active = $7, updated_at = now(), updated_by = $8 WHERE id = $1`,
			e.ID, e.Name, e.Phone, e.From, e.To, e.Order, e.Active, actor); err != nil {
			return err
		}
		_, err = s.audit.AppendWith(ctx, tx, audit.Record{Actor: actor, Action: RosterUpdated, Target: RosterTarget(e.ID),
			Detail: map[string]any{"before": entryDetail(before), "after": entryDetail(e)}})
		return err
	})
	if err != nil {
		return escalation.Entry{}, fmt.Errorf("update roster entry %d: %w", e.ID, err)
	}
	return s.Get(ctx, e.ID)
}

// Delete removes entry id; ErrNotFound when there is none. The audit record keeps what
// was removed.
func (s *RosterStore) Delete(ctx context.Context, actor string, id escalation.EntryID) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM duty_roster WHERE id = $1`, id); err != nil {
			return err
		}
		_, err = s.audit.AppendWith(ctx, tx, audit.Record{Actor: actor, Action: RosterDeleted, Target: RosterTarget(id), Detail: entryDetail(before)})
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("delete roster entry %d: %w", id, err)
	}
	return nil
}
