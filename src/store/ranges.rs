//! Delivery ranges (`delivery_ranges`): what fan-out plans for an alert, one row per range of its
//! topic's subscribers and account, counted but not yet made into deliveries. The sender that
//! takes a range creates its delivery rows, already claimed under its lease, in the statement
//! that marks the range taken: a million subscribers are planned as a few thousand rows, and
//! each delivery row is written while the sends go rather than before them.

use sqlx::PgPool;

use super::{
    DbError,
    deliveries::{
        ChannelRoute, Claimed, Lease, Slots, address_on, bind_candidates, candidates, millis,
        on_conflict,
    },
    leases::BatchLease,
};
use crate::model::{AlertId, Channel, DeliveryId, SubscriberId, TopicId};

/// A range planned and waiting for its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRange {
    pub id: i64,
    pub channel: Channel,
    pub provider: String,
    /// Deliveries counted in it at planning.
    pub expected: i64,
}

/// Plans the ranges of the subscribers in `(after, upto]` of the alert's topic, each holding
/// `span` subscribers (the last fewer), one row per range and account of each route, in one
/// statement: counts each range's deliveries (tallied `queued` until the range is taken) and
/// adds the ranges' subscribers to the alert's recipients. Ranges planned before (a fan-out done
/// again) are left alone and neither counted nor returned.
pub async fn plan_ranges(
    pool: &PgPool,
    alert: AlertId,
    topic: TopicId,
    (after, upto): (i64, i64),
    routes: &[ChannelRoute],
    span: i64,
) -> Result<Vec<PlannedRange>, DbError> {
    let slots = Slots::of(routes);
    let query = sqlx::query_as(PLAN_RANGES);
    let rows: Vec<(i64, String, String, i64)> =
        bind_candidates!(query, alert.0, topic.0, (after, upto), slots)
            .bind(span.max(1))
            .fetch_all(pool)
            .await?;
    Ok(into_ranges(rows))
}

/// Cuts the chunk's subscribers into ranges of $10, reading the topic's index alone (its order is
/// the ranges' order: no sort), then counts the candidates (`candidates!`, $1–$9) of each range
/// and account, finding each one's range by a binary search of the ranges' bounds
/// (`width_bucket`) rather than by a join; writes the ranges, their `queued` tallies and the
/// recipients. The first range begins at the chunk's start ($3), each next one where the one
/// before ends. (EXPLAIN ANALYZE, a chunk of 50,000: 295 ms when each candidate's range came
/// from a window over the candidates themselves, joined back to them.)
const PLAN_RANGES: &str = concat!(
    "WITH candidates AS (",
    candidates!(),
    "), ordinals AS (
         SELECT subscriber_id, (row_number() OVER (ORDER BY subscriber_id) - 1) / $10 AS k
         FROM subscriptions
         WHERE topic_id = $2 AND subscriber_id > $3 AND subscriber_id <= $4
     ), spans AS (
         SELECT k, max(subscriber_id) AS hi,
                COALESCE(lag(max(subscriber_id)) OVER (ORDER BY k), $3) AS lo
         FROM ordinals GROUP BY k
     ), bounds AS (
         SELECT array_agg(hi + 1 ORDER BY k) AS above FROM spans
     ), ranged AS (
         SELECT width_bucket(c.subscriber_id, b.above) AS k, c.subscriber_id, c.channel,
                c.provider
         FROM candidates c CROSS JOIN bounds b
     ), counted AS (
         SELECT k, channel, provider, count(*) AS n FROM ranged GROUP BY k, channel, provider
     ), planned AS (
         INSERT INTO delivery_ranges (alert_id, channel, provider, after_id, upto_id, slot_low,
                                      slot_high, slot_total, expected)
         SELECT $1, n.channel, n.provider, s.lo, s.hi, r.low, r.high, r.total, n.n
         FROM counted n
         JOIN spans s USING (k)
         JOIN UNNEST($5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
              AS r(channel, provider, low, high, total)
           ON r.channel = n.channel AND r.provider = n.provider
         ORDER BY s.lo, n.channel, n.provider
         ON CONFLICT (alert_id, channel, provider, after_id) DO NOTHING
         RETURNING id, channel, provider, after_id, expected
     ), tallied AS (
         INSERT INTO delivery_tallies (alert_id, channel, provider, status, n)
         SELECT $1, channel, provider, 'queued', sum(expected) FROM planned
         GROUP BY channel, provider
     ), counted_recipients AS (
         -- The chunk also tells that the alert's fan-out is alive (`fan_out_at`, see
         -- `store::outbox::lost_fan_outs`).
         UPDATE alerts
         SET recipients = LEAST(COALESCE(recipients, 0)
                                + (SELECT count(DISTINCT subscriber_id) FROM ranged
                                   WHERE k IN (SELECT s.k FROM spans s JOIN planned p
                                               ON p.after_id = s.lo)),
                                2147483647),
             fan_out_at = now()
         WHERE id = $1
     )
     SELECT id, channel, provider, expected::bigint FROM planned ORDER BY id"
);

