//! Signing in: the password, then the TOTP code (or a recovery code) for those who must have
//! one; accepting an invitation; setting up the second factor; signing out. Wrong attempts are
//! counted per account (10 in a row lock it for 15 minutes) and per client address (50 in
//! 15 minutes), and the page says until when.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    ConsoleError, french_time, html, ok, role_label, see_other,
    session::{
        self, AnonymousForm, SessionForm, SignedInForm, anonymous_token, clear_session_cookie,
        session_cookie,
    },
};
use crate::{
    api::{AppState, client::PublicClient},
    model::{
        keys::{Purpose, same_tag},
        people::{TotpSecret, invitation, password, totp},
        sealed::totp_context,
    },
    store::{
        self,
        console_sessions::{self, Stage},
        users::User,
    },
    web::{console::sign_in as pages, pages::Field},
};

/// Wrong passwords or codes in a row before an account is locked, and for how long.
pub const ACCOUNT_ATTEMPTS: i32 = 10;
pub const ACCOUNT_LOCK: chrono::Duration = chrono::Duration::minutes(15);
/// Wrong sign-ins from one client address within the window before it is refused for as long.
pub const CLIENT_ATTEMPTS: i32 = 50;
pub const CLIENT_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Before anyone has signed in, times are shown on the platform's usual clock.
const DEFAULT_ZONE: chrono_tz::Tz = chrono_tz::Europe::Paris;

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (token, cookie) = anonymous_token(&state, &headers);
    let page = pages::login_page(&pages::LoginPage {
        email: "",
        errors: &[],
        notice: None,
        form_token: &token,
        provider: provider_name(&state),
    });
    with_cookie(ok(page), cookie)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    client: PublicClient,
    headers: HeaderMap,
    AnonymousForm(form): AnonymousForm<LoginForm>,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let (token, _) = anonymous_token(&state, &headers);
    let again = |status: StatusCode, errors: &[Field<'_>], notice: Option<&str>| {
        html(
            status,
            pages::login_page(&pages::LoginPage {
                email: &form.email,
                errors,
                notice,
                form_token: &token,
                provider: provider_name(&state),
            }),
        )
    };
    let wait = |message: String, until| {
        locked(
            again(StatusCode::TOO_MANY_REQUESTS, &[], Some(&message)),
            now,
            until,
        )
    };
    let wrong = [Field {
        name: "email",
        message: "Adresse e-mail ou mot de passe incorrect.",
    }];
    if let Some(until) = store::users::client_locked(&state.db, &client.key, now).await? {
        return Ok(wait(wait_message(now, until), until));
    }
    let user = store::users::find_by_email(&state.db, form.email.trim()).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|u| *u > now)
    {
        return Ok(wait(account_locked(now, until), until));
    }
    // The same work whether the address has an account or not: the answer's time tells nothing.
    let typed = form.password.clone();
    let right = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => password::verify(&typed, &hash),
        None => {
            password::verify(&typed, password::decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false);
    let known = user.as_ref().map(|u| u.id);
    let Some(user) = user.filter(|_| right) else {
        let client_until = store::users::note_client_failure(
            &state.db,
            &client.key,
            now,
            CLIENT_ATTEMPTS,
            CLIENT_WINDOW,
        )
        .await?;
        if let Some(id) = known
            && let Some(until) =
                store::users::note_failure(&state.db, id, now, ACCOUNT_ATTEMPTS, ACCOUNT_LOCK)
                    .await?
        {
            return Ok(wait(account_locked(now, until), until));
        }
        if let Some(until) = client_until {
            return Ok(wait(wait_message(now, until), until));
        }
        return Ok(again(StatusCode::BAD_REQUEST, &wrong, None));
    };
    let stage = if user.totp.is_some() {
        Stage::SecondFactor
    } else if user.role.needs_second_factor() {
        Stage::Enrolling
    } else {
        store::users::clear_failures(&state.db, user.id).await?;
        Stage::SignedIn
    };
    // A new id at each step: one planted before signing in is worth nothing after.
    if let Some(old) = session::session_id(&state, &headers) {
        console_sessions::end(&state.db, &old, now).await?;
    }
    let id = console_sessions::open(&state.db, user.id, stage, now).await?;
    if stage == Stage::SignedIn {
        record(&state, &user, "user.signed_in").await;
    }
    Ok(with_cookie(
        see_other(next_page(stage)),
        Some(session_cookie(&state, &id)),
    ))
}

