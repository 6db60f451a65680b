//! Group alerts: one alert of a group to several member communes, each of which gets an
//! ordinary alert of its own (migrations/0027).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::DbError;
use crate::model::{AlertId, TenantId};

/// A group alert and the communes' alerts it made.
#[derive(Debug, Clone)]
pub struct GroupAlert {
    pub id: AlertId,
    pub tenant_id: TenantId,
    pub topic: String,
    pub request_hash: Vec<u8>,
    pub left_out: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Each commune's alert, by the commune's slug.
    pub members: Vec<(String, AlertId)>,
}

/// The communes at or below `group`, by slug.
pub async fn communes_below(
    pool: &PgPool,
    group: TenantId,
) -> Result<Vec<(TenantId, String)>, DbError> {
    let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT t.id, t.slug FROM tenant_subtree($1) down JOIN tenants t ON t.id = down.id
         WHERE t.kind = 'commune' ORDER BY t.slug",
    )
    .bind(group.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug)| (TenantId(id), slug))
        .collect())
}

/// Inserts the group alert; false, inserting nothing, when the group already used this
/// idempotency key.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    id: AlertId,
    tenant: TenantId,
    topic: &str,
    idempotency_key: Option<&str>,
    request_hash: &[u8],
    left_out: &[String],
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO group_alerts (id, tenant_id, topic, idempotency_key, request_hash, left_out)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
    )
    .bind(id.0)
    .bind(tenant.0)
    .bind(topic)
    .bind(idempotency_key)
    .bind(request_hash)
    .bind(left_out)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    Vec<u8>,
    Vec<String>,
    DateTime<Utc>,
);

const SELECT: &str =
    "SELECT id, tenant_id, topic, request_hash, left_out, created_at FROM group_alerts";

async fn with_members<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    row: Option<Row>,
) -> Result<Option<GroupAlert>, DbError> {
    let Some((id, tenant, topic, request_hash, left_out, created_at)) = row else {
        return Ok(None);
    };
    let members: Vec<(String, uuid::Uuid)> = sqlx::query_as(
        "SELECT n.slug, a.id FROM alerts a JOIN tenants n ON n.id = a.tenant_id
         WHERE a.group_alert_id = $1 ORDER BY n.slug",
    )
    .bind(id)
    .fetch_all(executor)
    .await?;
    Ok(Some(GroupAlert {
        id: AlertId(id),
        tenant_id: TenantId(tenant),
        topic,
        request_hash,
        left_out,
        created_at,
        members: members
            .into_iter()
            .map(|(slug, id)| (slug, AlertId(id)))
            .collect(),
    }))
}

/// The group alert the group made with this idempotency key.
pub async fn find_by_idempotency_key(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<GroupAlert>, DbError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND idempotency_key = $2"
    )))
    .bind(tenant.0)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    with_members(&mut **tx, row).await
}

/// One group alert of one group; another tenant's is not found.
pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: AlertId,
) -> Result<Option<GroupAlert>, DbError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    with_members(pool, row).await
}
