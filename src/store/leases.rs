//! Batch leases (`batch_leases`): one row per batch a sender works on, with the lease its
//! deliveries are under. The deliveries carry their own lease, which decides who may claim
//! them; this row lets the sweeper find the batches whose sender crashed or stalled without
//! reading every delivery of the alerts in flight (deliveries have no index on their status or
//! lease: every claim and outcome would pay for it).

use sqlx::{PgExecutor, PgPool};

use super::{
    DbError,
    deliveries::{Lease, millis, sorted},
};
use crate::model::DeliveryId;

/// The lease row of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLease(pub(super) i64);

/// Writes the lease row of a batch before any of its deliveries is claimed.
pub async fn open(pool: &PgPool, ids: &[DeliveryId], lease: Lease) -> Result<BatchLease, DbError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO batch_leases (owner, lease_until, deliveries)
         VALUES ($1, now() + $2 * interval '1 millisecond', $3)
         RETURNING id",
    )
    .bind(lease.owner)
    .bind(millis(lease.length))
    .bind(sorted(ids))
    .fetch_one(pool)
    .await?;
    Ok(BatchLease(id))
}

/// Extends the batch's lease, and that of its deliveries `owner` still sends.
pub async fn renew(
    pool: &PgPool,
    batch: BatchLease,
    ids: &[DeliveryId],
    lease: Lease,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "WITH batch AS (
             UPDATE batch_leases SET lease_until = now() + $3 * interval '1 millisecond'
             WHERE id = $4
         )
         UPDATE deliveries SET lease_until = now() + $3 * interval '1 millisecond'
         WHERE id = ANY($1) AND owner = $2 AND status = 'sending'",
    )
    .bind(sorted(ids))
    .bind(lease.owner)
    .bind(millis(lease.length))
    .bind(batch.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Removes the lease row of a batch whose outcomes are all durable.
pub async fn close(pool: &PgPool, batch: BatchLease) -> Result<(), DbError> {
    sqlx::query("DELETE FROM batch_leases WHERE id = $1")
        .bind(batch.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes the ended lease rows none of whose deliveries their owner still holds (the sweeper,
/// once it put back what they left `sending`). Returns how many.
pub async fn remove_spent<'e>(executor: impl PgExecutor<'e>) -> Result<u64, DbError> {
    let done = sqlx::query(
        "DELETE FROM batch_leases b
         WHERE b.lease_until < now()
           AND NOT EXISTS (SELECT 1 FROM deliveries d
                           WHERE d.id = ANY(b.deliveries)
                             AND d.status = 'sending' AND d.owner = b.owner)",
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}
