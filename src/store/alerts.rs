//! Alerts: what a mayor sent, to which topic, on which channels.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::{DbError, tenants::TenantSenders};
use crate::model::{AlertId, Channel, Lane, TenantId, TopicId};

/// An alert as stored.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: AlertId,
    pub tenant_id: TenantId,
    pub tenant: String,
    /// The commune's name, as citizens know it.
    pub tenant_name: String,
    pub topic_id: TopicId,
    pub topic: String,
    pub lane: Lane,
    pub channels: Vec<Channel>,
    pub subject: String,
    pub body: String,
    /// Subscribers reachable on at least one of its channels, counted by fan-out as it plans
    /// (the API answers before counting); `None` before planning starts.
    pub recipients: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub planned_at: Option<DateTime<Utc>>,
    /// Fingerprint of the request that created it (NULL before it was recorded).
    pub request_hash: Option<Vec<u8>>,
    /// Nothing is sent after this.
    pub expires_at: DateTime<Utc>,
    /// Set once nothing of it is pending any more.
    pub closed_at: Option<DateTime<Utc>>,
    /// When the sender asked it to start (absent: at once).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it starts, if later than its creation (asked so, or deferred by quiet hours).
    pub starts_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When it was stopped under way; its deadline was brought forward to then.
    pub stopped_at: Option<DateTime<Utc>>,
    /// How its tenant's messages go out, read with the alert so that a change applies to the
    /// next batch, without a restart.
    pub senders: TenantSenders,
    /// The version of its tenant's callback token (`model::callback_tokens`).
    pub callback_token_version: i32,
    /// The group alert it is the commune's part of (`store::group_alerts`).
    pub group_alert_id: Option<AlertId>,
    /// The slug of the group that sent it, for a group alert's part.
    pub sent_by: Option<String>,
    /// A drill.
    pub exercise: bool,
    /// An urgent alert sent over a budget (`dispatch::policy::budget`).
    pub over_budget: bool,
}

pub struct NewAlert<'a> {
    pub id: AlertId,
    pub tenant_id: TenantId,
    pub topic_id: TopicId,
    pub lane: Lane,
    pub channels: &'a [Channel],
    pub subject: &'a str,
    pub body: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub group_alert_id: Option<AlertId>,
    pub exercise: bool,
    /// Its calls go to mobiles too, not only to fixed lines.
    pub voice_to_mobiles: bool,
    /// Its calls are placed again until confirmed.
    pub until_acknowledged: bool,
}

const SELECT_ALERT: &str =
    "SELECT a.id, a.tenant_id, n.slug AS tenant, n.name AS tenant_name, a.topic_id,
        t.slug AS topic, a.lane, a.channels, a.subject, a.body, a.recipients, a.created_at,
        a.planned_at, a.request_hash, a.expires_at, a.closed_at, a.scheduled_at, a.starts_at,
        a.cancelled_at, a.stopped_at, n.sms_account, n.sms_secondary, n.sms_sender, n.email_from,
        n.voice_enabled, n.voice_caller_id, n.callback_token_version,
        n.max_sms_segments, a.group_alert_id, gt.slug AS sent_by, a.exercise,
        a.over_budget
     FROM alerts a JOIN topics t ON t.id = a.topic_id JOIN tenants n ON n.id = a.tenant_id
     LEFT JOIN group_alerts g ON g.id = a.group_alert_id
     LEFT JOIN tenants gt ON gt.id = g.tenant_id";

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: uuid::Uuid,
    tenant_id: uuid::Uuid,
    tenant: String,
    tenant_name: String,
    topic_id: uuid::Uuid,
    topic: String,
    lane: String,
    channels: Vec<String>,
    subject: String,
    body: String,
    recipients: Option<i32>,
    created_at: DateTime<Utc>,
    planned_at: Option<DateTime<Utc>>,
    request_hash: Option<Vec<u8>>,
    expires_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    scheduled_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
    sms_account: Option<String>,
    sms_secondary: Option<String>,
    sms_sender: Option<String>,
    email_from: Option<String>,
    voice_enabled: bool,
    voice_caller_id: Option<String>,
    callback_token_version: i32,
    max_sms_segments: i32,
    group_alert_id: Option<uuid::Uuid>,
    sent_by: Option<String>,
    exercise: bool,
    over_budget: bool,
}

fn from_row(row: AlertRow) -> Alert {
    Alert {
        id: AlertId(row.id),
        tenant_id: TenantId(row.tenant_id),
        tenant: row.tenant,
        tenant_name: row.tenant_name,
        topic_id: TopicId(row.topic_id),
        topic: row.topic,
        lane: row.lane.parse().unwrap_or(Lane::Bulk),
        channels: row.channels.iter().filter_map(|c| c.parse().ok()).collect(),
        subject: row.subject,
        body: row.body,
        recipients: row.recipients,
        created_at: row.created_at,
        planned_at: row.planned_at,
        request_hash: row.request_hash,
        expires_at: row.expires_at,
        closed_at: row.closed_at,
        scheduled_at: row.scheduled_at,
        starts_at: row.starts_at,
        cancelled_at: row.cancelled_at,
        stopped_at: row.stopped_at,
        senders: TenantSenders {
            sms_account: row.sms_account,
            sms_secondary: row.sms_secondary,
            sms_sender: row.sms_sender,
            email_from: row.email_from,
            voice_enabled: row.voice_enabled,
            voice_caller_id: row.voice_caller_id,
            max_sms_segments: row.max_sms_segments,
        },
        callback_token_version: row.callback_token_version,
        group_alert_id: row.group_alert_id.map(AlertId),
        sent_by: row.sent_by,
        exercise: row.exercise,
        over_budget: row.over_budget,
    }
}

