//! Monthly budgets per tenant and channel (migrations/0030), and what the month used of them.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::DbError;
use crate::model::{AlertId, Channel, TenantId};

/// Sets (or with `None`, lifts) a tenant's budget on a channel.
pub async fn set(
    pool: &PgPool,
    tenant: TenantId,
    channel: Channel,
    per_month: Option<i64>,
) -> Result<(), DbError> {
    match per_month {
        Some(limit) => {
            sqlx::query(
                "INSERT INTO tenant_budgets (tenant_id, channel, per_month) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, channel) DO UPDATE SET per_month = EXCLUDED.per_month",
            )
            .bind(tenant.0)
            .bind(channel.as_str())
            .bind(limit)
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM tenant_budgets WHERE tenant_id = $1 AND channel = $2")
                .bind(tenant.0)
                .bind(channel.as_str())
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// A tenant's budgets, by channel.
pub async fn of(pool: &PgPool, tenant: TenantId) -> Result<BTreeMap<Channel, i64>, DbError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT channel, per_month FROM tenant_budgets WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, n)| Some((c.parse().ok()?, n)))
        .collect())
}

/// The tenant and every group above it, nearest first, with their slugs.
pub async fn with_ancestors(
    pool: &PgPool,
    tenant: TenantId,
) -> Result<Vec<(TenantId, String)>, DbError> {
    let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT up.id, t.slug FROM tenant_ancestors($1) up JOIN tenants t ON t.id = up.id
         ORDER BY up.depth",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug)| (TenantId(id), slug))
        .collect())
}

/// What the alerts of `root`'s subtree used this month (on each alert's tenant's clock), per
/// alert and channel: its text (to count SMS segments) and its messages not failed or expired.
pub async fn used_this_month(
    pool: &PgPool,
    root: TenantId,
) -> Result<Vec<(String, Channel, i64)>, DbError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.body, c.channel, sum(c.n)::bigint
         FROM alerts a JOIN tenant_subtree($1) sub ON sub.id = a.tenant_id
         JOIN tenants n ON n.id = a.tenant_id
         JOIN delivery_tallies c ON c.alert_id = a.id
         WHERE a.cancelled_at IS NULL AND c.status NOT IN ('failed', 'expired')
           AND (coalesce(a.starts_at, a.created_at) AT TIME ZONE n.time_zone)
               >= date_trunc('month', now() AT TIME ZONE n.time_zone)
         GROUP BY a.id, a.body, c.channel",
    )
    .bind(root.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(body, c, n)| Some((body, c.parse().ok()?, n)))
        .collect())
}

/// Marks an urgent alert sent over a budget.
pub async fn mark_over(pool: &PgPool, alert: AlertId) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET over_budget = true WHERE id = $1")
        .bind(alert.0)
        .execute(pool)
        .await?;
    Ok(())
}
