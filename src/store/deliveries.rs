//! Delivery rows: one per alert x subscriber x channel, planned before anything is sent, then
//! claimed by a sender and given their outcome in batches (`store::transitions`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::DbError;
pub use super::transitions::{FailedAttempt, Fence, Transition, record_outcomes, record_receipts};
use crate::model::{AlertId, Channel, DeliveryId, DeliveryStatus, TopicId};

/// Where deliveries of one channel go for this alert.
#[derive(Debug, Clone)]
pub struct ChannelRoute {
    pub channel: Channel,
    /// Accounts with their shares (one account, or a pool's).
    pub accounts: Vec<(String, u32)>,
}

/// A planned delivery waiting to be announced to a sender queue.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: DeliveryId,
    pub channel: Channel,
    pub provider: String,
}

/// The subscriber ids `(after, upto]` of one planning chunk: `upto` is the `chunk`-th subscriber
/// of the topic after `after`, or `None` when fewer remain (the last chunk).
pub async fn chunk_bound(
    pool: &PgPool,
    topic: TopicId,
    after: i64,
    chunk: i64,
) -> Result<Option<i64>, DbError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT subscriber_id FROM subscriptions WHERE topic_id = $1 AND subscriber_id > $2
         ORDER BY subscriber_id OFFSET $3 - 1 LIMIT 1",
    )
    .bind(topic.0)
    .bind(after)
    .bind(chunk)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// Plans the deliveries of the subscribers in `(after, upto]` in one statement. Rows that exist
/// already are left alone (the unique key makes planning twice harmless); returns the rows this
/// call created, and adds their subscribers to the alert's recipients. `planned_before` when an
/// earlier attempt may have planned some: their rows are then skipped at once rather than found
/// by a failed INSERT.
///
/// For a commune's part of a group alert (`group`), an address another commune of the group
/// planned already on a channel is left out: a citizen subscribed in two member communes gets the
/// alert once per channel.
pub async fn plan_range(
    pool: &PgPool,
    alert: AlertId,
    topic: TopicId,
    (after, upto): (i64, i64),
    routes: &[ChannelRoute],
    group: Option<AlertId>,
    planned_before: bool,
) -> Result<Vec<Planned>, DbError> {
    let slots = Slots::of(routes);
    let plan = |statement: &'static str| {
        bind_candidates!(
            sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(statement)),
            alert.0,
            topic.0,
            (after, upto),
            slots
        )
        .bind(group.map(|g| g.0))
        .fetch_all(pool)
    };
    let rows = match (group, planned_before) {
        (Some(_), _) => plan(PLAN_GROUP_PART).await?,
        (None, true) => plan(PLAN).await?,
        (None, false) => match plan(PLAN_FRESH).await {
            Err(error) if super::is_unique_violation(&error) => plan(PLAN).await?,
            rows => rows?,
        },
    };
    Ok(into_planned(rows))
}

/// The address of the subscriber `b` on the channel `$channel`: a call goes to the fixed line,
/// or to the mobile when the alert `a` calls mobiles too.
macro_rules! address_on {
    ($channel:literal) => {
        concat!(
            "CASE ",
            $channel,
            " WHEN 'sms' THEN b.phone WHEN 'email' THEN b.email
                 WHEN 'voice' THEN coalesce(b.landline,
                                            CASE WHEN a.voice_to_mobiles THEN b.phone END)
                 ELSE b.push::text END"
        )
    };
}
pub(super) use address_on;

