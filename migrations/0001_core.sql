-- Core schema: tenants and their API keys, topics, subscribers, alerts, the outbox that carries
-- alerts to the broker, and one delivery row per subscriber x channel x alert.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Only a keyed hash (HMAC-SHA-256 with the server's secret) of each key is stored.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('admin', 'sender')),
    key_hash    bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE topics (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug        text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, slug)
);

-- A subscriber is one person of one tenant, reachable by phone (E.164), e-mail, or both.
CREATE TABLE subscribers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone       text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE UNIQUE INDEX subscribers_tenant_phone ON subscribers (tenant_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX subscribers_tenant_email ON subscribers (tenant_id, email) WHERE email IS NOT NULL;

CREATE TABLE subscriptions (
    topic_id       uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    subscriber_id  bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    PRIMARY KEY (topic_id, subscriber_id)
);
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id);

CREATE TABLE alerts (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    topic_id         uuid NOT NULL REFERENCES topics (id),
    lane             text NOT NULL CHECK (lane IN ('urgent', 'bulk')),
    channels         text[] NOT NULL,
    subject          text NOT NULL,
    body             text NOT NULL,
    idempotency_key  text,
    recipients       integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Set when fan-out has planned every delivery row.
    planned_at       timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX alerts_tenant_created ON alerts (tenant_id, created_at DESC);

-- Transactional outbox: written with the alert, deleted by the relay once the broker confirmed.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    routing_key  text NOT NULL,
    payload      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to alerts: checking it costs about as much as inserting the row, and fan-out
-- inserts a million rows for a large alert; rows are only ever created by fan-out for an
-- existing alert, and removed with their tenant (store::tenants::delete).
CREATE TABLE deliveries (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id             uuid NOT NULL,
    subscriber_id        bigint NOT NULL,
    channel              text NOT NULL CHECK (channel IN ('sms', 'email')),
    provider             text NOT NULL,
    -- The phone number or e-mail address at planning time, so that sending needs no join and a
    -- subscriber who edits their address mid-alert gets one message, not two.
    address              text NOT NULL,
    status               text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired')),
    attempts             integer NOT NULL DEFAULT 0,
    provider_message_id  text,
    error                text,
    -- When the provider answered the send (accepted or refused).
    sent_at              timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_id, subscriber_id, channel)
);
-- Counting and finding what is still in flight stays cheap on million-row alerts.
CREATE INDEX deliveries_alert_status ON deliveries (alert_id, channel, status);
