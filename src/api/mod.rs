//! The HTTP API (axum): topics, subscribers, alerts and their status, schedules, each scoped to the
//! tenant of the caller's API key; the citizens' pages; and the mairie's console (`console/`),
//! whose people act through the same functions under the same rules. Every API route is declared
//! with its OpenAPI description (`openapi.rs`), so the document served at `/openapi.json` cannot
//! miss one.

mod alerts;
mod audit;
pub mod auth;
mod budget;
mod callbacks;
mod calls;
mod client;
pub mod console;
mod envelope;
pub mod error;
mod group_alerts;
mod json;
mod openapi;
mod operations;
mod pages;
mod public;
mod push;
mod schedules;
pub mod serve;
mod stopping;
mod subscribers;
mod topics;
mod usage;

use std::sync::{Arc, atomic::AtomicBool};

use axum::{Router, extract::DefaultBodyLimit, middleware};
use sqlx::PgPool;
use tokio::sync::Notify;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use auth::KeyHasher;
pub use envelope::REQUEST_ID;
pub use error::ErrorBody;
pub use subscribers::ImportGate;

use crate::model::PublicIds;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub keys: KeyHasher,
    /// Wakes the outbox relay as soon as an alert is committed.
    pub relay: Arc<Notify>,
    /// The public form of subscriber ids.
    pub ids: PublicIds,
    /// Imports taken at once (see `subscribers::ImportGate`).
    pub imports: ImportGate,
    /// True while the broker connection and every consumer on it run.
    pub broker_up: Arc<AtomicBool>,
    pub metrics: Arc<crate::dispatch::metrics::Metrics>,
    /// The time alerts are timed by (a manual clock in tests).
    pub clock: crate::clock::Clock,
    /// Provider accounts, which read their callbacks.
    pub providers: crate::dispatch::Providers,
    /// Where providers and citizens reach this platform.
    pub public_url: url::Url,
    /// Which account carries a tenant's messages, and what a segment costs there (dry runs).
    pub routing: crate::dispatch::Routing,
    pub pricing: Arc<std::collections::HashMap<String, crate::dispatch::policy::routing::Pricing>>,
    /// Accounts' rates (`[limits.ACCOUNT]`): how long calls will take, in dry runs.
    pub limits:
        Arc<std::collections::HashMap<String, crate::dispatch::policy::limits::AccountLimit>>,
    /// Alert pages, unsubscribe and confirmation links.
    pub links: crate::model::CitizenLinks,
    /// What authenticates providers' callbacks.
    pub callback_tokens: crate::model::CallbackTokens,
    /// The key browsers subscribe with (`applicationServerKey`), when Web Push is configured.
    pub vapid_public_key: Option<String>,
    /// Which push endpoints browsers may subscribe with.
    pub push_egress: tocsin_providers::egress::EgressPolicy,
    /// Communes' DKIM keys, which sign the e-mail the pages send.
    pub dkim: Arc<crate::dispatch::dkim::DkimKeys>,
    /// Caps on what the public routes can make the platform send.
    pub public_caps: Arc<crate::dispatch::policy::public_caps::PublicCaps>,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client (`[http] trusted_proxies`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// How long console sessions last.
    pub sessions: crate::store::console_sessions::Lifetime,
    /// How unconfirmed calls are placed again (`[voice]`).
    pub recall: crate::dispatch::pipeline::recall::Settings,
    /// Records providers' reports, many requests to a commit.
    pub reports: crate::dispatch::pipeline::receipts::ReportWriter,
    /// The OpenID provider people may sign in to the console through (`[oidc]`).
    pub oidc: Option<Arc<console::oidc::OidcClient>>,
}

/// Every route of the API with its description; the router and the document come from it.
fn described_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(topics::create, topics::list))
        .routes(routes!(subscribers::add, subscribers::list))
        .routes(routes!(subscribers::import))
        .routes(routes!(subscribers::get, subscribers::remove))
        .routes(routes!(subscribers::export))
        .routes(routes!(alerts::create))
        .routes(routes!(alerts::status))
        .routes(routes!(alerts::cancel))
        .routes(routes!(stopping::stop))
        .routes(routes!(alerts::deliveries))
        .routes(routes!(schedules::create, schedules::list))
        .routes(routes!(schedules::get, schedules::remove))
        .routes(routes!(schedules::pause))
        .routes(routes!(schedules::resume))
        .routes(routes!(schedules::next))
        .routes(routes!(schedules::runs))
        .routes(routes!(usage::month))
        .routes(routes!(audit::list))
        .routes(routes!(callbacks::status, callbacks::status_by_get))
        .routes(routes!(callbacks::inbound))
        .routes(routes!(calls::script))
        .routes(routes!(calls::keypad))
        .routes(routes!(public::subscribe))
        .routes(routes!(public::confirm))
        .routes(routes!(push::subscribe, push::unsubscribe))
        .routes(routes!(operations::healthz))
        .routes(routes!(operations::readyz))
        .routes(routes!(operations::metrics))
        .routes(routes!(openapi::serve_document))
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, document) = described_routes().split_for_parts();
    openapi::finish(document)
}

/// Largest body read on the routes anyone may call without a key (the citizens' forms and
/// JSON routes, one-click unsubscribe, providers' callbacks): what they take is a few hundred
/// bytes, and a stranger must not make the daemon hold a megabyte per connection.
pub const PUBLIC_MAX_BODY: usize = 64 * 1024;

async fn limit_public_bodies(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    let public = ["/c/", "/u/", "/a/", "/cb/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    if !public {
        return next.run(request).await;
    }
    let request = request
        .map(|body| axum::body::Body::new(http_body_util::Limited::new(body, PUBLIC_MAX_BODY)));
    next.run(request).await
}

pub fn router(state: AppState) -> Router {
    let (routes, document) = described_routes().split_for_parts();
    let document = Arc::new(openapi::finish(document));
    routes
        .merge(pages::routes())
        .merge(console::routes())
        .fallback(envelope::no_route)
        .layer(axum::Extension(document))
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(middleware::from_fn(limit_public_bodies))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(envelope::envelope))
        .with_state(state)
}