/// The OpenID provider's name for the sign-in button, when there is one.
fn provider_name(state: &AppState) -> Option<&str> {
    state.oidc.as_ref().map(|oidc| oidc.config.name.as_str())
}

fn next_page(stage: Stage) -> &'static str {
    match stage {
        Stage::SecondFactor => "/console/login/code",
        Stage::Enrolling => "/console/second-factor",
        Stage::SignedIn => "/console",
    }
}

pub async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    match session::current(&state, &headers).await? {
        Some((_, s)) if s.stage == Stage::SecondFactor => Ok(ok(pages::code_page(&[], &s.csrf))),
        _ => Ok(see_other("/console/login")),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm { id, session, form }: SessionForm<CodeForm>,
) -> Result<Response, ConsoleError> {
    if session.stage != Stage::SecondFactor {
        return Ok(see_other("/console/login"));
    }
    let now = state.clock.now();
    let Some(user) = store::users::get(&state.db, session.user).await? else {
        return Ok(see_other("/console/login"));
    };
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        console_sessions::end(&state.db, &id, now).await?;
        return Ok(locked_out(&state, &headers, &user.email, now, until));
    }
    if second_factor_ok(&state, &user, &form.code, now).await? {
        store::users::clear_failures(&state.db, user.id).await?;
        let id = console_sessions::advance(&state.db, &id, user.id, Stage::SignedIn, now).await?;
        record(&state, &user, "user.signed_in").await;
        return Ok(with_cookie(
            see_other("/console"),
            Some(session_cookie(&state, &id)),
        ));
    }
    if let Some(until) =
        store::users::note_failure(&state.db, user.id, now, ACCOUNT_ATTEMPTS, ACCOUNT_LOCK).await?
    {
        console_sessions::end(&state.db, &id, now).await?;
        return Ok(locked_out(&state, &headers, &user.email, now, until));
    }
    let errors = [Field {
        name: "code",
        message: "Ce code n'est pas le bon, ou il a déjà servi. Attendez le suivant.",
    }];
    Ok(html(
        StatusCode::BAD_REQUEST,
        pages::code_page(&errors, &session.csrf),
    ))
}

