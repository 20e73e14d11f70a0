-- A claimed (offered) callback task carries a lease that the controller running the
-- callback renews. A controller that dies lets its leases run out, and any controller's
-- scheduler then gives such tasks back (callback_claim_expired on the trail): no caller
-- waits for ever behind a claim that nobody holds.
ALTER TABLE callback_tasks ADD COLUMN lease_until timestamptz;

-- Claims made before leases existed have no controller renewing them: let them run out.
UPDATE callback_tasks SET lease_until = now() WHERE status = 'offered';

CREATE INDEX callback_tasks_lease_idx ON callback_tasks (lease_until) WHERE status = 'offered';