/// Counts the alert's recipients again, from its topic's subscribers as they are: after a
/// fan-out that was interrupted, part of what its ranges added may have been added before.
pub async fn recount_recipients(
    pool: &PgPool,
    alert: AlertId,
    topic: TopicId,
    routes: &[ChannelRoute],
) -> Result<(), DbError> {
    let slots = Slots::of(routes);
    let query = sqlx::query(concat!(
        "WITH candidates AS (",
        candidates!(),
        ") UPDATE alerts SET recipients = (SELECT count(DISTINCT subscriber_id) FROM candidates)
         WHERE id = $1"
    ));
    bind_candidates!(query, alert.0, topic.0, (0_i64, i64::MAX), slots)
        .execute(pool)
        .await?;
    Ok(())
}

/// The ranges of the alert that overlap `(after, upto]` and that no sender took yet: after a
/// fan-out was interrupted, these may never have been announced.
pub async fn untaken_in(
    pool: &PgPool,
    alert: AlertId,
    (after, upto): (i64, i64),
) -> Result<Vec<PlannedRange>, DbError> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, channel, provider, expected::bigint FROM delivery_ranges
         WHERE alert_id = $1 AND taken_at IS NULL AND after_id < $3 AND upto_id > $2
         ORDER BY id",
    )
    .bind(alert.0)
    .bind(after)
    .bind(upto)
    .fetch_all(pool)
    .await?;
    Ok(into_ranges(rows))
}

fn into_ranges(rows: Vec<(i64, String, String, i64)>) -> Vec<PlannedRange> {
    rows.into_iter()
        .filter_map(|(id, channel, provider, expected)| {
            Some(PlannedRange {
                id,
                channel: channel.parse().ok()?,
                provider,
                expected,
            })
        })
        .collect()
}

/// What taking a range gave.
#[derive(Debug)]
pub enum TakenRange {
    /// Its rows, created `sending` under the lease (attempt 1), with the batch's lease row.
    Claimed(BatchLease, Vec<Claimed>),
    /// Its rows, created `queued` (taken without a lease), or as they are when the range was
    /// taken before (its job published twice, or redelivered after its sender stopped); ids in
    /// ascending order, to claim as any batch.
    Rows(Vec<DeliveryId>),
}

/// Takes the range: marks it taken, moves its count from the range to its rows and creates
/// them, in one statement. With a `lease`, the rows are created already claimed by the caller,
/// beside their batch's lease row: a planned delivery is written once before its outcome
/// instead of twice (created, then claimed).
pub async fn take(
    pool: &PgPool,
    alert: AlertId,
    range: i64,
    lease: Option<Lease>,
) -> Result<TakenRange, DbError> {
    // The ranges of one alert are disjoint, so a plain INSERT meets no row; should one exist
    // after all (a fan-out done again while subscriptions changed, moving a range's bounds),
    // the unique key undoes the whole take, done again leaving existing rows alone.
    let rows = match take_with(pool, alert, range, lease, TAKE_FRESH).await {
        Err(error) if super::is_unique_violation(&error) => {
            take_with(pool, alert, range, lease, TAKE).await
        }
        taken => taken,
    }?;
    let Some(batch_lease) = rows.first().map(|row| row.3) else {
        // Taken before: its job published twice, or redelivered after its sender stopped.
        return Ok(TakenRange::Rows(rows_of(pool, alert, range).await?));
    };
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .filter_map(|(id, subscriber, address, _)| {
            Some(Claimed {
                id: DeliveryId(id?),
                subscriber: SubscriberId(subscriber?),
                address: address?,
                attempts: 1,
            })
        })
        .collect();
    claimed.sort_unstable_by_key(|d| d.id.0);
    Ok(match batch_lease {
        Some(batch_lease) => TakenRange::Claimed(BatchLease(batch_lease), claimed),
        None => TakenRange::Rows(claimed.into_iter().map(|d| d.id).collect()),
    })
}

