//! The transactional outbox: messages written in the same transaction as the state they announce,
//! and published by the relay once the transaction committed; and, once published, the alerts
//! whose job never got to fan-out (the broker lost it), for the sweeper to publish again.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::DbError;
use crate::model::{AlertId, Lane};

/// A message to publish once the transaction commits.
pub struct Message<'a> {
    pub routing_key: &'a str,
    pub payload: &'a [u8],
    /// The alert it starts, which can be cancelled as long as the message waits here.
    pub alert: Option<AlertId>,
    /// Not published before this instant (a timed alert, or one waiting for quiet hours' end).
    pub not_before: Option<DateTime<Utc>>,
}

pub async fn push(
    tx: &mut Transaction<'_, Postgres>,
    message: &Message<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO outbox (routing_key, payload, alert_id, not_before) VALUES ($1, $2, $3, $4)",
    )
    .bind(message.routing_key)
    .bind(message.payload)
    .bind(message.alert.map(|a| a.0))
    .bind(message.not_before)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes back the message that would start the alert; false if the relay already published it
/// (or is publishing it: this waits for the relay's transaction, and then finds nothing).
pub async fn withdraw(tx: &mut Transaction<'_, Postgres>, alert: AlertId) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM outbox WHERE alert_id = $1")
        .bind(alert.0)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub struct Pending {
    pub id: i64,
    pub routing_key: String,
    pub payload: Vec<u8>,
}

/// Locks the oldest messages due at `now` for this relay (other instances skip them). The
/// caller publishes them, then calls [`remove`] and commits; a rollback leaves them for the next
/// round.
pub async fn lock_batch(
    tx: &mut Transaction<'_, Postgres>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Pending>, DbError> {
    let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, routing_key, payload FROM outbox
         WHERE not_before IS NULL OR not_before <= $1
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, routing_key, payload)| Pending {
            id,
            routing_key,
            payload,
        })
        .collect())
}

/// Deletes messages the broker confirmed, and notes on the alerts they start that their fan-out
/// job left now (`alerts.fan_out_at`, which [`lost_fan_outs`] goes by).
pub async fn remove(tx: &mut Transaction<'_, Postgres>, ids: &[i64]) -> Result<(), DbError> {
    sqlx::query(
        "WITH removed AS (DELETE FROM outbox WHERE id = ANY($1) RETURNING alert_id)
         UPDATE alerts SET fan_out_at = now()
         WHERE id IN (SELECT alert_id FROM removed WHERE alert_id IS NOT NULL)",
    )
    .bind(ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Alerts of `lanes` whose fan-out job was lost: relayed (no message of theirs left in the
/// outbox), still not planned, neither closed (cancelled, expired) nor past their deadline, and
/// whose fan-out has shown no life for `quiet_ms` (no job published, no chunk planned: see
/// `alerts.fan_out_at`; alerts relayed before that column existed go by when they became due).
/// Their `fan_out_at` is set to now, so that the caller publishes each job again at most once
/// per `quiet_ms`; the rows stay locked until the caller commits (other sweeps skip them), and
/// the caller commits only once the broker confirmed the jobs.
///
/// Planning an alert twice plans nothing twice: a delivery row is unique per (alert,
/// subscriber, channel), and fan-out stops at once for an alert already planned.
pub async fn lost_fan_outs(
    tx: &mut Transaction<'_, Postgres>,
    lanes: &[Lane],
    quiet_ms: i64,
    limit: i64,
) -> Result<Vec<(AlertId, Lane)>, DbError> {
    let lanes: Vec<&str> = lanes.iter().map(|lane| lane.as_str()).collect();
    let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "WITH lost AS (
             SELECT a.id FROM alerts a
             WHERE a.closed_at IS NULL AND a.planned_at IS NULL AND a.expires_at > now()
               AND a.lane = ANY($1)
               AND COALESCE(a.fan_out_at, a.starts_at, a.created_at)
                   < now() - $2 * interval '1 millisecond'
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id)
             ORDER BY a.id LIMIT $3 FOR UPDATE OF a SKIP LOCKED
         )
         UPDATE alerts a SET fan_out_at = now() FROM lost WHERE a.id = lost.id
         RETURNING a.id, a.lane",
    )
    .bind(&lanes)
    .bind(quiet_ms)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, lane)| Some((AlertId(id), lane.parse().ok()?)))
        .collect())
}

/// How long the oldest message due has waited, in seconds (0 when none): the relay's lag.
/// Timed alerts waiting for their hour count from that hour, not from their creation.
pub async fn lag_seconds(pool: &PgPool) -> Result<f64, DbError> {
    let (age,): (Option<f64>,) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM now() - min(COALESCE(not_before, created_at)))::float8
         FROM outbox WHERE not_before IS NULL OR not_before <= now()",
    )
    .fetch_one(pool)
    .await?;
    Ok(age.unwrap_or(0.0).max(0.0))
}
