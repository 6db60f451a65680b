//! Delivery ranges (`delivery_ranges`): what fan-out plans for an alert, one row per range of its
//! topic's subscribers and account, counted but not yet made into deliveries. The sender that
//! takes a range creates its delivery rows, already claimed under its lease, in the transaction
//! that marks the range taken: a million subscribers are planned as a few thousand
//! rows, and each delivery row is written while the sends go rather than before them.

use sqlx::{PgConnection, PgPool};

use super::{
    DbError,
    deliveries::{
        ChannelRoute, Claimed, Lease, Slots, bind_candidates, candidates, millis, on_conflict,
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

/// Takes the range: creates its delivery rows, marks it taken and moves its count from the
/// range to the rows, in one transaction. With a `lease`, the rows are created already claimed
/// by the caller, beside their batch's lease row: a planned delivery is written once before its
/// outcome instead of twice (created, then claimed).
pub async fn take(
    pool: &PgPool,
    alert: AlertId,
    range: i64,
    lease: Option<Lease>,
) -> Result<TakenRange, DbError> {
    // The ranges of one alert are disjoint, so a plain INSERT meets no row; should one exist
    // after all (a fan-out done again while subscriptions changed, moving a range's bounds),
    // the range is taken again leaving existing rows alone.
    match take_with(pool, alert, range, lease, TAKE_FRESH).await {
        Err(error) if super::is_unique_violation(&error) => {
            take_with(pool, alert, range, lease, TAKE).await
        }
        taken => taken,
    }
}

async fn take_with(
    pool: &PgPool,
    alert: AlertId,
    range: i64,
    lease: Option<Lease>,
    statement: &'static str,
) -> Result<TakenRange, DbError> {
    let mut tx = pool.begin().await?;
    let Some(taken) = mark_taken(&mut tx, alert, range).await? else {
        drop(tx);
        return Ok(TakenRange::Rows(rows_of(pool, alert, range).await?));
    };
    let mut slots = Slots::default();
    slots.push(&taken.channel, &taken.provider, taken.slots);
    let query = sqlx::query_as(statement);
    let rows: Vec<(i64, i64, String, Option<i64>)> = bind_candidates!(
        query,
        taken.alert,
        taken.topic,
        (taken.after, taken.upto),
        slots
    )
    .bind(lease.map(|l| l.owner))
    .bind(lease.map_or(0, |l| millis(l.length)))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let batch_lease = rows.first().and_then(|row| row.3);
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|(id, subscriber, address, _)| Claimed {
            id: DeliveryId(id),
            subscriber: SubscriberId(subscriber),
            address,
            attempts: 1,
        })
        .collect();
    claimed.sort_unstable_by_key(|d| d.id.0);
    Ok(match batch_lease {
        Some(batch_lease) => TakenRange::Claimed(BatchLease(batch_lease), claimed),
        None => TakenRange::Rows(claimed.into_iter().map(|d| d.id).collect()),
    })
}

/// Creates a taken range's rows: its candidates on its one account; claimed by $10 for $11 ms
/// with their batch's lease row when $10 is given, else queued.
macro_rules! take {
    ($conflict:expr) => {
        concat!(
            "WITH candidates AS (",
            candidates!(),
            "), planned AS (
                 INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address,
                                         status, owner, lease_until, attempts)
                 SELECT $1, subscriber_id, channel, provider, address,
                        CASE WHEN $10::uuid IS NULL THEN 'queued' ELSE 'sending' END, $10,
                        CASE WHEN $10 IS NOT NULL
                             THEN now() + $11 * interval '1 millisecond' END,
                        CASE WHEN $10 IS NULL THEN 0 ELSE 1 END
                 FROM candidates ORDER BY subscriber_id ",
            $conflict,
            "
                 RETURNING id, subscriber_id, address
             ), leased AS (
                 INSERT INTO batch_leases (owner, lease_until, deliveries)
                 SELECT $10, now() + $11 * interval '1 millisecond', array_agg(id ORDER BY id)
                 FROM planned WHERE $10 IS NOT NULL HAVING count(*) > 0
                 RETURNING id
             )
             SELECT p.id, p.subscriber_id, p.address, (SELECT id FROM leased) FROM planned p"
        )
    };
}
const TAKE_FRESH: &str = take!("");
const TAKE: &str = take!(on_conflict!());

/// A range just taken, with what creating its rows needs.
struct Taken {
    alert: uuid::Uuid,
    topic: uuid::Uuid,
    channel: String,
    provider: String,
    after: i64,
    upto: i64,
    slots: (u32, u32, u32),
}

/// Marks the range taken and takes its count off the alert's `queued` tally (the rows created
/// next add theirs); `None` when it was taken already.
async fn mark_taken(
    tx: &mut PgConnection,
    alert: AlertId,
    range: i64,
) -> Result<Option<Taken>, DbError> {
    type Row = (
        uuid::Uuid,
        uuid::Uuid,
        String,
        String,
        i64,
        i64,
        i32,
        i32,
        i32,
    );
    let row: Option<Row> = sqlx::query_as(
        "WITH taken AS (
             UPDATE delivery_ranges SET taken_at = now()
             WHERE id = $1 AND alert_id = $2 AND taken_at IS NULL
             RETURNING alert_id, channel, provider, after_id, upto_id, slot_low, slot_high,
                       slot_total, expected
         ), tallied AS (
             INSERT INTO delivery_tallies (alert_id, channel, provider, status, n)
             SELECT alert_id, channel, provider, 'queued', -expected FROM taken
         )
         SELECT t.alert_id, a.topic_id, t.channel, t.provider, t.after_id, t.upto_id,
                t.slot_low, t.slot_high, t.slot_total
         FROM taken t JOIN alerts a ON a.id = t.alert_id",
    )
    .bind(range)
    .bind(alert.0)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(
        |(alert, topic, channel, provider, after, upto, low, high, total)| Taken {
            alert,
            topic,
            channel,
            provider,
            after,
            upto,
            slots: (
                u32::try_from(low).unwrap_or(0),
                u32::try_from(high).unwrap_or(0),
                u32::try_from(total).unwrap_or(1),
            ),
        },
    ))
}

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
