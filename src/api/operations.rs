//! What operators and load balancers ask: is the process up (`/healthz`), can it work
//! (`/readyz`), and how is it doing (`/metrics`).

use std::sync::atomic::Ordering;

use super::AppState;

/// How long PostgreSQL gets to answer before the instance is called not ready.
const DATABASE_PROBE: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// `up` or `down`: PostgreSQL answers.
    database: &'static str,
    /// `up` or `down`: connected to RabbitMQ, with every consumer running.
    broker: &'static str,
}

/// Whether this instance can do its work: PostgreSQL answers and the broker's consumers run.
/// 503 (with Retry-After) otherwise, so that a load balancer sends requests elsewhere.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "A dependency is down", body = Readiness,
            headers(("Retry-After" = u32, description = "Seconds"))),
    ))]
pub async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let database = tokio::time::timeout(DATABASE_PROBE, sqlx::query("SELECT 1").execute(&state.db))
        .await
        .is_ok_and(|r| r.is_ok());
    let broker = state.broker_up.load(Ordering::SeqCst);
    let word = |up: bool| if up { "up" } else { "down" };
    let ready = database && broker;
    let body = axum::Json(Readiness {
        status: if ready { "ready" } else { "not_ready" },
        database: word(database),
        broker: word(broker),
    });
    if ready {
        body.into_response()
    } else {
        let status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
        (
            status,
            [("retry-after", super::error::RETRY_AFTER_SECONDS.to_string())],
            body,
        )
            .into_response()
    }
}

/// Counters and gauges in Prometheus' text format: deliveries by channel, provider and outcome,
/// retries, sends in flight, rate-limit waits, outbox age, dead letters, queue lag. No tenant,
/// alert or address in any label.
#[utoipa::path(get, operation_id = "metrics", path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String,
        content_type = "text/plain")))]
pub async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // The outbox's age is read within the readiness probe's time: its answer says whether
    // PostgreSQL answers, in one round trip. Unknown while it does not (tocsin_ready says so),
    // not a reassuring 0.
    let lag = tokio::time::timeout(DATABASE_PROBE, crate::store::outbox::lag_seconds(&state.db))
        .await
        .ok()
        .and_then(Result::ok);
    let broker = state.broker_up.load(Ordering::SeqCst);
    state.metrics.ready.set(i64::from(lag.is_some() && broker));
    state.metrics.outbox_age.set(lag.unwrap_or(f64::NAN));
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The process is up and serving HTTP.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = String, example = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}
