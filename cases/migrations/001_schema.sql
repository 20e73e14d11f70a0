-- The case store: every contact is a case, every call belongs to a case, and the trail of
-- what happened to a case is append-only.

CREATE TABLE agents (
    id            bigserial PRIMARY KEY,
    login         text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name  text NOT NULL DEFAULT '',
    role          text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash text,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_skills (
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    skill    text NOT NULL CHECK (skill <> ''),
    level    smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (agent_id, skill)
);

CREATE TABLE cases (
    id                     bigserial PRIMARY KEY,
    -- Region code, date in the centre's time zone, sequence of the day: 620000-20261127-000123.
    number                 text NOT NULL UNIQUE CHECK (number ~ '^[1-9][0-9]{5}-[0-9]{8}-[0-9]{6,}$'),
    kind                   text NOT NULL CHECK (kind IN ('consult', 'complaint', 'report', 'suggestion', 'opinion', 'help', 'invalid')),
    channel                text NOT NULL CHECK (channel IN ('phone', 'voicemail', 'web', 'sms', 'wechat', 'letter', 'visit', 'handover_12345')),
    status                 text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'registered', 'dispatched', 'accepted', 'refused', 'mediating', 'closed', 'reopened')),
    received_at            timestamptz NOT NULL,
    region_code            text NOT NULL CHECK (region_code ~ '^[1-9][0-9]{5}$'),
    handling_office        text NOT NULL DEFAULT '',
    registered_by          text NOT NULL DEFAULT '',
    -- Digits only (a leading + kept), so that it can be searched and shown masked.
    caller_number          text NOT NULL DEFAULT '' CHECK (caller_number ~ '^\+?[0-9]*$'),
    complainant_name       text NOT NULL DEFAULT '',
    complainant_address    text NOT NULL DEFAULT '',
    anonymous              boolean NOT NULL DEFAULT false,
    respondent_name        text NOT NULL DEFAULT '',
    respondent_address     text NOT NULL DEFAULT '',
    respondent_credit_code text NOT NULL DEFAULT '',
    respondent_platform    text NOT NULL DEFAULT '',
    request                text NOT NULL DEFAULT '',
    facts                  text NOT NULL DEFAULT '',
    goods_service_class    text NOT NULL DEFAULT '',
    violation_type         text NOT NULL DEFAULT '',
    amount_involved        numeric(14, 2) CHECK (amount_involved >= 0),
    loss_recovered         numeric(14, 2) CHECK (loss_recovered >= 0),
    harm_known_on          date,
    linked_case_id         bigint REFERENCES cases (id),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cases_caller_number_idx ON cases (caller_number, received_at DESC) WHERE caller_number <> '';
CREATE INDEX cases_received_at_idx ON cases (received_at);

CREATE TABLE calls (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases (id),
    -- The Asterisk channel id (unique per Asterisk system).
    channel_id    text NOT NULL UNIQUE,
    direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller_number text NOT NULL DEFAULT '' CHECK (caller_number ~ '^\+?[0-9]*$'),
    called_number text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL,
    answered_at   timestamptz,
    ended_at      timestamptz CHECK (ended_at IS NULL OR ended_at >= started_at),
    outcome       text NOT NULL DEFAULT '',
    -- The IVR path: [{"node": "...", "digit": "...", "at": "..."}, ...]
    ivr_path      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ivr_path) = 'array'),
    agent_id      bigint REFERENCES agents (id)
);

CREATE INDEX calls_case_id_idx ON calls (case_id);

CREATE TABLE case_events (
    id      bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    call_id bigint REFERENCES calls (id),
    at      timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL CHECK (kind ~ '^[a-z][a-z_]*$'),
    actor   text NOT NULL DEFAULT '',
    detail  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object')
);

CREATE INDEX case_events_case_id_idx ON case_events (case_id, id);

CREATE TABLE recordings (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    call_id     bigint REFERENCES calls (id),
    name        text NOT NULL UNIQUE,
    path        text NOT NULL,
    format      text NOT NULL DEFAULT 'wav',
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set by the retention policy; the file is deleted after it.
    purge_after timestamptz
);

CREATE INDEX recordings_case_id_idx ON recordings (case_id);

CREATE TABLE audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL,
    target text NOT NULL DEFAULT '',
    detail jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_at_idx ON audit_log (at);

-- The trail and the audit log are append-only: not even the application's own role can
-- rewrite history, short of dropping the trigger.
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- Case numbers: one sequence per day, created on first use. Sequences hand out numbers
-- without row locks, so concurrent registrations never wait on each other; a number taken by
-- a transaction that rolls back is skipped (numbers are unique and increasing, not gap-free).
CREATE FUNCTION next_case_serial(day date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    seq text := 'case_serial_' || to_char(day, 'YYYYMMDD');
BEGIN
    BEGIN
        RETURN nextval(seq::regclass);
    EXCEPTION WHEN undefined_table THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', seq);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            -- Another registration created it at the same moment.
            NULL;
        END;
        RETURN nextval(seq::regclass);
    END;
END
$$;
