-- Voice: the fourth channel, for the households SMS, e-mail and browsers do not reach. A
-- subscriber may have a fixed line (`landline`), reached by voice only; a mobile is called too
-- when the alert names `voice` in its channels.
ALTER TABLE subscribers ADD COLUMN landline text;
ALTER TABLE subscribers DROP CONSTRAINT subscribers_reachable;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_reachable
    CHECK (phone IS NOT NULL OR email IS NOT NULL OR push IS NOT NULL OR landline IS NOT NULL);
CREATE UNIQUE INDEX subscribers_tenant_landline ON subscribers (tenant_id, landline)
    WHERE landline IS NOT NULL;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('sms', 'email', 'push', 'voice'));
ALTER TABLE consents DROP CONSTRAINT consents_channel_check;
ALTER TABLE consents ADD CONSTRAINT consents_channel_check
    CHECK (channel IN ('sms', 'email', 'push', 'voice'));
ALTER TABLE tenant_budgets DROP CONSTRAINT tenant_budgets_channel_check;
ALTER TABLE tenant_budgets ADD CONSTRAINT tenant_budgets_channel_check
    CHECK (channel IN ('sms', 'email', 'push', 'voice'));
ALTER TABLE service_messages DROP CONSTRAINT service_messages_channel_check;
ALTER TABLE service_messages ADD CONSTRAINT service_messages_channel_check
    CHECK (channel IN ('sms', 'email', 'push', 'voice'));
ALTER TABLE budget_warnings DROP CONSTRAINT budget_warnings_channel_check;
ALTER TABLE budget_warnings ADD CONSTRAINT budget_warnings_channel_check
    CHECK (channel IN ('sms', 'email', 'push', 'voice'));

-- Calls cost more and wake people: an alert that names no channels is a call only where the
-- commune turned voice on. Its caller id, where the account lets communes present their own.
ALTER TABLE tenants ADD COLUMN voice_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN voice_caller_id text;

-- Whether the alert's calls go to mobiles too (it named `voice`), not to fixed lines only.
ALTER TABLE alerts ADD COLUMN voice_to_mobiles boolean NOT NULL DEFAULT false;
-- Calls not confirmed are placed again (`[voice] recall_interval_s`, `max_calls`).
ALTER TABLE alerts ADD COLUMN until_acknowledged boolean NOT NULL DEFAULT false;

-- A citizen confirmed the alert: pressed 1 on its call (later: replied OK, clicked its page).
ALTER TABLE deliveries ADD COLUMN acknowledged_at timestamptz;
CREATE INDEX deliveries_acknowledged ON deliveries (alert_id) WHERE acknowledged_at IS NOT NULL;
