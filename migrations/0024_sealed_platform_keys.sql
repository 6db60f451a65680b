-- The platform's own keys (public ids, the opt-out list's keyed hashes) no longer sit in clear
-- beside what they protect: a copy of the database alone must not let anyone reverse every
-- opt-out hash (all French mobile numbers can be tried in minutes). The daemon seals each one
-- under a key derived from the server's secret on its first start after this migration
-- (store::platform) and keeps only the sealed value.
ALTER TABLE platform_keys ADD COLUMN sealed bytea;
ALTER TABLE platform_keys ALTER COLUMN key DROP NOT NULL;
ALTER TABLE platform_keys ADD CONSTRAINT platform_keys_clear_or_sealed
    CHECK (key IS NOT NULL OR sealed IS NOT NULL);

-- The opt-out hash is keyed by the session's `tocsin.opt_out_key`, which the daemon gives each
-- connection it opens; a session without it fails instead of hashing with no key.
CREATE OR REPLACE FUNCTION address_hash(address text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT hmac(convert_to(lower(address), 'UTF8'),
                decode(current_setting('tocsin.opt_out_key'), 'hex'), 'sha256')
$$;
