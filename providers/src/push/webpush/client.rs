//! The Web Push sender: one shared connection pool for every push service, a cap on requests
//! in flight, and the translation of each answer into an [`Outcome`] (web-push.md §2, §6).

use std::{
    fmt,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio::sync::Semaphore;

use crate::http::{error_chain, parse_retry_after};

use super::{
    ValidatedWebPushConfig,
    error::WebPushError,
    request::{payload, topic, ttl, urgency},
    subscription::{self, Subscription},
    vapid::VapidTokens,
};
use crate::{
    BoxFuture, ConfigError, Message, Outcome, Provider,
    egress::{EgressPolicy, GuardedResolver, refusal_in},
    push::crypto::{DEFAULT_RECORD_SIZE, encrypt},
};

/// Sends Web Push messages (RFC 8030) encrypted for each subscription (RFC 8291) and signed
/// with the account's VAPID key (RFC 8292). Cheap to share behind an `Arc`.
pub struct WebPush {
    http: reqwest::Client,
    /// Where pushes may go: checked on each endpoint, and on each address connected to.
    egress: EgressPolicy,
    tokens: VapidTokens,
    public_key: String,
    /// reqwest opens connections without bound under load; this caps requests in flight.
    in_flight: Semaphore,
    max_connections: usize,
}

impl fmt::Debug for WebPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPush")
            .field("vapid_public_key", &self.public_key)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl WebPush {
    pub fn new(config: ValidatedWebPushConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            // HTTP/2 where the service offers it (ALPN), so requests share connections.
            .pool_max_idle_per_host(config.max_connections)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // The endpoint is the push resource itself (RFC 8030 §5): a redirect is not ours
            // to follow with a signed, encrypted body.
            .redirect(reqwest::redirect::Policy::none())
            // Connections go to the addresses the guarded resolver let through, and nowhere
            // else: no proxy from the environment in between.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(config.egress.clone())))
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new("timeout_ms", format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(WebPush {
            http,
            egress: config.egress.clone(),
            public_key: config.public_key(),
            tokens: VapidTokens::new(config.vapid, config.subject),
            in_flight: Semaphore::new(config.max_connections),
            max_connections: config.max_connections,
        })
    }

    /// The VAPID public key, base64url: the `applicationServerKey` browsers subscribe with.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Pushes one message to the subscription in `message.to`; `Ok` holds the push message
    /// resource (`Location`) when the service gave one. A 2xx means the service took the
    /// message, not that a browser showed it.
    pub async fn submit(&self, message: Message<'_>) -> Result<Option<String>, WebPushError> {
        let subscription = subscription::parse(message.to, &self.egress)
            .map_err(WebPushError::InvalidSubscription)?;
        let plaintext =
            payload(&message).map_err(|e| WebPushError::PayloadTooLarge { len: e.len })?;
        // A fresh ephemeral key and salt for each message (RFC 8291 §3.1, §3.4).
        let body = encrypt(
            &subscription.p256dh,
            &subscription.auth,
            &plaintext,
            DEFAULT_RECORD_SIZE,
        )
        .map_err(WebPushError::Crypto)?;
        let authorization = self
            .tokens
            .authorization(&subscription.endpoint, unix_now())
            .map_err(WebPushError::Crypto)?;

        let mut request = self
            .http
            .post(subscription.endpoint.clone())
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header("TTL", ttl(message.validity))
            .header("Urgency", urgency(message.urgent));
        if let Some(topic) = topic(message.collapse_key) {
            request = request.header("Topic", topic);
        }

        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore never closed");
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&e, &subscription))?;

        let status = response.status();
        if status.is_success() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Ok(location);
        }
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        // The answer's body is never read: it is not ours to store or show (a push endpoint
        // that reached some other service would make Tocsin a reader of it).
        Err(WebPushError::Http {
            host: subscription.host(),
            status: status.as_u16(),
            retry_after,
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A failure before any HTTP status, described without the endpoint.
fn transport_error(error: &reqwest::Error, subscription: &Subscription) -> WebPushError {
    let host = subscription.host();
    if let Some(refused) = refusal_in(error) {
        return WebPushError::Refused {
            host,
            reason: refused.to_string(),
        };
    }
    let chain = error_chain(error).replace(subscription.endpoint.as_str(), "<endpoint>");
    if error.is_connect() {
        // DNS failures, refused connections, TLS handshakes, connect timeouts: nothing sent.
        WebPushError::Unreachable { host, chain }
    } else if error.is_timeout() {
        WebPushError::Timeout { host }
    } else {
        WebPushError::Interrupted { host, chain }
    }
}

impl Provider for WebPush {
    fn send<'a>(&'a self, message: Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.submit(message).await {
                Ok(provider_message_id) => Outcome::Accepted {
                    provider_message_id,
                },
                Err(error) => Outcome::failed(error.retry_class(), error.to_string()),
            }
        })
    }

    fn connections(&self) -> Option<usize> {
        Some(self.max_connections)
    }
}
