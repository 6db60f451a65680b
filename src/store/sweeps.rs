//! The sweeper's statements (`dispatch::upkeep::sweeper` says when each runs and why): rows left
//! behind put back in the queue, deadlines applied, finished alerts closed, and the advisory lock
//! that lets one instance sweep at a time. Each statement takes the session or transaction of its
//! rule, and moves at most `limit` rows, so that a sweep stays short.

use sqlx::PgConnection;

use super::DbError;

/// A delivery a rule put back in the queue, to announce again: id, alert, channel, provider
/// account, lane.
pub type Moved = (i64, uuid::Uuid, String, String, String);

/// The advisory lock only one sweeper holds (any constant unique to Tocsin).
const SWEEPER_LOCK: i64 = 0x7_0c51_0005;

/// Takes the sweeper's lock on this session, if no other session holds it.
pub async fn try_lock(session: &mut PgConnection) -> Result<bool, DbError> {
    let (ours,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(SWEEPER_LOCK)
        .fetch_one(session)
        .await?;
    Ok(ours)
}

/// Gives the sweeper's lock back.
pub async fn unlock(session: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(SWEEPER_LOCK)
        .execute(session)
        .await?;
    Ok(())
}

/// What is still free to send of `alerts` past their deadline expires.
pub async fn expire(session: &mut PgConnection, alerts: &[uuid::Uuid]) -> Result<u64, DbError> {
    let expired = sqlx::query(
        "UPDATE deliveries d
         SET status = 'expired', owner = NULL, lease_until = NULL, next_attempt_at = NULL,
             error = COALESCE(d.error, 'not sent before the alert expired'), updated_at = now()
         FROM alerts a
         WHERE a.id = d.alert_id AND a.id = ANY($1) AND a.expires_at <= now()
           AND d.status = ANY('{queued,retrying,sending}')
           AND (d.status <> 'sending' OR d.lease_until < now())",
    )
    .bind(alerts)
    .execute(session)
    .await?;
    Ok(expired.rows_affected())
}

/// `sending` under an ended lease, found through the batches' lease rows, back to `queued`.
pub async fn requeue_ended_leases(
    tx: &mut PgConnection,
    limit: i64,
) -> Result<Vec<Moved>, DbError> {
    sqlx::query_as(
        "WITH moved AS (
             UPDATE deliveries SET status = 'queued', owner = NULL, lease_until = NULL,
                                   updated_at = now()
             WHERE id IN (SELECT d.id
                          FROM batch_leases b CROSS JOIN unnest(b.deliveries) AS ended(id)
                          JOIN deliveries d ON d.id = ended.id
                          WHERE b.lease_until < now()
                            AND d.status = 'sending' AND d.lease_until < now()
                          ORDER BY d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
             RETURNING id, alert_id, channel, provider
         )
         SELECT m.id, m.alert_id, m.channel, m.provider, a.lane
         FROM moved m JOIN alerts a ON a.id = m.alert_id",
    )
    .bind(limit)
    .fetch_all(tx)
    .await
}

/// `retrying` of `alerts`, due for longer than `overdue_ms`, back to `queued`.
pub async fn requeue_overdue_retries(
    tx: &mut PgConnection,
    alerts: &[uuid::Uuid],
    overdue_ms: i64,
    limit: i64,
) -> Result<Vec<Moved>, DbError> {
    sqlx::query_as(
        "WITH moved AS (
             UPDATE deliveries SET status = 'queued', next_attempt_at = NULL, updated_at = now()
             WHERE id IN (SELECT d.id FROM deliveries d
                          WHERE d.alert_id = ANY($3)
                            AND d.status = 'retrying'
                            AND d.next_attempt_at < now() - $2 * interval '1 millisecond'
                          ORDER BY d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
             RETURNING id, alert_id, channel, provider
         )
         SELECT m.id, m.alert_id, m.channel, m.provider, a.lane
         FROM moved m JOIN alerts a ON a.id = m.alert_id",
    )
    .bind(limit)
    .bind(overdue_ms)
    .bind(alerts)
    .fetch_all(tx)
    .await
}

/// `queued` rows of `alerts` on one route (`channel`, `provider`, `lane`), untouched for
/// `stale_ms`: touched, and returned to be announced again.
pub async fn touch_stale_queued(
    tx: &mut PgConnection,
    route: (&str, &str, &str),
    alerts: &[uuid::Uuid],
    stale_ms: i64,
    limit: i64,
) -> Result<Vec<Moved>, DbError> {
    let (channel, provider, lane) = route;
    sqlx::query_as(
        "WITH moved AS (
             UPDATE deliveries SET updated_at = now()
             WHERE id IN (SELECT d.id FROM deliveries d
                          WHERE d.alert_id = ANY($4) AND d.status = 'queued'
                            AND d.channel = $2 AND d.provider = $3
                            AND d.updated_at < now() - $5 * interval '1 millisecond'
                          ORDER BY d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
             RETURNING id, alert_id, channel, provider
         )
         SELECT m.id, m.alert_id, m.channel, m.provider, $6 FROM moved m",
    )
    .bind(limit)
    .bind(channel)
    .bind(provider)
    .bind(alerts)
    .bind(stale_ms)
    .bind(lane)
    .fetch_all(tx)
    .await
}

/// Ranges of `alerts` on one route (`channel`, `provider`) that no sender took, announced more
/// than `stale_ms` ago: touched, and returned (range, alert) to be announced again.
pub async fn touch_stale_ranges(
    tx: &mut PgConnection,
    (channel, provider): (&str, &str),
    alerts: &[uuid::Uuid],
    stale_ms: i64,
    limit: i64,
) -> Result<Vec<(i64, uuid::Uuid)>, DbError> {
    sqlx::query_as(
        "UPDATE delivery_ranges SET announced_at = now()
         WHERE id IN (SELECT id FROM delivery_ranges
                      WHERE alert_id = ANY($4) AND taken_at IS NULL
                        AND channel = $2 AND provider = $3
                        AND announced_at < now() - $5 * interval '1 millisecond'
                      ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, alert_id",
    )
    .bind(limit)
    .bind(channel)
    .bind(provider)
    .bind(alerts)
    .bind(stale_ms)
    .fetch_all(tx)
    .await
}

/// Alerts planned (or expired) with nothing left pending are closed. A call placed and not ended
/// is pending until the alert expires: its end may place it again.
pub async fn close_finished(session: &mut PgConnection) -> Result<u64, DbError> {
    let closed = sqlx::query(
        "UPDATE alerts a SET closed_at = now()
         WHERE a.closed_at IS NULL AND (a.planned_at IS NOT NULL OR a.expires_at <= now())
           AND COALESCE((SELECT sum(t.n) FROM delivery_tallies t
                         WHERE t.alert_id = a.id
                           AND (t.status = ANY('{queued,sending,retrying}')
                                OR (t.channel = 'voice' AND t.status = 'sent'
                                    AND a.expires_at > now()))), 0) = 0",
    )
    .execute(session)
    .await?;
    Ok(closed.rows_affected())
}