/// The subscribers of the topic in `(after, upto]` on each route, with the account their id
/// falls to and their address ($1 the alert, $2 topic, $3 after, $4 upto, $5–$9 the slots).
macro_rules! candidates {
    () => {
        concat!(
            "SELECT b.id AS subscriber_id, r.channel, r.provider, addr.address
         FROM subscriptions s
         JOIN subscribers b ON b.id = s.subscriber_id
         JOIN UNNEST($5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
              AS r(channel, provider, low, high, total)
           ON (b.id * 10007) % r.total >= r.low AND (b.id * 10007) % r.total < r.high
         CROSS JOIN (SELECT voice_to_mobiles FROM alerts WHERE id = $1) a
         CROSS JOIN LATERAL (SELECT ",
            address_on!("r.channel"),
            " AS address) addr
         WHERE s.topic_id = $2 AND s.subscriber_id > $3 AND s.subscriber_id <= $4
           -- The same range on subscribers, or the planner reads all of them for every chunk
           -- (a sequential scan of a million rows, found with EXPLAIN ANALYZE).
           AND b.id > $3 AND b.id <= $4
           -- A number that said STOP was forgotten with it (store::erasure), and imports leave
           -- it out: there is nothing to filter here.
           AND addr.address IS NOT NULL"
        )
    };
}

/// Binds what `candidates!` reads ($1–$9) to `$query`: the alert, its topic, the subscribers'
/// bounds `(after, upto)` and the accounts' [`Slots`].
macro_rules! bind_candidates {
    ($query:expr, $alert:expr, $topic:expr, ($after:expr, $upto:expr), $slots:expr) => {
        $query
            .bind($alert)
            .bind($topic)
            .bind($after)
            .bind($upto)
            .bind(&$slots.channel)
            .bind(&$slots.account)
            .bind(&$slots.low)
            .bind(&$slots.high)
            .bind(&$slots.total)
    };
}
pub(super) use bind_candidates;

/// The recipients are counted as they are planned (the API answered before counting), in the
/// same statement: a retried chunk cannot count twice what it planned once. The chunk also
/// tells that the alert's fan-out is alive (`fan_out_at`): the sweeper publishes its job again
/// only once that has been quiet for `stale_after` (`store::outbox::lost_fan_outs`).
macro_rules! count_planned {
    () => {
        ", counted AS (
             UPDATE alerts
             SET recipients = LEAST(COALESCE(recipients, 0)
                                    + (SELECT count(DISTINCT subscriber_id) FROM planned),
                                    2147483647),
                 fan_out_at = now()
             WHERE id = $1
         )
         SELECT id, channel, provider FROM planned"
    };
}

/// Plans a chunk of an alert ($1), with `$conflict` after the INSERT; $10 is unused (NULL).
macro_rules! plan {
    ($conflict:expr) => {
        concat!(
            "WITH candidates AS (",
            candidates!(),
            "), planned AS (
                 INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address)
                 SELECT $1, subscriber_id, channel, provider, address FROM candidates
                 ORDER BY subscriber_id ",
            $conflict,
            "
                 RETURNING id, channel, provider, subscriber_id
             )",
            count_planned!()
        )
    };
}
pub(super) use candidates;

/// What makes a row's insert leave an existing one alone.
macro_rules! on_conflict {
    () => {
        "ON CONFLICT (alert_id, subscriber_id, channel) DO NOTHING"
    };
}
pub(super) use on_conflict;

/// Plans a chunk that may have been planned before: rows that exist are left alone.
const PLAN: &str = plan!(on_conflict!());

/// Plans a chunk no earlier attempt planned. A plain INSERT: `ON CONFLICT` makes PostgreSQL
/// insert each row speculatively, a fifth of a 50,000-row chunk's time (EXPLAIN ANALYZE:
/// 428–440 ms against 501–615 ms). Should a row exist after all (two fan-outs of one alert at
/// once, from a job published twice), the unique key refuses the chunk, which is then planned
/// with [`PLAN`].
const PLAN_FRESH: &str = plan!("");

/// Plans a chunk of a commune's part of the group alert $10: each address is first claimed for
/// the group on its channel (by its keyed hash); only what this part claimed is planned. The
/// claims and the rows commit together, and a second part claiming the same address waits on the
/// first's key, then finds it taken. Claims go in one order, so that two parts cannot deadlock.
const PLAN_GROUP_PART: &str = concat!(
    "WITH candidates AS (",
    candidates!(),
    "), claimed AS (
         INSERT INTO group_alert_recipients (group_alert_id, channel, address_hash)
         SELECT $10, channel, address_hash(address) FROM candidates ORDER BY 2, 3
         ON CONFLICT DO NOTHING
         RETURNING channel, address_hash
     ), planned AS (
         INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address)
         SELECT $1, c.subscriber_id, c.channel, c.provider, c.address
         FROM candidates c
         JOIN claimed k ON k.channel = c.channel AND k.address_hash = address_hash(c.address)
         ORDER BY c.subscriber_id
         ON CONFLICT (alert_id, subscriber_id, channel) DO NOTHING
         RETURNING id, channel, provider, subscriber_id
     )",
    count_planned!()
);

