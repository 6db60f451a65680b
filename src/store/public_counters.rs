//! Counters over fixed windows that cap what the public can make the platform send (codes,
//! e-mails, replies) and how often a client may ask. They live in PostgreSQL so that every
//! instance shares them. Keys are opaque (keyed hashes of numbers, addresses and clients).

use std::time::Duration;

use sqlx::PgPool;

use super::DbError;

/// One counter to take from: `scope` names what is counted, `key` whose count it is.
#[derive(Debug, Clone)]
pub struct Counter<'a> {
    pub scope: &'static str,
    pub key: &'a str,
    pub window: Duration,
    pub limit: u32,
}

/// Counts one against every counter, all or none: `None` when each stays within its limit
/// (all are counted), else the index of the first over it (none is counted). Counters are
/// locked in the order given; callers give shared ones (the commune's, the platform's) last and
/// in the same order, so that two requests never wait on each other in a cycle.
pub async fn take(pool: &PgPool, counters: &[Counter<'_>]) -> Result<Option<usize>, DbError> {
    let mut tx = pool.begin().await?;
    for (index, counter) in counters.iter().enumerate() {
        let (count,): (i32,) = sqlx::query_as(
            "INSERT INTO public_counters AS c (scope, key, window_end)
             VALUES ($1, $2, now() + $3 * interval '1 second')
             ON CONFLICT (scope, key) DO UPDATE SET
                 count = CASE WHEN c.window_end <= now() THEN 1 ELSE c.count + 1 END,
                 window_end = CASE WHEN c.window_end <= now() THEN EXCLUDED.window_end
                                   ELSE c.window_end END
             RETURNING count",
        )
        .bind(counter.scope)
        .bind(counter.key)
        .bind(counter.window.as_secs_f64())
        .fetch_one(&mut *tx)
        .await?;
        if count as i64 > counter.limit as i64 {
            tx.rollback().await?;
            return Ok(Some(index));
        }
    }
    tx.commit().await?;
    Ok(None)
}

/// Forgets counters whose window ended (the retention sweep).
pub async fn purge(pool: &PgPool) -> Result<u64, DbError> {
    Ok(
        sqlx::query("DELETE FROM public_counters WHERE window_end < now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