/// A row the take created (id, subscriber, address, its batch's lease when leased), or the
/// empty row of a range taken with nothing to create.
type TakenRow = (Option<i64>, Option<i64>, Option<String>, Option<i64>);

async fn take_with(
    pool: &PgPool,
    alert: AlertId,
    range: i64,
    lease: Option<Lease>,
    statement: &'static str,
) -> Result<Vec<TakenRow>, DbError> {
    sqlx::query_as(statement)
        .bind(range)
        .bind(alert.0)
        .bind(lease.map(|l| l.owner))
        .bind(lease.map_or(0, |l| millis(l.length)))
        .fetch_all(pool)
        .await
}

/// Takes the range $1 of the alert $2 if no one took it yet, and creates its rows: the
/// subscribers of its bounds on its account; claimed by $3 for $4 ms with their batch's lease
/// row when $3 is given, else queued. The bounds and slots are read from the range within the
/// statement, so two takes of one range are serialised by its row: the second finds it taken
/// and creates nothing. (Before, marking it and creating the rows were two statements in a
/// transaction, four round trips.)
macro_rules! take {
    ($conflict:expr) => {
        concat!(
            "WITH taken AS (
                 UPDATE delivery_ranges SET taken_at = now()
                 WHERE id = $1 AND alert_id = $2 AND taken_at IS NULL
                 RETURNING channel, provider, after_id, upto_id, slot_low, slot_high, slot_total,
                           expected
             ), untallied AS (
                 INSERT INTO delivery_tallies (alert_id, channel, provider, status, n)
                 SELECT $2, channel, provider, 'queued', -expected FROM taken
             ), candidates AS (
                 SELECT b.id AS subscriber_id, t.channel, t.provider, addr.address
                 FROM taken t
                 CROSS JOIN (SELECT topic_id, voice_to_mobiles FROM alerts WHERE id = $2) a
                 JOIN subscriptions s ON s.topic_id = a.topic_id
                                     AND s.subscriber_id > t.after_id
                                     AND s.subscriber_id <= t.upto_id
                 JOIN subscribers b ON b.id = s.subscriber_id
                 CROSS JOIN LATERAL (SELECT ",
            address_on!("t.channel"),
            " AS address) addr
                 WHERE (b.id * 10007) % t.slot_total >= t.slot_low
                   AND (b.id * 10007) % t.slot_total < t.slot_high
                   AND addr.address IS NOT NULL
             ), planned AS (
                 INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address,
                                         status, owner, lease_until, attempts)
                 SELECT $2, subscriber_id, channel, provider, address,
                        CASE WHEN $3::uuid IS NULL THEN 'queued' ELSE 'sending' END, $3,
                        CASE WHEN $3 IS NOT NULL
                             THEN now() + $4 * interval '1 millisecond' END,
                        CASE WHEN $3 IS NULL THEN 0 ELSE 1 END
                 FROM candidates ORDER BY subscriber_id ",
            $conflict,
            "
                 RETURNING id, subscriber_id, address
             ), leased AS (
                 INSERT INTO batch_leases (owner, lease_until, deliveries)
                 SELECT $3, now() + $4 * interval '1 millisecond', array_agg(id ORDER BY id)
                 FROM planned WHERE $3 IS NOT NULL HAVING count(*) > 0
                 RETURNING id
             )
             SELECT p.id, p.subscriber_id, p.address, (SELECT id FROM leased) FROM planned p
             UNION ALL
             -- Taken now with nothing to create (its subscribers left, or their rows exist):
             -- one empty row says so, where a range taken before gives no row at all.
             SELECT NULL, NULL, NULL, NULL FROM taken WHERE NOT EXISTS (SELECT FROM planned)"
        )
    };
}
const TAKE_FRESH: &str = take!("");
const TAKE: &str = take!(on_conflict!());

/// The rows of a range taken before, whatever their status (a sender claims only those free).
async fn rows_of(pool: &PgPool, alert: AlertId, range: i64) -> Result<Vec<DeliveryId>, DbError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT d.id FROM delivery_ranges r
         JOIN deliveries d ON d.alert_id = r.alert_id AND d.channel = r.channel
                          AND d.subscriber_id > r.after_id AND d.subscriber_id <= r.upto_id
         WHERE r.id = $1 AND r.alert_id = $2 AND d.provider = r.provider
         ORDER BY d.id",
    )
    .bind(range)
    .bind(alert.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| DeliveryId(id)).collect())
}