/// The accounts of each route with their slots, as columns for UNNEST ($5–$9 of
/// `candidates!`).
#[derive(Default)]
pub(super) struct Slots<'a> {
    pub channel: Vec<&'a str>,
    pub account: Vec<&'a str>,
    pub low: Vec<i64>,
    pub high: Vec<i64>,
    pub total: Vec<i64>,
}

impl<'a> Slots<'a> {
    /// One row per account of each route, owning the slots [low, high) of the route's `total`:
    /// a subscriber goes to the account whose slots its id falls in, so that each account of a
    /// pool gets its share. The id is first multiplied by a prime above any total, so that
    /// consecutive ids (a commune imported at once) fall in every account's slots in turn rather
    /// than in long runs.
    pub fn of(routes: &'a [ChannelRoute]) -> Self {
        let mut slots = Slots::default();
        for route in routes {
            let total: u32 = route.accounts.iter().map(|(_, share)| share).sum();
            let mut low = 0;
            for (account, share) in &route.accounts {
                slots.push(
                    route.channel.as_str(),
                    account,
                    (low, low + share, total.max(1)),
                );
                low += share;
            }
        }
        slots
    }

    /// One account's slots `(low, high, total)` on `channel`.
    pub fn push(
        &mut self,
        channel: &'a str,
        account: &'a str,
        (low, high, total): (u32, u32, u32),
    ) {
        self.channel.push(channel);
        self.account.push(account);
        self.low.push(i64::from(low));
        self.high.push(i64::from(high));
        self.total.push(i64::from(total));
    }
}

/// The still-queued deliveries of the subscribers in `(after, upto]`: after a crash during
/// fan-out these may never have been announced, so they are announced again (a sender skips
/// rows that another already claimed).
pub async fn queued_in_range(
    pool: &PgPool,
    alert: AlertId,
    after: i64,
    upto: i64,
) -> Result<Vec<Planned>, DbError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, channel, provider FROM deliveries
         WHERE alert_id = $1 AND subscriber_id > $2 AND subscriber_id <= $3 AND status = 'queued'
         ORDER BY id",
    )
    .bind(alert.0)
    .bind(after)
    .bind(upto)
    .fetch_all(pool)
    .await?;
    Ok(into_planned(rows))
}

fn into_planned(rows: Vec<(i64, String, String)>) -> Vec<Planned> {
    rows.into_iter()
        .filter_map(|(id, channel, provider)| {
            Some(Planned {
                id: DeliveryId(id),
                channel: channel.parse().ok()?,
                provider,
            })
        })
        .collect()
}

/// A delivery a sender now holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: DeliveryId,
    pub subscriber: crate::model::SubscriberId,
    pub address: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// Who claims, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub owner: Uuid,
    pub length: Duration,
}

/// A retrying delivery may be claimed this early: its retry message's jitter and clock skew.
const DUE_SLACK: &str = "2 seconds";

/// Moves the given deliveries that are free to `sending`, under `lease`, and returns them. Free
/// means queued, retrying and due, or sending under a lease that has ended (its owner crashed or
/// stalled). A broker redelivery alone never takes a row over: two instances racing for the same
/// ids get disjoint sets, and a row stays with its owner until its lease ends.
pub async fn claim(
    pool: &PgPool,
    ids: &[DeliveryId],
    lease: Lease,
) -> Result<Vec<Claimed>, DbError> {
    let ids = sorted(ids);
    let rows: Vec<(i64, i64, String, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries
         SET status = 'sending', owner = $2, lease_until = now() + $3 * interval '1 millisecond',
             attempts = attempts + 1, next_attempt_at = NULL, updated_at = now()
         WHERE id = ANY($1)
           AND (status = 'queued'
                OR (status = 'retrying' AND next_attempt_at <= now() + interval '{DUE_SLACK}')
                OR (status = 'sending' AND lease_until < now()))
           -- Its subscriber left while it was being sent (store::erasure::sweep).
           AND address IS NOT NULL
         RETURNING id, subscriber_id, address, attempts"
    )))
    .bind(&ids)
    .bind(lease.owner)
    .bind(millis(lease.length))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, subscriber, address, attempts)| Claimed {
            id: DeliveryId(id),
            subscriber: crate::model::SubscriberId(subscriber),
            address,
            attempts,
        })
        .collect())
}

