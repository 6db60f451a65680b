//! Voice calls as their providers ask about them: the call a key press names, and the calls
//! that just ended, with what deciding to place them again needs.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{DeliveryId, TenantId};

/// A call as its provider asks about it: the alert it reads and the commune calling.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Call {
    pub alert_id: uuid::Uuid,
    pub body: String,
    pub commune: String,
    pub acknowledged: bool,
}

/// The voice delivery `id` of `tenant`, if it is one.
pub async fn call(
    pool: &PgPool,
    tenant: TenantId,
    id: DeliveryId,
) -> Result<Option<Call>, DbError> {
    sqlx::query_as(
        "SELECT a.id AS alert_id, a.body, n.name AS commune,
                d.acknowledged_at IS NOT NULL AS acknowledged
         FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN tenants n ON n.id = a.tenant_id
         WHERE d.id = $1 AND d.channel = 'voice' AND a.tenant_id = $2",
    )
    .bind(id.0)
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
}

/// A call that just ended, with what deciding whether to place it again needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndedCall {
    /// The delivery's id.
    pub id: i64,
    /// Calls placed so far, the one that ended included.
    pub attempts: i32,
    pub until_acknowledged: bool,
    /// The household confirmed the alert, on any channel.
    pub acknowledged: bool,
    pub expires_at: DateTime<Utc>,
    pub body: String,
    pub commune: String,
}

/// The voice deliveries among `ids`, with their alert's recall settings.
pub async fn ended_calls(pool: &PgPool, ids: &[DeliveryId]) -> Result<Vec<EndedCall>, DbError> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    sqlx::query_as(
        "SELECT d.id, d.attempts, a.until_acknowledged, a.expires_at, a.body, n.name AS commune,
                EXISTS (SELECT 1 FROM deliveries k
                        WHERE k.alert_id = d.alert_id AND k.subscriber_id = d.subscriber_id
                          AND k.acknowledged_at IS NOT NULL) AS acknowledged
         FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN tenants n ON n.id = a.tenant_id
         WHERE d.id = ANY($1) AND d.channel = 'voice'",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
}
