-- A citizen's data is kept only as long as it is needed (RGPD).
--
-- Opt-outs keep a keyed hash of the number or address, never the address itself: enough to
-- stop a later import from subscribing someone who left, without keeping who they are. The key
-- is the platform's own (like `public_ids`), made here from the server's strong random source.
-- pgcrypto is a trusted extension (PostgreSQL 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

INSERT INTO platform_keys (name, key)
VALUES ('opt_outs', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))
ON CONFLICT (name) DO NOTHING;

-- E.164 numbers are written one way; e-mail addresses are compared without case, as subscribers
-- are matched.
CREATE FUNCTION address_hash(address text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT hmac(convert_to(lower(address), 'UTF8'),
                (SELECT key FROM platform_keys WHERE name = 'opt_outs'), 'sha256')
$$;

CREATE TABLE opt_outs (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel       text NOT NULL CHECK (channel IN ('sms', 'email')),
    address_hash  bytea NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel, address_hash)
);
INSERT INTO opt_outs (tenant_id, channel, address_hash, at)
SELECT tenant_id, 'sms', address_hash(phone), at FROM sms_opt_outs;
DROP TABLE sms_opt_outs;

-- Past deliveries lose their address when their subscriber leaves or after the retention period;
-- what statistics need (alert, channel, provider, status, times) stays.
ALTER TABLE deliveries ALTER COLUMN address DROP NOT NULL;

-- A withdrawn consent keeps when, how and for what it was given, not to whom.
ALTER TABLE consents ALTER COLUMN address DROP NOT NULL;
ALTER TABLE consents ADD COLUMN withdrawn_at timestamptz;

-- Subscribers (or one of their channels) removed whose past deliveries still carry the
-- address: deliveries have no index on the subscriber (planning a million rows would pay for
-- it), so the retention sweep clears them all in one pass and removes these rows.
CREATE TABLE erasures (
    subscriber_id  bigint NOT NULL,
    channel        text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber_id, channel)
);
