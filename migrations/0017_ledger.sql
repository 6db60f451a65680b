-- The delivery ledger at a million rows (BENCHMARKS.md).
--
-- Every delivery changes status two to three times (claimed, answered, reported). With an index
-- on the status, each change wrote a new entry into every index of the table. Without any index
-- on a column that changes, and with room left in each page (fillfactor), PostgreSQL updates the
-- row in place (a HOT update): no index is written at all. What the status index answered comes
-- from per-alert tallies instead.
DROP INDEX deliveries_alert_status;
-- Half of each page is left free: in a loop of batched claims and outcomes, 1 % of the updates
-- were HOT at fillfactor 100, 26 % at 75 and 49 % at 50 (pg_stat_user_tables.n_tup_hot_upd).
ALTER TABLE deliveries SET (fillfactor = 50);

-- How many deliveries of an alert are in each status, per channel and account, and when the
-- first and last of them were answered by their provider. Written by the triggers below, one row
-- per statement and group, never updated in place: senders working on one alert at once never
-- wait for each other's row lock. Readers sum the rows; the sweeper folds them together.
CREATE TABLE delivery_tallies (
    alert_id       uuid NOT NULL,
    channel        text NOT NULL,
    provider       text NOT NULL,
    status         text NOT NULL,
    n              bigint NOT NULL,
    first_sent_at  timestamptz,
    last_sent_at   timestamptz,
    -- Rows the sweeper already folded together; the others are recent changes.
    folded         boolean NOT NULL DEFAULT false
);
CREATE INDEX delivery_tallies_alert ON delivery_tallies (alert_id);
CREATE INDEX delivery_tallies_unfolded ON delivery_tallies (alert_id) WHERE NOT folded;

CREATE FUNCTION deliveries_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_tallies (alert_id, channel, provider, status, n, first_sent_at, last_sent_at)
    SELECT alert_id, channel, provider, status, count(*), min(sent_at), max(sent_at)
    FROM new_rows GROUP BY alert_id, channel, provider, status;
    RETURN NULL;
END $$;

CREATE FUNCTION deliveries_tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_tallies (alert_id, channel, provider, status, n, first_sent_at, last_sent_at)
    SELECT alert_id, channel, provider, status, sum(n), min(sent_at), max(sent_at)
    FROM (SELECT alert_id, channel, provider, status, 1 AS n, sent_at FROM new_rows
          UNION ALL
          SELECT alert_id, channel, provider, status, -1, NULL FROM old_rows) AS changed
    GROUP BY alert_id, channel, provider, status
    HAVING sum(n) <> 0 OR min(sent_at) IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION deliveries_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_tallies (alert_id, channel, provider, status, n)
    SELECT alert_id, channel, provider, status, -count(*)
    FROM old_rows GROUP BY alert_id, channel, provider, status;
    RETURN NULL;
END $$;

CREATE FUNCTION deliveries_tally_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE delivery_tallies;
    RETURN NULL;
END $$;

CREATE TRIGGER deliveries_tally_inserted AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION deliveries_tally_inserted();
-- (A trigger with transition tables cannot name columns: statements that change neither the
-- status nor the answer time, such as lease renewals, only find nothing to add.)
CREATE TRIGGER deliveries_tally_updated AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION deliveries_tally_updated();
CREATE TRIGGER deliveries_tally_deleted AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION deliveries_tally_deleted();
CREATE TRIGGER deliveries_tally_truncated AFTER TRUNCATE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_tally_truncated();

INSERT INTO delivery_tallies (alert_id, channel, provider, status, n, first_sent_at, last_sent_at,
                              folded)
SELECT alert_id, channel, provider, status, count(*), min(sent_at), max(sent_at), true
FROM deliveries GROUP BY alert_id, channel, provider, status;

-- The API answers an alert before counting its recipients (a million-row count would hold the
-- first message back); fan-out counts them as it plans. NULL: not counted yet.
ALTER TABLE alerts ALTER COLUMN recipients DROP NOT NULL;
