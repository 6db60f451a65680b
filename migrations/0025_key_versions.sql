-- Keys are derived from the server's secret with HKDF and a label of their purpose and version
-- (model::keys). Each version records the fingerprint of the secret it derives from, so that a
-- daemon knows which of its configured secrets opens it; everything a key protects records the
-- version it was made with, so that `tocsin secrets rotate` can start a new version while what
-- was made before keeps working until `tocsin secrets retire`.
--
-- Version 0 names the derivations of the releases before versions. Its fingerprint is filled in
-- by the first daemon or command that opens the database (store::key_versions), with the secret
-- it is given: the one everything so far was made with.
CREATE TABLE key_versions (
    version     integer PRIMARY KEY CHECK (version >= 0),
    fingerprint bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    CHECK (version = 0 OR fingerprint IS NOT NULL)
);
INSERT INTO key_versions (version) VALUES (0);

ALTER TABLE api_keys ADD COLUMN key_version integer NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN dkim_key_version integer NOT NULL DEFAULT 0;
ALTER TABLE platform_keys ADD COLUMN sealed_version integer NOT NULL DEFAULT 0;
