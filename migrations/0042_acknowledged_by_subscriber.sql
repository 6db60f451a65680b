-- Whether a household confirmed an alert is asked per subscriber: when a call ends (is it to be
-- placed again?) and for each row of the list of those who did not confirm. Indexed by alert
-- alone, each question read every confirmed row of the alert, so that a large alert's calls
-- cost more the further it went; with the subscriber in the key each reads its own rows.
DROP INDEX deliveries_acknowledged;
CREATE INDEX deliveries_acknowledged ON deliveries (alert_id, subscriber_id)
    WHERE acknowledged_at IS NOT NULL;
