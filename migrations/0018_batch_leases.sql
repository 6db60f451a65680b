-- Leases, one row per batch being sent, so that the sweeper finds ended leases without reading
-- every delivery of an alert in flight (deliveries have no index on their status or lease: it
-- would cost every status change an index write). A sender writes its batch's row before it
-- claims any delivery of it, renews it with the deliveries' leases, and removes it once every
-- outcome is durable. A row whose lease ended is a batch whose sender crashed or stalled: the
-- sweeper puts back what it left `sending` and removes the row once none of it is left.
CREATE TABLE batch_leases (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner        uuid NOT NULL,
    lease_until  timestamptz NOT NULL,
    deliveries   bigint[] NOT NULL
);
CREATE INDEX batch_leases_until ON batch_leases (lease_until);

-- Deliveries being sent when this migration runs get a lease row per owner and alert.
INSERT INTO batch_leases (owner, lease_until, deliveries)
SELECT owner, max(lease_until), array_agg(id)
FROM deliveries WHERE status = 'sending' AND owner IS NOT NULL
GROUP BY owner, alert_id;
