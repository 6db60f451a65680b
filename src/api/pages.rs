//! The citizens' web pages: a commune's page (`/c/{tenant}`) with its forms, which work
//! without JavaScript, the e-mail confirmation and unsubscribe links, the alert pages
//! (`/a/{alert}`) and the files the page needs. Rendering is `crate::web`'s; this is the HTTP
//! side: reading forms, applying the same rules as the JSON routes, answering in French.
//!
//! No answer tells whether a number or an address is subscribed: asking to subscribe or to
//! leave gets the same words, in the same time, either way (e-mails go after the answer).
//! The forms refuse other sites' posts and carry a token bound to a cookie (`client.rs`).

use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::Utc;
use serde::Deserialize;
use tocsin_providers::Message;

mod email;

use super::{
    AppState,
    client::{self, PublicClient},
    error::ApiError,
    public::{self, tenant},
};
use crate::{
    model::{Channel, EmailAddress, citizen_links::EmailConfirmation},
    store::{self, tenants::Tenant},
    web::{
        self,
        pages::{
            AlertPage, Commune, CommunePage, Field, Form, FormAction, FormValues, MessagePage,
            Notice, PhoneStep, Topic,
        },
    },
};
use email::{email_confirm, email_confirm_page, email_form, leave_form};

/// The form cookie of the page's visitor, and whether it is new (to be set with the answer).
struct FormSession {
    cookie: String,
    fresh: bool,
}

impl FormSession {
    fn of(headers: &HeaderMap) -> Self {
        match client::form_cookie(headers) {
            Some(cookie) => FormSession {
                cookie,
                fresh: false,
            },
            None => Self::new(),
        }
    }

    fn new() -> Self {
        FormSession {
            cookie: client::new_form_cookie(),
            fresh: true,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{tenant}", get(commune_page))
        .route("/c/{tenant}/manifest.webmanifest", get(manifest))
        .route("/c/{tenant}/sw.js", get(service_worker))
        .route("/c/{tenant}/logo", get(logo))
        .route("/c/{tenant}/phone", axum::routing::post(phone_form))
        .route(
            "/c/{tenant}/phone/confirm",
            axum::routing::post(phone_confirm_form),
        )
        .route("/c/{tenant}/email", axum::routing::post(email_form))
        .route(
            "/c/{tenant}/email/confirm",
            get(email_confirm_page).post(email_confirm),
        )
        .route("/c/{tenant}/leave", axum::routing::post(leave_form))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/a/{alert}", get(alert_page))
        .route(
            "/a/{alert}/r/{token}",
            get(alert_page_of_recipient).post(acknowledge),
        )
        .route("/assets/{name}", get(asset))
}

/// A page, with the headers every page carries.
fn html(status: StatusCode, body: String, csp: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        web::pages::not_found_page(),
        web::pages::content_security_policy(None),
    )
}

/// A commune as its pages show it.
struct Shown {
    tenant: Tenant,
    colour: Option<String>,
    has_logo: bool,
}

impl Shown {
    fn commune(&self) -> Commune<'_> {
        Commune {
            slug: &self.tenant.slug,
            name: &self.tenant.name,
            colour: self.colour.as_deref(),
            has_logo: self.has_logo,
        }
    }
}

async fn shown(state: &AppState, slug: &str) -> Result<Option<Shown>, ApiError> {
    let tenant = match tenant(state, slug).await {
        Ok(tenant) => tenant,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(None),
        Err(e) => return Err(e),
    };
    let branding = store::branding::get(&state.db, tenant.id).await?;
    Ok(Some(Shown {
        tenant,
        colour: branding.colour,
        has_logo: branding.has_logo,
    }))
}

/// The fields of an `application/x-www-form-urlencoded` body; `topics` may repeat.
struct FormBody(Vec<(String, String)>);