/// The sign-in page again, saying until when the account is locked (429, `Retry-After`).
fn locked_out(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Response {
    let (token, cookie) = anonymous_token(state, headers);
    let page = pages::login_page(&pages::LoginPage {
        email,
        errors: &[],
        notice: Some(&account_locked(now, until)),
        form_token: &token,
        provider: provider_name(state),
    });
    with_cookie(
        locked(html(StatusCode::TOO_MANY_REQUESTS, page), now, until),
        cookie,
    )
}

/// A TOTP code of the person's secret, not used before, or one of their recovery codes.
async fn second_factor_ok(
    state: &AppState,
    user: &User,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, ConsoleError> {
    let Some(sealed) = &user.totp else {
        return Ok(false);
    };
    if typed.chars().any(|c| c.is_ascii_alphabetic()) {
        let digest = totp::recovery_code_digest(typed);
        return Ok(store::users::spend_recovery_code(&state.db, user.id, &digest).await?);
    }
    let Some(secret) = state
        .keys
        .ring()
        .open(&totp_context(user.id), sealed)
        .and_then(|bytes| TotpSecret::from_bytes(&bytes))
    else {
        tracing::error!(user = %user.id, "a TOTP secret opens under no key version: reset the account");
        return Ok(false);
    };
    let Some(step) = secret.verify(typed, now.timestamp(), user.totp_last_step) else {
        return Ok(false);
    };
    Ok(store::users::spend_totp_step(&state.db, user.id, step).await?)
}

pub async fn invitation_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let Some(user) = store::users::invited(&state.db, &invitation::digest(&token), now).await?
    else {
        return Ok(html(StatusCode::NOT_FOUND, pages::invitation_gone()));
    };
    let (form_token, cookie) = anonymous_token(&state, &headers);
    let tenant = store::tenants::get(&state.db, user.tenant).await?;
    let action = format!("/console/invitation/{token}");
    let page = pages::invitation_page(&pages::InvitationPage {
        name: &user.name,
        email: &user.email,
        commune: &tenant.name,
        role: role_label(user.role),
        action: &action,
        errors: &[],
        form_token: &form_token,
    });
    Ok(with_cookie(ok(page), cookie))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    AnonymousForm(form): AnonymousForm<PasswordForm>,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let digest = invitation::digest(&token);
    let Some(user) = store::users::invited(&state.db, &digest, now).await? else {
        return Ok(html(StatusCode::NOT_FOUND, pages::invitation_gone()));
    };
    let problem = match password::check_new(&form.password, &[&user.email, &user.name]) {
        Err(e) => Some(("password", e.to_string())),
        Ok(()) if form.password != form.confirmation => Some((
            "confirmation",
            "Les deux mots de passe ne sont pas les mêmes.".to_string(),
        )),
        Ok(()) => None,
    };
    if let Some((name, message)) = problem {
        let (form_token, _) = anonymous_token(&state, &headers);
        let tenant = store::tenants::get(&state.db, user.tenant).await?;
        let action = format!("/console/invitation/{token}");
        let errors = [Field {
            name,
            message: &message,
        }];
        let page = pages::invitation_page(&pages::InvitationPage {
            name: &user.name,
            email: &user.email,
            commune: &tenant.name,
            role: role_label(user.role),
            action: &action,
            errors: &errors,
            form_token: &form_token,
        });
        return Ok(html(StatusCode::BAD_REQUEST, page));
    }
    let typed = form.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&typed))
        .await
        .map_err(|e| ConsoleError::Api(crate::api::error::ApiError::internal(e)))?;
    if !store::users::accept_invitation(&state.db, &digest, user.id, &hash, now).await? {
        return Ok(html(StatusCode::NOT_FOUND, pages::invitation_gone()));
    }
    record(&state, &user, "user.activated").await;
    let stage = if user.role.needs_second_factor() {
        Stage::Enrolling
    } else {
        Stage::SignedIn
    };
    let id = console_sessions::open(&state.db, user.id, stage, now).await?;
    Ok(with_cookie(
        see_other(next_page(stage)),
        Some(session_cookie(&state, &id)),
    ))
}

/// The secret being set up travels in the form, with a MAC bound to the session: the person sees
/// it on the page anyway, and nobody else can slip in a secret of their own.
fn enrolment_field(state: &AppState, csrf: &str, secret: &TotpSecret) -> String {
    let plain = hex::encode(secret.0);
    let mac = state.keys.ring().mac(
        Purpose::ConsoleCodes,
        format!("totp-enrolment:{csrf}:{plain}").as_bytes(),
    );
    format!("{plain}.{}", hex::encode(mac))
}

fn enrolment_secret(state: &AppState, csrf: &str, field: &str) -> Option<TotpSecret> {
    let (plain, mac) = field.split_once('.')?;
    let message = format!("totp-enrolment:{csrf}:{plain}");
    let good = state
        .keys
        .ring()
        .macs(Purpose::ConsoleCodes, message.as_bytes())
        .iter()
        .any(|m| same_tag(&hex::encode(m), mac));
    good.then(|| TotpSecret::from_bytes(&hex::decode(plain).ok()?))
        .flatten()
}

fn enrol_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    secret: &TotpSecret,
    errors: &[Field<'_>],
) -> maud::Markup {
    let issuer = format!(
        "Tocsin ({})",
        state.public_url.host_str().unwrap_or("console")
    );
    let uri = secret.uri(&issuer, &user.email);
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    // The renderer starts with an XML declaration, which has no place inside HTML.
    let svg = svg
        .find("<svg")
        .map_or(String::new(), |at| svg[at..].to_string());
    let svg = svg.replacen("<svg", "<svg role=\"img\" aria-label=\"Code QR\"", 1);
    pages::enrol_page(pages::EnrolPage {
        qr_svg: svg,
        secret: &secret.base32(),
        sealed: &enrolment_field(state, csrf, secret),
        errors,
        csrf,
    })
}

