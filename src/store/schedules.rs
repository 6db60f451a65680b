//! Schedules (recurring alerts) and the record of their occurrences.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::DbError;
use crate::model::{AlertDraft, AlertId, ScheduleId, TenantId, TopicId};

#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: ScheduleId,
    pub tenant_id: TenantId,
    pub topic_id: TopicId,
    pub topic: String,
    pub cron: String,
    pub time_zone: String,
    /// The alert each occurrence sends.
    pub alert: AlertDraft,
    pub paused_at: Option<DateTime<Utc>>,
    pub considered_until: DateTime<Utc>,
    pub next_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: uuid::Uuid,
    tenant_id: uuid::Uuid,
    topic_id: uuid::Uuid,
    topic: String,
    cron: String,
    time_zone: String,
    alert: sqlx::types::Json<AlertDraft>,
    paused_at: Option<DateTime<Utc>>,
    considered_until: DateTime<Utc>,
    next_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<ScheduleRow> for Schedule {
    fn from(row: ScheduleRow) -> Self {
        Schedule {
            id: ScheduleId(row.id),
            tenant_id: TenantId(row.tenant_id),
            topic_id: TopicId(row.topic_id),
            topic: row.topic,
            cron: row.cron,
            time_zone: row.time_zone,
            alert: row.alert.0,
            paused_at: row.paused_at,
            considered_until: row.considered_until,
            next_at: row.next_at,
            created_at: row.created_at,
        }
    }
}

const SELECT_SCHEDULE: &str = "SELECT s.id, s.tenant_id, s.topic_id, t.slug AS topic, s.cron,
        s.time_zone, s.alert, s.paused_at, s.considered_until, s.next_at, s.created_at
     FROM schedules s JOIN topics t ON t.id = s.topic_id";

pub struct NewSchedule<'a> {
    pub tenant_id: TenantId,
    pub topic_id: TopicId,
    pub cron: &'a str,
    pub time_zone: &'a str,
    pub alert: &'a AlertDraft,
    /// Occurrences from this instant on are its own.
    pub from: DateTime<Utc>,
    pub next_at: Option<DateTime<Utc>>,
}

pub async fn create(pool: &PgPool, new: &NewSchedule<'_>) -> Result<Schedule, DbError> {
    let id = ScheduleId::new();
    sqlx::query(
        "INSERT INTO schedules (id, tenant_id, topic_id, cron, time_zone, alert, considered_until,
                                next_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.0)
    .bind(new.tenant_id.0)
    .bind(new.topic_id.0)
    .bind(new.cron)
    .bind(new.time_zone)
    .bind(sqlx::types::Json(new.alert))
    .bind(new.from)
    .bind(new.next_at)
    .execute(pool)
    .await?;
    get(pool, new.tenant_id, id)
        .await?
        .ok_or(DbError::RowNotFound)
}

pub async fn list(pool: &PgPool, tenant: TenantId) -> Result<Vec<Schedule>, DbError> {
    let rows: Vec<ScheduleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_SCHEDULE} WHERE s.tenant_id = $1 ORDER BY s.created_at, s.id"
    )))
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Schedule::from).collect())
}

/// One schedule of one tenant; another tenant's is simply not found.
pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: ScheduleId,
) -> Result<Option<Schedule>, DbError> {
    let row: Option<ScheduleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_SCHEDULE} WHERE s.tenant_id = $1 AND s.id = $2"
    )))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Schedule::from))
}

/// Pauses a schedule (no-op if it is paused already).
pub async fn pause(pool: &PgPool, tenant: TenantId, id: ScheduleId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE schedules SET paused_at = now()
         WHERE tenant_id = $1 AND id = $2 AND paused_at IS NULL",
    )
    .bind(tenant.0)
    .bind(id.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// Resumes a paused schedule from `from` on: what it would have sent while paused stays unsent.
pub async fn resume(
    pool: &PgPool,
    tenant: TenantId,
    id: ScheduleId,
    from: DateTime<Utc>,
    next_at: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE schedules SET paused_at = NULL, considered_until = $3, next_at = $4
         WHERE tenant_id = $1 AND id = $2 AND paused_at IS NOT NULL",
    )
    .bind(tenant.0)
    .bind(id.0)
    .bind(from)
    .bind(next_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes a schedule and its record; false when there is no such schedule.
pub async fn remove(pool: &PgPool, tenant: TenantId, id: ScheduleId) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM schedules WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Running schedules, of every tenant, with an occurrence due at `now`, the most overdue first.
pub async fn due(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<Vec<Schedule>, DbError> {
    let rows: Vec<ScheduleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_SCHEDULE} WHERE s.paused_at IS NULL AND s.next_at <= $1
         ORDER BY s.next_at LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Schedule::from).collect())
}

/// What became of an occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Fired,
    Missed,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fired => "fired",
            Outcome::Missed => "missed",
            Outcome::Failed => "failed",
        }
    }
}

/// Claims an occurrence for this transaction by recording it. False when it is already recorded
/// (another scheduler dealt with it, or is dealing with it: this waits for that transaction)
/// or when the schedule was paused or removed meanwhile: then nothing must be sent.
pub async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    schedule: ScheduleId,
    occurrence: NaiveDateTime,
    due_at: DateTime<Utc>,
    outcome: Outcome,
    reason: Option<&str>,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO schedule_runs (schedule_id, occurrence, due_at, outcome, reason)
         SELECT id, $2, $3, $4, $5 FROM schedules WHERE id = $1 AND paused_at IS NULL
         ON CONFLICT (schedule_id, occurrence) DO NOTHING",
    )
    .bind(schedule.0)
    .bind(occurrence)
    .bind(due_at)
    .bind(outcome.as_str())
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Links a fired occurrence to the alert it created.
pub async fn set_alert(
    tx: &mut Transaction<'_, Postgres>,
    schedule: ScheduleId,
    occurrence: NaiveDateTime,
    alert: AlertId,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE schedule_runs SET alert_id = $3 WHERE schedule_id = $1 AND occurrence = $2",
    )
    .bind(schedule.0)
    .bind(occurrence)
    .bind(alert.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves the schedule past the occurrence due at `past`, unless another scheduler already moved
/// it further.
pub async fn advance(
    tx: &mut Transaction<'_, Postgres>,
    schedule: ScheduleId,
    past: DateTime<Utc>,
    next_at: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE schedules SET considered_until = $2, next_at = $3
         WHERE id = $1 AND considered_until < $2",
    )
    .bind(schedule.0)
    .bind(past)
    .bind(next_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One occurrence dealt with.
#[derive(Debug, Clone)]
pub struct Run {
    pub occurrence: NaiveDateTime,
    pub due_at: DateTime<Utc>,
    pub outcome: String,
    pub alert: Option<AlertId>,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The latest occurrences of a schedule, newest first.
pub async fn runs(pool: &PgPool, schedule: ScheduleId, limit: i64) -> Result<Vec<Run>, DbError> {
    type RunRow = (
        NaiveDateTime,
        DateTime<Utc>,
        String,
        Option<uuid::Uuid>,
        Option<String>,
        DateTime<Utc>,
    );
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT occurrence, due_at, outcome, alert_id, reason, recorded_at FROM schedule_runs
         WHERE schedule_id = $1 ORDER BY due_at DESC LIMIT $2",
    )
    .bind(schedule.0)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(occurrence, due_at, outcome, alert, reason, recorded_at)| Run {
                occurrence,
                due_at,
                outcome,
                alert: alert.map(AlertId),
                reason,
                recorded_at,
            },
        )
        .collect())
}
