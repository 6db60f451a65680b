//! Phone numbers waiting for their confirmation code. Only a keyed hash of each code is kept.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{TenantId, TopicId};

/// Records a new code for the number, replacing an earlier one (and the tries made on it). How
/// many codes a number may get is capped before this (`dispatch::policy::public_caps`).
pub async fn new_code(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
    code_hash: &[u8],
    topics: &[TopicId],
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    let topics: Vec<uuid::Uuid> = topics.iter().map(|t| t.0).collect();
    sqlx::query(
        "INSERT INTO phone_confirmations AS c (tenant_id, phone, code_hash, topics, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, phone) DO UPDATE SET
             code_hash = EXCLUDED.code_hash, topics = EXCLUDED.topics,
             expires_at = EXCLUDED.expires_at, attempts = 0, sent = c.sent + 1,
             window_start = now()",
    )
    .bind(tenant.0)
    .bind(phone)
    .bind(code_hash)
    .bind(&topics)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Which code the number is waiting with, as an opaque word that changes with every new code
/// (tries are counted per code); `None` when no code is good now.
pub async fn pending_code(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
) -> Result<Option<String>, DbError> {
    let row: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "SELECT expires_at FROM phone_confirmations
         WHERE tenant_id = $1 AND phone = $2 AND expires_at > now()",
    )
    .bind(tenant.0)
    .bind(phone)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(at,)| at.timestamp_micros().to_string()))
}

/// Uses the number's code when one of `code_hashes` is its hash (one per key version) and it is
/// still good: the topics asked for. A used code cannot serve twice. `None` for a wrong, expired
/// or missing code alike.
pub async fn redeem(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
    code_hashes: &[Vec<u8>],
) -> Result<Option<Vec<TopicId>>, DbError> {
    // Compared in SQL: both sides are HMACs under the platform's key, so how long the
    // comparison takes tells a guesser nothing about the code.
    let row: Option<(Vec<uuid::Uuid>,)> = sqlx::query_as(
        "UPDATE phone_confirmations SET code_hash = '\\x00', expires_at = now()
         WHERE tenant_id = $1 AND phone = $2 AND code_hash = ANY($3) AND expires_at > now()
         RETURNING topics",
    )
    .bind(tenant.0)
    .bind(phone)
    .bind(code_hashes)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(topics,)| topics.into_iter().map(TopicId).collect()))
}

/// Spends a single-use link (by its keyed hash): true the first time, false once used. Links
/// past their expiry are forgotten here too, since they are refused before this is asked.
pub async fn spend_link(
    pool: &PgPool,
    link_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let (spent,): (bool,) = sqlx::query_as(
        "WITH purge AS (DELETE FROM used_links WHERE expires_at < now()),
              spent AS (INSERT INTO used_links (link_hash, expires_at) VALUES ($1, $2)
                        ON CONFLICT DO NOTHING RETURNING 1)
         SELECT EXISTS (SELECT 1 FROM spent)",
    )
    .bind(link_hash)
    .bind(expires_at)
    .fetch_one(pool)
    .await?;
    Ok(spent)
}

/// True when a single-use link was already spent.
pub async fn link_spent(pool: &PgPool, link_hash: &[u8]) -> Result<bool, DbError> {
    let (spent,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM used_links WHERE link_hash = $1)")
            .bind(link_hash)
            .fetch_one(pool)
            .await?;
    Ok(spent)
}
