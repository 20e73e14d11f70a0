-- After-hours emergency escalation: the on-duty roster the escalation chain calls, in order.
-- The steps of each escalation are entries on the case's trail (case_events, kinds
-- escalation_*), so no table of their own: the trail is the one record of a case.

-- One line per officer and duty span. Administrators edit it from the desk API or the
-- `hotline roster` command; every change is in the audit log (target roster:<id>).
CREATE TABLE duty_roster (
    id           bigserial PRIMARY KEY,
    officer_name text NOT NULL CHECK (btrim(officer_name) <> ''),
    -- Digits with an optional +; the dial string is made from it by the configured pattern.
    phone        text NOT NULL CHECK (phone ~ '^\+?[0-9]{3,20}$'),
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz NOT NULL CHECK (valid_to > valid_from),
    -- Called in ascending order; ties by id.
    sort_order   integer NOT NULL DEFAULT 0 CHECK (sort_order >= 0),
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT ''
);

-- The chain's question: who is on duty at a time.
CREATE INDEX duty_roster_on_duty_idx ON duty_roster (valid_from, valid_to) WHERE active;