/// Retrying deliveries among `ids` whose time has not come, with when it comes: their message
/// came back before they are due (a duplicate of their retry message, clocks that disagree) and
/// waits again. (A Retry-After longer than every tier is cut to the longest: such a delivery is
/// due when its message comes back.)
pub async fn not_yet_due(
    pool: &PgPool,
    ids: &[DeliveryId],
) -> Result<Vec<(DeliveryId, DateTime<Utc>)>, DbError> {
    let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, next_attempt_at FROM deliveries
         WHERE id = ANY($1) AND status = 'retrying'
           AND next_attempt_at > now() + interval '{DUE_SLACK}'"
    )))
    .bind(sorted(ids))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, at)| (DeliveryId(id), at))
        .collect())
}

/// Hands back rows `owner` claimed but did not start sending (shutdown): queued again, the
/// attempt not counted. Returns those released.
pub async fn release(
    pool: &PgPool,
    ids: &[DeliveryId],
    owner: Uuid,
) -> Result<Vec<DeliveryId>, DbError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "UPDATE deliveries
         SET status = 'queued', owner = NULL, lease_until = NULL, attempts = attempts - 1,
             updated_at = now()
         WHERE id = ANY($1) AND owner = $2 AND status = 'sending'
         RETURNING id",
    )
    .bind(sorted(ids))
    .bind(owner)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| DeliveryId(id)).collect())
}

/// Marks expired the rows among `ids` that are still free to send (see [`claim`]): their alert's
/// deadline passed.
pub async fn expire_free(pool: &PgPool, ids: &[DeliveryId]) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE deliveries
         SET status = 'expired', owner = NULL, lease_until = NULL, next_attempt_at = NULL,
             error = COALESCE(error, 'not sent before the alert expired'), updated_at = now()
         WHERE id = ANY($1)
           AND (status IN ('queued', 'retrying') OR (status = 'sending' AND lease_until < now()))",
    )
    .bind(sorted(ids))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) fn sorted(ids: &[DeliveryId]) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    // Concurrent batched UPDATEs lock rows in id order, or they can deadlock.
    ids.sort_unstable();
    ids
}

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Those of `ids` that are deliveries of the tenant's alerts.
pub async fn of_tenant(
    pool: &PgPool,
    tenant: crate::model::TenantId,
    ids: &[DeliveryId],
) -> Result<Vec<DeliveryId>, DbError> {
    let ids: Vec<i64> = ids.iter().map(|d| d.0).collect();
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT d.id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.id = ANY($1) AND a.tenant_id = $2",
    )
    .bind(&ids)
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| DeliveryId(id)).collect())
}

/// One delivery as an alert's report lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: DeliveryId,
    pub subscriber: crate::model::SubscriberId,
    pub channel: Channel,
    /// None once erased (the subscriber left, or the retention period passed).
    pub address: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// When the citizen confirmed the alert on it.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// Which of an alert's deliveries a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    All,
    Status(DeliveryStatus),
    /// Those of people who did not confirm the alert on any channel: reached or not.
    Unacknowledged,
}

/// A page of an alert's deliveries, in id order after `after`, as `filter` chooses.
pub async fn list(
    pool: &PgPool,
    alert: AlertId,
    filter: Listing,
    after: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    type ListedRow = (
        i64,
        i64,
        String,
        Option<String>,
        String,
        i32,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let (status, unacknowledged) = match filter {
        Listing::All => (None, false),
        Listing::Status(status) => (Some(status.as_str()), false),
        Listing::Unacknowledged => (None, true),
    };
    let rows: Vec<ListedRow> = sqlx::query_as(
        "SELECT id, subscriber_id, channel, address, status, attempts, error, updated_at,
                acknowledged_at
         FROM deliveries d
         WHERE alert_id = $1 AND ($2::text IS NULL OR status = $2) AND id > $3
           AND (NOT $5 OR NOT EXISTS (SELECT 1 FROM deliveries k
                    WHERE k.alert_id = $1 AND k.subscriber_id = d.subscriber_id
                      AND k.acknowledged_at IS NOT NULL))
         ORDER BY id LIMIT $4",
    )
    .bind(alert.0)
    .bind(status)
    .bind(after.map_or(0, |id| id.0))
    .bind(limit)
    .bind(unacknowledged)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, subscriber, channel, address, status, attempts, error, updated_at, ack)| {
                Some(Listed {
                    id: DeliveryId(id),
                    subscriber: crate::model::SubscriberId(subscriber),
                    channel: channel.parse().ok()?,
                    address,
                    status: status.parse().ok()?,
                    attempts,
                    error,
                    updated_at,
                    acknowledged_at: ack,
                })
            },
        )
        .collect())
}

