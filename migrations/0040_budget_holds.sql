-- What a routine alert was counted for against budgets when it was accepted (units per channel:
-- SMS segments, e-mails, notifications), until its fan-out has planned its messages and its
-- tallies count instead. Without it, two routine alerts accepted before either is planned would
-- both fit a budget that holds only one.
ALTER TABLE alerts ADD COLUMN budget_hold jsonb;

-- Messages the platform sends for a commune outside its alerts: the codes and confirmation
-- links of the public routes, the replies to texted keywords. They cost like alerts and are
-- counted in usage and budgets. No address and no text: only what is counted.
CREATE TABLE service_messages (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel   text NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    account   text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('code', 'link', 'reply')),
    -- SMS segments; 1 for an e-mail.
    units     integer NOT NULL CHECK (units > 0),
    accepted  boolean NOT NULL,
    sent_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_messages_tenant_sent ON service_messages (tenant_id, sent_at);

-- A budget's 80 % mark, reached once per node, channel and month (the node's local month):
-- the row is written when an alert reaches it, and its e-mail to the node's admins is sent from
-- here, once, by whichever instance claims it.
CREATE TABLE budget_warnings (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel    text NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    month      date NOT NULL,
    reached_at timestamptz NOT NULL DEFAULT now(),
    -- Claimed for sending (set back to NULL when the e-mail could not go).
    claimed_at timestamptz,
    sent_at    timestamptz,
    recipients integer,
    PRIMARY KEY (tenant_id, channel, month)
);
CREATE INDEX budget_warnings_unsent ON budget_warnings (reached_at) WHERE sent_at IS NULL;
