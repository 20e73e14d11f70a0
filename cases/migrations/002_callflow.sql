-- What the call flow needs: statutory due times on cases, answered calls, and callback
-- tasks (voicemails and missed calls worked later by agents).

ALTER TABLE cases
    ADD COLUMN due_at timestamptz,
    -- The deadline rule set in force when the case was received (rules change over time;
    -- a case keeps its own).
    ADD COLUMN deadline_rule text NOT NULL DEFAULT '';

CREATE TABLE callback_tasks (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    call_id      bigint REFERENCES calls (id),
    reason       text NOT NULL CHECK (reason IN ('voicemail', 'abandoned', 'requested', 'missed')),
    caller_number text NOT NULL CHECK (caller_number ~ '^\+?[0-9]*$'),
    language     text NOT NULL DEFAULT 'zh',
    queue        text NOT NULL DEFAULT '',
    skills       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(skills) = 'object'),
    priority     text NOT NULL DEFAULT 'callback',
    -- A callback the caller asked for while waiting keeps the caller's place: the original
    -- enqueue time orders it among waiting calls.
    enqueued_at  timestamptz NOT NULL,
    due_at       timestamptz,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'offered', 'done', 'cancelled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz
);

CREATE INDEX callback_tasks_open_idx ON callback_tasks (enqueued_at) WHERE status = 'open';
CREATE INDEX callback_tasks_case_idx ON callback_tasks (case_id);
