//! Citizens confirming an alert (pressing 1, answering OK, the page's button): the deliveries
//! it was confirmed on, and the calls it stops.

use sqlx::PgPool;

use super::DbError;
use crate::model::{AlertId, Channel, DeliveryId, TenantId};

/// Records that the citizen confirmed the alert on this delivery (the first time counts), and
/// stops the calls of the alert waiting to be placed again to them: one statement, one commit,
/// while the provider waits for the call's next words.
pub async fn acknowledge(pool: &PgPool, id: DeliveryId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE deliveries v
         SET acknowledged_at = CASE WHEN v.id = k.id THEN coalesce(v.acknowledged_at, now())
                                    ELSE v.acknowledged_at END,
             status = CASE WHEN v.channel = 'voice' AND v.status = 'retrying' THEN 'failed'
                           ELSE v.status END,
             error = CASE WHEN v.channel = 'voice' AND v.status = 'retrying'
                          THEN 'confirmed on another channel: not called again'
                          ELSE v.error END,
             next_attempt_at = CASE WHEN v.channel = 'voice' AND v.status = 'retrying' THEN NULL
                                    ELSE v.next_attempt_at END,
             updated_at = CASE WHEN v.channel = 'voice' AND v.status = 'retrying' THEN now()
                               ELSE v.updated_at END
         FROM deliveries k
         WHERE k.id = $1 AND v.alert_id = k.alert_id AND v.subscriber_id = k.subscriber_id
           AND ((v.id = k.id AND v.acknowledged_at IS NULL)
                OR (v.channel = 'voice' AND v.status = 'retrying'))",
    )
    .bind(id.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// A household confirmed on these deliveries: the calls of the same alerts waiting to be
/// placed again to it are not placed.
async fn stop_recalls(pool: &PgPool, acknowledged: &[i64]) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE deliveries v
         SET status = 'failed', error = 'confirmed on another channel: not called again',
             next_attempt_at = NULL, updated_at = now()
         FROM deliveries k
         WHERE k.id = ANY($1) AND v.alert_id = k.alert_id AND v.subscriber_id = k.subscriber_id
           AND v.channel = 'voice' AND v.status = 'retrying'",
    )
    .bind(acknowledged)
    .execute(pool)
    .await?;
    Ok(())
}

/// Who confirmed an alert: per channel, and people in all (each once).
#[derive(Debug, Default)]
pub struct Acknowledged {
    pub by_channel: Vec<(Channel, i64)>,
    pub people: i64,
}

pub async fn acknowledged(pool: &PgPool, alert: AlertId) -> Result<Acknowledged, DbError> {
    // One read of the alert's confirmed rows: a row per channel, and the total row (no
    // channel) with the people counted once.
    let rows: Vec<(Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT channel, count(*), count(DISTINCT subscriber_id) FROM deliveries
         WHERE alert_id = $1 AND acknowledged_at IS NOT NULL
         GROUP BY GROUPING SETS ((channel), ())",
    )
    .bind(alert.0)
    .fetch_all(pool)
    .await?;
    let mut acknowledged = Acknowledged::default();
    for (channel, n, people) in rows {
        match channel {
            Some(channel) => acknowledged
                .by_channel
                .extend(channel.parse().ok().map(|c| (c, n))),
            None => acknowledged.people = people,
        }
    }
    Ok(acknowledged)
}

/// Whether the delivery `id` of `alert` was confirmed; `None` when it is not one of its.
pub async fn acknowledged_of_alert(
    pool: &PgPool,
    alert: AlertId,
    id: DeliveryId,
) -> Result<Option<bool>, DbError> {
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT acknowledged_at IS NOT NULL FROM deliveries WHERE id = $1 AND alert_id = $2",
    )
    .bind(id.0)
    .bind(alert.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(done,)| done))
}

/// Confirms the delivery `id` of `alert` (the first time counts); false when it is not one of
/// its.
pub async fn acknowledge_of_alert(
    pool: &PgPool,
    alert: AlertId,
    id: DeliveryId,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE deliveries SET acknowledged_at = coalesce(acknowledged_at, now())
         WHERE id = $1 AND alert_id = $2",
    )
    .bind(id.0)
    .bind(alert.0)
    .execute(pool)
    .await?;
    stop_recalls(pool, &[id.0]).await?;
    Ok(done.rows_affected() == 1)
}

/// A citizen texted "OK" (or "1", "RECU") from `phone`: their SMS of the tenant's alerts in
/// force that reached them are confirmed. Returns how many.
pub async fn acknowledge_by_phone(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
) -> Result<u64, DbError> {
    let confirmed: Vec<(i64,)> = sqlx::query_as(
        "UPDATE deliveries d SET acknowledged_at = now()
         FROM alerts a, subscribers b
         WHERE b.tenant_id = $1 AND b.phone = $2
           AND a.tenant_id = $1 AND a.expires_at > now() AND a.cancelled_at IS NULL
           AND d.alert_id = a.id AND d.subscriber_id = b.id AND d.channel = 'sms'
           AND d.status IN ('sent', 'delivered') AND d.acknowledged_at IS NULL
         RETURNING d.id",
    )
    .bind(tenant.0)
    .bind(phone)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = confirmed.iter().map(|(id,)| *id).collect();
    stop_recalls(pool, &ids).await?;
    Ok(ids.len() as u64)
}
