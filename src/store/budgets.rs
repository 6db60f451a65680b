//! Monthly budgets per tenant and channel (migrations/0030), and what the month used of them.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};

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
pub async fn of<'e>(
    db: impl sqlx::PgExecutor<'e>,
    tenant: TenantId,
) -> Result<BTreeMap<Channel, i64>, DbError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT channel, per_month FROM tenant_budgets WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, n)| Some((c.parse().ok()?, n)))
        .collect())
}

/// The tenant and every group above it, nearest first, with their slugs.
pub async fn with_ancestors<'e>(
    db: impl sqlx::PgExecutor<'e>,
    tenant: TenantId,
) -> Result<Vec<(TenantId, String)>, DbError> {
    let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT up.id, t.slug FROM tenant_ancestors($1) up JOIN tenants t ON t.id = up.id
         ORDER BY up.depth",
    )
    .bind(tenant.0)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug)| (TenantId(id), slug))
        .collect())
}

/// The nodes with a budget among `tenants` and the groups above them, in a fixed order.
pub async fn budgeted_above<'e>(
    db: impl sqlx::PgExecutor<'e>,
    tenants: &[TenantId],
) -> Result<Vec<TenantId>, DbError> {
    let ids: Vec<uuid::Uuid> = tenants.iter().map(|t| t.0).collect();
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT DISTINCT up.id FROM unnest($1::uuid[]) part, tenant_ancestors(part) up
         WHERE EXISTS (SELECT 1 FROM tenant_budgets b WHERE b.tenant_id = up.id)
         ORDER BY up.id",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id,)| TenantId(id)).collect())
}

/// Takes, until the transaction ends, the lock of each budget (`nodes`, in the order
/// [`budgeted_above`] gives, so that two transactions never wait on each other in a cycle).
pub async fn lock(tx: &mut PgConnection, nodes: &[TenantId]) -> Result<(), DbError> {
    for node in nodes {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('tocsin.budget.' || $1, 0))")
            .bind(node.0.to_string())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// What counts against a budget this month, by channel: an alert's messages (`Messages`, whose
/// SMS segments and call minutes depend on its text and commune) or units already counted (a
/// hold, the service messages).
#[derive(Debug)]
pub enum Used {
    Messages {
        body: String,
        commune: String,
        channel: Channel,
        messages: i64,
    },
    Units {
        channel: Channel,
        units: i64,
    },
}

/// What `root`'s subtree used this month (on each tenant's clock): the messages of its alerts
/// not failed or expired once fan-out planned them, and until then what a routine alert held;
/// and the service messages providers accepted. The alerts `apart` are left out.
pub async fn used_this_month<'e>(
    db: impl sqlx::PgExecutor<'e>,
    root: TenantId,
    apart: &[AlertId],
) -> Result<Vec<Used>, DbError> {
    let apart: Vec<uuid::Uuid> = apart.iter().map(|a| a.0).collect();
    let rows: Vec<(Option<String>, Option<String>, String, i64)> = sqlx::query_as(
        "WITH month_alerts AS (
             SELECT a.id, a.body, n.name AS commune, a.budget_hold, a.planned_at
             FROM alerts a JOIN tenant_subtree($1) sub ON sub.id = a.tenant_id
             JOIN tenants n ON n.id = a.tenant_id
             WHERE a.cancelled_at IS NULL AND a.id <> ALL($2)
               AND (coalesce(a.starts_at, a.created_at) AT TIME ZONE n.time_zone)
                   >= date_trunc('month', now() AT TIME ZONE n.time_zone)
         )
         SELECT m.body, m.commune, c.channel, sum(c.n)::bigint
         FROM month_alerts m JOIN delivery_tallies c ON c.alert_id = m.id
         WHERE (m.planned_at IS NOT NULL OR m.budget_hold IS NULL)
           AND c.status NOT IN ('failed', 'expired')
         GROUP BY m.id, m.body, m.commune, c.channel
         UNION ALL
         SELECT NULL, NULL, held.key, held.value::bigint
         FROM month_alerts m, jsonb_each_text(m.budget_hold) held
         WHERE m.planned_at IS NULL
         UNION ALL
         SELECT NULL, NULL, s.channel, sum(s.units)::bigint
         FROM service_messages s JOIN tenant_subtree($1) sub ON sub.id = s.tenant_id
         JOIN tenants n ON n.id = s.tenant_id
         WHERE s.accepted
           AND (s.sent_at AT TIME ZONE n.time_zone)
               >= date_trunc('month', now() AT TIME ZONE n.time_zone)
         GROUP BY s.channel",
    )
    .bind(root.0)
    .bind(&apart)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(body, commune, channel, n)| {
            let channel = channel.parse().ok()?;
            Some(match body {
                Some(body) => Used::Messages {
                    body,
                    commune: commune.unwrap_or_default(),
                    channel,
                    messages: n,
                },
                None => Used::Units { channel, units: n },
            })
        })
        .collect())
}

