//! The HTTP API (axum): topics, subscribers, alerts and their status, each scoped to the tenant
//! of the caller's API key. Every route is declared with its OpenAPI description
//! (`openapi.rs`), so the document served at `/openapi.json` cannot miss one.

mod alerts;
pub mod auth;
mod envelope;
pub mod error;
mod json;
mod openapi;
mod subscribers;
mod topics;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{Router, extract::DefaultBodyLimit, middleware};
use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use auth::KeyHasher;
pub use envelope::REQUEST_ID;
pub use error::ErrorBody;

use crate::model::PublicIds;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub keys: KeyHasher,
    /// Wakes the outbox relay as soon as an alert is committed.
    pub relay: Arc<Notify>,
    /// The public form of subscriber ids.
    pub ids: PublicIds,
    /// Imports parsed at once (see `subscribers::import_permits`).
    pub import_permits: Arc<Semaphore>,
    /// True while the broker connection and every consumer on it run.
    pub broker_up: Arc<AtomicBool>,
    pub metrics: Arc<crate::dispatch::metrics::Metrics>,
}

impl AppState {
    pub fn new(db: PgPool, keys: KeyHasher, relay: Arc<Notify>, ids: PublicIds) -> Self {
        AppState {
            db,
            keys,
            relay,
            ids,
            import_permits: subscribers::import_permits(),
            broker_up: Arc::new(AtomicBool::new(false)),
            metrics: Default::default(),
        }
    }
}

/// Every route of the API with its description; the router and the document come from it.
fn described_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(topics::create, topics::list))
        .routes(routes!(subscribers::add, subscribers::list))
        .routes(routes!(subscribers::import))
        .routes(routes!(subscribers::get, subscribers::remove))
        .routes(routes!(alerts::create))
        .routes(routes!(alerts::status))
        .routes(routes!(alerts::deliveries))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi::serve_document))
}

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
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let database = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&state.db),
    )
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
            [("retry-after", error::RETRY_AFTER_SECONDS.to_string())],
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
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let age: Option<(Option<f64>,)> =
        sqlx::query_as("SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM outbox")
            .fetch_optional(&state.db)
            .await
            .ok()
            .flatten();
    state
        .metrics
        .outbox_age
        .set(age.and_then(|(a,)| a).unwrap_or(0.0));
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The process is up and serving HTTP.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = String, example = "ok")))]
async fn healthz() -> &'static str {
    "ok"
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, document) = described_routes().split_for_parts();
    openapi::finish(document)
}

pub fn router(state: AppState) -> Router {
    let (routes, document) = described_routes().split_for_parts();
    let document = Arc::new(openapi::finish(document));
    routes
        .fallback(envelope::no_route)
        .layer(axum::Extension(document))
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(envelope::envelope))
        .with_state(state)
}
