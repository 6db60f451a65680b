//! Alerts: what a mayor sent, to which topic, on which channels.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::{DbError, tenants::TenantSenders};
use crate::model::{AlertId, Channel, DeliveryStatus, Lane, TenantId, TopicId};

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
    pub recipients: i32,
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
    /// How its tenant's messages go out, read with the alert so that a change applies to the
    /// next batch, without a restart.
    pub senders: TenantSenders,
    /// The secret of its tenant's callback URLs.
    pub callback_token: String,
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
    pub recipients: i32,
    pub expires_at: DateTime<Utc>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
}

const SELECT_ALERT: &str =
    "SELECT a.id, a.tenant_id, n.slug AS tenant, n.name AS tenant_name, a.topic_id,
        t.slug AS topic, a.lane, a.channels, a.subject, a.body, a.recipients, a.created_at,
        a.planned_at, a.request_hash, a.expires_at, a.closed_at, a.scheduled_at, a.starts_at,
        a.cancelled_at, n.sms_account, n.sms_secondary, n.sms_sender, n.email_from,
        n.callback_token,
        n.max_sms_segments
     FROM alerts a JOIN topics t ON t.id = a.topic_id JOIN tenants n ON n.id = a.tenant_id";

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
    recipients: i32,
    created_at: DateTime<Utc>,
    planned_at: Option<DateTime<Utc>>,
    request_hash: Option<Vec<u8>>,
    expires_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    scheduled_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    sms_account: Option<String>,
    sms_secondary: Option<String>,
    sms_sender: Option<String>,
    email_from: Option<String>,
    callback_token: String,
    max_sms_segments: i32,
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
        senders: TenantSenders {
            sms_account: row.sms_account,
            sms_secondary: row.sms_secondary,
            sms_sender: row.sms_sender,
            email_from: row.email_from,
            max_sms_segments: row.max_sms_segments,
        },
        callback_token: row.callback_token,
    }
}

/// How many subscribers of the topic can be reached on at least one of the channels.
pub async fn count_recipients(
    tx: &mut Transaction<'_, Postgres>,
    topic: TopicId,
    channels: &[Channel],
) -> Result<i64, DbError> {
    let (sms, email, push) = (
        channels.contains(&Channel::Sms),
        channels.contains(&Channel::Email),
        channels.contains(&Channel::Push),
    );
    // Every subscriber has a phone number, an address or a browser (a CHECK says so): on every
    // channel, every subscription counts, and the index alone answers, without visiting a
    // million rows.
    let query = if sms && email && push {
        sqlx::query_as("SELECT count(*) FROM subscriptions WHERE topic_id = $1").bind(topic.0)
    } else {
        sqlx::query_as(
            "SELECT count(*) FROM subscriptions s JOIN subscribers b ON b.id = s.subscriber_id
             WHERE s.topic_id = $1
               AND ((b.phone IS NOT NULL AND $2) OR (b.email IS NOT NULL AND $3)
                    OR (b.push IS NOT NULL AND $4))",
        )
        .bind(topic.0)
        .bind(sms)
        .bind(email)
        .bind(push)
    };
    let (count,): (i64,) = query.fetch_one(&mut **tx).await?;
    Ok(count)
}

/// Subscribers of the topic reachable by SMS, by e-mail and by push.
pub async fn recipients_by_channel(
    pool: &PgPool,
    topic: TopicId,
) -> Result<(i64, i64, i64), DbError> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE b.phone IS NOT NULL),
                count(*) FILTER (WHERE b.email IS NOT NULL),
                count(*) FILTER (WHERE b.push IS NOT NULL)
         FROM subscriptions s JOIN subscribers b ON b.id = s.subscriber_id
         WHERE s.topic_id = $1",
    )
    .bind(topic.0)
    .fetch_one(pool)
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
                             idempotency_key, recipients, request_hash, expires_at,
                             scheduled_at, starts_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
    .bind(alert.recipients)
    .bind(alert.request_hash)
    .bind(alert.expires_at)
    .bind(alert.scheduled_at)
    .bind(alert.starts_at)
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

pub async fn mark_planned(pool: &PgPool, id: AlertId) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET planned_at = now() WHERE id = $1 AND planned_at IS NULL")
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// Number of deliveries per channel and status.
pub async fn delivery_counts(
    pool: &PgPool,
    id: AlertId,
) -> Result<Vec<(Channel, DeliveryStatus, i64)>, DbError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT channel, status, count(*) FROM deliveries WHERE alert_id = $1 GROUP BY 1, 2",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, s, n)| Some((c.parse().ok()?, s.parse().ok()?, n)))
        .collect())
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

pub async fn timings(pool: &PgPool, id: AlertId) -> Result<Vec<(Channel, Timing)>, DbError> {
    /// Channel, then milliseconds to the first and last answers and to 90 % delivered.
    type TimingRow = (String, Option<f64>, Option<f64>, Option<f64>);
    let rows: Vec<TimingRow> = sqlx::query_as(
        "SELECT d.channel,
                EXTRACT(EPOCH FROM min(d.sent_at) - s.start)::float8 * 1000,
                EXTRACT(EPOCH FROM max(d.sent_at) - s.start)::float8 * 1000,
                EXTRACT(EPOCH FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY d.updated_at)
                    FILTER (WHERE d.status = 'delivered') - s.start)::float8 * 1000
         FROM deliveries d
         JOIN (SELECT id, COALESCE(starts_at, created_at) AS start FROM alerts) s
           ON s.id = d.alert_id
         WHERE d.alert_id = $1 AND (d.sent_at IS NOT NULL OR d.status = 'delivered')
         GROUP BY d.channel, s.start",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(channel, first, last, delivered)| {
            let timing = Timing {
                first_sent_ms: first?.round() as i64,
                last_sent_ms: last?.round() as i64,
                delivered_90_ms: delivered.map(|ms| ms.round() as i64),
            };
            Some((channel.parse().ok()?, timing))
        })
        .collect())
}
