package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/audit"
)

// Auditor writes an audit record inside the caller's transaction.
type Auditor interface {
	AppendWith(ctx context.Context, q audit.Querier, rec audit.Record) (audit.Entry, error)
}

// Store keeps accounts in the agents and agent_skills tables.
type Store struct {
	pool   *pgxpool.Pool
	hasher *Hasher
	audit  Auditor
}

// NewStore returns a store hashing passwords with hasher and recording changes in auditor.
func NewStore(pool *pgxpool.Pool, hasher *Hasher, auditor Auditor) *Store {
	return &Store{pool: pool, hasher: hasher, audit: auditor}
}

const selectAccountSQL = `SELECT a.id, a.login, a.display_name, a.role, a.disabled, a.password_hash IS NOT NULL, a.created_at,
	COALESCE((SELECT json_agg(json_build_object('name', s.skill, 'level', s.level) ORDER BY s.skill)
		FROM agent_skills s WHERE s.agent_id = a.id), '[]'::json)
	FROM agents a`

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Login, &a.DisplayName, &a.Role, &a.Disabled, &a.HasPassword, &a.CreatedAt, &a.Skills)
	return a, err
}

// Create adds an account with its skills and, when given, its password. actor is who does it,
// for the audit log.
func (s *Store) Create(ctx context.Context, actor string, n NewAccount) (Account, error) {
	if err := n.Check(); err != nil {
		return Account{}, fmt.Errorf("create account %s: %w", n.Login, err)
	}
	var hash *string
	if n.Password != "" {
		h, err := s.hasher.Hash(ctx, n.Password)
		if err != nil {
			return Account{}, fmt.Errorf("create account %s: %w", n.Login, err)
		}
		hash = &h
	}
	var id AgentID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO agents (login, display_name, role, password_hash) VALUES ($1, $2, $3, $4)
			RETURNING id`, n.Login, n.DisplayName, string(n.Role), hash).Scan(&id)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fmt.Errorf("%w: %s", ErrLoginTaken, n.Login)
			}
			return err
		}
		skills := map[string]any{}
		for _, sk := range n.Skills {
			if _, err := tx.Exec(ctx, `INSERT INTO agent_skills (agent_id, skill, level) VALUES ($1, $2, $3)`,
				id, sk.Name, sk.Level); err != nil {
				return fmt.Errorf("skill %s: %w", sk.Name, err)
			}
			skills[sk.Name] = sk.Level
		}
		_, err = s.audit.AppendWith(ctx, tx, audit.Record{Actor: actor, Action: audit.AccountCreated, Target: audit.AgentTarget(n.Login),
			Detail: map[string]any{"role": string(n.Role), "display_name": n.DisplayName, "skills": skills, "password_set": hash != nil}})
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("create account %s: %w", n.Login, err)
	}
	return s.GetByID(ctx, id)
}

// SetPassword replaces the password of login. Sessions are not touched here: the caller
// revokes them (auth.Service.RevokeAgent) when a reset should sign the account out.
func (s *Store) SetPassword(ctx context.Context, actor, login, password string) error {
	if err := CheckPassword(login, password); err != nil {
		return fmt.Errorf("set password of %s: %w", login, err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", login, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE agents SET password_hash = $2 WHERE login = $1`, login, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		_, err = s.audit.AppendWith(ctx, tx, audit.Record{Actor: actor, Action: audit.AccountPasswordSet, Target: audit.AgentTarget(login)})
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", login, err)
	}
	return nil
}

// SetDisabled disables or enables login. A disabled account cannot sign in, and its sessions
// stop working at their next request (the session look-up reads the flag).
func (s *Store) SetDisabled(ctx context.Context, actor, login string, disabled bool) (Account, error) {
	action := audit.AccountEnabled
	if disabled {
		action = audit.AccountDisabled
	}
	var id AgentID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE agents SET disabled = $2 WHERE login = $1 RETURNING id`, login, disabled).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = s.audit.AppendWith(ctx, tx, audit.Record{Actor: actor, Action: action, Target: audit.AgentTarget(login)})
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("%s %s: %w", action, login, err)
	}
	return s.GetByID(ctx, id)
}

// Get returns the account with login.
func (s *Store) Get(ctx context.Context, login string) (Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, selectAccountSQL+` WHERE a.login = $1`, login))
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, fmt.Errorf("get account %s: %w", login, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("get account %s: %w", login, err)
	}
	return a, nil
}

// GetByID returns the account with id.
func (s *Store) GetByID(ctx context.Context, id AgentID) (Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, selectAccountSQL+` WHERE a.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, fmt.Errorf("get account %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("get account %d: %w", id, err)
	}
	return a, nil
}

// List returns every account, by login.
func (s *Store) List(ctx context.Context) ([]Account, error) {
	rows, err := s.pool.Query(ctx, selectAccountSQL+` ORDER BY a.login`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Account, error) { return scanAccount(row) })
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// Verify checks a sign-in. It returns the account when password is right and the account
// enabled; otherwise an error wrapping ErrBadCredentials (unknown login, no password set,
// wrong password) or ErrDisabled (right password, disabled account). Every outcome costs one
// hash, so timing does not tell whether a login exists. A hash made with older parameters is
// replaced on success.
func (s *Store) Verify(ctx context.Context, login, password string) (Account, error) {
	if len(password) > MaxPasswordLen {
		return Account{}, fmt.Errorf("verify %s: %w: password longer than %d bytes", login, ErrBadCredentials, MaxPasswordLen)
	}
	var (
		id       AgentID
		hash     *string
		disabled bool
	)
	err := s.pool.QueryRow(ctx, `SELECT id, password_hash, disabled FROM agents WHERE login = $1`, login).Scan(&id, &hash, &disabled)
	unknown := errors.Is(err, pgx.ErrNoRows)
	if unknown || (err == nil && hash == nil) {
		if err := s.hasher.burn(ctx, password); err != nil {
			return Account{}, fmt.Errorf("verify %s: %w", login, err)
		}
		reason := "no password set"
		if unknown {
			reason = "unknown login"
		}
		return Account{}, fmt.Errorf("verify %s: %w: %s", login, ErrBadCredentials, reason)
	}
	if err != nil {
		return Account{}, fmt.Errorf("verify %s: %w", login, err)
	}
	ok, stale, err := s.hasher.Verify(ctx, *hash, password)
	if err != nil {
		return Account{}, fmt.Errorf("verify %s: %w", login, err)
	}
	if !ok {
		return Account{}, fmt.Errorf("verify %s: %w: wrong password", login, ErrBadCredentials)
	}
	if disabled {
		return Account{}, fmt.Errorf("verify %s: %w", login, ErrDisabled)
	}
	if stale {
		if err := s.rehash(ctx, id, *hash, password); err != nil {
			return Account{}, fmt.Errorf("verify %s: %w", login, err)
		}
	}
	return s.GetByID(ctx, id)
}

// rehash stores a hash with the current parameters, unless the password changed meanwhile.
func (s *Store) rehash(ctx context.Context, id AgentID, old, password string) error {
	h, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("upgrade password hash: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE agents SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, old, h); err != nil {
		return fmt.Errorf("upgrade password hash: %w", err)
	}
	return nil
}
