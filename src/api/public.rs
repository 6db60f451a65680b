//! `/c/{tenant}/…`: what citizens reach without a key. A number given here gets a 6-digit code
//! by SMS and is subscribed only once the code comes back, so that nobody can subscribe someone
//! else's number. Codes expire; only numbers of the commune's countries that can receive SMS
//! get one; what the public can make the platform send is capped (`dispatch::policy::public_caps`);
//! tries are counted per code and per client, so that a stranger cannot lock a citizen out;
//! answers never tell whether a number is already subscribed or has a code waiting.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use tocsin_providers::{Message, Outcome};
use utoipa::ToSchema;

use super::{AppState, ErrorBody, client::PublicClient, error::ApiError, json::ApiJson};
use crate::{
    dispatch::{
        citizens::service_messages,
        policy::public_caps::{CapError, Limit},
    },
    model::{Channel, PhoneNumber, Slug, TopicId, keys::Purpose},
    store::{self, service_messages::Kind, subscribers::PhoneConsent, tenants::Tenant},
};

/// How long a code stays good.
const CODE_MINUTES: i64 = 10;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The citizen's mobile number (`06 12 34 56 78`, `+262 692…`).
    phone: String,
    /// Topic slugs; the commune's default topics when absent.
    topics: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    phone: String,
    /// The 6 digits received by SMS.
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct Pending {
    /// `code_sent`.
    status: &'static str,
    /// Seconds the code stays good.
    expires_in: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Subscribed {
    /// `subscribed`.
    status: &'static str,
    topics: Vec<String>,
}

pub(super) async fn tenant(state: &AppState, slug: &str) -> Result<Tenant, ApiError> {
    let slug = Slug::parse(slug).map_err(|_| ApiError::not_found("commune"))?;
    store::tenants::find_by_slug(&state.db, slug.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("commune"))
}

/// Counts the request against the client's hourly allowance for the commune.
pub(super) async fn count_client(
    state: &AppState,
    tenant: &Tenant,
    client: &PublicClient,
    route: &'static str,
) -> Result<(), ApiError> {
    state
        .public_caps
        .client_request(route, tenant.id, &client.key)
        .await
        .map_err(refused)
}

/// A cap hit, as the caller sees it: 429 with the field at fault when it is the citizen's.
pub(super) fn refused(error: CapError) -> ApiError {
    let limit = match error {
        CapError::Hit(limit) => limit,
        CapError::Db(error) => return error.into(),
    };
    let too_many =
        |code, message: &str| ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message);
    match limit {
        Limit::Client => too_many(
            "too_many_requests",
            "too many requests from this address: try again in an hour",
        ),
        Limit::Number | Limit::Replies => too_many(
            "too_many_codes",
            "too many codes sent to this number: try again in an hour",
        )
        .on("phone"),
        Limit::Address => too_many(
            "too_many_emails",
            "too many e-mails sent to this address: try again in an hour",
        )
        .on("email"),
        Limit::CommuneHour | Limit::CommuneDay | Limit::Platform => too_many(
            "busy",
            "too many messages asked of this commune or platform: try again later",
        ),
        Limit::CodeTries | Limit::ClientTries => too_many(
            "too_many_attempts",
            "too many codes tried: ask for a new one, or try again in an hour",
        )
        .on("code"),
    }
}

/// A number the commune's public routes may text: a mobile of one of its countries.
fn phone(text: &str, tenant: &Tenant) -> Result<PhoneNumber, ApiError> {
    let number = PhoneNumber::parse_for_sms(text, tenant.region)
        .map_err(|e| ApiError::invalid("phone", e.to_string()))?;
    tenant.sms_countries.check(&number).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "country_not_served", e.to_string()).on("phone")
    })?;
    Ok(number)
}

