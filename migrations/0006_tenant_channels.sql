-- A tenant's own SMS account (a name from the configuration; NULL: the routing default), the
-- sender its SMS show and the From of its e-mails (NULL: the account's). Credentials stay in the
-- configuration: only the account's name is here.
ALTER TABLE tenants
    ADD COLUMN sms_account text,
    ADD COLUMN sms_sender text,
    ADD COLUMN email_from text,
    -- The unguessable part of the URLs providers call back (receipts, inbound SMS): SMSMode and
    -- OVH do not sign their callbacks, so the URL itself authenticates them.
    ADD COLUMN callback_token text NOT NULL
        DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
CREATE UNIQUE INDEX tenants_callback_token ON tenants (callback_token);