pub async fn enrol_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let Some((_, s)) = session::current(&state, &headers).await? else {
        return Ok(see_other("/console/login"));
    };
    if s.stage != Stage::Enrolling {
        return Ok(see_other("/console"));
    }
    let Some(user) = store::users::get(&state.db, s.user).await? else {
        return Ok(see_other("/console/login"));
    };
    Ok(ok(enrol_page(
        &state,
        &user,
        &s.csrf,
        &TotpSecret::generate(),
        &[],
    )))
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

pub async fn enrol(
    State(state): State<AppState>,
    SessionForm { id, session, form }: SessionForm<EnrolForm>,
) -> Result<Response, ConsoleError> {
    if session.stage != Stage::Enrolling {
        return Ok(see_other("/console"));
    }
    let now = state.clock.now();
    let Some(user) = store::users::get(&state.db, session.user).await? else {
        return Ok(see_other("/console/login"));
    };
    let Some(secret) = enrolment_secret(&state, &session.csrf, &form.secret) else {
        return Ok(see_other("/console/second-factor"));
    };
    let Some(step) = secret.verify(&form.code, now.timestamp(), None) else {
        let errors = [Field {
            name: "code",
            message: "Ce code n'est pas le bon. Vérifiez l'heure de votre téléphone et tapez le code affiché maintenant.",
        }];
        let page = enrol_page(&state, &user, &session.csrf, &secret, &errors);
        return Ok(html(StatusCode::BAD_REQUEST, page));
    };
    let sealed = state.keys.ring().seal(&totp_context(user.id), &secret.0);
    let codes = totp::recovery_codes();
    let digests: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| totp::recovery_code_digest(c))
        .collect();
    store::users::set_totp(&state.db, user.id, &sealed, step, &digests).await?;
    store::users::clear_failures(&state.db, user.id).await?;
    let id = console_sessions::advance(&state.db, &id, user.id, Stage::SignedIn, now).await?;
    record(&state, &user, "user.second_factor_set").await;
    Ok(with_cookie(
        ok(pages::recovery_codes_page(&codes)),
        Some(session_cookie(&state, &id)),
    ))
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _form: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    if let Some(id) = session::session_id(&state, &headers) {
        console_sessions::end(&state.db, &id, state.clock.now()).await?;
    }
    Ok(with_cookie(
        see_other("/console/login"),
        Some(clear_session_cookie(&state)),
    ))
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    SignedInForm { who, .. }: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    console_sessions::end_all(&state.db, who.user.id, state.clock.now()).await?;
    Ok(with_cookie(
        see_other("/console/login"),
        Some(clear_session_cookie(&state)),
    ))
}

pub(super) fn with_cookie(mut response: Response, cookie: Option<String>) -> Response {
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A 429 says when to come back, in seconds too (`Retry-After`).
fn locked(mut response: Response, now: DateTime<Utc>, until: DateTime<Utc>) -> Response {
    let seconds = (until - now).num_seconds().max(1);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn minutes_until(now: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    ((until - now).num_seconds() + 59).div_euclid(60).max(1)
}

fn account_locked(now: DateTime<Utc>, until: DateTime<Utc>) -> String {
    format!(
        "Ce compte est bloqué après {ACCOUNT_ATTEMPTS} essais manqués. Réessayez dans {} min (le {}).",
        minutes_until(now, until),
        french_time(until, DEFAULT_ZONE)
    )
}

fn wait_message(now: DateTime<Utc>, until: DateTime<Utc>) -> String {
    format!(
        "Trop d'essais depuis votre connexion. Réessayez dans {} min (le {}).",
        minutes_until(now, until),
        french_time(until, DEFAULT_ZONE)
    )
}

async fn record(state: &AppState, user: &User, action: &str) {
    let caller = crate::api::auth::Caller {
        tenant: user.tenant,
        role: user.role,
        actor: crate::api::auth::Actor::User(user.id),
        request_id: None,
    };
    crate::api::audit::record(state, &caller, action, user.id, serde_json::json!({})).await;
}
