//! Reading one alert's figures back from PostgreSQL once every outcome is recorded: one read
//! after the run, so that nothing here weighs on what is measured.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::figures::{RunFigures, StatusLatency};
use tocsin::model::{AlertId, Channel};

type Row = (
    i64,
    i64,
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

/// The run's figures, times counted from `called_at` (when the API was called). `first_ms`
/// comes from the provider side when the caller has it (the SMS stand-in).
pub async fn figures(
    db: &PgPool,
    alert: AlertId,
    channel: Channel,
    called_at: DateTime<Utc>,
    first_ms: Option<f64>,
) -> anyhow::Result<RunFigures> {
    // When a delivery's outcome was recorded: its last update. A call's row changes again
    // with each callback while the call goes on, after the daemon's part: it counts when it was
    // placed (the provider's answer), as a message does.
    let done_at = match channel {
        Channel::Voice => "COALESCE(d.sent_at, d.updated_at)",
        Channel::Sms | Channel::Email | Channel::Push => "d.updated_at",
    };
    let (deliveries, failed, acknowledged, first_sent, planned, p10, p90, p100, last): Row =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(*) FILTER (WHERE d.status = 'failed'),
                count(*) FILTER (WHERE d.acknowledged_at IS NOT NULL),
                EXTRACT(EPOCH FROM min(d.sent_at) - $2)::float8 * 1000,
                EXTRACT(EPOCH FROM a.planned_at - $2)::float8 * 1000,
                EXTRACT(EPOCH FROM percentile_disc(0.1) WITHIN GROUP (ORDER BY {done_at}) - $2)::float8 * 1000,
                EXTRACT(EPOCH FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY {done_at}) - $2)::float8 * 1000,
                EXTRACT(EPOCH FROM max({done_at}) - $2)::float8 * 1000,
                EXTRACT(EPOCH FROM max(d.updated_at) - $2)::float8 * 1000
             FROM alerts a JOIN deliveries d ON d.alert_id = a.id
             WHERE a.id = $1 GROUP BY a.planned_at",
        )))
        .bind(alert.0)
        .bind(called_at)
        .fetch_one(db)
        .await?;
    let series: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT floor(EXTRACT(EPOCH FROM {done_at} - $2) * 10)::bigint AS bucket, count(*)
         FROM deliveries d WHERE alert_id = $1 GROUP BY bucket ORDER BY bucket",
    )))
    .bind(alert.0)
    .bind(called_at)
    .fetch_all(db)
    .await?;
    let (p10, p90, p100) = (p10.unwrap_or(0.0), p90.unwrap_or(0.0), p100.unwrap_or(0.0));
    let rate = |n: f64, ms: f64| if ms > 0.0 { n / (ms / 1000.0) } else { 0.0 };
    Ok(RunFigures {
        alert,
        channel: channel.as_str(),
        subscribers: 0,
        deliveries: deliveries as u64,
        failed: failed as u64,
        acknowledged: acknowledged as u64,
        first_delivery_ms: first_ms.or(first_sent).unwrap_or(0.0),
        fanout_ms: planned.unwrap_or(0.0),
        p10_ms: p10,
        p90_ms: p90,
        p100_ms: p100,
        last_update_ms: last.unwrap_or(0.0),
        rate_overall: rate(deliveries as f64, p100),
        rate_steady: rate(deliveries as f64 * 0.8, p90 - p10),
        ceiling_rate: 0.0,
        status: StatusLatency::of(Vec::new()),
        pg_cpu_ms_per_1000: f64::NAN,
        daemon_cpu_ms_per_1000: f64::NAN,
        series: series
            .into_iter()
            .map(|(b, n)| (b as f64 * 100.0, n as u64))
            .collect(),
    })
}
