//! Token buckets of provider accounts, shared by every instance (see dispatch::policy::limits).

use sqlx::PgPool;

use super::DbError;

/// What one request for tokens got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Granted {
    pub tokens: u32,
    /// Tokens left in the bucket after the grant (fractional).
    pub left: f64,
    /// False when routine sends must give way to urgent ones right now.
    pub open: bool,
}

/// Takes up to `want` whole tokens from `account`'s bucket, refilled at `rate` per second up to
/// `burst`. An urgent request marks the bucket, and routine requests get nothing for `yield_ms`
/// after the last urgent one. One row lock per call: instances take turns, and no grant can
/// exceed what the bucket holds.
pub async fn take(
    pool: &PgPool,
    account: &str,
    rate: f64,
    burst: f64,
    want: u32,
    urgent: bool,
    yield_ms: i64,
) -> Result<Granted, DbError> {
    sqlx::query(
        "INSERT INTO rate_buckets (account, tokens, refilled_at) VALUES ($1, $2, clock_timestamp())
         ON CONFLICT (account) DO NOTHING",
    )
    .bind(account)
    .bind(burst)
    .execute(pool)
    .await?;
    let (tokens, left, open): (i32, f64, bool) = sqlx::query_as(
        "WITH current AS (
             SELECT account,
                    LEAST($3, tokens + $2 * EXTRACT(EPOCH FROM clock_timestamp() - refilled_at))
                        AS available,
                    $5 OR urgent_at IS NULL
                       OR urgent_at < clock_timestamp() - $6 * interval '1 millisecond' AS open
             FROM rate_buckets WHERE account = $1 FOR UPDATE
         ),
         granted AS (
             SELECT account, available, open,
                    CASE WHEN open THEN LEAST($4, GREATEST(0, floor(available)))::int ELSE 0 END
                        AS tokens
             FROM current
         )
         UPDATE rate_buckets b
         SET tokens = g.available - g.tokens, refilled_at = clock_timestamp(),
             urgent_at = CASE WHEN $5 THEN clock_timestamp() ELSE b.urgent_at END
         FROM granted g WHERE b.account = g.account
         RETURNING g.tokens, g.available - g.tokens, g.open",
    )
    .bind(account)
    .bind(rate)
    .bind(burst)
    .bind(i32::try_from(want).unwrap_or(i32::MAX))
    .bind(urgent)
    .bind(yield_ms)
    .fetch_one(pool)
    .await?;
    Ok(Granted {
        tokens: u32::try_from(tokens).unwrap_or(0),
        left,
        open,
    })
}
