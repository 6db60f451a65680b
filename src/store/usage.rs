//! What each tenant's alerts used in a month, read from the ledger: alerts and their deliveries
//! by channel, account and status. Nothing here needs an address, so the figures stay right
//! after retention has erased them.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::DbError;
use crate::model::{Channel, DeliveryStatus, Lane, TenantId};

/// One alert of the month, with its deliveries counted by channel, account and status.
#[derive(Debug)]
pub struct AlertUsage {
    pub tenant: TenantId,
    pub lane: Lane,
    pub exercise: bool,
    /// What its SMS said, to count their segments.
    pub body: String,
    pub deliveries: Vec<(Channel, String, DeliveryStatus, i64)>,
}

/// The alerts of `root`'s subtree that started in `month` (the first day) on their tenant's
/// clock, cancelled ones left out.
pub async fn alerts_of_month(
    pool: &PgPool,
    root: TenantId,
    month: NaiveDate,
) -> Result<Vec<AlertUsage>, DbError> {
    type Row = (
        uuid::Uuid,
        uuid::Uuid,
        String,
        bool,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "WITH month_alerts AS (
             SELECT a.id, a.tenant_id, a.lane, a.exercise, a.body
             FROM alerts a JOIN tenant_subtree($1) sub ON sub.id = a.tenant_id
             JOIN tenants n ON n.id = a.tenant_id
             WHERE a.cancelled_at IS NULL
               AND (coalesce(a.starts_at, a.created_at) AT TIME ZONE n.time_zone) >= $2::timestamp
               AND (coalesce(a.starts_at, a.created_at) AT TIME ZONE n.time_zone)
                   < $2::timestamp + interval '1 month'
         )
         SELECT m.id, m.tenant_id, m.lane, m.exercise, m.body, d.channel, d.provider, d.status,
                count(d.id)
         FROM month_alerts m LEFT JOIN deliveries d ON d.alert_id = m.id
         GROUP BY m.id, m.tenant_id, m.lane, m.exercise, m.body, d.channel, d.provider, d.status
         ORDER BY m.id",
    )
    .bind(root.0)
    .bind(month)
    .fetch_all(pool)
    .await?;
    let mut alerts: Vec<(uuid::Uuid, AlertUsage)> = Vec::new();
    for (id, tenant, lane, exercise, body, channel, account, status, n) in rows {
        if alerts.last().is_none_or(|(last, _)| *last != id) {
            alerts.push((
                id,
                AlertUsage {
                    tenant: TenantId(tenant),
                    lane: lane.parse().unwrap_or(Lane::Bulk),
                    exercise,
                    body,
                    deliveries: Vec::new(),
                },
            ));
        }
        let (Some(channel), Some(account), Some(status)) = (channel, account, status) else {
            continue;
        };
        if let (Ok(channel), Ok(status)) = (channel.parse(), status.parse()) {
            let usage = &mut alerts.last_mut().expect("pushed above").1;
            usage.deliveries.push((channel, account, status, n));
        }
    }
    Ok(alerts.into_iter().map(|(_, usage)| usage).collect())
}