/// Keeps which delivery each of a provider's message ids is, for providers whose reports name
/// only their own id, then applies the reports that came before.
pub async fn remember_provider_ids(
    pool: &PgPool,
    rows: &[(&str, &str, DeliveryId)],
) -> Result<u64, DbError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let providers: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let message_ids: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let deliveries: Vec<i64> = rows.iter().map(|r| r.2.0).collect();
    sqlx::query(
        "INSERT INTO provider_message_ids (provider, message_id, delivery_id)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT DO NOTHING",
    )
    .bind(&providers)
    .bind(&message_ids)
    .bind(&deliveries)
    .execute(pool)
    .await?;
    apply_early_reports(pool).await
}

/// The provider said these recipients opted out (they replied STOP to it): as with a STOP sent
/// to Tocsin, their numbers are forgotten and go on the opt-out list, at once or, while their
/// commune's subscribers are locked by an import, as soon as it ends (`pending_opt_outs`):
/// the caller (the outcome writer, serving every commune) never waits for an import.
pub async fn opt_out_recipients(pool: &PgPool, ids: &[DeliveryId]) -> Result<u64, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = ids.iter().map(|d| d.0).collect();
    let numbers: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT DISTINCT a.tenant_id, d.address FROM deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.id = ANY($1) AND d.channel = 'sms' AND d.address IS NOT NULL",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for (tenant, number) in &numbers {
        let tenant = crate::model::TenantId(*tenant);
        super::pending_opt_outs::stop_or_keep(pool, tenant, number).await?;
    }
    Ok(numbers.len() as u64)
}

/// The delivery a provider's message id is, if known.
pub async fn by_provider_id(
    pool: &PgPool,
    provider: &str,
    message_id: &str,
) -> Result<Option<DeliveryId>, DbError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT delivery_id FROM provider_message_ids WHERE provider = $1 AND message_id = $2",
    )
    .bind(provider)
    .bind(message_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id,)| DeliveryId(id)))
}

/// Keeps a report about a message whose id is not known yet.
pub async fn keep_early_report(
    pool: &PgPool,
    provider: &str,
    message_id: &str,
    tenant: crate::model::TenantId,
    status: DeliveryStatus,
    error: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO early_reports (provider, message_id, tenant_id, status, error)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(provider)
    .bind(message_id)
    .bind(tenant.0)
    .bind(status.as_str())
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Applies every early report whose message id is now known (to the tenant's own delivery,
/// from `sending` or `sent` only), and drops those a day old that never matched. The sweeper
/// calls it too: a report kept while its id was being remembered is applied at the next sweep.
pub async fn apply_early_reports(pool: &PgPool) -> Result<u64, DbError> {
    let (applied,): (i64,) = sqlx::query_as(
        "WITH known AS (
             DELETE FROM early_reports e USING provider_message_ids p
             WHERE p.provider = e.provider AND p.message_id = e.message_id
             RETURNING p.delivery_id, e.tenant_id, e.status, e.error
         ),
         applied AS (
             UPDATE deliveries d
             SET status = known.status, error = COALESCE(known.error, d.error),
                 lease_until = NULL, updated_at = now()
             FROM known, alerts a
             WHERE d.id = known.delivery_id AND a.id = d.alert_id
               AND a.tenant_id = known.tenant_id AND d.status IN ('sending', 'sent')
             RETURNING d.id
         ),
         stale AS (
             DELETE FROM early_reports e WHERE e.received_at < now() - interval '1 day'
               AND NOT EXISTS (SELECT 1 FROM provider_message_ids p
                               WHERE p.provider = e.provider AND p.message_id = e.message_id)
         )
         SELECT count(*) FROM applied",
    )
    .fetch_one(pool)
    .await?;
    Ok(applied as u64)
}
