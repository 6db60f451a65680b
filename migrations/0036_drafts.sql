-- Alerts written by a drafter (the secrétaire de mairie). With `require_validation` (the
-- default), a routine one waits here for a sender's validation; an urgent one is never held.
ALTER TABLE tenants ADD COLUMN require_validation boolean NOT NULL DEFAULT true;

CREATE TABLE alert_drafts (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    author_id   uuid NOT NULL REFERENCES users (id),
    -- The alert as the API takes it (`model::AlertDraft`).
    draft       jsonb NOT NULL,
    subject     text NOT NULL,
    created_at  timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'rejected')),
    decided_at  timestamptz,
    decided_by  uuid REFERENCES users (id),
    alert_id    uuid REFERENCES alerts (id)
);
CREATE INDEX alert_drafts_pending ON alert_drafts (tenant_id, created_at) WHERE status = 'pending';
