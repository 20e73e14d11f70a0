-- What the situation reports (情况通报) need that was not yet recorded, and the incident
-- switch.

-- Queue figures of a call: the queue the menu handed it to and when (written by the call
-- flow when it offers the call), and when an agent answered it. Offered calls are those
-- with queued_at; the wait of an answered call is agent_answered_at - queued_at.
ALTER TABLE calls
    ADD COLUMN queue             text NOT NULL DEFAULT '',
    ADD COLUMN queued_at         timestamptz,
    ADD COLUMN agent_answered_at timestamptz,
    ADD CONSTRAINT calls_queue_wait_check CHECK (agent_answered_at IS NULL OR (queued_at IS NOT NULL AND agent_answered_at >= queued_at));

CREATE INDEX calls_queued_at_idx ON calls (queued_at) WHERE queued_at IS NOT NULL;
CREATE INDEX calls_started_at_idx ON calls (started_at);

-- When a case was closed: the time of its latest "closed" trail entry, cleared by a
-- "reopened" one. Kept by a trigger on the trail, so that every writer of a closure (the
-- call flow, the desk's wrap-up, a supervisor) sets it with the entry's own time.
ALTER TABLE cases ADD COLUMN closed_at timestamptz;

CREATE INDEX cases_closed_at_idx ON cases (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX cases_open_due_idx ON cases (due_at) WHERE closed_at IS NULL AND due_at IS NOT NULL;

CREATE FUNCTION case_closed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'closed' THEN
        UPDATE cases SET closed_at = NEW.at WHERE id = NEW.case_id AND (closed_at IS NULL OR closed_at < NEW.at);
    ELSIF NEW.kind = 'reopened' THEN
        UPDATE cases SET closed_at = NULL WHERE id = NEW.case_id AND closed_at <= NEW.at;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER case_events_closed_at AFTER INSERT ON case_events
    FOR EACH ROW WHEN (NEW.kind IN ('closed', 'reopened')) EXECUTE FUNCTION case_closed_at();

UPDATE cases c SET closed_at = e.at
    FROM (SELECT case_id, max(at) AS at FROM case_events WHERE kind = 'closed' GROUP BY case_id) e
    WHERE c.id = e.case_id AND c.status = 'closed';

-- Callback surveys (回访) after a case is closed: one row per attempt. unreachable is an
-- attempt that reached nobody; it counts in no satisfaction figure.
CREATE TABLE callback_surveys (
    id      bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    call_id bigint REFERENCES calls (id),
    at      timestamptz NOT NULL,
    result  text NOT NULL CHECK (result IN ('very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'unreachable')),
    actor   text NOT NULL CHECK (actor <> ''),
    note    text NOT NULL DEFAULT ''
);

CREATE INDEX callback_surveys_at_idx ON callback_surveys (at);
CREATE INDEX callback_surveys_case_idx ON callback_surveys (case_id, at);

-- Incident mode: one row, the switch as it stands, and every change kept in
-- incident_switches (the audit log has them too, with the same reason).
CREATE TABLE incident_mode (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    active     boolean NOT NULL DEFAULT false,
    -- The prompt played before the menu while active (declared in the menu's prompts).
    prompt     text NOT NULL DEFAULT 'hotline/incident',
    -- What the incident is, for people: the desk, the reports, the audit log.
    message    text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    changed_by text NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now(),
    version    bigint NOT NULL DEFAULT 0
);

INSERT INTO incident_mode (id) VALUES (true);

CREATE TABLE incident_switches (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    active  boolean NOT NULL,
    prompt  text NOT NULL,
    message text NOT NULL,
    reason  text NOT NULL CHECK (reason <> ''),
    actor   text NOT NULL CHECK (actor <> '')
);

CREATE TRIGGER incident_switches_append_only BEFORE UPDATE OR DELETE ON incident_switches
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
