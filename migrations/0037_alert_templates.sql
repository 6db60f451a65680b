-- A commune's saved alert texts (the console's "Modèles"), beside the starter set every commune
-- gets (model::templates).
CREATE TABLE alert_templates (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    subject     text,
    body        text NOT NULL,
    urgent      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_templates_tenant ON alert_templates (tenant_id, name);
