-- The commune's page (its colour and logo) and the DKIM key that signs its e-mail for its own
-- domain. The private key is sealed (AES-256-GCM under a key derived from the server's secret):
-- a copy of the database alone does not give it away.
ALTER TABLE tenants
    ADD COLUMN colour text,
    ADD COLUMN logo bytea,
    ADD COLUMN logo_type text,
    ADD COLUMN dkim_selector text,
    ADD COLUMN dkim_domain text,
    ADD COLUMN dkim_key_sealed bytea;
