package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Policy throttles failed sign-ins for one kind of key (a login, a client address).
type Policy struct {
	// MaxFailures failed attempts lock the key for Lock; the count then starts again.
	MaxFailures int
	Lock        time.Duration
	// After n failures the next attempt is refused until BaseDelay*2^(n-1) (at most MaxDelay)
	// has passed since the last one. Zero BaseDelay: no slow-down.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Window forgets failures once this long has passed since the last one.
	Window time.Duration
	// ResetOnSuccess clears the count when a sign-in succeeds. Right for a login; wrong for an
	// address, where one valid account would otherwise wipe the count of a password spray.
	ResetOnSuccess bool
}

func (p Policy) check() error {
	switch {
	case p.MaxFailures < 1:
		return errors.New("max failures must be at least 1")
	case p.Lock <= 0:
		return errors.New("lock duration must be above zero")
	case p.BaseDelay < 0 || p.MaxDelay < p.BaseDelay:
		return errors.New("delays must satisfy 0 <= base delay <= max delay")
	case p.Window <= 0:
		return errors.New("window must be above zero")
	}
	return nil
}

// Delay is how long the next attempt must wait after failures consecutive failures.
func (p Policy) Delay(failures int) time.Duration {
	if failures <= 0 || p.BaseDelay <= 0 {
		return 0
	}
	d := p.BaseDelay
	for i := 1; i < failures; i++ {
		d *= 2
		if d >= p.MaxDelay {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

// counter is a key's row in login_throttle.
type counter struct {
	Failures    int
	LastFailure time.Time // zero: never
	LockedUntil time.Time // zero: not locked
}

// current forgets failures older than the window and a lock that has run out.
func (p Policy) current(c counter, now time.Time) counter {
	if !c.LockedUntil.After(now) {
		c.LockedUntil = time.Time{}
	}
	if !c.LastFailure.IsZero() && now.Sub(c.LastFailure) >= p.Window {
		c.Failures, c.LastFailure = 0, time.Time{}
	}
	return c
}

// wait is how long until an attempt on c is allowed (0: now), and whether that is a lock.
func (p Policy) wait(c counter, now time.Time) (time.Duration, bool) {
	c = p.current(c, now)
	if !c.LockedUntil.IsZero() {
		return c.LockedUntil.Sub(now), true
	}
	if c.Failures == 0 {
		return 0, false
	}
	if c.Failures >= p.MaxFailures {
		// The last allowed attempts are still being checked (their count was taken in advance):
		// their outcome decides, so nothing more is let through meanwhile.
		return max(c.LastFailure.Add(p.Delay(c.Failures)).Sub(now), time.Second), false
	}
	if w := c.LastFailure.Add(p.Delay(c.Failures)).Sub(now); w > 0 {
		return w, false
	}
	return 0, false
}

// throttleKey is a login_throttle key and the policy that governs it.
type throttleKey struct {
	key    string
	policy Policy
}

// refusal says why an attempt was turned away before the password was checked.
type refusal struct {
	key        string // the key that refused longest
	retryAfter time.Duration
	locked     bool
}

// attempt is an admitted sign-in, counted as a failure in advance until settled.
type attempt struct {
	keys       []throttleKey
	reservedAt time.Time
	before     []counter // each key's state before the reservation
}

type throttle struct {
	pool *pgxpool.Pool
}

// begin admits or refuses an attempt. An admitted attempt is counted as a failure at once,
// under a row lock, so that guesses sent in parallel all see each other's count instead of
// all reading "no failures yet"; settle then records the real outcome.
func (t *throttle) begin(ctx context.Context, keys []throttleKey, now time.Time) (attempt, *refusal, error) {
	// Every statement takes the rows in key order, so that concurrent attempts on the same
	// login and address wait for each other instead of deadlocking.
	keys = slices.SortedFunc(slices.Values(keys), func(a, b throttleKey) int { return strings.Compare(a.key, b.key) })
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	a := attempt{keys: keys, reservedAt: now, before: make([]counter, len(keys))}
	var ref *refusal
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		// Rows must exist to be locked.
		if _, err := tx.Exec(ctx, `INSERT INTO login_throttle (key) SELECT k FROM unnest($1::text[]) AS k ORDER BY k
			ON CONFLICT (key) DO NOTHING`, names); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT key, failures, last_failure_at, locked_until FROM login_throttle
			WHERE key = ANY($1) ORDER BY key FOR UPDATE`, names)
		if err != nil {
			return err
		}
		got := map[string]counter{}
		for rows.Next() {
			var (
				key          string
				c            counter
				last, locked *time.Time
			)
			if err := rows.Scan(&key, &c.Failures, &last, &locked); err != nil {
				rows.Close()
				return err
			}
			if last != nil {
				c.LastFailure = *last
			}
			if locked != nil {
				c.LockedUntil = *locked
			}
			got[key] = c
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i, k := range keys {
			c := k.policy.current(got[k.key], now)
			a.before[i] = c
			if w, locked := k.policy.wait(c, now); w > 0 && (ref == nil || w > ref.retryAfter) {
				ref = &refusal{key: k.key, retryAfter: w, locked: locked}
			}
		}
		if ref != nil {
			return nil
		}
		failures := make([]int, len(keys))
		for i, c := range a.before {
			failures[i] = c.Failures + 1
		}
		_, err = tx.Exec(ctx, `UPDATE login_throttle t SET failures = v.failures, last_failure_at = $3, locked_until = NULL
			FROM unnest($1::text[], $2::int[]) AS v(key, failures) WHERE t.key = v.key`, names, failures, now)
		return err
	})
	if err != nil {
		return attempt{}, nil, fmt.Errorf("login throttle: %w", err)
	}
	return a, ref, nil
}

// failed settles a wrong password: keys that reached their limit are locked. It returns how
// long the client must wait before its next attempt is admitted.
func (t *throttle) failed(ctx context.Context, a attempt, now time.Time) (time.Duration, bool, error) {
	var (
		wait   time.Duration
		locked bool
	)
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		for _, k := range a.keys {
			var (
				c            counter
				last, lockAt *time.Time
			)
			err := tx.QueryRow(ctx, `UPDATE login_throttle SET
					locked_until = CASE WHEN failures >= $2 THEN $3 ELSE locked_until END,
					failures = CASE WHEN failures >= $2 THEN 0 ELSE failures END
				WHERE key = $1 RETURNING failures, last_failure_at, locked_until`,
				k.key, k.policy.MaxFailures, now.Add(k.policy.Lock)).Scan(&c.Failures, &last, &lockAt)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // purged meanwhile
			}
			if err != nil {
				return err
			}
			if last != nil {
				c.LastFailure = *last
			}
			if lockAt != nil {
				c.LockedUntil = *lockAt
			}
			if w, l := k.policy.wait(c, now); w > wait {
				wait, locked = w, l
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("login throttle: record failure: %w", err)
	}
	return wait, locked, nil
}

// succeeded settles a right password: keys that reset on success are cleared, the others get
// their advance count back.
func (t *throttle) succeeded(ctx context.Context, a attempt) error {
	return t.undo(ctx, a, true)
}

// neutral settles an attempt that proved nothing about guessing (a disabled account with its
// right password, or an internal error): the advance count is given back.
func (t *throttle) neutral(ctx context.Context, a attempt) error {
	return t.undo(ctx, a, false)
}

func (t *throttle) undo(ctx context.Context, a attempt, success bool) error {
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		for i, k := range a.keys {
			if success && k.policy.ResetOnSuccess {
				if _, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, k.key); err != nil {
					return err
				}
				continue
			}
			// The previous last-failure time comes back only if no other attempt has
			// touched the row since this one reserved it.
			var prev *time.Time
			if b := a.before[i]; !b.LastFailure.IsZero() {
				prev = &b.LastFailure
			}
			if _, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = greatest(failures - 1, 0),
					last_failure_at = CASE WHEN last_failure_at = $2 THEN $3::timestamptz ELSE last_failure_at END
				WHERE key = $1`, k.key, a.reservedAt, prev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("login throttle: settle: %w", err)
	}
	return nil
}

// purge deletes counters that hold nothing any more: no lock running, last failure older
// than window.
func (t *throttle) purge(ctx context.Context, now time.Time, window time.Duration) (int64, error) {
	tag, err := t.pool.Exec(ctx, `DELETE FROM login_throttle
		WHERE (locked_until IS NULL OR locked_until <= $1) AND (last_failure_at IS NULL OR last_failure_at <= $2)`,
		now, now.Add(-window))
	if err != nil {
		return 0, fmt.Errorf("purge login throttle: %w", err)
	}
	return tag.RowsAffected(), nil
}
