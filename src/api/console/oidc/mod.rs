//! Signing in to the console through OpenID Connect (ProConnect): `/console/oidc/start` sends
//! the browser to the provider with a fresh `state` and `nonce` (64 characters each, kept
//! sealed in a short-lived cookie of this browser, so that a sign-in started elsewhere cannot be
//! finished here), `/console/oidc/callback` checks them, exchanges the code and gives the person
//! a session. Who gets a role: someone an admin invited (by e-mail; bound to the provider's
//! subject from then on), or someone whose `siret` is a commune's when `[oidc] auto_role` names
//! a role. Anyone else is told their SIRET and organisation, and whom to ask.

mod client;

pub use client::OidcClient;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    ConsoleError, see_other,
    session::{self, session_cookie},
    sign_in::with_cookie,
};
use crate::{
    api::{
        AppState,
        auth::{Actor, Caller},
        client::cookie_value,
    },
    model::keys::same_tag,
    store::{self, console_sessions, console_sessions::Stage, users::NewUser},
};

/// The sealed cookie a sign-in's state and nonce wait in, and how long.
const LOGIN_COOKIE: &str = "tocsin_oidc";
const LOGIN_SECONDS: i64 = 600;
const SEAL_CONTEXT: &str = "console oidc login";

#[derive(serde::Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    at: i64,
}

fn unavailable() -> ConsoleError {
    ConsoleError::Page(
        StatusCode::NOT_FOUND,
        "Connexion indisponible",
        "Cette plateforme ne propose pas de connexion par un fournisseur d'identité.".into(),
    )
}

fn failed(error: impl std::fmt::Display) -> ConsoleError {
    tracing::warn!(%error, "console sign-in through the OpenID provider failed");
    ConsoleError::Page(
        StatusCode::BAD_GATEWAY,
        "Connexion impossible",
        "La connexion par le fournisseur d'identité n'a pas abouti. Réessayez ; si cela dure, \
         prévenez l'hébergeur de la plateforme."
            .into(),
    )
}

pub async fn start(State(state): State<AppState>) -> Result<Response, ConsoleError> {
    let oidc = state.oidc.clone().ok_or_else(unavailable)?;
    let pending = Pending {
        state: hex::encode(rand::random::<[u8; 32]>()),
        nonce: hex::encode(rand::random::<[u8; 32]>()),
        at: state.clock.now().timestamp(),
    };
    let to = oidc
        .authorization_url(&pending.state, &pending.nonce)
        .await
        .map_err(failed)?;
    let plain = serde_json::to_vec(&pending).expect("a pending sign-in serialises");
    let sealed = state.keys.ring().seal(SEAL_CONTEXT, &plain);
    let value = format!("{}.{}", sealed.version, hex::encode(&sealed.bytes));
    let name = session::cookie_name(&state, LOGIN_COOKIE);
    let cookie = session::set_cookie(&state, &name, &value, Some(LOGIN_SECONDS));
    Ok(with_cookie(see_other(&to), Some(cookie)))
}

