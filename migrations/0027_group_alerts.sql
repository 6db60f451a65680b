-- A group (an intercommunality, a département) alerts several of its member communes at once.
-- The group alert is one row here; each commune gets an ordinary alert of its own (its topic,
-- its sender, its From, its history), tied to it by `group_alert_id`.
CREATE TABLE group_alerts (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    topic           text NOT NULL,
    idempotency_key text,
    request_hash    bytea NOT NULL,
    -- With "communes": "all", the members that have no such topic, by slug.
    left_out        text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, idempotency_key)
);
ALTER TABLE alerts ADD COLUMN group_alert_id uuid REFERENCES group_alerts (id) ON DELETE SET NULL;
CREATE INDEX alerts_group_alert ON alerts (group_alert_id) WHERE group_alert_id IS NOT NULL;

-- A citizen subscribed in several communes of a group alert gets it once per channel: the first
-- commune to plan an address holds it here, by its keyed hash (no address in clear).
CREATE TABLE group_alert_recipients (
    group_alert_id uuid NOT NULL REFERENCES group_alerts (id) ON DELETE CASCADE,
    channel        text NOT NULL,
    address_hash   bytea NOT NULL,
    PRIMARY KEY (group_alert_id, channel, address_hash)
);
