-- Agent desk sign-in: server-side sessions, login throttling, and the audit log indexes that
-- "who read what" look-ups need.

-- A session row is keyed by the SHA-256 of the cookie's random token: the token itself is
-- never stored, so a copy of this table does not let anyone sign in.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    agent_id     bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    -- Sent back in the X-CSRF-Token header of every state-changing request.
    csrf_token   text NOT NULL CHECK (csrf_token <> ''),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- Absolute expiry; the idle expiry is last_seen_at plus the configured idle timeout.
    expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
    client_ip    text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);

CREATE INDEX sessions_agent_id_idx ON sessions (agent_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Failed sign-ins per key ('login:alice', 'ip:203.0.113.7'). Kept in the database rather than
-- in one process so that every controller sees the same counts and a restart forgets nothing.
CREATE TABLE login_throttle (
    key             text PRIMARY KEY CHECK (key ~ '^(login|ip):'),
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz,
    locked_until    timestamptz
);

CREATE INDEX audit_log_target_idx ON audit_log (target, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at);
