//! What a commune's page shows of it (its colour and logo) and the DKIM key of its e-mail.

use sqlx::PgPool;

use super::DbError;
use crate::model::{TenantId, keys::Sealed};

/// A commune's page settings.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    /// `#rrggbb`, checked for contrast when set.
    pub colour: Option<String>,
    /// Whether a logo is set (served at `/c/{slug}/logo`).
    pub has_logo: bool,
}

pub async fn get(pool: &PgPool, tenant: TenantId) -> Result<Branding, DbError> {
    let (colour, has_logo): (Option<String>, bool) =
        sqlx::query_as("SELECT colour, logo IS NOT NULL FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_one(pool)
            .await?;
    Ok(Branding { colour, has_logo })
}

/// Sets (or with None, removes) the colour; false when no such tenant.
pub async fn set_colour(pool: &PgPool, slug: &str, colour: Option<&str>) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE tenants SET colour = $2 WHERE slug = $1")
        .bind(slug)
        .bind(colour)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets (or with None, removes) the logo and its media type.
pub async fn set_logo(
    pool: &PgPool,
    slug: &str,
    logo: Option<(&[u8], &str)>,
) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE tenants SET logo = $2, logo_type = $3 WHERE slug = $1")
        .bind(slug)
        .bind(logo.map(|l| l.0))
        .bind(logo.map(|l| l.1))
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The logo and its media type.
pub async fn logo(pool: &PgPool, tenant: TenantId) -> Result<Option<(Vec<u8>, String)>, DbError> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> =
        sqlx::query_as("SELECT logo, logo_type FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(logo, kind)| Some((logo?, kind?))))
}

/// A commune's DKIM signing setup: selector, domain and sealed private key.
#[derive(Debug, Clone)]
pub struct Dkim {
    pub selector: String,
    pub domain: String,
    pub sealed_key: Sealed,
}

/// Sets (or with None, removes) the DKIM setup.
pub async fn set_dkim(pool: &PgPool, slug: &str, dkim: Option<&Dkim>) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE tenants SET dkim_selector = $2, dkim_domain = $3, dkim_key_sealed = $4,
                dkim_key_version = coalesce($5, 0)
         WHERE slug = $1",
    )
    .bind(slug)
    .bind(dkim.map(|d| d.selector.as_str()))
    .bind(dkim.map(|d| d.domain.as_str()))
    .bind(dkim.map(|d| d.sealed_key.bytes.as_slice()))
    .bind(dkim.map(|d| d.sealed_key.version))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The DKIM setup of a tenant, when set.
pub async fn dkim(pool: &PgPool, tenant: TenantId) -> Result<Option<Dkim>, DbError> {
    type Row = (Option<String>, Option<String>, Option<Vec<u8>>, i32);
    let row: Option<Row> = sqlx::query_as(
        "SELECT dkim_selector, dkim_domain, dkim_key_sealed, dkim_key_version
         FROM tenants WHERE id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(selector, domain, key, version)| {
        Some(Dkim {
            selector: selector?,
            domain: domain?,
            sealed_key: Sealed {
                version,
                bytes: key?,
            },
        })
    }))
}