/// The topics a citizen chose, with their slugs: the commune's default topics when they chose
/// none; an error on `topics` when one is unknown or the commune has none.
pub(super) async fn chosen_topics(
    state: &AppState,
    tenant: &Tenant,
    slugs: Option<&[String]>,
) -> Result<Vec<(TopicId, String)>, ApiError> {
    let offered = store::topics::for_keywords(&state.db, tenant.id).await?;
    let topics: Vec<(TopicId, String)> = match slugs {
        Some(slugs) => {
            let mut chosen = Vec::with_capacity(slugs.len());
            for slug in slugs {
                let slug =
                    Slug::parse(slug).map_err(|e| ApiError::invalid("topics", e.to_string()))?;
                let topic = offered
                    .iter()
                    .find(|t| t.1 == slug.as_str())
                    .ok_or_else(|| {
                        ApiError::invalid("topics", format!("unknown topic {}", slug.as_str()))
                    })?;
                if !chosen.iter().any(|(id, _)| *id == topic.0) {
                    chosen.push((topic.0, topic.1.clone()));
                }
            }
            chosen
        }
        None => offered
            .into_iter()
            .filter(|t| t.3)
            .map(|t| (t.0, t.1))
            .collect(),
    };
    if topics.is_empty() {
        return Err(ApiError::invalid(
            "topics",
            "this commune has no topic to subscribe to",
        ));
    }
    Ok(topics)
}

/// The code's keyed hashes, under each live key version (the current first): the code itself
/// is never stored, and a code texted just before a rotation still redeems.
fn code_hashes(state: &AppState, tenant: &Tenant, phone: &PhoneNumber, code: &str) -> Vec<Vec<u8>> {
    let message = format!("phone-code:{}:{}:{code}", tenant.id, phone.as_str());
    state
        .keys
        .ring()
        .macs(Purpose::CitizenCodes, message.as_bytes())
}

/// Ask for alerts by SMS: a 6-digit code is texted to the number; nothing is subscribed before
/// it comes back (`/confirm`).
#[utoipa::path(post, operation_id = "public_subscribe", path = "/c/{tenant}/subscribe",
    tag = "citizens", request_body = SubscribeRequest,
    params(("tenant" = String, Path, description = "The commune's slug")),
    responses(
        (status = 202, description = "A code was texted to the number", body = Pending),
        (status = 400, description = "A field is invalid, or the number is not a mobile of a \
            country the commune texts (`country_not_served`)", body = ErrorBody),
        (status = 403, description = "A request from another site", body = ErrorBody),
        (status = 404, description = "No such commune", body = ErrorBody),
        (status = 429, description = "Too many requests from this address, codes to this \
            number, or messages asked of this commune or platform", body = ErrorBody),
        (status = 503, description = "The code could not be sent now", body = ErrorBody),
    ))]
pub async fn subscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    ApiJson(body): ApiJson<SubscribeRequest>,
) -> Result<(StatusCode, Json<Pending>), ApiError> {
    let tenant = tenant(&state, &slug).await?;
    count_client(&state, &tenant, &client, "subscribe").await?;
    request_code(
        &state,
        &tenant,
        "subscribe",
        &body.phone,
        body.topics.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Pending {
            status: "code_sent",
            expires_in: CODE_MINUTES * 60,
        }),
    ))
}

/// Texts a confirmation code to the number for these topics (the default ones when none).
pub(super) async fn request_code(
    state: &AppState,
    tenant: &Tenant,
    route: &'static str,
    phone_text: &str,
    topics: Option<&[String]>,
) -> Result<(), ApiError> {
    let phone = phone(phone_text, tenant)?;
    let topics: Vec<TopicId> = chosen_topics(state, tenant, topics)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let expires_at = chrono::Utc::now() + chrono::Duration::minutes(CODE_MINUTES);
    let hash = code_hashes(state, tenant, &phone, &code).swap_remove(0);
    state
        .public_caps
        .code(route, tenant.id, &phone)
        .await
        .map_err(refused)?;
    store::confirmations::new_code(
        &state.db,
        tenant.id,
        phone.as_str(),
        &hash,
        &topics,
        expires_at,
    )
    .await?;
    let text = format!(
        "{} : votre code de confirmation est {code}. Il expire dans {CODE_MINUTES} minutes.",
        tenant.name
    );
    send_code(state, tenant, &phone, &text).await
}

/// Texts the code through the commune's own SMS account (or the platform's).
async fn send_code(
    state: &AppState,
    tenant: &Tenant,
    phone: &PhoneNumber,
    text: &str,
) -> Result<(), ApiError> {
    let reference = format!("cnf_{}", uuid::Uuid::now_v7().simple());
    let message = Message {
        reference: &reference,
        to: phone.as_str(),
        text,
        sender: tenant.senders.sms_sender.as_deref(),
        ..Default::default()
    };
    send_for(state, tenant, (Channel::Sms, Kind::Code), message)
        .await
        .map_err(|()| ApiError::unavailable("the code could not be sent: try again in a moment"))
}

