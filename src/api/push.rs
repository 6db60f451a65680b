//! `/c/{tenant}/push`: a browser joins or leaves a commune's alerts with its push subscription
//! (the `PushSubscription` JSON the page's script gets from the browser).

use std::net::IpAddr;

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
    /// The push service URL of this browser: https (http only for a loopback host).
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

/// An endpoint a push service could have given: https, or http to this machine (tests).
fn check_endpoint(endpoint: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| ApiError::invalid("subscription.endpoint", why.to_string());
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(invalid("is too long"));
    }
    let url = url::Url::parse(endpoint).map_err(|_| invalid("is not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid("has no host")),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid("must be an https URL")),
    }
}

/// Receive alerts as notifications in this browser. The same browser again updates its
/// subscription (keys, topics) rather than adding one.
#[utoipa::path(post, operation_id = "push_subscribe", path = "/c/{tenant}/push",
    tag = "citizens", request_body = PushSubscribeRequest,
    params(("tenant" = String, Path, description = "The commune's slug")),
    responses(
        (status = 201, description = "Subscribed", body = PushSubscribed),
        (status = 400, description = "A field is invalid: an endpoint that is not https, keys \
            that are not a P-256 point and a 16-byte secret, an unknown topic", body = ErrorBody),
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
    check_endpoint(&subscription.endpoint)?;
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
    store::push::subscribe(&state.db, tenant.id, &stored, &topics).await?;
    Ok((
        StatusCode::CREATED,
        Json(PushSubscribed {
            status: "subscribed",
            topics: topics.into_iter().map(|(_, slug)| slug).collect(),
        }),
    ))
}

/// Stop notifications in this browser: the subscription is forgotten. Answers 204 whether or
/// not it was known.
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
    check_endpoint(&body.endpoint)?;
    store::push::unsubscribe(&state.db, tenant.id, &body.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::check_endpoint;

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        for good in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/x",
            "http://127.0.0.1:4000/push/1",
            "http://localhost:4000/push/1",
            "http://[::1]:4000/push/1",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "http://push.example.com/x",
            "ftp://127.0.0.1/x",
            "not a url",
            "http://10.0.0.1/x",
        ] {
            let err = check_endpoint(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("subscription.endpoint"), "{bad}");
        }
    }
}
