-- Opt-outs a provider reported (the recipient said STOP to it) while their commune's
-- subscribers were locked by an import: written here at once rather than waiting for the
-- import's transaction, which would hold up the outcomes of every commune. They are applied
-- (the subscriber forgotten, the number on the opt-out list) as soon as the lock is free: by
-- that import before it commits, or by the sweeper. A number stays here seconds, not longer.
CREATE TABLE pending_opt_outs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_opt_outs_tenant ON pending_opt_outs (tenant_id);