impl FormBody {
    fn parse(body: &[u8]) -> Self {
        FormBody(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// What the page shows after a form: a step, an error on a field, or a notice.
#[derive(Default)]
struct Showing<'a> {
    phone_step: Option<&'a str>,
    errors: Vec<(String, String)>,
    notice: Option<Notice<'a>>,
    form: Option<Form>,
    values: FormValues<'a>,
}

async fn render(
    state: &AppState,
    shown: &Shown,
    session: &FormSession,
    status: StatusCode,
    outcome: Showing<'_>,
) -> Result<Response, ApiError> {
    let form_token = client::form_token(state, &session.cookie);
    let offered = store::topics::for_keywords(&state.db, shown.tenant.id).await?;
    let topics: Vec<Topic> = offered
        .iter()
        .map(|t| Topic {
            slug: &t.1,
            name: &t.2,
            by_default: t.3,
        })
        .collect();
    let errors: Vec<Field> = outcome
        .errors
        .iter()
        .map(|(name, message)| Field { name, message })
        .collect();
    let commune = shown.commune();
    let page = CommunePage {
        commune,
        topics: &topics,
        vapid_public_key: state.vapid_public_key.as_deref(),
        phone_step: match outcome.phone_step {
            Some(phone) => PhoneStep::AskCode { phone },
            None => PhoneStep::AskNumber,
        },
        errors: &errors,
        notice: outcome.notice,
        values: outcome.values,
        form: outcome.form,
        form_token: &form_token,
    };
    let mut response = html(
        status,
        web::pages::commune_page(&page),
        web::pages::content_security_policy(Some(&commune)),
    );
    if session.fresh
        && let Ok(cookie) = HeaderValue::from_str(&client::set_form_cookie(&session.cookie))
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// A form posted to a commune's page, its token checked against the visitor's cookie: the
/// commune, the fields and the visitor's session; or, as `Err`, the answer to give at once (no
/// such commune, or a stale form shown again). Every form of the page goes through here, so none
/// can skip the check.
async fn posted(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    body: &Bytes,
    form: Form,
) -> Result<Result<(Shown, FormBody, FormSession), Response>, ApiError> {
    let Some(shown) = shown(state, slug).await? else {
        return Ok(Err(not_found()));
    };
    let fields = FormBody::parse(body);
    if !client::form_token_ok(state, headers, fields.get(client::FORM_TOKEN_FIELD)) {
        return stale_form(state, &shown, form).await.map(Err);
    }
    Ok(Ok((shown, fields, FormSession::of(headers))))
}

/// A form whose token does not go with the visitor's cookie (a post from elsewhere, or a page
/// kept open across a cookie's loss): the page again, with a new token, and nothing done.
async fn stale_form(state: &AppState, shown: &Shown, form: Form) -> Result<Response, ApiError> {
    let outcome = Showing {
        errors: vec![(
            "form".into(),
            "Ce formulaire a expiré : la page a été rechargée, envoyez-le à nouveau.".into(),
        )],
        form: Some(form),
        ..Default::default()
    };
    render(
        state,
        shown,
        &FormSession::new(),
        StatusCode::FORBIDDEN,
        outcome,
    )
    .await
}

async fn commune_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(shown) = shown(&state, &slug).await? else {
        return Ok(not_found());
    };
    let session = FormSession::of(&headers);
    render(&state, &shown, &session, StatusCode::OK, Showing::default()).await
}

/// The French words for an error of the shared citizen routes, on the field the page shows.
fn in_french(error: &ApiError) -> (String, String) {
    let field = error.field.clone().unwrap_or_else(|| "form".into());
    let message = match (error.code, field.as_str()) {
        ("invalid_field", "phone") => {
            "Ce numéro n’est pas un numéro de téléphone mobile valide (par exemple 06 12 34 56 78)."
                .to_string()
        }
        ("invalid_field", "code") => "Le code est fait des 6 chiffres reçus par SMS.".into(),
        ("invalid_field", "topics") => "Choisissez au moins un thème proposé.".into(),
        ("invalid_field", "email") => {
            "Cette adresse e-mail n’est pas valide (par exemple prenom.nom@exemple.fr).".into()
        }
        ("country_not_served", _) => {
            "La commune n’envoie pas de SMS vers ce pays ou ce service : donnez un numéro de \
             mobile de France ou des outre-mer."
                .into()
        }
        ("code_wrong", _) => {
            "Ce code n’est pas le bon ou n’est plus valable : vérifiez le SMS reçu, ou demandez \
             un nouveau code."
                .into()
        }
        ("too_many_attempts", _) => {
            "Trop de codes essayés : demandez un nouveau code, ou réessayez dans une heure.".into()
        }
        ("too_many_emails", _) => {
            "Trop d’e-mails envoyés à cette adresse : réessayez dans une heure.".into()
        }
        ("busy", _) => "Trop de demandes reçues pour le moment : réessayez dans une heure.".into(),
        ("too_many_codes", _) => {
            "Trop de codes envoyés à ce numéro : réessayez dans une heure.".into()
        }
        ("too_many_requests", _) => "Trop de demandes : réessayez dans une heure.".into(),
        ("unavailable", _) => {
            "Le service ne peut pas envoyer de message pour le moment : réessayez dans quelques \
             minutes."
                .into()
        }
        _ => "La demande n’a pas pu aboutir : réessayez.".into(),
    };
    (field, message)
}

/// A form's error shown on the page, or the error itself when it is not the citizen's.
async fn form_error(
    state: &AppState,
    shown: &Shown,
    session: &FormSession,
    error: ApiError,
    outcome: Showing<'_>,
) -> Result<Response, ApiError> {
    if error.status == StatusCode::INTERNAL_SERVER_ERROR {
        return Err(error);
    }
    let status = error.status;
    let outcome = Showing {
        errors: vec![in_french(&error)],
        ..outcome
    };
    render(state, shown, session, status, outcome).await
}

/// `None` (the default topics) when the form sent none; the page always sends its boxes.
fn topics_of(form: &FormBody) -> Option<Vec<String>> {
    let topics = form.all("topics");
    (!topics.is_empty()).then_some(topics)
}

async fn phone_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (shown, form, session) = match posted(&state, &slug, &headers, &body, Form::Phone).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let phone = form.get("phone").trim();
    let topics = form.all("topics");
    let chosen: Vec<&str> = topics.iter().map(String::as_str).collect();
    let values = FormValues {
        phone,
        topics: &chosen,
        ..Default::default()
    };
    let route = "phone_form";
    let asked = match public::count_client(&state, &shown.tenant, &client, route).await {
        Ok(()) => {
            let topics = topics_of(&form);
            public::request_code(&state, &shown.tenant, route, phone, topics.as_deref()).await
        }
        Err(e) => Err(e),
    };
    match asked {
        Ok(()) => {
            let outcome = Showing {
                phone_step: Some(phone),
                notice: Some(Notice::Info(
                    "Un code de confirmation vous a été envoyé par SMS. Il est valable 10 minutes.",
                )),
                form: Some(Form::PhoneConfirm),
                values,
                ..Default::default()
            };
            render(&state, &shown, &session, StatusCode::OK, outcome).await
        }
        Err(error) => {
            let outcome = Showing {
                form: Some(Form::Phone),
                values,
                ..Default::default()
            };
            form_error(&state, &shown, &session, error, outcome).await
        }
    }
}

async fn phone_confirm_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (shown, form, session) = match posted(&state, &slug, &headers, &body, Form::Phone).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let (phone, code) = (form.get("phone").trim(), form.get("code").trim());
    let values = FormValues {
        phone,
        code,
        ..Default::default()
    };
    let route = "phone_confirm_form";
    let confirmed = match public::count_client(&state, &shown.tenant, &client, route).await {
        Ok(()) => public::confirm_code(&state, &shown.tenant, route, &client, phone, code).await,
        Err(e) => Err(e),
    };
    match confirmed {
        Ok(_) => {
            let outcome = Showing {
                notice: Some(Notice::Success(
                    "Votre numéro est inscrit : vous recevrez les alertes par SMS. Pour ne plus \
                     les recevoir, répondez STOP à l’une d’elles.",
                )),
                ..Default::default()
            };
            render(&state, &shown, &session, StatusCode::OK, outcome).await
        }
        Err(error) => {
            // A wrong code leaves the code step open; anything else starts again.
            let again = matches!(error.code, "code_wrong" | "invalid_field")
                && error.field.as_deref() == Some("code");
            let outcome = Showing {
                phone_step: again.then_some(phone),
                form: Some(if again {
                    Form::PhoneConfirm
                } else {
                    Form::Phone
                }),
                values,
                ..Default::default()
            };
            form_error(&state, &shown, &session, error, outcome).await
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn message(
    shown: &Shown,
    status: StatusCode,
    title: &str,
    text: &str,
    action: Option<FormAction<'_>>,
) -> Response {
    let commune = shown.commune();
    html(
        status,
        web::pages::message_page(&MessagePage {
            commune,
            title,
            text,
            action,
        }),
        web::pages::content_security_policy(Some(&commune)),
    )
}

/// The commune of an unsubscribe token's subscriber, when the token is genuine.
async fn unsubscriber(
    state: &AppState,
    token: &str,
) -> Result<Option<(crate::model::SubscriberId, Option<Shown>)>, ApiError> {
    let Some(subscriber) = state.links.unsubscriber(token) else {
        return Ok(None);
    };
    let slug: Option<(String,)> = sqlx::query_as(
        "SELECT t.slug FROM subscribers s JOIN tenants t ON t.id = s.tenant_id WHERE s.id = $1",
    )
    .bind(subscriber.0)
    .fetch_optional(&state.db)
    .await?;
    let shown = match slug {
        Some((slug,)) => shown(state, &slug).await?,
        None => None,
    };
    Ok(Some((subscriber, shown)))
}

const UNSUBSCRIBED: &str = "Vous ne recevrez plus les alertes de la commune par e-mail, et votre \
    adresse a été effacée. Vous pouvez vous réinscrire à tout moment sur la page de la commune.";

/// An unsubscribe link opened: a button unsubscribes, so that a link scanner does not.
async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match unsubscriber(&state, &token).await? {
        None => Ok(not_found()),
        // Already gone (unsubscribed before): say so.
        Some((_, None)) => Ok(html(
            StatusCode::OK,
            web::pages::unsubscribed_page(),
            web::pages::content_security_policy(None),
        )),
        Some((_, Some(shown))) => {
            let url = format!("/u/{token}");
            Ok(message(
                &shown,
                StatusCode::OK,
                "Se désinscrire",
                &format!(
                    "Ne plus recevoir par e-mail les alertes de {} ?",
                    shown.tenant.name
                ),
                Some(FormAction {
                    url: &url,
                    button: "Me désinscrire",
                    hidden: &[],
                }),
            ))
        }
    }
}

/// The one-click unsubscribe (RFC 8058: a POST of `List-Unsubscribe=One-Click`, no cookie, no
/// login), also the button of the page above.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let Some((subscriber, shown)) = unsubscriber(&state, &token).await? else {
        return Ok(not_found());
    };
    store::subscribers::unsubscribe_email(&state.db, subscriber).await?;
    Ok(match shown {
        Some(shown) => message(
            &shown,
            StatusCode::OK,
            "Désinscription faite",
            UNSUBSCRIBED,
            None,
        ),
        None => html(
            StatusCode::OK,
            web::pages::unsubscribed_page(),
            web::pages::content_security_policy(None),
        ),
    })
}

