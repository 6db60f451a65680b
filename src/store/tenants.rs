//! Tenants (communes, intercommunalities, départements) and their API keys.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{ApiKeyId, Role, Slug, TenantId};

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
}

pub async fn create(pool: &PgPool, slug: &Slug, name: &str) -> Result<TenantId, DbError> {
    let id = TenantId::new();
    sqlx::query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)")
        .bind(id.0)
        .bind(slug.as_str())
        .bind(name)
        .execute(pool)
        .await?;
    Ok(id)
}

pub async fn find_by_slug(pool: &PgPool, slug: &str) -> Result<Option<Tenant>, DbError> {
    let row: Option<(uuid::Uuid, String, String)> =
        sqlx::query_as("SELECT id, slug, name FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, slug, name)| Tenant {
        id: TenantId(id),
        slug,
        name,
    }))
}

/// What an API key grants, as found from its hash.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub role: Role,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn create_key(
    pool: &PgPool,
    tenant: TenantId,
    role: Role,
    key_hash: &[u8],
) -> Result<ApiKeyId, DbError> {
    let id = ApiKeyId::new();
    sqlx::query("INSERT INTO api_keys (id, tenant_id, role, key_hash) VALUES ($1, $2, $3, $4)")
        .bind(id.0)
        .bind(tenant.0)
        .bind(role.as_str())
        .bind(key_hash)
        .execute(pool)
        .await?;
    Ok(id)
}

pub async fn find_key(pool: &PgPool, key_hash: &[u8]) -> Result<Option<KeyGrant>, DbError> {
    let row: Option<(uuid::Uuid, uuid::Uuid, String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT id, tenant_id, role, revoked_at FROM api_keys WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(id, tenant, role, revoked_at)| {
        Some(KeyGrant {
            key_id: ApiKeyId(id),
            tenant_id: TenantId(tenant),
            role: role.parse().ok()?,
            revoked_at,
        })
    }))
}

/// Revokes a key; false when no such live key exists.
pub async fn revoke_key(pool: &PgPool, key: ApiKeyId) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(key.0)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a tenant and everything it owns (topics, subscribers, alerts, deliveries, keys).
pub async fn delete(pool: &PgPool, slug: &str) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    // Deliveries have no foreign key to alerts (see the migration), so no cascade reaches them.
    sqlx::query(
        "DELETE FROM deliveries WHERE alert_id IN
             (SELECT a.id FROM alerts a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1)",
    )
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    // Nor have subscriptions foreign keys (migrations/0002).
    sqlx::query(
        "DELETE FROM subscriptions WHERE topic_id IN
             (SELECT p.id FROM topics p JOIN tenants t ON t.id = p.tenant_id WHERE t.slug = $1)",
    )
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM tenants WHERE slug = $1")
        .bind(slug)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
