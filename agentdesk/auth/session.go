package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline/accounts"
)

// tokenBytes is the entropy of session and CSRF tokens.
const tokenBytes = 32

var tokenEncoding = base64.RawURLEncoding

func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return tokenEncoding.EncodeToString(b), nil
}

// hashToken is the sessions table key of a cookie token. A cookie that is not a token of
// ours is refused before any query.
func hashToken(token string) ([]byte, bool) {
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}

type sessions struct {
	pool     *pgxpool.Pool
	idle     time.Duration
	absolute time.Duration
}

// touchEvery bounds how often a session's last-seen time is written: a request stream does
// not turn into a stream of writes, at the cost of ending a session up to this much early.
func (s *sessions) touchEvery() time.Duration {
	return min(s.idle/10, time.Minute)
}

type newSession struct {
	token     string
	principal Principal
}

func (s *sessions) create(ctx context.Context, a accounts.Account, clientIP, userAgent string, now time.Time) (newSession, error) {
	token, err := newToken()
	if err != nil {
		return newSession{}, err
	}
	csrf, err := newToken()
	if err != nil {
		return newSession{}, err
	}
	hash, _ := hashToken(token)
	expires := now.Add(s.absolute)
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at, client_ip, user_agent)
		VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`, hash, a.ID, csrf, now, expires, clientIP, userAgent); err != nil {
		return newSession{}, fmt.Errorf("create session for %s: %w", a.Login, err)
	}
	return newSession{token: token, principal: Principal{AgentID: a.ID, Login: a.Login, DisplayName: a.DisplayName, Role: a.Role,
		ExpiresAt: expires, csrf: csrf, tokenHash: hash}}, nil
}

// lookup returns the principal of a live session and records the activity. Expired sessions
// and sessions of disabled accounts are deleted and refused.
func (s *sessions) lookup(ctx context.Context, hash []byte, now time.Time) (Principal, error) {
	var (
		p        Principal
		lastSeen time.Time
		disabled bool
	)
	err := s.pool.QueryRow(ctx, `SELECT s.csrf_token, s.last_seen_at, s.expires_at, a.id, a.login, a.display_name, a.role, a.disabled
		FROM sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = $1`, hash).
		Scan(&p.csrf, &lastSeen, &p.ExpiresAt, &p.AgentID, &p.Login, &p.DisplayName, &p.Role, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up session: %w", err)
	}
	p.tokenHash = hash
	if disabled || !now.Before(p.ExpiresAt) || now.Sub(lastSeen) >= s.idle {
		if err := s.revoke(ctx, hash); err != nil {
			return Principal{}, err
		}
		if disabled {
			return Principal{}, fmt.Errorf("%w (account %s disabled)", ErrNoSession, p.Login)
		}
		return Principal{}, ErrExpired
	}
	if now.Sub(lastSeen) >= s.touchEvery() {
		if _, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2`, hash, now); err != nil {
			return Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return p, nil
}

func (s *sessions) revoke(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

func (s *sessions) revokeAgent(ctx context.Context, id accounts.AgentID) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE agent_id = $1`, id)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of agent %d: %w", id, err)
	}
	return tag.RowsAffected(), nil
}

func (s *sessions) purge(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, now, now.Add(-s.idle))
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
