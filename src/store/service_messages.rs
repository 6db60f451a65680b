//! Messages the platform sends for a commune outside its alerts (migrations/0040): the codes and
//! confirmation links of the public routes, the replies to texted keywords. Only what is counted
//! is kept (no address, no text), for usage and budgets.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::DbError;
use crate::model::{Channel, TenantId};

/// What a service message was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A confirmation code texted to a number being subscribed.
    Code,
    /// A confirmation link e-mailed to an address being subscribed.
    Link,
    /// The reply to a keyword texted to the commune (ALERTE, STOP, AIDE…).
    Reply,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Code => "code",
            Kind::Link => "link",
            Kind::Reply => "reply",
        }
    }
}

/// One service message handed to a provider (`accepted`) or refused by it.
#[derive(Debug)]
pub struct Sent<'a> {
    pub tenant: TenantId,
    pub channel: Channel,
    pub account: &'a str,
    pub kind: Kind,
    /// SMS segments; 1 for an e-mail.
    pub units: i32,
    pub accepted: bool,
}

pub async fn record(pool: &PgPool, sent: &Sent<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO service_messages (tenant_id, channel, account, kind, units, accepted)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(sent.tenant.0)
    .bind(sent.channel.as_str())
    .bind(sent.account)
    .bind(sent.kind.as_str())
    .bind(sent.units.max(1))
    .bind(sent.accepted)
    .execute(pool)
    .await?;
    Ok(())
}

/// The service messages of one tenant, channel and account in a month.
#[derive(Debug)]
pub struct MonthCount {
    pub tenant: TenantId,
    pub channel: Channel,
    pub account: String,
    pub accepted: i64,
    pub refused: i64,
    /// Of the accepted ones (SMS segments; messages otherwise).
    pub units: i64,
}

/// The service messages of `root`'s subtree sent in `month` (its first day) on each tenant's
/// clock.
pub async fn of_month(
    pool: &PgPool,
    root: TenantId,
    month: NaiveDate,
) -> Result<Vec<MonthCount>, DbError> {
    let rows: Vec<(uuid::Uuid, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.tenant_id, s.channel, s.account,
                count(*) FILTER (WHERE s.accepted), count(*) FILTER (WHERE NOT s.accepted),
                coalesce(sum(s.units) FILTER (WHERE s.accepted), 0)::bigint
         FROM service_messages s JOIN tenant_subtree($1) sub ON sub.id = s.tenant_id
         JOIN tenants n ON n.id = s.tenant_id
         WHERE (s.sent_at AT TIME ZONE n.time_zone) >= $2::timestamp
           AND (s.sent_at AT TIME ZONE n.time_zone) < $2::timestamp + interval '1 month'
         GROUP BY s.tenant_id, s.channel, s.account",
    )
    .bind(root.0)
    .bind(month)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(tenant, channel, account, accepted, refused, units)| {
            Some(MonthCount {
                tenant: TenantId(tenant),
                channel: channel.parse().ok()?,
                account,
                accepted,
                refused,
                units,
            })
        })
        .collect())
}
