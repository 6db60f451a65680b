-- Delivery guarantees: retries, leases, expiry, and a record of every failed attempt.

-- `retrying`: a transient failure waits in a retry tier for its next attempt.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK
    (status IN ('queued', 'sending', 'retrying', 'sent', 'delivered', 'failed', 'expired'));

-- A claimed row has an owner (the instance that sends it) and a lease: nobody else takes it
-- before the lease ends, whatever the broker redelivers. A retrying row knows when it is due.
ALTER TABLE deliveries
    ADD COLUMN owner uuid,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN next_attempt_at timestamptz;

-- No index of their own: the sweeper looks for them among the rows of open alerts, through
-- deliveries_alert_status. (Partial indexes on `sending` and `retrying` rows were tried: the
-- planner then read the outcome UPDATE's rows through them, bloated by rows that had moved on,
-- and recording outcomes cost twice as much; found with pg_stat_statements and EXPLAIN.)

-- Every alert has a deadline after which nothing more is sent; `closed_at` is set once nothing
-- of it is pending any more (or its leftovers were expired).
ALTER TABLE alerts ADD COLUMN expires_at timestamptz, ADD COLUMN closed_at timestamptz;
UPDATE alerts SET expires_at = created_at
    + CASE lane WHEN 'urgent' THEN interval '6 hours' ELSE interval '24 hours' END;
ALTER TABLE alerts ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX alerts_open ON alerts (expires_at) WHERE closed_at IS NULL;

-- Every attempt that did not end in the provider's acceptance (the accepted one is the delivery
-- row itself: `sent_at`, `provider`, `provider_message_id`). No foreign key, as for deliveries.
CREATE TABLE delivery_attempts (
    delivery_id  bigint NOT NULL,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL,
    provider     text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('transient', 'rate_limited', 'permanent')),
    reason       text,
    PRIMARY KEY (delivery_id, attempt)
);
