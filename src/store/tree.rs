//! The tenant tree: the platform at the root, groups at any depth, communes as leaves
//! (migrations/0026). Who may act on a tenant is decided here: a role given on a node holds on
//! its whole subtree, and nowhere else.

use sqlx::PgPool;

use super::DbError;
use crate::model::{Slug, TenantId, TenantKind};

/// One tenant, as the tree shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Node {
    #[serde(skip)]
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
    /// The parent's slug; none for the platform.
    pub parent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("no tenant {0:?}")]
    NoTenant(String),
    #[error("{0:?} is a commune: a commune has no members (make the parent a group)")]
    ParentIsCommune(String),
    #[error("{slug:?} cannot go below {parent:?}, which is inside it")]
    BelowItself { slug: String, parent: String },
    #[error("the platform is the root: it has no parent")]
    PlatformHasNoParent,
    #[error("there is one platform: a tenant is made a group or a commune")]
    OnePlatform,
    #[error("tenant {0:?} already exists")]
    Exists(String),
}

async fn node(pool: &PgPool, slug: &str) -> Result<Node, TreeError> {
    let row: Option<(uuid::Uuid, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT t.id, t.slug, t.name, t.kind, p.slug FROM tenants t
         LEFT JOIN tenants p ON p.id = t.parent_id WHERE t.slug = $1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    row.and_then(from_row)
        .ok_or_else(|| TreeError::NoTenant(slug.to_owned()))
}

fn from_row(
    (id, slug, name, kind, parent): (uuid::Uuid, String, String, String, Option<String>),
) -> Option<Node> {
    Some(Node {
        id: TenantId(id),
        slug,
        name,
        kind: kind.parse().ok()?,
        parent,
    })
}

/// The parent a new or moved tenant may go under: a group or the platform.
async fn parent(pool: &PgPool, slug: Option<&str>) -> Result<Node, TreeError> {
    let parent = match slug {
        Some(slug) => node(pool, slug).await?,
        None => platform(pool).await?,
    };
    if parent.kind == TenantKind::Commune {
        return Err(TreeError::ParentIsCommune(parent.slug));
    }
    Ok(parent)
}

/// The platform's node.
pub async fn platform(pool: &PgPool) -> Result<Node, TreeError> {
    let (slug,): (String,) = sqlx::query_as("SELECT slug FROM tenants WHERE kind = 'platform'")
        .fetch_one(pool)
        .await?;
    node(pool, &slug).await
}

/// Creates a group or a commune under `parent` (the platform when `None`).
pub async fn create(
    pool: &PgPool,
    slug: &Slug,
    name: &str,
    kind: TenantKind,
    parent_slug: Option<&str>,
) -> Result<TenantId, TreeError> {
    if kind == TenantKind::Platform {
        return Err(TreeError::OnePlatform);
    }
    let parent = parent(pool, parent_slug).await?;
    let id = TenantId::new();
    let inserted = sqlx::query(
        "INSERT INTO tenants (id, slug, name, kind, parent_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(slug.as_str())
    .bind(name)
    .bind(kind.as_str())
    .bind(parent.id.0)
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(e) if super::is_unique_violation(&e) => Err(TreeError::Exists(slug.as_str().into())),
        Err(e) => Err(e.into()),
    }
}

/// Moves a tenant, with its subtree, under another group (or the platform).
pub async fn move_to(pool: &PgPool, slug: &str, parent_slug: &str) -> Result<(), TreeError> {
    let moved = node(pool, slug).await?;
    if moved.kind == TenantKind::Platform {
        return Err(TreeError::PlatformHasNoParent);
    }
    let parent = parent(pool, Some(parent_slug)).await?;
    if within(pool, moved.id, parent.id).await? {
        return Err(TreeError::BelowItself {
            slug: moved.slug,
            parent: parent.slug,
        });
    }
    // The trigger of migrations/0026 checks again, against a move made meanwhile.
    sqlx::query("UPDATE tenants SET parent_id = $2 WHERE id = $1")
        .bind(moved.id.0)
        .bind(parent.id.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// `root` and every tenant below it, parents before their members, siblings by slug.
pub async fn below(pool: &PgPool, root: TenantId) -> Result<Vec<Node>, DbError> {
    let rows: Vec<(uuid::Uuid, String, String, String, Option<String>)> = sqlx::query_as(
        "WITH RECURSIVE down (id, path) AS (
             SELECT id, ARRAY[slug] FROM tenants WHERE id = $1
             UNION ALL
             SELECT t.id, down.path || t.slug FROM tenants t JOIN down ON t.parent_id = down.id
         )
         SELECT t.id, t.slug, t.name, t.kind, p.slug
         FROM down JOIN tenants t ON t.id = down.id LEFT JOIN tenants p ON p.id = t.parent_id
         ORDER BY down.path",
    )
    .bind(root.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// Whether `node` is `root` or below it.
pub async fn within(pool: &PgPool, root: TenantId, node: TenantId) -> Result<bool, DbError> {
    let (found,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM tenant_ancestors($2) WHERE id = $1)")
            .bind(root.0)
            .bind(node.0)
            .fetch_one(pool)
            .await?;
    Ok(found)
}

/// The tenant of this slug when it is `root` or below it; `None` otherwise, whether it exists
/// elsewhere or not at all (a caller learns nothing of other branches).
pub async fn find_in_subtree(
    pool: &PgPool,
    root: TenantId,
    slug: &str,
) -> Result<Option<TenantId>, DbError> {
    let row: Option<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT t.id FROM tenant_subtree($1) s JOIN tenants t ON t.id = s.id WHERE t.slug = $2",
    )
    .bind(root.0)
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id,)| TenantId(id)))
}

/// What kind of tenant this is.
pub async fn kind_of(pool: &PgPool, tenant: TenantId) -> Result<TenantKind, DbError> {
    let (kind,): (String,) = sqlx::query_as("SELECT kind FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_one(pool)
        .await?;
    Ok(kind.parse().unwrap_or(TenantKind::Commune))
}
