//! Opt-outs that do not wait for an import (`pending_opt_outs`). A provider's report that a
//! recipient opted out is applied under the commune's subscriber lock, which an import holds
//! for its whole transaction; the outcome writer serves every commune, so it never waits for
//! that lock: when it is taken, the number is written here and applied once the lock is free,
//! by that import before it commits ([`apply_locked`]) or by the sweeper ([`apply_free`]).

use sqlx::{PgPool, Postgres, Transaction};

use super::{DbError, subscribers};
use crate::model::TenantId;

/// What became of an opt-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The subscriber is forgotten and the number is on the opt-out list.
    Applied,
    /// The commune's subscribers are locked (an import): the number waits here.
    Pending,
}

/// Applies the opt-out of `phone` (E.164) if the commune's subscribers are free, or keeps it
/// for later; never waits for the lock.
pub async fn stop_or_keep(
    pool: &PgPool,
    tenant: TenantId,
    phone: &str,
) -> Result<Stopped, DbError> {
    let mut tx = pool.begin().await?;
    if !try_lock_tenant(&mut tx, tenant).await? {
        tx.rollback().await?;
        sqlx::query("INSERT INTO pending_opt_outs (tenant_id, phone) VALUES ($1, $2)")
            .bind(tenant.0)
            .bind(phone)
            .execute(pool)
            .await?;
        return Ok(Stopped::Pending);
    }
    subscribers::stop_locked(&mut tx, tenant, phone).await?;
    tx.commit().await?;
    Ok(Stopped::Applied)
}

/// Applies the tenant's pending opt-outs, in a transaction that holds its subscriber lock (an
/// import, before it commits). Returns how many.
pub async fn apply_locked(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
) -> Result<u64, DbError> {
    let pending: Vec<(String,)> =
        sqlx::query_as("DELETE FROM pending_opt_outs WHERE tenant_id = $1 RETURNING phone")
            .bind(tenant.0)
            .fetch_all(&mut **tx)
            .await?;
    for (phone,) in &pending {
        subscribers::stop_locked(tx, tenant, phone).await?;
    }
    Ok(pending.len() as u64)
}

/// Applies the pending opt-outs of every tenant whose subscribers are free now (the sweeper);
/// the others wait for the next call. Returns how many were applied.
pub async fn apply_free(pool: &PgPool) -> Result<u64, DbError> {
    let tenants: Vec<(uuid::Uuid,)> =
        sqlx::query_as("SELECT DISTINCT tenant_id FROM pending_opt_outs")
            .fetch_all(pool)
            .await?;
    let mut applied = 0;
    for (tenant,) in tenants {
        let tenant = TenantId(tenant);
        let mut tx = pool.begin().await?;
        if try_lock_tenant(&mut tx, tenant).await? {
            applied += apply_locked(&mut tx, tenant).await?;
            tx.commit().await?;
        }
    }
    Ok(applied)
}

/// [`subscribers::lock_tenant`] without waiting: false when another transaction holds it.
async fn try_lock_tenant(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
) -> Result<bool, DbError> {
    let (ours,): (bool,) =
        sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtextextended($1::text, 0))")
            .bind(tenant.0)
            .fetch_one(&mut **tx)
            .await?;
    Ok(ours)
}