/// Which alerts a history shows.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub topic: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub urgent_only: bool,
}

/// A tenant's alerts, newest first, at most `limit`.
pub async fn history(
    pool: &PgPool,
    tenant: TenantId,
    filter: &HistoryFilter,
    limit: i64,
) -> Result<Vec<Alert>, DbError> {
    let rows: Vec<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_ALERT} WHERE a.tenant_id = $1 AND ($2::text IS NULL OR t.slug = $2)
           AND ($3::timestamptz IS NULL OR a.created_at >= $3)
           AND ($4::timestamptz IS NULL OR a.created_at < $4)
           AND (NOT $5 OR a.lane = 'urgent')
         ORDER BY a.created_at DESC, a.id DESC LIMIT $6"
    )))
    .bind(tenant.0)
    .bind(filter.topic.as_deref())
    .bind(filter.from)
    .bind(filter.until)
    .bind(filter.urgent_only)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Subscribers of the topic reachable on at least one of `channels`: the people an alert reaches.
pub async fn people_reached(
    pool: &PgPool,
    topic: TopicId,
    channels: &[Channel],
    calls_mobiles: bool,
) -> Result<i64, DbError> {
    let voice = channels.contains(&Channel::Voice);
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM subscriptions s JOIN subscribers b ON b.id = s.subscriber_id
         WHERE s.topic_id = $1 AND ((b.phone IS NOT NULL AND ($2 OR $6))
                                    OR (b.email IS NOT NULL AND $3)
                                    OR (b.push IS NOT NULL AND $4)
                                    OR (b.landline IS NOT NULL AND $5))",
    )
    .bind(topic.0)
    .bind(channels.contains(&Channel::Sms))
    .bind(channels.contains(&Channel::Email))
    .bind(channels.contains(&Channel::Push))
    .bind(voice)
    .bind(voice && calls_mobiles)
    .fetch_one(pool)
    .await?;
    Ok(n)
}

/// Whom a topic's subscribers can be reached by.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Reach {
    pub sms: i64,
    pub email: i64,
    pub push: i64,
    /// With a fixed line (called).
    pub landlines: i64,
    /// With a mobile and no fixed line (called when the alert names voice).
    pub mobiles_only: i64,
}

impl Reach {
    /// The calls an alert places: to fixed lines, and to mobiles when it calls them.
    pub fn calls(&self, to_mobiles: bool) -> i64 {
        self.landlines + if to_mobiles { self.mobiles_only } else { 0 }
    }
}

/// Subscribers of the topic by the ways they can be reached.
pub async fn reach<'e>(db: impl sqlx::PgExecutor<'e>, topic: TopicId) -> Result<Reach, DbError> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE b.phone IS NOT NULL) AS sms,
                count(*) FILTER (WHERE b.email IS NOT NULL) AS email,
                count(*) FILTER (WHERE b.push IS NOT NULL) AS push,
                count(*) FILTER (WHERE b.landline IS NOT NULL) AS landlines,
                count(*) FILTER (WHERE b.landline IS NULL AND b.phone IS NOT NULL)
                    AS mobiles_only
         FROM subscriptions s JOIN subscribers b ON b.id = s.subscriber_id
         WHERE s.topic_id = $1",
    )
    .bind(topic.0)
    .fetch_one(db)
    .await
}

/// Inserts the alert; returns false, inserting nothing, when the tenant already used this
/// idempotency key.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    alert: &NewAlert<'_>,
) -> Result<bool, DbError> {
    let channels: Vec<&str> = alert.channels.iter().map(|c| c.as_str()).collect();
    let done = sqlx::query(
        "INSERT INTO alerts (id, tenant_id, topic_id, lane, channels, subject, body,
                             idempotency_key, request_hash, expires_at, scheduled_at,
                             starts_at, group_alert_id, exercise, voice_to_mobiles,
                             until_acknowledged)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
    )
    .bind(alert.id.0)
    .bind(alert.tenant_id.0)
    .bind(alert.topic_id.0)
    .bind(alert.lane.as_str())
    .bind(&channels)
    .bind(alert.subject)
    .bind(alert.body)
    .bind(alert.idempotency_key)
    .bind(alert.request_hash)
    .bind(alert.expires_at)
    .bind(alert.scheduled_at)
    .bind(alert.starts_at)
    .bind(alert.group_alert_id.map(|g| g.0))
    .bind(alert.exercise)
    .bind(alert.voice_to_mobiles)
    .bind(alert.until_acknowledged)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_by_idempotency_key(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<Alert>, DbError> {
    let row: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_ALERT} WHERE a.tenant_id = $1 AND a.idempotency_key = $2"
    )))
    .bind(tenant.0)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(from_row))
}

