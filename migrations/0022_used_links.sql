-- E-mail confirmation links are single-use: a link that confirmed an address is recorded here
-- (by a keyed hash of the link, never the address) until it would have expired anyway.
CREATE TABLE used_links (
    link_hash  bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
