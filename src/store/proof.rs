//! What the proof of an alert reads: its delivery rows (masked addresses only), how fast they
//! went, and its audit entries.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{AlertId, DeliveryId};

/// One recipient's delivery, as the proof shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Recipient {
    pub id: i64,
    pub channel: String,
    /// Masked: live addresses are masked by the caller; erased ones kept their masked form.
    pub address: Option<String>,
    pub address_masked: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    /// When a receipt said delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the citizen confirmed (pressed 1, answered OK, clicked the page's button).
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl Recipient {
    pub fn delivery(&self) -> DeliveryId {
        DeliveryId(self.id)
    }
}

pub async fn recipients(pool: &PgPool, alert: AlertId) -> Result<Vec<Recipient>, DbError> {
    sqlx::query_as(
        "SELECT id, channel, address, address_masked, status, attempts, sent_at,
                CASE WHEN status = 'delivered' THEN updated_at END AS delivered_at,
                acknowledged_at, error
         FROM deliveries WHERE alert_id = $1 ORDER BY channel, id",
    )
    .bind(alert.0)
    .fetch_all(pool)
    .await
}

/// When 50 %, 90 % and 100 % of the deliveries handed to a provider had been.
pub async fn sent_quantiles(
    pool: &PgPool,
    alert: AlertId,
) -> Result<Option<[DateTime<Utc>; 3]>, DbError> {
    let row: (Option<Vec<DateTime<Utc>>>,) = sqlx::query_as(
        "SELECT percentile_disc(ARRAY[0.5, 0.9, 1.0]) WITHIN GROUP (ORDER BY sent_at)
         FROM deliveries WHERE alert_id = $1 AND sent_at IS NOT NULL",
    )
    .bind(alert.0)
    .fetch_one(pool)
    .await?;
    Ok(row.0.and_then(|q| q.try_into().ok()))
}

/// An audit entry about the alert.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditLine {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub hash: String,
}

/// The audit entries whose object is one of `objects` (the alert, its group alert), and the
/// chain's last entry now: its `seq` and hash.
pub async fn audit(
    pool: &PgPool,
    objects: &[String],
) -> Result<(Vec<AuditLine>, Option<(i64, String)>), DbError> {
    let lines = sqlx::query_as(
        "SELECT seq, at, actor, action, encode(hash, 'hex') AS hash FROM audit_log
         WHERE object = ANY($1) ORDER BY seq",
    )
    .bind(objects)
    .fetch_all(pool)
    .await?;
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, encode(hash, 'hex') FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    Ok((lines, head))
}
