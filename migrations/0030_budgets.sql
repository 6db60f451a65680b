-- Monthly budgets per tenant and channel: SMS segments, e-mails, browser notifications. A
-- group's budget bounds the sum of everything below it. A routine alert that would go over is
-- refused before anything is sent; an urgent one is sent and marked.
CREATE TABLE tenant_budgets (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel   text NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    per_month bigint NOT NULL CHECK (per_month >= 0),
    PRIMARY KEY (tenant_id, channel)
);
ALTER TABLE alerts ADD COLUMN over_budget boolean NOT NULL DEFAULT false;
