//! The HTTP API (axum): topics, subscribers, alerts and their status, each scoped to the tenant
//! of the caller's API key.

mod alerts;
pub mod auth;
pub mod error;
mod json;
mod subscribers;
mod topics;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{delete, get, post},
};
use sqlx::PgPool;
use tokio::sync::Notify;

pub use auth::KeyHasher;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub keys: KeyHasher,
    /// Wakes the outbox relay as soon as an alert is committed.
    pub relay: Arc<Notify>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/topics", post(topics::create).get(topics::list))
        .route(
            "/v1/subscribers",
            post(subscribers::add).get(subscribers::list),
        )
        .route(
            "/v1/subscribers/import",
            // A département's register runs to hundreds of thousands of lines.
            post(subscribers::import).layer(DefaultBodyLimit::max(subscribers::MAX_IMPORT_BODY)),
        )
        .route(
            "/v1/subscribers/{id}",
            delete(subscribers::remove).get(subscribers::get),
        )
        .route("/v1/alerts", post(alerts::create))
        .route("/v1/alerts/{id}", get(alerts::status))
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
