//! The audit log (migrations/0029): entries are chained by the database as they are written;
//! here they are written, read for a subtree, and the chain verified.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::TenantId;

/// What is recorded of one action. `details` holds ids, slugs and counts, never personal data.
#[derive(Debug)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub tenant: Option<TenantId>,
    pub action: &'a str,
    pub object: Option<String>,
    pub details: serde_json::Value,
    pub request_id: Option<&'a str>,
}

pub async fn record<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    entry: &Entry<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO audit_log (actor, tenant_id, tenant, action, object, details, request_id)
         SELECT $1, $2, (SELECT slug FROM tenants WHERE id = $2), $3, $4, $5, $6",
    )
    .bind(entry.actor)
    .bind(entry.tenant.map(|t| t.0))
    .bind(entry.action)
    .bind(&entry.object)
    .bind(&entry.details)
    .bind(entry.request_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// One entry as stored.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Stored {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub tenant: Option<String>,
    pub action: String,
    pub object: Option<String>,
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    /// Hex SHA-256 of this entry and the one before: the chain's state once it was written.
    pub hash: String,
}

/// Entries about `root` and its subtree (all of them for the platform), oldest first, from
/// `since` and after `after` (a `seq`), at most `limit`.
pub async fn list(
    pool: &PgPool,
    root: TenantId,
    since: Option<DateTime<Utc>>,
    after: i64,
    limit: i64,
) -> Result<Vec<Stored>, DbError> {
    sqlx::query_as(
        "SELECT seq, at, actor, tenant, action, object, details, request_id,
                encode(hash, 'hex') AS hash
         FROM audit_log
         WHERE (tenant_id IN (SELECT id FROM tenant_subtree($1))
                OR (tenant_id IS NULL AND (SELECT parent_id IS NULL FROM tenants WHERE id = $1)))
           AND ($2::timestamptz IS NULL OR at >= $2) AND seq > $3
         ORDER BY seq LIMIT $4",
    )
    .bind(root.0)
    .bind(since)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What `verify` found.
#[derive(Debug)]
pub struct Verification {
    /// Entries checked, and the first and last `seq` of the chain.
    pub entries: i64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The first entry whose hash no longer matches its content or the entry before it.
    pub first_broken: Option<i64>,
}

/// Recomputes every entry's hash from its content and the entry before it. The first entry kept
/// may follow entries purged on purpose: its own link back is not checked.
pub async fn verify(pool: &PgPool) -> Result<Verification, DbError> {
    let (entries, first, last): (i64, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT count(*), min(seq), max(seq) FROM audit_log")
            .fetch_one(pool)
            .await?;
    let broken: Option<(i64,)> = sqlx::query_as(
        "SELECT seq FROM (
             SELECT seq, hash, prev_hash,
                    lag(hash) OVER (ORDER BY seq) AS previous,
                    row_number() OVER (ORDER BY seq) AS place,
                    audit_entry_hash(prev_hash, seq, at, actor, tenant_id, tenant, action,
                                     object, details, request_id) AS recomputed
             FROM audit_log
         ) c
         WHERE hash IS DISTINCT FROM recomputed
            OR (place > 1 AND prev_hash IS DISTINCT FROM previous)
         ORDER BY seq LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(Verification {
        entries,
        first,
        last,
        first_broken: broken.map(|(seq,)| seq),
    })
}
