//! The transactional outbox: messages written in the same transaction as the state they announce,
//! and published by the relay once the transaction committed.

use sqlx::{PgPool, Postgres, Transaction};

use super::DbError;

pub async fn push(
    tx: &mut Transaction<'_, Postgres>,
    routing_key: &str,
    payload: &[u8],
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO outbox (routing_key, payload) VALUES ($1, $2)")
        .bind(routing_key)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub struct Pending {
    pub id: i64,
    pub routing_key: String,
    pub payload: Vec<u8>,
}

/// Locks the oldest pending messages for this relay (other instances skip them). The caller
/// publishes them, then calls [`remove`] and commits; a rollback leaves them for the next round.
pub async fn lock_batch(
    tx: &mut Transaction<'_, Postgres>,
    limit: i64,
) -> Result<Vec<Pending>, DbError> {
    let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, routing_key, payload FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, routing_key, payload)| Pending {
            id,
            routing_key,
            payload,
        })
        .collect())
}

pub async fn remove(tx: &mut Transaction<'_, Postgres>, ids: &[i64]) -> Result<(), DbError> {
    sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Number of messages not yet published, for health reporting.
pub async fn backlog(pool: &PgPool) -> Result<i64, DbError> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox")
        .fetch_one(pool)
        .await?;
    Ok(n)
}
