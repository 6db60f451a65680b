-- Schedules and timed alerts, on each commune's local clock.

-- A tenant's clock (an IANA time zone: overseas communes have their own) and its quiet hours:
-- routine alerts due inside [quiet_start, quiet_end) local time (the window may wrap midnight)
-- wait for its end; urgent ones do not. No quiet hours when both are NULL.
ALTER TABLE tenants
    ADD COLUMN time_zone text NOT NULL DEFAULT 'Europe/Paris',
    ADD COLUMN quiet_start time DEFAULT '21:00',
    ADD COLUMN quiet_end time DEFAULT '08:00',
    ADD CONSTRAINT tenants_quiet_hours CHECK
        ((quiet_start IS NULL) = (quiet_end IS NULL) AND (quiet_start IS NULL OR quiet_start <> quiet_end));

-- `scheduled_at`: when the sender asked it to start (NULL: at once); `starts_at`: when it starts,
-- later than asked when quiet hours defer it. A cancelled alert never started.
ALTER TABLE alerts
    ADD COLUMN scheduled_at timestamptz,
    ADD COLUMN starts_at timestamptz,
    ADD COLUMN cancelled_at timestamptz;

-- The relay leaves a row alone until `not_before`. `alert_id` finds the row of an alert to
-- cancel: deleting it before the relay took it is what cancelling means.
ALTER TABLE outbox
    ADD COLUMN not_before timestamptz,
    ADD COLUMN alert_id uuid;
CREATE INDEX outbox_alert ON outbox (alert_id) WHERE alert_id IS NOT NULL;

CREATE TABLE schedules (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    topic_id          uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    cron              text NOT NULL,
    time_zone         text NOT NULL,
    -- The alert each occurrence sends, as an alert request (`model::AlertDraft`).
    alert             jsonb NOT NULL,
    paused_at         timestamptz,
    -- Occurrences firing at or before this instant have been dealt with (fired or missed).
    considered_until  timestamptz NOT NULL,
    -- When the first occurrence after `considered_until` fires; NULL if none ever will.
    next_at           timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_tenant ON schedules (tenant_id, created_at);
CREATE INDEX schedules_due ON schedules (next_at) WHERE paused_at IS NULL;

-- One row per occurrence dealt with. The key is the occurrence's identity, its schedule and the
-- local wall time it stands for: whatever the number of schedulers, restarts or clock drift, a
-- second alert for one occurrence cannot be created (it would be a second row).
CREATE TABLE schedule_runs (
    schedule_id  uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    occurrence   timestamp NOT NULL,
    -- The instant it was due (for the autumn overlap, the first of the two).
    due_at       timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('fired', 'missed', 'failed')),
    alert_id     uuid,
    reason       text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, occurrence)
);
