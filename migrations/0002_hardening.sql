-- API hardening: idempotency keys remember what they were used for, e-mail addresses are one
-- subscriber whatever their case, and a per-platform key makes public ids opaque.

-- SHA-256 of the normalised request that first used the alert's idempotency key: the same key
-- with another request is refused instead of silently answering the first alert. NULL for alerts
-- accepted before this column existed (they replay as before).
ALTER TABLE alerts ADD COLUMN request_hash bytea;

-- Addresses differing only in case are one mailbox in practice (RFC 5321 allows otherwise, no
-- provider a commune uses does). Merge subscribers that are already doubled: the oldest keeps
-- the others' subscriptions, and their phone number when it has none.
CREATE TEMPORARY TABLE merged_subscribers ON COMMIT DROP AS
SELECT id, keep, phone FROM (
    SELECT id, phone,
           first_value(id) OVER (PARTITION BY tenant_id, lower(email) ORDER BY id) AS keep
    FROM subscribers WHERE email IS NOT NULL
) ranked
WHERE id <> keep;

INSERT INTO subscriptions (topic_id, subscriber_id)
SELECT s.topic_id, m.keep FROM subscriptions s JOIN merged_subscribers m ON m.id = s.subscriber_id
ON CONFLICT DO NOTHING;
DELETE FROM subscribers b USING merged_subscribers m WHERE b.id = m.id;
UPDATE subscribers b SET phone = m.phone
FROM (SELECT DISTINCT ON (keep) keep, phone FROM merged_subscribers
      WHERE phone IS NOT NULL ORDER BY keep, id) m
WHERE b.id = m.keep AND b.phone IS NULL;

DROP INDEX subscribers_tenant_email;
CREATE UNIQUE INDEX subscribers_tenant_email ON subscribers (tenant_id, lower(email))
    WHERE email IS NOT NULL;

-- Keys of the platform itself, made once by the first migration that needs them. `public_ids`
-- encrypts subscriber and delivery numbers into the opaque ids the API and providers see, so
-- that `sub_…` tells nobody how many subscribers the platform holds.
CREATE TABLE platform_keys (
    name        text PRIMARY KEY,
    key         bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- gen_random_uuid() draws from the server's strong random source; two of them give 244 random
-- bits, which the daemon hashes down to its 128-bit key.
INSERT INTO platform_keys (name, key)
VALUES ('public_ids', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- Subscriptions lose their foreign keys, for the same reason deliveries have none: checking them
-- cost 2.3 s of a 100,000-row import (two triggers, 200,000 calls each, measured with EXPLAIN
-- ANALYZE), nearly half of it. Subscriptions are written only by store::subscribers::import for
-- a tenant's own topics and subscribers, under the tenant's lock, and removed with them
-- (store::subscribers::remove, store::tenants::delete).
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_topic_id_fkey;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_subscriber_id_fkey;
