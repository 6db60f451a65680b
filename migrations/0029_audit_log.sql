-- The audit log: every action of a person or a key, append-only, each entry chained to the one
-- before by SHA-256, so that a change to any past entry breaks the chain (`tocsin audit
-- verify` names the first entry that no longer matches). No personal data goes in it: ids,
-- slugs and counts, never an address or a text.
CREATE TABLE audit_log (
    -- The entry's place in the chain, given under the chain's lock (not the insertion order of
    -- concurrent transactions).
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    -- `key:<id>` for an API key, `operator:<user>` for the command line.
    actor      text NOT NULL,
    -- The tenant acted on (no foreign key: entries outlive their tenant), and its slug then.
    tenant_id  uuid,
    tenant     text,
    action     text NOT NULL,
    object     text,
    details    jsonb NOT NULL DEFAULT '{}',
    request_id text,
    prev_hash  bytea,
    hash       bytea NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);

-- One definition of an entry's hash, used when it is written and when the chain is verified.
CREATE FUNCTION audit_entry_hash(prev bytea, seq bigint, at timestamptz, actor text,
                                 tenant_id uuid, tenant text, action text, object text,
                                 details jsonb, request_id text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(jsonb_build_array(
        seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), actor, tenant_id,
        tenant, action, object, details, request_id)::text, 'UTF8'))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Entries are chained one at a time, in the order they take this lock (held until commit).
    PERFORM pg_advisory_xact_lock(hashtext('tocsin audit chain'));
    SELECT seq + 1, hash INTO NEW.seq, NEW.prev_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(NEW.seq, 1);
    NEW.hash := audit_entry_hash(NEW.prev_hash, NEW.seq, NEW.at, NEW.actor, NEW.tenant_id,
                                 NEW.tenant, NEW.action, NEW.object, NEW.details, NEW.request_id);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- Append-only, whoever asks. To purge entries past their retention, the table's owner does it
-- deliberately, in a session of its own:
--   ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; DELETE …;
--   ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
-- (and `tocsin audit verify` then starts the chain at the first entry kept). Running the daemon
-- as a role that does not own the tables (GRANT SELECT, INSERT ON audit_log TO that role) makes
-- even that impossible for it.
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: entries cannot be changed or removed'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