/// Sends a message of the commune to one citizen (a code, a confirmation link) through the
/// account that carries its messages on `channel`; the failure is logged, its reason kept from
/// the citizen.
pub(super) async fn send_for(
    state: &AppState,
    tenant: &Tenant,
    (channel, kind): (Channel, Kind),
    message: Message<'_>,
) -> Result<(), ()> {
    let name = state
        .routing
        .account_for(&state.providers, &tenant.slug, &tenant.senders, channel);
    let Some(account) = state.providers.get(channel, &name) else {
        tracing::warn!(tenant = %tenant.slug, %channel, account = %name, "no such account here");
        return Err(());
    };
    let outcome = account.provider.send(message).await;
    let accepted = matches!(outcome, Outcome::Accepted { .. });
    let counted = (channel, name.as_str());
    service_messages::count(&state.db, tenant.id, counted, kind, message.text, accepted).await;
    match outcome {
        Outcome::Accepted { .. } => Ok(()),
        Outcome::Failed { reason, .. } => {
            let reason =
                crate::model::text::from_outside(&reason, crate::model::text::MAX_REASON_CHARS);
            tracing::warn!(tenant = %tenant.slug, %channel, %reason, "citizen message not sent");
            Err(())
        }
    }
}

/// Confirm a number with the code it received: it is then subscribed, with its consent
/// recorded.
#[utoipa::path(post, operation_id = "public_confirm", path = "/c/{tenant}/confirm",
    tag = "citizens", request_body = ConfirmRequest,
    params(("tenant" = String, Path, description = "The commune's slug")),
    responses(
        (status = 200, description = "Subscribed", body = Subscribed),
        (status = 400, description = "A wrong code, or none waiting (`code_wrong`: the two are \
            not told apart), or an invalid field", body = ErrorBody),
        (status = 403, description = "A request from another site", body = ErrorBody),
        (status = 404, description = "No such commune", body = ErrorBody),
        (status = 429, description = "Too many codes tried by this client, or requests from \
            this address", body = ErrorBody),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<Json<Subscribed>, ApiError> {
    let tenant = tenant(&state, &slug).await?;
    count_client(&state, &tenant, &client, "confirm").await?;
    let topics = confirm_code(&state, &tenant, "confirm", &client, &body.phone, &body.code).await?;
    Ok(Json(Subscribed {
        status: "subscribed",
        topics,
    }))
}

/// Checks the code texted to the number and subscribes it; the topics' slugs. Tries are
/// counted per code and client, and per client: a stranger's guesses cannot spend the
/// citizen's.
pub(super) async fn confirm_code(
    state: &AppState,
    tenant: &Tenant,
    route: &'static str,
    client: &PublicClient,
    phone_text: &str,
    code: &str,
) -> Result<Vec<String>, ApiError> {
    let phone = phone(phone_text, tenant)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "code",
            "the code is the 6 digits received by SMS",
        ));
    }
    let pending = store::confirmations::pending_code(&state.db, tenant.id, phone.as_str()).await?;
    state
        .public_caps
        .code_try(
            route,
            tenant.id,
            &phone,
            pending.as_deref().unwrap_or("none"),
            &client.key,
        )
        .await
        .map_err(refused)?;
    let hashes = code_hashes(state, tenant, &phone, code);
    let Some(topics) =
        store::confirmations::redeem(&state.db, tenant.id, phone.as_str(), &hashes).await?
    else {
        // The same answer whether a code waits or not: it tells nobody that this number asked.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "code_wrong",
            "wrong or expired code: check the SMS received, or ask for a new code",
        )
        .on("code"));
    };
    let named: Vec<(TopicId, String)> = store::topics::for_keywords(&state.db, tenant.id)
        .await?
        .into_iter()
        .filter(|t| topics.contains(&t.0))
        .map(|t| (t.0, t.1))
        .collect();
    store::subscribers::subscribe_by_phone(
        &state.db,
        tenant.id,
        &phone,
        &named,
        PhoneConsent::Code,
        "code confirmed on the public route",
    )
    .await?;
    Ok(named.into_iter().map(|(_, slug)| slug).collect())
}