/// One alert of one tenant; another tenant's alert is simply not found.
pub async fn get(pool: &PgPool, tenant: TenantId, id: AlertId) -> Result<Option<Alert>, DbError> {
    let row: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_ALERT} WHERE a.tenant_id = $1 AND a.id = $2"
    )))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

/// An alert by id alone, for the dispatcher, which acts for every tenant.
pub async fn get_for_dispatch(pool: &PgPool, id: AlertId) -> Result<Option<Alert>, DbError> {
    let row: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_ALERT} WHERE a.id = $1"
    )))
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

/// The alert's deadline as it is now (a stop moves it to the moment of the stop).
pub async fn deadline(pool: &PgPool, id: AlertId) -> Result<Option<DateTime<Utc>>, DbError> {
    let row: Option<(DateTime<Utc>,)> =
        sqlx::query_as("SELECT expires_at FROM alerts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(deadline,)| deadline))
}

/// Marks the alert cancelled and closed (its outbox message was just withdrawn in `tx`).
pub async fn mark_cancelled(
    tx: &mut Transaction<'_, Postgres>,
    id: AlertId,
) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET cancelled_at = now(), closed_at = now() WHERE id = $1")
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stops an alert under way: its deadline becomes now, so that senders take nothing more of it
/// and the sweeper expires what is left. False when it was already stopped or is over: every
/// delivery has its outcome (the sweeper closes such an alert only at its next run).
pub async fn stop(pool: &PgPool, id: AlertId) -> Result<bool, DbError> {
    let stopped = sqlx::query(
        "UPDATE alerts a SET stopped_at = now(), expires_at = LEAST(a.expires_at, now())
         WHERE a.id = $1 AND a.stopped_at IS NULL AND a.closed_at IS NULL
           AND (a.planned_at IS NULL
                OR EXISTS (SELECT 1 FROM deliveries d
                           WHERE d.alert_id = a.id
                             AND d.status IN ('queued', 'retrying', 'sending'))
                OR EXISTS (SELECT 1 FROM delivery_ranges r
                           WHERE r.alert_id = a.id AND r.taken_at IS NULL))",
    )
    .bind(id.0)
    .execute(pool)
    .await?;
    Ok(stopped.rows_affected() == 1)
}

pub async fn mark_planned(pool: &PgPool, id: AlertId) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET planned_at = now() WHERE id = $1 AND planned_at IS NULL")
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// Counts the alert's recipients again from its deliveries: after a fan-out that was
/// interrupted, part of what it added may have been added before.
pub async fn recount_recipients(pool: &PgPool, id: AlertId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE alerts SET recipients = (SELECT count(DISTINCT subscriber_id) FROM deliveries
                                         WHERE alert_id = $1)
         WHERE id = $1",
    )
    .bind(id.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// An alert by id, inside a transaction (intake reads back what it just wrote).
pub async fn find_by_id_in(
    tx: &mut Transaction<'_, Postgres>,
    id: AlertId,
) -> Result<Option<Alert>, DbError> {
    let row: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_ALERT} WHERE a.id = $1"
    )))
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(from_row))
}

/// When the providers answered the first and the last delivery of each channel, and by when
/// 90 % of those delivered were (by their receipts), counted from the alert's start, in
/// milliseconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    pub first_sent_ms: i64,
    pub last_sent_ms: i64,
    pub delivered_90_ms: Option<i64>,
}

/// The timings of an alert that started at `start`. The first and last answers come from the
/// tallies; 90 % delivered needs every delivered row, so it is read only when `with_delivered`
/// (once the alert has completed: a million rows read while sending would slow both).
pub async fn timings(
    pool: &PgPool,
    id: AlertId,
    start: DateTime<Utc>,
    with_delivered: bool,
) -> Result<Vec<(Channel, Timing)>, DbError> {
    let answered = super::tallies::answered_between(pool, id).await?;
    let mut delivered: Vec<(String, f64)> = Vec::new();
    if with_delivered && !answered.is_empty() {
        delivered = sqlx::query_as(
            "SELECT channel,
                    EXTRACT(EPOCH FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY updated_at)
                        - $2)::float8 * 1000
             FROM deliveries WHERE alert_id = $1 AND status = 'delivered' GROUP BY channel",
        )
        .bind(id.0)
        .bind(start)
        .fetch_all(pool)
        .await?;
    }
    let ms = |at: DateTime<Utc>| (at - start).num_milliseconds();
    Ok(answered
        .into_iter()
        .map(|(channel, first, last)| {
            let delivered_90_ms = delivered
                .iter()
                .find(|(c, _)| c == channel.as_str())
                .map(|(_, ms)| ms.round() as i64);
            let timing = Timing {
                first_sent_ms: ms(first),
                last_sent_ms: ms(last),
                delivered_90_ms,
            };
            (channel, timing)
        })
        .collect())
}
