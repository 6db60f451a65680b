//! A commune's saved alert texts (migrations/0037).

use sqlx::PgPool;

use super::DbError;
use crate::model::{TemplateId, TenantId};

#[derive(Debug, Clone)]
pub struct Template {
    pub id: TemplateId,
    pub name: String,
    pub subject: Option<String>,
    pub text: String,
    pub urgent: bool,
}

type Row = (uuid::Uuid, String, Option<String>, String, bool);

fn from_row((id, name, subject, text, urgent): Row) -> Template {
    Template {
        id: TemplateId(id),
        name,
        subject,
        text,
        urgent,
    }
}

pub async fn list(pool: &PgPool, tenant: TenantId) -> Result<Vec<Template>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, subject, body, urgent FROM alert_templates
         WHERE tenant_id = $1 ORDER BY lower(name), id",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: TemplateId,
) -> Result<Option<Template>, DbError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, subject, body, urgent FROM alert_templates
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

pub async fn create(
    pool: &PgPool,
    tenant: TenantId,
    name: &str,
    subject: Option<&str>,
    text: &str,
    urgent: bool,
) -> Result<TemplateId, DbError> {
    let id = TemplateId::new();
    sqlx::query(
        "INSERT INTO alert_templates (id, tenant_id, name, subject, body, urgent)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.0)
    .bind(tenant.0)
    .bind(name)
    .bind(subject)
    .bind(text)
    .bind(urgent)
    .execute(pool)
    .await?;
    Ok(id)
}

pub async fn remove(pool: &PgPool, tenant: TenantId, id: TemplateId) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM alert_templates WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
