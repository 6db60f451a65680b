//! The mairie's console at `/console`: people sign in (password, then a TOTP code for those who
//! may send), and act through the same code as the API: an alert sent here is the same alert,
//! with the same validation, budget, idempotency and audit entry, under the person's role on
//! their node of the tree. Rendering is `crate::web::console`'s; this is the HTTP side.
//!
//! Sessions live in PostgreSQL (`store::console_sessions`); their cookie is `__Host-` prefixed
//! and `Secure` when the public URL is https, always `HttpOnly` and `SameSite=Lax`. Every form
//! carries a CSRF token (the session's, or before signing in one bound to a cookie of its own),
//! and a browser's cross-site POST is refused before that. Nothing personal, no session id and no
//! code goes in a URL or a log line.

mod alerts;
mod drafts;
mod follow;
mod home;
mod manage;
pub mod oidc;
mod session;
mod settings;
mod sign_in;
mod subscribers;

use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::Markup;

use super::{AppState, error::ApiError};
use crate::store::console_sessions::Lifetime;

pub use session::{SignedIn, session_cookie_name};

/// Idle 30 minutes, at most 12 hours (ProConnect's own session lasts 12 h).
pub const SESSION_LIFETIME: Lifetime = Lifetime {
    idle: chrono::Duration::minutes(30),
    max: chrono::Duration::hours(12),
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home::dashboard))
        .route(
            "/console/login",
            get(sign_in::login_form).post(sign_in::login),
        )
        .route(
            "/console/login/code",
            get(sign_in::code_form).post(sign_in::code),
        )
        .route(
            "/console/invitation/{token}",
            get(sign_in::invitation_form).post(sign_in::accept_invitation),
        )
        .route(
            "/console/second-factor",
            get(sign_in::enrol_form).post(sign_in::enrol),
        )
        .route("/console/oidc/start", get(oidc::start))
        .route("/console/oidc/callback", get(oidc::callback))
        .route("/console/logout", post(sign_in::logout))
        .route(
            "/console/logout/everywhere",
            post(sign_in::logout_everywhere),
        )
        .route("/console/alerts", get(follow::history).post(alerts::send))
        .route(
            "/console/alerts/new",
            get(alerts::new_form).post(alerts::edit),
        )
        .route("/console/alerts/preview", post(alerts::preview))
        .route("/console/alerts/measure", post(alerts::measure))
        .route("/console/alerts/{id}", get(follow::follow))
        .route("/console/alerts/{id}/events", get(follow::events))
        .route(
            "/console/alerts/{id}/deliveries.csv",
            get(follow::deliveries_csv),
        )
        .route("/console/alerts/{id}/cancel", post(follow::cancel))
        .route("/console/alerts/{id}/stop", post(follow::stop))
        .route("/console/alerts/{id}/proof.pdf", get(follow::proof))
        .route("/console/drafts", get(drafts::list))
        .route("/console/drafts/{id}", get(drafts::show))
        .route("/console/drafts/{id}/validate", post(drafts::validate))
        .route("/console/drafts/{id}/reject", post(drafts::reject))
        .route(
            "/console/topics",
            get(manage::topics).post(manage::add_topic),
        )
        .route(
            "/console/schedules",
            get(manage::schedules).post(manage::add_schedule),
        )
        .route(
            "/console/schedules/{id}/{what}",
            post(manage::change_schedule),
        )
        .route(
            "/console/templates",
            get(manage::templates).post(manage::add_template),
        )
        .route(
            "/console/templates/{id}/remove",
            post(manage::remove_template),
        )
        .route(
            "/console/subscribers",
            get(subscribers::list).post(subscribers::add),
        )
        .route(
            "/console/subscribers/import",
            post(subscribers::import).layer(axum::extract::DefaultBodyLimit::max(
                super::subscribers::MAX_IMPORT_BODY + 64 * 1024,
            )),
        )
        .route(
            "/console/subscribers/{id}/remove",
            post(subscribers::remove),
        )
        .route("/console/subscribers/{id}/export", get(subscribers::export))
        .route(
            "/console/settings",
            get(settings::show).post(settings::save),
        )
        .route(
            "/console/settings/logo",
            post(settings::logo).layer(axum::extract::DefaultBodyLimit::max(
                crate::web::logo::MAX_LOGO_BYTES + 64 * 1024,
            )),
        )
        .route("/console/acting-on", post(home::act_on))
        .route("/console/users", get(home::users).post(home::invite))
        .route("/console/users/{id}/{what}", post(home::change_user))
}

/// A console page: HTML, never cached, never framed, no referrer (an invitation link must not
/// leak to another site), under the strict CSP of the citizen pages.
fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&crate::web::content_security_policy(None)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn ok(markup: Markup) -> Response {
    html(StatusCode::OK, markup)
}

/// After a POST that changed something: the next page by GET (a reload does not post again).
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// What goes wrong on a console page: a page in French with the status, or an API error
/// (internal errors keep the API's shape, so that the envelope logs them once with the request
/// id).
pub enum ConsoleError {
    Page(StatusCode, &'static str, String),
    Api(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        match error.status {
            StatusCode::NOT_FOUND => ConsoleError::not_found(),
            StatusCode::FORBIDDEN => ConsoleError::Page(
                StatusCode::FORBIDDEN,
                "Accès refusé",
                "Votre rôle ne permet pas cette action. Demandez à l'administrateur de votre commune."
                    .into(),
            ),
            _ => ConsoleError::Api(error),
        }
    }
}

impl From<sqlx::Error> for ConsoleError {
    fn from(error: sqlx::Error) -> Self {
        ConsoleError::Api(error.into())
    }
}

impl ConsoleError {
    /// 404, also for what belongs to another commune: nothing about it is revealed.
    fn not_found() -> Self {
        ConsoleError::Page(
            StatusCode::NOT_FOUND,
            "Page introuvable",
            "Cette page n'existe pas, ou elle n'est pas de votre commune.".into(),
        )
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::Page(status, title, text) => {
                let content = maud::html! {
                    h1 { (title) }
                    p { (text) }
                    p { a href="/console" { "Retour au tableau de bord" } }
                };
                html(
                    status,
                    crate::web::console::shell::page(
                        title,
                        crate::web::console::Section::None,
                        None,
                        content,
                    ),
                )
            }
            ConsoleError::Api(error) => error.into_response(),
        }
    }
}

/// The role's name in French, as the console shows it.
fn role_label(role: crate::model::Role) -> &'static str {
    use crate::model::Role;
    match role {
        Role::Reader => "lecture",
        Role::Drafter => "rédaction",
        Role::Sender => "envoi",
        Role::Admin => "administration",
    }
}

/// A time in the commune's clock, in French: "5 décembre 2026 à 19:04".
fn french_time(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    crate::model::french::date_time(at, zone)
}
