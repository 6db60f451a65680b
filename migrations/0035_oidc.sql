-- Signing in by OpenID Connect (ProConnect). A commune's SIRETs (the mairie's; a group has its
-- own) say which organisation an agent signing in belongs to.
CREATE TABLE tenant_sirets (
    siret      text PRIMARY KEY CHECK (siret ~ '^[0-9]{14}$'),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_sirets_tenant ON tenant_sirets (tenant_id);

-- The provider's identity of a person, bound at their first sign-in through it: later sign-ins
-- follow it even if their e-mail changes.
ALTER TABLE users ADD COLUMN oidc_issuer text, ADD COLUMN oidc_subject text;
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject)
    WHERE oidc_subject IS NOT NULL AND removed_at IS NULL;
