-- Numbers given on a public route wait for the 6-digit code sent to them by SMS: nobody can
-- subscribe someone else's number. Only a keyed hash of the code is kept.
CREATE TABLE phone_confirmations (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone         text NOT NULL,
    code_hash     bytea NOT NULL,
    topics        uuid[] NOT NULL,
    expires_at    timestamptz NOT NULL,
    -- Wrong codes tried against this code.
    attempts      integer NOT NULL DEFAULT 0,
    -- Codes sent to the number since window_start (a number is not texted without end).
    sent          integer NOT NULL DEFAULT 1,
    window_start  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, phone)
);

-- Public requests per client address and hour, so that one client cannot text thousands of
-- numbers through the commune's account.
CREATE TABLE public_requests (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client        text NOT NULL,
    window_start  timestamptz NOT NULL DEFAULT now(),
    count         integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, client)
);

ALTER TABLE consents DROP CONSTRAINT consents_method_check;
ALTER TABLE consents ADD CONSTRAINT consents_method_check
    CHECK (method IN ('sms_keyword', 'sms_code'));
