//! Who is at the console: the session cookie resolved to a person and to the same [`Caller`] an
//! API key gives, and the forms' CSRF tokens: the session's own once signed in, and before
//! that (sign-in, invitation) a token bound to a cookie of its own (double submit, as on the
//! citizen page).

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use serde::de::DeserializeOwned;

use super::{ConsoleError, role_label};
use crate::{
    api::{
        AppState,
        auth::{Actor, Caller},
        client::{cookie_value, is_hex_of, refuse_cross_site},
    },
    model::keys::{Purpose, same_tag},
    store::{
        console_sessions::{self, Session, Stage},
        tenants::Tenant,
        users::User,
    },
    web::console::Person,
};

/// The largest console form (an alert's text is at most a few kilobytes).
const MAX_FORM: usize = 64 * 1024;

/// A cookie's name: `__Host-` prefixed when the cookie can be `Secure` (browsers then refuse one
/// set by another subdomain or over plain http).
pub(super) fn cookie_name(state: &AppState, name: &'static str) -> std::borrow::Cow<'static, str> {
    if secure(state) {
        format!("__Host-{name}").into()
    } else {
        name.into()
    }
}

/// The session cookie's name.
pub fn session_cookie_name(state: &AppState) -> std::borrow::Cow<'static, str> {
    cookie_name(state, "tocsin_session")
}

fn form_cookie_name(state: &AppState) -> std::borrow::Cow<'static, str> {
    cookie_name(state, "tocsin_console_form")
}

fn secure(state: &AppState) -> bool {
    state.public_url.scheme() == "https"
}

/// One of our random cookies (64 hex digits), if the request carries it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie_value(headers, name).filter(|v| is_hex_of(v, 64))
}

/// A `Set-Cookie` for the console: whole site, not for scripts, sent on top-level navigations
/// from elsewhere (the provider's redirect back), `Secure` over https.
pub(super) fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> String {
    let secure = if secure(state) { "; Secure" } else { "" };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}")
}

/// The `Set-Cookie` of a new session id.
pub fn session_cookie(state: &AppState, id: &str) -> String {
    set_cookie(state, &session_cookie_name(state), id, None)
}

/// The `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> String {
    set_cookie(state, &session_cookie_name(state), "", Some(0))
}

/// The session id the request carries, if any.
pub fn session_id(state: &AppState, headers: &HeaderMap) -> Option<String> {
    cookie(headers, &session_cookie_name(state))
}

/// The live session of the request, at any stage.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, ConsoleError> {
    let Some(id) = session_id(state, headers) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let session = console_sessions::touch(&state.db, &id, now, state.sessions).await?;
    Ok(session.map(|s| (id, s)))
}

/// A person signed in, their session, and the caller they act as.
pub struct SignedIn {
    pub user: User,
    /// The tenant acted on: the person's node, or the one of its subtree they chose.
    pub tenant: Tenant,
    pub session: Session,
    pub caller: Caller,
    /// Slug and name of each tenant the person may act on, when there is more than one.
    pub choices: Vec<(String, String)>,
}

impl SignedIn {
    /// How the header shows them, and what the navigation offers.
    pub fn person(&self) -> Person<'_> {
        use crate::model::Permission;
        Person {
            name: &self.user.name,
            role: role_label(self.user.role),
            commune: &self.tenant.name,
            may_send: self.user.role.allows(Permission::Send),
            may_administer: self.user.role.allows(Permission::Administer),
            may_manage_subscribers: self.user.role.allows(Permission::ManageSubscribers),
            acting_on: &self.tenant.slug,
            choices: &self.choices,
            csrf: &self.session.csrf,
        }
    }
}

/// Anyone not signed in is sent to the sign-in page (a session past its idle time or its
/// 12 hours included).
pub struct ToSignIn;

impl IntoResponse for ToSignIn {
    fn into_response(self) -> Response {
        Redirect::to("/console/login").into_response()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let found = current(state, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some((_, session)) = found.filter(|(_, s)| s.stage == Stage::SignedIn) else {
            return Err(ToSignIn.into_response());
        };
        let user = crate::store::users::get(&state.db, session.user)
            .await
            .map_err(|e| ConsoleError::from(e).into_response())?
            .ok_or_else(|| ToSignIn.into_response())?;
        // A person of a group acts on the tenant of their subtree they chose, if it still is.
        let acting_on = match session.acting_on {
            Some(node)
                if node != user.tenant
                    && crate::store::tree::within(&state.db, user.tenant, node)
                        .await
                        .map_err(|e| ConsoleError::from(e).into_response())? =>
            {
                node
            }
            _ => user.tenant,
        };
        let tenant = crate::store::tenants::get(&state.db, acting_on)
            .await
            .map_err(|e| ConsoleError::from(e).into_response())?;
        let caller = Caller {
            tenant: acting_on,
            role: user.role,
            actor: Actor::User(user.id),
            request_id: parts
                .extensions
                .get::<crate::api::envelope::RequestId>()
                .map(|id| id.0.clone()),
        };
        let choices: Vec<(String, String)> = crate::store::tree::below(&state.db, user.tenant)
            .await
            .map_err(|e| ConsoleError::from(e).into_response())?
            .into_iter()
            .map(|node| (node.slug, node.name))
            .collect();
        let choices = if choices.len() > 1 {
            choices
        } else {
            Vec::new()
        };
        Ok(SignedIn {
            user,
            tenant,
            session,
            caller,
            choices,
        })
    }
}

/// A form posted by a person signed in: refused when it comes from another site or lacks the
/// session's CSRF token, before its fields are read.
pub struct SignedInForm<T> {
    pub who: SignedIn,
    pub form: T,
    /// Every field but the token, in order: for fields given several times (checkboxes).
    pub pairs: Vec<(String, String)>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignedInForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        refuse_cross_site(&parts.headers, &state.public_url).map_err(forbidden_page)?;
        let who = SignedIn::from_request_parts(&mut parts, state).await?;
        let pairs = read_form(body).await?;
        let token = field(&pairs, "csrf").unwrap_or_default();
        if !same_tag(&token, &who.session.csrf) {
            return Err(expired_form());
        }
        let form = parse(&pairs)?;
        let pairs = pairs.into_iter().filter(|(n, _)| n != "csrf").collect();
        Ok(SignedInForm { who, form, pairs })
    }
}

