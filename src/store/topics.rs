//! Topics a tenant's subscribers can follow ("intemperies", "collecte-dechets").

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::DbError;
use crate::model::{Slug, TenantId, TopicId};

#[derive(Debug, Clone, Serialize)]
pub struct Topic {
    pub id: TopicId,
    pub slug: String,
    pub name: String,
    pub subscribers: i64,
    pub created_at: DateTime<Utc>,
}

type TopicRow = (uuid::Uuid, String, String, i64, DateTime<Utc>);

fn from_row((id, slug, name, subscribers, created_at): TopicRow) -> Topic {
    Topic {
        id: TopicId(id),
        slug,
        name,
        subscribers,
        created_at,
    }
}

/// Creates a topic; a duplicate slug surfaces as a unique violation.
pub async fn create(
    pool: &PgPool,
    tenant: TenantId,
    slug: &Slug,
    name: &str,
) -> Result<Topic, DbError> {
    let id = TopicId::new();
    let row: TopicRow = sqlx::query_as(
        "INSERT INTO topics (id, tenant_id, slug, name) VALUES ($1, $2, $3, $4)
         RETURNING id, slug, name, 0::bigint, created_at",
    )
    .bind(id.0)
    .bind(tenant.0)
    .bind(slug.as_str())
    .bind(name)
    .fetch_one(pool)
    .await?;
    Ok(from_row(row))
}

pub async fn list(pool: &PgPool, tenant: TenantId) -> Result<Vec<Topic>, DbError> {
    let rows: Vec<TopicRow> = sqlx::query_as(
        "SELECT t.id, t.slug, t.name,
                (SELECT count(*) FROM subscriptions s WHERE s.topic_id = t.id),
                t.created_at
         FROM topics t WHERE t.tenant_id = $1 ORDER BY t.slug",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The tenant's topics as a citizen's SMS may name them: id, slug, name, and whether a bare
/// ALERTE subscribes to it.
pub async fn for_keywords(
    pool: &PgPool,
    tenant: TenantId,
) -> Result<Vec<(TopicId, String, String, bool)>, DbError> {
    let rows: Vec<(uuid::Uuid, String, String, bool)> = sqlx::query_as(
        "SELECT id, slug, name, by_default FROM topics WHERE tenant_id = $1 ORDER BY slug",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, name, by_default)| (TopicId(id), slug, name, by_default))
        .collect())
}

/// Resolves slugs to ids within one tenant; the result lists the slugs that do not exist.
pub async fn resolve(
    pool: &PgPool,
    tenant: TenantId,
    slugs: &[Slug],
) -> Result<Result<Vec<TopicId>, Vec<String>>, DbError> {
    let wanted: Vec<&str> = slugs.iter().map(Slug::as_str).collect();
    let found: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, slug FROM topics WHERE tenant_id = $1 AND slug = ANY($2)")
            .bind(tenant.0)
            .bind(&wanted)
            .fetch_all(pool)
            .await?;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|slug| !found.iter().any(|(_, s)| s == *slug))
        .map(|slug| slug.to_string())
        .collect();
    if missing.is_empty() {
        Ok(Ok(found.into_iter().map(|(id, _)| TopicId(id)).collect()))
    } else {
        Ok(Err(missing))
    }
}
