-- Web Push: the third channel. A browser's push subscription (its PushSubscription JSON:
-- endpoint and keys) is a subscriber of its own: a browser is reached only with its keys, so the
-- subscription is its address, as a number is for SMS. One browser subscribing twice is one
-- subscriber (the endpoint is unique within a tenant).
ALTER TABLE subscribers ADD COLUMN push jsonb;
ALTER TABLE subscribers DROP CONSTRAINT subscribers_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_reachable
    CHECK (phone IS NOT NULL OR email IS NOT NULL OR push IS NOT NULL);
CREATE UNIQUE INDEX subscribers_tenant_push ON subscribers (tenant_id, (push ->> 'endpoint'))
    WHERE push IS NOT NULL;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('sms', 'email', 'push'));

-- Consent by channel and method: the page adds e-mail confirmed by a link and browsers.
ALTER TABLE consents DROP CONSTRAINT consents_channel_check;
ALTER TABLE consents ADD CONSTRAINT consents_channel_check
    CHECK (channel IN ('sms', 'email', 'push'));
ALTER TABLE consents DROP CONSTRAINT consents_method_check;
ALTER TABLE consents ADD CONSTRAINT consents_method_check
    CHECK (method IN ('sms_keyword', 'sms_code', 'commune', 'email_link', 'browser'));
