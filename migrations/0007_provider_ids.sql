-- Providers whose delivery reports name a message only by their own id (OVH: its callback URL
-- is the account's, so it cannot carry our reference): which delivery each of their ids is.
-- Written only for those providers, so that the other deliveries pay nothing for it.
CREATE TABLE provider_message_ids (
    provider     text NOT NULL,
    message_id   text NOT NULL,
    delivery_id  bigint NOT NULL,
    PRIMARY KEY (provider, message_id)
);

-- Reports that arrived before their send's answer was recorded (providers can be that fast):
-- kept, and applied once the id is known. Those never matched are dropped after a day.
CREATE TABLE early_reports (
    provider     text NOT NULL,
    message_id   text NOT NULL,
    tenant_id    uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('delivered', 'failed', 'expired')),
    error        text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, message_id)
);
