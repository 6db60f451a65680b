-- When an alert's fan-out last showed life: its job published (by the relay, or again by the
-- sweeper) or a chunk of its deliveries planned. An alert still not planned whose fan-out has
-- been quiet for `stale_after` lost its job (the broker lost its data, or dead-lettered it): the
-- sweeper publishes the job again (`store::outbox::lost_fan_outs`). NULL for alerts relayed
-- before this column: they are judged by when they became due.
-- Nullable and without a default, so adding it rewrites nothing, and earlier versions, which do
-- not know it, run on beside it during a rolling upgrade.
ALTER TABLE alerts ADD COLUMN fan_out_at timestamptz;

-- The sweeper looks for such alerts every sweep: among alerts not yet planned nor closed, a few
-- at any time, whatever the history kept.
CREATE INDEX alerts_unplanned ON alerts (lane) WHERE planned_at IS NULL AND closed_at IS NULL;
