//! Browsers' push subscriptions. Each is a subscriber of its own whose address is the
//! subscription (endpoint and keys, as the browser gave them): see migrations/0014.

use sqlx::PgPool;

use super::{DbError, erasure, subscribers::lock_tenant};
use crate::model::{Channel, DeliveryId, SubscriberId, TenantId, TopicId};

/// Subscribes a browser to exactly these topics, its consent recorded: the same endpoint again
/// (the page reloaded, other topics) updates the one subscriber, but only when it comes with
/// the subscription's `auth` secret, which only that browser holds: `None` otherwise.
pub async fn subscribe(
    pool: &PgPool,
    tenant: TenantId,
    subscription: &serde_json::Value,
    topics: &[(TopicId, String)],
) -> Result<Option<SubscriberId>, DbError> {
    let mut tx = pool.begin().await?;
    lock_tenant(&mut tx, tenant).await?;
    let upserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO subscribers (tenant_id, push) VALUES ($1, $2)
         ON CONFLICT (tenant_id, (push ->> 'endpoint')) WHERE push IS NOT NULL
         DO UPDATE SET push = EXCLUDED.push
         WHERE subscribers.push -> 'keys' ->> 'auth' = EXCLUDED.push -> 'keys' ->> 'auth'
         RETURNING id",
    )
    .bind(tenant.0)
    .bind(subscription)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id,)) = upserted else {
        return Ok(None);
    };
    let ids: Vec<uuid::Uuid> = topics.iter().map(|(t, _)| t.0).collect();
    sqlx::query("DELETE FROM subscriptions WHERE subscriber_id = $1 AND topic_id <> ALL($2)")
        .bind(id)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO subscriptions (topic_id, subscriber_id) SELECT unnest($2::uuid[]), $1
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    let slugs: Vec<&str> = topics.iter().map(|(_, s)| s.as_str()).collect();
    sqlx::query(
        "INSERT INTO consents (tenant_id, subscriber_id, channel, address, method, topics,
                               evidence)
         VALUES ($1, $2, 'push', $3, 'browser', $4,
                 'notifications allowed in a browser on the commune''s page')",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(subscription["endpoint"].as_str())
    .bind(&slugs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(SubscriberId(id)))
}

/// The browser of this endpoint leaves, proven by its `auth` secret: it is forgotten. False
/// when no such subscription.
pub async fn unsubscribe(
    pool: &PgPool,
    tenant: TenantId,
    endpoint: &str,
    auth: &str,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    lock_tenant(&mut tx, tenant).await?;
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM subscribers
         WHERE tenant_id = $1 AND push ->> 'endpoint' = $2 AND push -> 'keys' ->> 'auth' = $3",
    )
    .bind(tenant.0)
    .bind(endpoint)
    .bind(auth)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id,)) = found else {
        return Ok(false);
    };
    erasure::forget(&mut tx, tenant, SubscriberId(id), &[Channel::Push]).await?;
    tx.commit().await?;
    Ok(true)
}

/// Push services said these deliveries' subscriptions are gone (404, 410): their browsers are
/// forgotten and never written to again.
pub async fn forget_gone(pool: &PgPool, deliveries: &[DeliveryId]) -> Result<u64, DbError> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = deliveries.iter().map(|d| d.0).collect();
    let gone: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT DISTINCT s.tenant_id, s.id FROM deliveries d
         JOIN subscribers s ON s.id = d.subscriber_id
         WHERE d.id = ANY($1) AND d.channel = 'push'
           AND s.push ->> 'endpoint' = d.address::jsonb ->> 'endpoint'",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for &(tenant, id) in &gone {
        let mut tx = pool.begin().await?;
        let tenant = TenantId(tenant);
        lock_tenant(&mut tx, tenant).await?;
        erasure::forget(&mut tx, tenant, SubscriberId(id), &[Channel::Push]).await?;
        tx.commit().await?;
    }
    Ok(gone.len() as u64)
}
