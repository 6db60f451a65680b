//! Phone numbers waiting for their confirmation code, and the counters that bound how often a
//! public route may be used.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{TenantId, TopicId};

/// Counts one request of `client` for the tenant in the current hour; false once it made
/// `limit` already.
pub async fn count_client_request(
    pool: &PgPool,
    tenant: TenantId,
    client: &str,
    limit: i32,
) -> Result<bool, DbError> {
    let (count,): (i32,) = sqlx::query_as(
        "INSERT INTO public_requests AS r (tenant_id, client) VALUES ($1, $2)
         ON CONFLICT (tenant_id, client) DO UPDATE SET
             count = CASE WHEN r.window_start < now() - interval '1 hour' THEN 1
                          ELSE r.count + 1 END,
             window_start = CASE WHEN r.window_start < now() - interval '1 hour' THEN now()
                                 ELSE r.window_start END
         RETURNING count",
    )
    .bind(tenant.0)
    .bind(client)
    .fetch_one(pool)
    .await?;
    Ok(count <= limit)
}

/// Records a new code for the number, replacing an earlier one; false (nothing changed) when
/// the number was sent `limit` codes in the current hour already.
pub async fn new_code(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
    code_hash: &[u8],
    topics: &[TopicId],
    expires_at: DateTime<Utc>,
    limit: i32,
) -> Result<bool, DbError> {
    let topics: Vec<uuid::Uuid> = topics.iter().map(|t| t.0).collect();
    let row: Option<(i32,)> = sqlx::query_as(
        "INSERT INTO phone_confirmations AS c (tenant_id, phone, code_hash, topics, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, phone) DO UPDATE SET
             code_hash = EXCLUDED.code_hash, topics = EXCLUDED.topics,
             expires_at = EXCLUDED.expires_at, attempts = 0,
             sent = CASE WHEN c.window_start < now() - interval '1 hour' THEN 1 ELSE c.sent + 1 END,
             window_start = CASE WHEN c.window_start < now() - interval '1 hour' THEN now()
                                 ELSE c.window_start END
         WHERE c.window_start < now() - interval '1 hour' OR c.sent < $6
         RETURNING sent",
    )
    .bind(tenant.0)
    .bind(phone)
    .bind(code_hash)
    .bind(&topics)
    .bind(expires_at)
    .bind(limit)
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some())
}

/// What checking a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Right: the code is used up; these are the topics asked for.
    Confirmed(Vec<TopicId>),
    Wrong {
        attempts_left: i32,
    },
    Expired,
    TooManyAttempts,
    /// No code was sent to this number (or it was used).
    NoCode,
}

/// Checks a code against the number's, counting a wrong one.
pub async fn check(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
    code_hash: &[u8],
    max_attempts: i32,
) -> Result<Checked, DbError> {
    let mut tx = pool.begin().await?;
    let row: Option<(Vec<u8>, Vec<uuid::Uuid>, bool, i32)> = sqlx::query_as(
        "SELECT code_hash, topics, expires_at <= now(), attempts FROM phone_confirmations
         WHERE tenant_id = $1 AND phone = $2 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(phone)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((expected, topics, expired, attempts)) = row else {
        return Ok(Checked::NoCode);
    };
    if attempts >= max_attempts {
        return Ok(Checked::TooManyAttempts);
    }
    if expired {
        return Ok(Checked::Expired);
    }
    // Both are HMACs of equal length; compared in constant time all the same.
    let same = expected.len() == code_hash.len()
        && expected
            .iter()
            .zip(code_hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        sqlx::query(
            "UPDATE phone_confirmations SET attempts = attempts + 1
             WHERE tenant_id = $1 AND phone = $2",
        )
        .bind(tenant.0)
        .bind(phone)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Checked::Wrong {
            attempts_left: max_attempts - attempts - 1,
        });
    }
    // Used up: the code cannot serve twice. The row stays (sent counter) with an impossible hash.
    sqlx::query(
        "UPDATE phone_confirmations SET code_hash = '\\x00', expires_at = now()
         WHERE tenant_id = $1 AND phone = $2",
    )
    .bind(tenant.0)
    .bind(phone)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Checked::Confirmed(
        topics.into_iter().map(TopicId).collect(),
    ))
}
