-- Callback tokens are no longer stored: a token is derived from the tenant's id and the version
-- below, under a key of the server's secret (model::callback_tokens). The random tokens given
-- to providers before are kept as their SHA-256 only, and accepted until the tenant's token is
-- rotated (`tocsin tenant update SLUG --rotate-callback-token`).
ALTER TABLE tenants
    ADD COLUMN callback_token_version integer NOT NULL DEFAULT 1,
    ADD COLUMN legacy_callback_token_hash bytea;
UPDATE tenants SET legacy_callback_token_hash = sha256(convert_to(callback_token, 'UTF8'));
DROP INDEX tenants_callback_token;
ALTER TABLE tenants DROP COLUMN callback_token;
CREATE UNIQUE INDEX tenants_legacy_callback_token ON tenants (legacy_callback_token_hash)
    WHERE legacy_callback_token_hash IS NOT NULL;