/// The file a person signed in sends in a `multipart/form-data` form as the field `name`, its
/// CSRF token coming as a field before it: refused from another site or without the session's
/// token (403), unreadable (400). `None`: larger than `max` bytes (read no further).
pub async fn uploaded_file(
    state: &AppState,
    who: &SignedIn,
    headers: &HeaderMap,
    mut multipart: axum::extract::Multipart,
    name: &str,
    max: usize,
) -> Result<Option<Vec<u8>>, Response> {
    refuse_cross_site(headers, &state.public_url).map_err(forbidden_page)?;
    let unreadable = || {
        ConsoleError::Page(
            axum::http::StatusCode::BAD_REQUEST,
            "Envoi illisible",
            "Le fichier n'a pas été reçu en entier. Recommencez.".into(),
        )
        .into_response()
    };
    let mut token_ok = false;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| unreadable())? {
        if field.name() == Some("csrf") {
            let token = field.text().await.map_err(|_| unreadable())?;
            token_ok = same_tag(&token, &who.session.csrf);
        } else if field.name() == Some(name) && token_ok {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
                if bytes.len() + chunk.len() > max {
                    return Ok(None);
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Some(bytes));
        }
    }
    Err(expired_form())
}

/// A form posted within a session at any stage (the second factor, its set-up), with the
/// session's token checked; the handler checks the stage.
pub struct SessionForm<T> {
    pub id: String,
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        refuse_cross_site(&parts.headers, &state.public_url).map_err(forbidden_page)?;
        let Some((id, session)) = current(state, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?
        else {
            return Err(ToSignIn.into_response());
        };
        let pairs = read_form(body).await?;
        let token = field(&pairs, "csrf").unwrap_or_default();
        if !same_tag(&token, &session.csrf) {
            return Err(expired_form());
        }
        Ok(SessionForm {
            id,
            session,
            form: parse(&pairs)?,
        })
    }
}

/// A form posted before signing in (sign-in, invitation), with its cookie-bound token checked.
pub struct AnonymousForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AnonymousForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        refuse_cross_site(&parts.headers, &state.public_url).map_err(forbidden_page)?;
        let pairs = read_form(body).await?;
        let token = field(&pairs, "csrf").unwrap_or_default();
        let cookie = cookie(&parts.headers, &form_cookie_name(state));
        let bound = cookie.is_some_and(|cookie| {
            state
                .keys
                .ring()
                .macs(Purpose::ConsoleCodes, cookie.as_bytes())
                .iter()
                .any(|mac| same_tag(&hex::encode(mac), &token))
        });
        if !bound {
            return Err(expired_form());
        }
        Ok(AnonymousForm(parse(&pairs)?))
    }
}

/// The token of an anonymous form, and the `Set-Cookie` to send when the visitor had no cookie.
pub fn anonymous_token(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    let name = form_cookie_name(state);
    let (value, fresh) = match cookie(headers, &name) {
        Some(value) => (value, false),
        None => (hex::encode(rand::random::<[u8; 32]>()), true),
    };
    let token = hex::encode(
        state
            .keys
            .ring()
            .mac(Purpose::ConsoleCodes, value.as_bytes()),
    );
    (token, fresh.then(|| set_cookie(state, &name, &value, None)))
}

async fn read_form(body: axum::body::Body) -> Result<Vec<(String, String)>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
        ConsoleError::Page(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Formulaire trop long",
            "Ce formulaire dépasse la taille permise.".into(),
        )
        .into_response()
    })?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

#[allow(clippy::result_large_err)] // An extractor's rejection is a response.
fn parse<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, Response> {
    let fields: Vec<&(String, String)> = pairs.iter().filter(|(n, _)| n != "csrf").collect();
    let encoded = serde_urlencoded::to_string(&fields).unwrap_or_default();
    serde_urlencoded::from_str(&encoded).map_err(|e| {
        ConsoleError::Page(
            axum::http::StatusCode::BAD_REQUEST,
            "Formulaire illisible",
            format!("Ce formulaire n'a pas pu être lu ({e})."),
        )
        .into_response()
    })
}

fn forbidden_page(_: crate::api::error::ApiError) -> Response {
    ConsoleError::Page(
        axum::http::StatusCode::FORBIDDEN,
        "Envoi refusé",
        "Ce formulaire vient d'un autre site : il est refusé. Ouvrez la console directement."
            .into(),
    )
    .into_response()
}

/// A form without its token, or with another session's: the page was left open too long, or the
/// post was forged.
fn expired_form() -> Response {
    ConsoleError::Page(
        axum::http::StatusCode::FORBIDDEN,
        "Formulaire expiré",
        "Ce formulaire a expiré ou ne vient pas de la console. Rechargez la page et recommencez."
            .into(),
    )
    .into_response()
}