async fn manifest(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let Some(shown) = shown(&state, &slug).await? else {
        return Ok(not_found());
    };
    Ok((
        [(header::CONTENT_TYPE, "application/manifest+json")],
        web::pages::manifest(&shown.commune()),
    )
        .into_response())
}

async fn service_worker(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    if shown(&state, &slug).await?.is_none() {
        return Ok(not_found());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // A new version reaches browsers at their next visit.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        web::assets::service_worker(),
    )
        .into_response())
}

async fn logo(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let Some(shown) = shown(&state, &slug).await? else {
        return Ok(not_found());
    };
    match store::branding::logo(&state.db, shown.tenant.id).await? {
        Some((bytes, kind)) => Ok((
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response()),
        None => Ok(not_found()),
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    match web::assets::asset(&name) {
        Some((bytes, kind)) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        None => not_found(),
    }
}

/// "lundi 30 novembre 2026 à 19:00", in the commune's time zone.
fn french_time(at: chrono::DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    crate::model::french::day_date_time(at, zone)
}

/// An alert's public page, once it has started; cancelled alerts and those still waiting for
/// their hour are not shown.
async fn alert_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    show_alert(&state, &id, None).await
}

/// The alert's page opened through a recipient's link (an e-mail's, a notification's): a button
/// confirms the alert, so that a link scanner's GET does not.
async fn alert_page_of_recipient(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(delivery) = state.links.acknowledging(&token) else {
        return Ok(not_found());
    };
    show_alert(&state, &id, Some((delivery, &token))).await
}

/// The recipient confirms the alert.
async fn acknowledge(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(delivery) = state.links.acknowledging(&token) else {
        return Ok(not_found());
    };
    let Ok(alert) = id.trim_start_matches("alr_").parse::<uuid::Uuid>() else {
        return Ok(not_found());
    };
    if !store::acknowledgements::acknowledge_of_alert(
        &state.db,
        crate::model::AlertId(alert),
        delivery,
    )
    .await?
    {
        return Ok(not_found());
    }
    show_alert(&state, &id, Some((delivery, &token))).await
}

/// An alert's public page; with a recipient's delivery and token, its confirmation part.
async fn show_alert(
    state: &AppState,
    id: &str,
    recipient: Option<(crate::model::DeliveryId, &str)>,
) -> Result<Response, ApiError> {
    let Ok(id) = id.trim_start_matches("alr_").parse::<uuid::Uuid>() else {
        return Ok(not_found());
    };
    let Some(alert) = store::alerts::get_for_dispatch(&state.db, crate::model::AlertId(id)).await?
    else {
        return Ok(not_found());
    };
    let acknowledged = match recipient {
        Some((delivery, _)) => {
            match store::acknowledgements::acknowledged_of_alert(&state.db, alert.id, delivery)
                .await?
            {
                Some(done) => Some(done),
                // A genuine token of another alert's delivery: no such page.
                None => return Ok(not_found()),
            }
        }
        None => None,
    };
    let url = recipient.map(|(_, token)| format!("/a/{}/r/{token}", alert.id.0.simple()));
    let now = state.clock.now();
    let started = alert.starts_at.unwrap_or(alert.created_at);
    if alert.cancelled_at.is_some() || started > now {
        return Ok(not_found());
    }
    let Some(shown) = shown(state, &alert.tenant).await? else {
        return Ok(not_found());
    };
    let sent_at = french_time(started, shown.tenant.clock.time_zone);
    let commune = shown.commune();
    let page = AlertPage {
        commune,
        subject: &alert.subject,
        text: &alert.body,
        sent_at: &sent_at,
        urgent: alert.lane == crate::model::Lane::Urgent,
        expired: alert.expires_at <= now,
        acknowledgement: acknowledged
            .zip(url.as_deref())
            .map(|(done, url)| web::pages::Acknowledgement { done, url }),
    };
    Ok(html(
        StatusCode::OK,
        web::pages::alert_page(&page),
        web::pages::content_security_policy(Some(&commune)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_french_in_the_commune_s_zone() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            french_time(at, chrono_tz::Europe::Paris),
            "lundi 30 novembre 2026 à 19:00"
        );
        assert_eq!(
            french_time(at, chrono_tz::Indian::Reunion),
            "lundi 30 novembre 2026 à 22:00"
        );
    }

    #[test]
    fn forms_keep_repeated_topics() {
        let form = FormBody::parse(b"phone=06+12&topics=a&topics=b&code=%C3%A9");
        assert_eq!(form.get("phone"), "06 12");
        assert_eq!(form.all("topics"), ["a", "b"]);
        assert_eq!(form.get("code"), "é");
        assert_eq!(form.get("missing"), "");
    }
}
