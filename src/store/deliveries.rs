//! Delivery rows: one per alert x subscriber x channel, planned before anything is sent, then
//! claimed by a sender and given their outcome in batches.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{AlertId, Channel, DeliveryId, DeliveryStatus, TopicId};

/// Where deliveries of one channel go for this alert.
#[derive(Debug, Clone)]
pub struct ChannelRoute {
    pub channel: Channel,
    pub provider: String,
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
/// call created.
pub async fn plan_range(
    pool: &PgPool,
    alert: AlertId,
    topic: TopicId,
    after: i64,
    upto: i64,
    routes: &[ChannelRoute],
) -> Result<Vec<Planned>, DbError> {
    let channels: Vec<&str> = routes.iter().map(|r| r.channel.as_str()).collect();
    let providers: Vec<&str> = routes.iter().map(|r| r.provider.as_str()).collect();
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address)
         SELECT $1, b.id, r.channel, r.provider,
                CASE r.channel WHEN 'sms' THEN b.phone ELSE b.email END
         FROM subscriptions s
         JOIN subscribers b ON b.id = s.subscriber_id
         CROSS JOIN UNNEST($5::text[], $6::text[]) AS r(channel, provider)
         WHERE s.topic_id = $2 AND s.subscriber_id > $3 AND s.subscriber_id <= $4
           -- The same range on subscribers, or the planner reads all of them for every chunk
           -- (a sequential scan of a million rows, found with EXPLAIN ANALYZE).
           AND b.id > $3 AND b.id <= $4
           AND CASE r.channel WHEN 'sms' THEN b.phone ELSE b.email END IS NOT NULL
         ORDER BY b.id
         ON CONFLICT (alert_id, subscriber_id, channel) DO NOTHING
         RETURNING id, channel, provider",
    )
    .bind(alert.0)
    .bind(topic.0)
    .bind(after)
    .bind(upto)
    .bind(&channels)
    .bind(&providers)
    .fetch_all(pool)
    .await?;
    Ok(into_planned(rows))
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
    pub address: String,
}

/// Moves the given queued deliveries to `sending` and returns them. With `take_over`, rows left
/// in `sending` are taken too: the broker redelivered the message, so whoever held them is gone.
pub async fn claim(
    pool: &PgPool,
    ids: &[DeliveryId],
    take_over: bool,
) -> Result<Vec<Claimed>, DbError> {
    let mut ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    // Concurrent batched UPDATEs lock rows in id order, or they can deadlock.
    ids.sort_unstable();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = now()
         WHERE id = ANY($1) AND (status = 'queued' OR ($2 AND status = 'sending'))
         RETURNING id, address",
    )
    .bind(&ids)
    .bind(take_over)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, address)| Claimed {
            id: DeliveryId(id),
            address,
        })
        .collect())
}

/// The result of one send or one receipt, ready to be written.
#[derive(Debug, Clone)]
pub struct Transition {
    pub id: DeliveryId,
    pub status: DeliveryStatus,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    /// When the provider answered the send; `None` for receipts.
    pub answered_at: Option<DateTime<Utc>>,
}

/// Records senders' outcomes in one statement. Only rows still `sending` change, so a receipt
/// that arrived first is not overwritten.
pub async fn record_outcomes(pool: &PgPool, outcomes: &[Transition]) -> Result<u64, DbError> {
    update_from(pool, outcomes, &["sending"]).await
}

/// Records delivery receipts: a row moves on from `sending` or `sent` only.
pub async fn record_receipts(pool: &PgPool, receipts: &[Transition]) -> Result<u64, DbError> {
    update_from(pool, receipts, &["sending", "sent"]).await
}

/// Applies `changes` to the rows still in one of the `from` states.
async fn update_from(pool: &PgPool, changes: &[Transition], from: &[&str]) -> Result<u64, DbError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let mut changes: Vec<&Transition> = changes.iter().collect();
    changes.sort_unstable_by_key(|t| t.id.0);
    let ids: Vec<i64> = changes.iter().map(|t| t.id.0).collect();
    let statuses: Vec<&str> = changes.iter().map(|t| t.status.as_str()).collect();
    let message_ids: Vec<Option<&str>> = changes
        .iter()
        .map(|t| t.provider_message_id.as_deref())
        .collect();
    let errors: Vec<Option<&str>> = changes.iter().map(|t| t.error.as_deref()).collect();
    let answered: Vec<Option<DateTime<Utc>>> = changes.iter().map(|t| t.answered_at).collect();
    let done = sqlx::query(
        "UPDATE deliveries d
         SET status = u.status,
             provider_message_id = COALESCE(u.message_id, d.provider_message_id),
             error = COALESCE(u.error, d.error),
             sent_at = COALESCE(u.answered_at, d.sent_at),
             updated_at = now()
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $6::timestamptz[])
              AS u(id, status, message_id, error, answered_at)
         WHERE d.id = u.id AND d.status = ANY($5)",
    )
    .bind(&ids)
    .bind(&statuses)
    .bind(&message_ids)
    .bind(&errors)
    .bind(from)
    .bind(&answered)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
