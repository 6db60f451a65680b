-- Numbers that said STOP to a tenant: never texted by that tenant again, whatever an import or
-- the API lists, until the citizen subscribes again by SMS (ALERTE).
CREATE TABLE sms_opt_outs (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, phone)
);

-- Consent: who agreed to hear which topics, on which channel, how and when. `evidence` is what
-- the citizen sent (the SMS keyword).
CREATE TABLE consents (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subscriber_id  bigint NOT NULL,
    channel        text NOT NULL CHECK (channel IN ('sms', 'email')),
    address        text NOT NULL,
    method         text NOT NULL CHECK (method IN ('sms_keyword')),
    topics         text[] NOT NULL,
    evidence       text,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_subscriber ON consents (subscriber_id);

-- The topics a bare ALERTE subscribes to.
ALTER TABLE topics ADD COLUMN by_default boolean NOT NULL DEFAULT true;
