-- People of the console. A person holds one role on one node of the tenant tree and acts on its
-- subtree, as an API key does (api::auth). Their e-mail is their login: one account per address.
CREATE TABLE users (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email           text NOT NULL,
    name            text NOT NULL,
    role            text NOT NULL CHECK (role IN ('reader', 'drafter', 'sender', 'admin')),
    -- argon2id, in the PHC string form ($argon2id$v=19$m=…,t=…,p=…$salt$hash); NULL until the
    -- invitation is accepted.
    password_hash   text,
    -- The TOTP secret (RFC 6238), sealed under the stored-secrets key of `totp_key_version`.
    totp_sealed     bytea,
    totp_key_version integer,
    -- The last time step a code was accepted for: a code is good once.
    totp_last_step  bigint,
    -- SHA-256 of the recovery codes not used yet (79 random bits each).
    recovery_codes  bytea[] NOT NULL DEFAULT '{}',
    -- Wrong passwords or codes in a row, and until when the account refuses to sign in.
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    invited_by      text,
    removed_at      timestamptz,
    CHECK ((totp_sealed IS NULL) = (totp_key_version IS NULL))
);
CREATE UNIQUE INDEX users_email ON users (lower(email)) WHERE removed_at IS NULL;
CREATE INDEX users_tenant ON users (tenant_id) WHERE removed_at IS NULL;

-- One-time links that let a person set their password (and second factor). Only the SHA-256 of
-- the token is kept: the link is shown once.
CREATE TABLE user_invitations (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX user_invitations_user ON user_invitations (user_id);

-- Console sessions, kept server-side: the cookie holds a random id, the table its SHA-256.
-- `stage` is `second_factor` between a right password and the TOTP code, `enrolling` while a
-- new person sets up their second factor, `signed_in` after.
CREATE TABLE console_sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage        text NOT NULL CHECK (stage IN ('second_factor', 'enrolling', 'signed_in')),
    -- The token every form of the session carries.
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX console_sessions_user ON console_sessions (user_id) WHERE ended_at IS NULL;

-- Wrong sign-ins per client address (an IPv4 address or an IPv6 /64), in a sliding window.
CREATE TABLE login_failures (
    client       text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);
