//! Alerts written by drafters, waiting for a sender's validation (migrations/0036), and the
//! commune's setting that holds them.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{AlertDraft, AlertId, DraftId, TenantId, UserId};

/// A draft, with its author's name.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: DraftId,
    pub author: UserId,
    pub author_name: String,
    pub draft: AlertDraft,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    /// `pending`, `sent`, `rejected`.
    pub status: String,
    pub alert: Option<AlertId>,
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    serde_json::Value,
    String,
    DateTime<Utc>,
    String,
    Option<uuid::Uuid>,
);

const SELECT: &str = "SELECT d.id, d.author_id, u.name, d.draft, d.subject, d.created_at, d.status,
    d.alert_id FROM alert_drafts d JOIN users u ON u.id = d.author_id";

fn from_row(row: Row) -> Result<Draft, DbError> {
    let (id, author, author_name, draft, subject, created_at, status, alert) = row;
    Ok(Draft {
        id: DraftId(id),
        author: UserId(author),
        author_name,
        draft: serde_json::from_value(draft).map_err(|e| DbError::Decode(Box::new(e)))?,
        subject,
        created_at,
        status,
        alert: alert.map(AlertId),
    })
}

pub async fn create(
    pool: &PgPool,
    tenant: TenantId,
    author: UserId,
    draft: &AlertDraft,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<DraftId, DbError> {
    let id = DraftId::new();
    sqlx::query(
        "INSERT INTO alert_drafts (id, tenant_id, author_id, draft, subject, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.0)
    .bind(tenant.0)
    .bind(author.0)
    .bind(serde_json::to_value(draft).map_err(|e| DbError::Encode(Box::new(e)))?)
    .bind(subject)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(id)
}

pub async fn get(pool: &PgPool, tenant: TenantId, id: DraftId) -> Result<Option<Draft>, DbError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.id = $2"
    )))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    row.map(from_row).transpose()
}

/// The drafts of a tenant waiting for validation, oldest first.
pub async fn pending(pool: &PgPool, tenant: TenantId) -> Result<Vec<Draft>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.status = 'pending' ORDER BY d.created_at, d.id"
    )))
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Takes a pending draft for a decision (`sent` or `rejected`) by `by`; false when someone
/// decided first (two senders at once: one alert).
pub async fn decide(
    pool: &PgPool,
    id: DraftId,
    status: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE alert_drafts SET status = $2, decided_by = $3, decided_at = $4
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id.0)
    .bind(status)
    .bind(by.0)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// The alert a validated draft became.
pub async fn set_alert(pool: &PgPool, id: DraftId, alert: AlertId) -> Result<(), DbError> {
    sqlx::query("UPDATE alert_drafts SET alert_id = $2 WHERE id = $1")
        .bind(id.0)
        .bind(alert.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether a drafter's routine alerts wait for a sender (`tenant update --require-validation`).
pub async fn validation_required(pool: &PgPool, tenant: TenantId) -> Result<bool, DbError> {
    let (required,): (bool,) =
        sqlx::query_as("SELECT require_validation FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_one(pool)
            .await?;
    Ok(required)
}

pub async fn set_validation_required(
    pool: &PgPool,
    tenant: TenantId,
    required: bool,
) -> Result<(), DbError> {
    sqlx::query("UPDATE tenants SET require_validation = $2 WHERE id = $1")
        .bind(tenant.0)
        .bind(required)
        .execute(pool)
        .await?;
    Ok(())
}
