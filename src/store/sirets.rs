//! Communes' SIRETs (migrations/0035): which tenant an agent signing in through ProConnect
//! belongs to.

use sqlx::PgPool;

use super::DbError;
use crate::model::{TenantId, siret::Siret};

/// Replaces a tenant's SIRETs. A SIRET can belong to one tenant only: taken by another, it is
/// named in the error.
pub async fn set(pool: &PgPool, tenant: TenantId, sirets: &[Siret]) -> Result<(), SiretTaken> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM tenant_sirets WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
    for siret in sirets {
        let inserted = sqlx::query("INSERT INTO tenant_sirets (siret, tenant_id) VALUES ($1, $2)")
            .bind(siret.as_str())
            .bind(tenant.0)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(DbError::Database(e)) if e.is_unique_violation() => {
                return Err(SiretTaken::Taken(siret.to_string()));
            }
            other => {
                other?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SiretTaken {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("SIRET {0} already belongs to another tenant")]
    Taken(String),
}

pub async fn of(pool: &PgPool, tenant: TenantId) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT siret FROM tenant_sirets WHERE tenant_id = $1 ORDER BY siret")
            .bind(tenant.0)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// The tenant a SIRET belongs to.
pub async fn tenant_of(pool: &PgPool, siret: &str) -> Result<Option<TenantId>, DbError> {
    let row: Option<(uuid::Uuid,)> =
        sqlx::query_as("SELECT tenant_id FROM tenant_sirets WHERE siret = $1")
            .bind(siret)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id,)| TenantId(id)))
}