/// Records what a routine alert holds of its budgets until its fan-out has planned it.
pub async fn hold<'e>(
    db: impl sqlx::PgExecutor<'e>,
    alert: AlertId,
    units: &BTreeMap<Channel, i64>,
) -> Result<(), DbError> {
    let held: serde_json::Map<String, serde_json::Value> = units
        .iter()
        .map(|(c, n)| (c.as_str().to_owned(), (*n).into()))
        .collect();
    sqlx::query("UPDATE alerts SET budget_hold = $2 WHERE id = $1")
        .bind(alert.0)
        .bind(serde_json::Value::Object(held))
        .execute(db)
        .await?;
    Ok(())
}

/// Marks an urgent alert sent over a budget.
pub async fn mark_over<'e>(db: impl sqlx::PgExecutor<'e>, alert: AlertId) -> Result<(), DbError> {
    sqlx::query("UPDATE alerts SET over_budget = true WHERE id = $1")
        .bind(alert.0)
        .execute(db)
        .await?;
    Ok(())
}

/// Notes that `node` reached 80 % of its budget on `channel` this month (its local month); once
/// a month, whoever notes it again.
pub async fn reach_warning<'e>(
    db: impl sqlx::PgExecutor<'e>,
    node: TenantId,
    channel: Channel,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO budget_warnings (tenant_id, channel, month)
         SELECT id, $2, date_trunc('month', now() AT TIME ZONE time_zone)::date
         FROM tenants WHERE id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(node.0)
    .bind(channel.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// A reached 80 % mark whose e-mail is to be sent.
#[derive(Debug, sqlx::FromRow)]
pub struct Warning {
    pub tenant_id: uuid::Uuid,
    pub channel: String,
    pub month: chrono::NaiveDate,
}

/// Claims the warnings no instance is sending (or whose claim is older than `stale`), to send
/// their e-mails.
pub async fn claim_warnings(
    pool: &PgPool,
    stale: std::time::Duration,
) -> Result<Vec<Warning>, DbError> {
    sqlx::query_as(
        "UPDATE budget_warnings SET claimed_at = now()
         WHERE (tenant_id, channel, month) IN (
             SELECT tenant_id, channel, month FROM budget_warnings
             WHERE sent_at IS NULL
               AND (claimed_at IS NULL OR claimed_at < now() - $1 * interval '1 second')
             ORDER BY reached_at LIMIT 20 FOR UPDATE SKIP LOCKED)
         RETURNING tenant_id, channel, month",
    )
    .bind(stale.as_secs_f64())
    .fetch_all(pool)
    .await
}

/// Records a claimed warning's e-mail sent to `recipients` people. A claim never settled (the
/// e-mail could not go, the instance stopped) is taken again once stale.
pub async fn warning_sent(
    pool: &PgPool,
    warning: &Warning,
    recipients: usize,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE budget_warnings SET sent_at = now(), recipients = $4
         WHERE tenant_id = $1 AND channel = $2 AND month = $3",
    )
    .bind(warning.tenant_id)
    .bind(&warning.channel)
    .bind(warning.month)
    .bind(i32::try_from(recipients).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(())
}
