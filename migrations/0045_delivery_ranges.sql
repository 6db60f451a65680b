-- Fan-out plans ranges of subscribers instead of delivery rows (BENCHMARKS.md, issue 22): one row
-- per range of the topic's subscribers and account, a few thousand for a million subscribers.
-- The sender that takes a range creates its delivery rows then, in the transaction that marks it
-- taken (`store::ranges`), so that the rows' cost is paid beside the sends rather than before
-- them, and an alert is planned once its ranges are. No foreign key to alerts, as for deliveries
-- (checking it was 4 % of planning a chunk): ranges are removed with their tenant
-- (store::tenants::delete).
CREATE TABLE delivery_ranges (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     uuid NOT NULL,
    channel      text NOT NULL,
    provider     text NOT NULL,
    -- The topic's subscribers with ids in (after_id, upto_id].
    after_id     bigint NOT NULL,
    upto_id      bigint NOT NULL,
    -- The account's share of the route: a subscriber is its when (id * 10007) % slot_total
    -- falls in [slot_low, slot_high) (`store::deliveries::plan_range`).
    slot_low     integer NOT NULL,
    slot_high    integer NOT NULL,
    slot_total   integer NOT NULL,
    -- Deliveries counted at planning: tallied `queued` until the range is taken, when the rows
    -- created take their place (a subscriber who left meanwhile is not among them).
    expected     integer NOT NULL,
    -- When its send job was last published (the sweeper publishes again those left untaken).
    announced_at timestamptz NOT NULL DEFAULT now(),
    taken_at     timestamptz,
    -- A fan-out done again (its job redelivered) plans the same ranges: they exist already.
    UNIQUE (alert_id, channel, provider, after_id)
);
CREATE INDEX delivery_ranges_untaken ON delivery_ranges (alert_id) WHERE taken_at IS NULL;
