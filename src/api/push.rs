//! `/c/{tenant}/push`: a browser joins or leaves a commune's alerts with its push subscription
//! (the `PushSubscription` JSON the page's script gets from the browser).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use tocsin_providers::push::crypto;
use utoipa::ToSchema;

use super::{
    AppState, ErrorBody,
    client::PublicClient,
    error::ApiError,
    json::ApiJson,
    public::{chosen_topics, count_client, tenant},
};
use crate::store;

/// Longest endpoint accepted; push services' are a few hundred characters.
const MAX_ENDPOINT_LEN: usize = 2048;

#[derive(Deserialize, ToSchema)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key, base64url (65 bytes, uncompressed).
    p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    auth: String,
}

/// A browser's `PushSubscription`, as `JSON.stringify(subscription)` gives it; other fields
/// (`expirationTime`) are ignored.
#[derive(Deserialize, ToSchema)]
pub struct BrowserSubscription {
    /// The push service URL of this browser: https on port 443, at a push service of the
    /// platform's list (`[push] allowed_hosts`).
    endpoint: String,
    keys: SubscriptionKeys,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSubscribeRequest {
    subscription: BrowserSubscription,
    /// Topic slugs; the commune's default topics when absent.
    topics: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushLeaveRequest {
    /// The endpoint of the subscription that leaves.
    endpoint: String,
    /// Its `keys.auth` secret: only the browser that subscribed holds it.
    auth: String,
}

#[derive(Serialize, ToSchema)]
pub struct PushSubscribed {
    /// `subscribed`.
    status: &'static str,
    topics: Vec<String>,
}

fn offered(state: &AppState) -> Result<(), ApiError> {
    match state.vapid_public_key {
        Some(_) => Ok(()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "push_not_offered",
            "this platform sends no browser notifications (no VAPID key configured)",
        )),
    }
}

/// An endpoint a browser may subscribe with: one of a push service's (the egress policy:
/// https on 443, a listed host, no address of this machine or the host's networks). The
/// daemon checks it again, on the address it connects to, at each send.
fn check_endpoint(state: &AppState, endpoint: &str) -> Result<(), ApiError> {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(ApiError::invalid("subscription.endpoint", "is too long"));
    }
    state
        .push_egress
        .check_url(endpoint)
        .map(drop)
        .map_err(|refused| ApiError::invalid("subscription.endpoint", refused.to_string()))
}

/// Receive alerts as notifications in this browser. The same browser again updates its
/// subscription (keys, topics) rather than adding one.
#[utoipa::path(post, operation_id = "push_subscribe", path = "/c/{tenant}/push",
    tag = "citizens", request_body = PushSubscribeRequest,
    params(("tenant" = String, Path, description = "The commune's slug")),
    responses(
        (status = 201, description = "Subscribed", body = PushSubscribed),
        (status = 409, description = "The endpoint is subscribed with another auth secret",
            body = ErrorBody),
        (status = 400, description = "A field is invalid: an endpoint that is not a push \
            service's (https on 443, a listed host, no private or loopback address), keys that \
            are not a P-256 point and a 16-byte secret, an unknown topic", body = ErrorBody),
        (status = 403, description = "A request from another site", body = ErrorBody),
        (status = 404, description = "No such commune, or no notifications on this platform",
            body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    ))]
pub async fn subscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    ApiJson(body): ApiJson<PushSubscribeRequest>,
) -> Result<(StatusCode, Json<PushSubscribed>), ApiError> {
    offered(&state)?;
    let tenant = tenant(&state, &slug).await?;
    count_client(&state, &tenant, &client, "push").await?;
    let subscription = body.subscription;
    check_endpoint(&state, &subscription.endpoint)?;
    crypto::parse_p256dh(&subscription.keys.p256dh).map_err(|e| {
        ApiError::invalid(
            "subscription.keys.p256dh",
            format!("is not a P-256 public key: {e}"),
        )
    })?;
    crypto::parse_auth(&subscription.keys.auth).map_err(|e| {
        ApiError::invalid(
            "subscription.keys.auth",
            format!("is not a 16-byte secret: {e}"),
        )
    })?;
    let topics = chosen_topics(&state, &tenant, body.topics.as_deref()).await?;
    // Stored as the sender reads it: endpoint and keys, nothing else the page sent.
    let stored = serde_json::json!({
        "endpoint": subscription.endpoint,
        "keys": { "p256dh": subscription.keys.p256dh, "auth": subscription.keys.auth },
    });
    let subscribed = store::push::subscribe(&state.db, tenant.id, &stored, &topics).await?;
    if subscribed.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "push_subscription_taken",
            "this endpoint is subscribed with another auth secret: only the browser that \
             subscribed it can change it",
        )
        .on("subscription.keys.auth"));
    }
    Ok((
        StatusCode::CREATED,
        Json(PushSubscribed {
            status: "subscribed",
            topics: topics.into_iter().map(|(_, slug)| slug).collect(),
        }),
    ))
}

/// Stop notifications in this browser: the subscription is forgotten when its `auth` secret
/// matches. Answers 204 whether or not it was known.
#[utoipa::path(delete, operation_id = "push_unsubscribe", path = "/c/{tenant}/push",
    tag = "citizens", request_body = PushLeaveRequest,
    params(("tenant" = String, Path, description = "The commune's slug")),
    responses(
        (status = 204, description = "Not subscribed any more"),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "A request from another site", body = ErrorBody),
        (status = 404, description = "No such commune, or no notifications on this platform",
            body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    ))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    ApiJson(body): ApiJson<PushLeaveRequest>,
) -> Result<StatusCode, ApiError> {
    offered(&state)?;
    let tenant = tenant(&state, &slug).await?;
    count_client(&state, &tenant, &client, "push").await?;
    // Leaving needs no policy check: a subscription made under another policy may still leave.
    if body.endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(ApiError::invalid("endpoint", "is too long"));
    }
    store::push::unsubscribe(&state.db, tenant.id, &body.endpoint, &body.auth).await?;
    Ok(StatusCode::NO_CONTENT)
}
