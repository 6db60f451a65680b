//! Per-alert delivery tallies (`delivery_tallies`, written by triggers on `deliveries`): how many
//! deliveries are in each status, without reading a million rows. Each statement on deliveries
//! appends its changes; readers sum them; every second the daemon folds each alert's rows into
//! one per group (`dispatch::upkeep::folding`).

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};

use super::DbError;
use crate::model::{AlertId, Channel, DeliveryStatus, Lane};

/// Number of deliveries per channel and status.
pub async fn counts(
    pool: &PgPool,
    alert: AlertId,
) -> Result<Vec<(Channel, DeliveryStatus, i64)>, DbError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT channel, status, sum(n)::bigint FROM delivery_tallies WHERE alert_id = $1
         GROUP BY channel, status HAVING sum(n) <> 0",
    )
    .bind(alert.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, s, n)| Some((c.parse().ok()?, s.parse().ok()?, n)))
        .collect())
}

/// When providers answered the first and the last delivery of each channel.
pub async fn answered_between(
    pool: &PgPool,
    alert: AlertId,
) -> Result<Vec<(Channel, DateTime<Utc>, DateTime<Utc>)>, DbError> {
    let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT channel, min(first_sent_at), max(last_sent_at) FROM delivery_tallies
         WHERE alert_id = $1 AND first_sent_at IS NOT NULL GROUP BY channel",
    )
    .bind(alert.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, first, last)| Some((c.parse().ok()?, first, last)))
        .collect())
}

/// What is still to be done for one alert on one route (channel and account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub alert: AlertId,
    pub channel: Channel,
    pub provider: String,
    pub lane: Lane,
    /// Fan-out has planned all of it.
    pub planned: bool,
    pub queued: i64,
    pub sending: i64,
    pub retrying: i64,
}

/// Routes of open alerts with deliveries queued, being sent or waiting for a retry.
pub async fn pending_of_open_alerts<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<Vec<Pending>, DbError> {
    type PendingRow = (uuid::Uuid, String, String, String, bool, i64, i64, i64);
    let rows: Vec<PendingRow> = sqlx::query_as(
        "SELECT t.alert_id, t.channel, t.provider, a.lane, a.planned_at IS NOT NULL,
                COALESCE(sum(n) FILTER (WHERE t.status = 'queued'), 0)::bigint,
                COALESCE(sum(n) FILTER (WHERE t.status = 'sending'), 0)::bigint,
                COALESCE(sum(n) FILTER (WHERE t.status = 'retrying'), 0)::bigint
         FROM alerts a JOIN delivery_tallies t ON t.alert_id = a.id
         WHERE a.closed_at IS NULL AND t.status IN ('queued', 'sending', 'retrying')
         GROUP BY t.alert_id, t.channel, t.provider, a.lane, a.planned_at
         HAVING sum(n) <> 0",
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(alert, channel, provider, lane, planned, queued, sending, retrying)| {
                Some(Pending {
                    alert: AlertId(alert),
                    channel: channel.parse().ok()?,
                    provider,
                    lane: lane.parse().ok()?,
                    planned,
                    queued,
                    sending,
                    retrying,
                })
            },
        )
        .collect())
}

/// Folds the rows each alert gathered since the last fold into one per group, so that reading
/// an alert's counts stays a sum of a few rows. Returns the alerts folded.
pub async fn fold<'e>(executor: impl PgExecutor<'e>) -> Result<u64, DbError> {
    let (folded,): (i64,) = sqlx::query_as(
        "WITH touched AS (
             SELECT DISTINCT alert_id FROM delivery_tallies WHERE NOT folded
         ),
         taken AS (
             DELETE FROM delivery_tallies t USING touched
             WHERE t.alert_id = touched.alert_id
             RETURNING t.alert_id, t.channel, t.provider, t.status, t.n, t.first_sent_at,
                       t.last_sent_at
         ),
         put AS (
             INSERT INTO delivery_tallies (alert_id, channel, provider, status, n,
                                           first_sent_at, last_sent_at, folded)
             SELECT alert_id, channel, provider, status, sum(n), min(first_sent_at),
                    max(last_sent_at), true
             FROM taken GROUP BY alert_id, channel, provider, status
             HAVING sum(n) <> 0 OR min(first_sent_at) IS NOT NULL
         )
         SELECT count(*) FROM touched",
    )
    .fetch_one(executor)
    .await?;
    Ok(folded as u64)
}