fn pending(state: &AppState, headers: &HeaderMap) -> Option<Pending> {
    let value = cookie_value(headers, &session::cookie_name(state, LOGIN_COOKIE))?;
    let (version, bytes) = value.split_once('.')?;
    let sealed = crate::model::keys::Sealed {
        version: version.parse().ok()?,
        bytes: hex::decode(bytes).ok()?,
    };
    let plain = state.keys.ring().open(SEAL_CONTEXT, &sealed)?;
    let pending: Pending = serde_json::from_slice(&plain).ok()?;
    (state.clock.now().timestamp() - pending.at <= LOGIN_SECONDS).then_some(pending)
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Result<Response, ConsoleError> {
    let oidc = state.oidc.clone().ok_or_else(unavailable)?;
    let clear = session::set_cookie(
        &state,
        &session::cookie_name(&state, LOGIN_COOKIE),
        "",
        Some(0),
    );
    let Some(pending) = pending(&state, &headers) else {
        return Err(ConsoleError::Page(
            StatusCode::BAD_REQUEST,
            "Connexion expirée",
            "Cette connexion n'a pas été commencée dans ce navigateur, ou il y a plus de 10 \
             minutes. Recommencez depuis la page de connexion."
                .into(),
        ));
    };
    if let Some(error) = answer.error {
        return Err(failed(format!("the provider answered the error {error:?}")));
    }
    let (Some(code), Some(given_state)) = (answer.code, answer.state) else {
        return Err(failed("the callback carries no code or no state"));
    };
    if !same_tag(&given_state, &pending.state) {
        return Err(failed("the callback's state is not the one sent"));
    }
    let identity = oidc.sign_in(&code, &pending.nonce).await.map_err(failed)?;
    let issuer = oidc
        .config
        .issuer
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let now = state.clock.now();

    let mut person = store::users::find_by_oidc(&state.db, &issuer, &identity.sub).await?;
    if person.is_none()
        && let Some(email) = identity.email.as_deref()
        && let Some(invited) = store::users::find_by_email(&state.db, email).await?
    {
        store::users::bind_oidc(&state.db, invited.id, &issuer, &identity.sub).await?;
        person = Some(invited);
    }
    if person.is_none() {
        person = created_for_siret(&state, &oidc, &identity, &issuer).await?;
    }
    let Some(person) = person else {
        let siret = identity.siret.as_deref().unwrap_or("aucun");
        let organisation = identity.organization_label.as_deref().unwrap_or("inconnue");
        let email = identity.email.as_deref().unwrap_or("votre adresse");
        return Ok(with_cookie(
            ConsoleError::Page(
                StatusCode::FORBIDDEN,
                "Pas encore de rôle",
                format!(
                    "Vous êtes bien connecté·e par {} (organisation {organisation}, SIRET \
                     {siret}), mais personne ne vous a encore donné de rôle dans Tocsin. \
                     Demandez à l'administrateur de la console de votre commune de vous inviter \
                     avec l'adresse {email}.",
                    oidc.config.name
                ),
            )
            .into_response(),
            Some(clear),
        ));
    };
    if let Some(old) = session::session_id(&state, &headers) {
        console_sessions::end(&state.db, &old, now).await?;
    }
    let id = console_sessions::open(&state.db, person.id, Stage::SignedIn, now).await?;
    let caller = Caller {
        tenant: person.tenant,
        role: person.role,
        actor: Actor::User(person.id),
        request_id: None,
    };
    let details = serde_json::json!({ "through": "oidc" });
    crate::api::audit::record(&state, &caller, "user.signed_in", person.id, details).await;
    let response = with_cookie(see_other("/console"), Some(session_cookie(&state, &id)));
    Ok(with_cookie(response, Some(clear)))
}

/// Someone nobody invited, whose SIRET is a commune's, given `[oidc] auto_role` when it names
/// one.
async fn created_for_siret(
    state: &AppState,
    oidc: &OidcClient,
    identity: &client::Identity,
    issuer: &str,
) -> Result<Option<store::users::User>, ConsoleError> {
    let (Some(role), Some(siret), Some(email)) = (
        oidc.config.auto_role,
        identity.siret.as_deref(),
        identity.email.as_deref(),
    ) else {
        return Ok(None);
    };
    let Some(tenant) = store::sirets::tenant_of(&state.db, siret).await? else {
        return Ok(None);
    };
    let name = identity.name();
    let new = NewUser {
        tenant,
        email,
        name: &name,
        role,
        invited_by: "oidc:siret",
    };
    let id = match store::users::create_signed_in(
        &state.db,
        &new,
        issuer,
        &identity.sub,
        state.clock.now(),
    )
    .await
    {
        Ok(id) => id,
        Err(store::users::UserError::EmailTaken(_)) => return Ok(None),
        Err(store::users::UserError::Db(e)) => return Err(e.into()),
    };
    let caller = Caller {
        tenant,
        role,
        actor: Actor::User(id),
        request_id: None,
    };
    let details = serde_json::json!({ "role": role.as_str(), "siret": siret });
    crate::api::audit::record(state, &caller, "user.created_by_sign_in", id, details).await;
    Ok(store::users::get(&state.db, id).await?)
}
