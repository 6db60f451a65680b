//! The smsmode REST client: one shared connection pool, a cap on requests in flight, and the
//! translation of each answer into an [`Outcome`].

use crate::http::error_chain;
use std::fmt;

use reqwest::header::{ACCEPT, HeaderValue, RETRY_AFTER};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use url::Url;

use super::{
    ValidatedSmsmodeConfig,
    error::{Problem, SmsmodeError, clean_text, parse_retry_after},
    status::{StatusDetail, StatusValue, failure_at_submission},
};
use crate::{
    BoxFuture, Callback, CallbackError, ConfigError, Inbound, Message, Outcome, Provider, Report,
};

/// smsmode's limit on `refClient` (sms-providers.md §1.2.1).
const MAX_REF_CLIENT_CHARS: usize = 140;

/// Sends SMS through smsmode. Cheap to share behind an `Arc`; every send reuses the same pool.
pub struct SmsmodeSms {
    http: reqwest::Client,
    messages_url: Url,
    /// Marked sensitive, so neither reqwest nor our `Debug` prints it.
    api_key: HeaderValue,
    sender: Option<String>,
    status_callback_url: Option<String>,
    /// reqwest opens connections without bound under load; this caps requests in flight.
    in_flight: Semaphore,
    max_connections: usize,
}

impl fmt::Debug for SmsmodeSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsmodeSms")
            .field("messages_url", &self.messages_url.as_str())
            .field("api_key", &"[REDACTED]")
            .field("sender", &self.sender)
            .field(
                "status_callback_url",
                &self.status_callback_url.as_ref().map(|_| "[set]"),
            )
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The JSON body of `POST /sms/v1/messages` (§1.2.1).
#[derive(Serialize)]
struct SendRequest<'a> {
    recipient: Recipient<'a>,
    body: Body<'a>,
    #[serde(rename = "refClient")]
    ref_client: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    #[serde(rename = "callbackUrlStatus", skip_serializing_if = "Option::is_none")]
    callback_url_status: Option<&'a str>,
}

#[derive(Serialize)]
struct Recipient<'a> {
    to: &'a str,
}

#[derive(Serialize)]
struct Body<'a> {
    text: &'a str,
}

/// The parts of the message resource we read back; everything else is ignored.
#[derive(Deserialize)]
struct MessageResource {
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    status: Option<ResourceStatus>,
}

#[derive(Deserialize)]
struct ResourceStatus {
    value: Option<String>,
    detail: Option<String>,
}

impl SmsmodeSms {
    pub fn new(config: ValidatedSmsmodeConfig) -> Result<Self, ConfigError> {
        let mut api_key = HeaderValue::from_str(config.api_key.expose_secret())
            .map_err(|_| ConfigError::new("api_key", "is not a valid HTTP header value"))?;
        api_key.set_sensitive(true);

        let http = reqwest::Client::builder()
            // Keep-alive HTTP/1.1 connections, as many idle as we may have in flight.
            .http1_only()
            .pool_max_idle_per_host(config.max_connections)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirected POST is a misconfigured base_url, not something to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new("base_url", format!("cannot build the HTTP client: {e}"))
            })?;

        Ok(SmsmodeSms {
            http,
            messages_url: config.messages_url,
            api_key,
            sender: config.sender,
            status_callback_url: config.status_callback_url,
            in_flight: Semaphore::new(config.max_connections),
            max_connections: config.max_connections,
        })
    }

    /// Sends one SMS; `Ok` holds smsmode's `messageId` when the answer carried one.
    pub async fn submit(&self, message: Message<'_>) -> Result<Option<String>, SmsmodeError> {
        let to = digits_only(message.to).ok_or(SmsmodeError::InvalidRecipient)?;
        let len = message.reference.chars().count();
        if len > MAX_REF_CLIENT_CHARS {
            return Err(SmsmodeError::ReferenceTooLong { len });
        }
        let request = SendRequest {
            recipient: Recipient { to },
            body: Body { text: message.text },
            ref_client: message.reference,
            from: message.sender.or(self.sender.as_deref()),
            callback_url_status: message
                .status_callback
                .or(self.status_callback_url.as_deref()),
        };

        // The semaphore is never closed, so acquire cannot fail.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore never closed");
        let response = self
            .http
            .post(self.messages_url.clone())
            .header("X-Api-Key", self.api_key.clone())
            .header(ACCEPT, "application/json")
            // Sets `Content-Type: application/json`.
            .json(&request)
            .send()
            .await
            .map_err(|e| classify_transport_error(&e, to))?;

        let status = response.status();
        if status.is_success() {
            return accepted(response).await;
        }
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        // A body that cannot be read is like an empty one: the status still decides.
        let body = response.bytes().await.unwrap_or_default();
        Err(SmsmodeError::Http {
            status: status.as_u16(),
            problem: Problem::parse(&body, to),
            retry_after,
        })
    }
}

/// Reads a 2xx answer. The 2xx itself means smsmode took the message, so an unreadable body
/// still counts as accepted (without an id): resending would double the SMS.
async fn accepted(response: reqwest::Response) -> Result<Option<String>, SmsmodeError> {
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "smsmode accepted a message but its answer was cut short");
            return Ok(None);
        }
    };
    let resource: MessageResource = match serde_json::from_slice(&body) {
        Ok(resource) => resource,
        Err(e) => {
            tracing::warn!(error = %e, "smsmode accepted a message with an unreadable body");
            return Ok(None);
        }
    };
    if let Some(ResourceStatus {
        value: Some(value),
        detail,
    }) = resource.status
    {
        let value = StatusValue::parse(&value);
        let detail = detail.as_deref().map(StatusDetail::parse);
        if failure_at_submission(&value, detail.as_ref()).is_some() {
            return Err(SmsmodeError::Refused { value, detail });
        }
    }
    if resource.message_id.is_none() {
        tracing::warn!("smsmode accepted a message without a messageId");
    }
    Ok(resource.message_id)
}

/// A failure before any HTTP status: could the request have reached smsmode (§0)?
fn classify_transport_error(error: &reqwest::Error, to: &str) -> SmsmodeError {
    let chain = clean_text(&error_chain(error), to);
    if error.is_connect() {
        // Includes DNS failures, refused connections, TLS handshakes and connect timeouts:
        // nothing was written.
        SmsmodeError::Unreachable(chain)
    } else if error.is_timeout() {
        SmsmodeError::Timeout
    } else {
        SmsmodeError::Interrupted(chain)
    }
}

/// `+33612345678` → `33612345678`: smsmode wants the international number without the `+`
/// (§1.2.1). `None` unless the input is E.164 (an optional `+` then 7 to 15 digits).
fn digits_only(e164: &str) -> Option<&str> {
    let digits = e164.strip_prefix('+').unwrap_or(e164);
    let ok = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then_some(digits)
}

impl Provider for SmsmodeSms {
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

    fn endpoint(&self) -> Option<Url> {
        Some(self.messages_url.clone())
    }

    fn connections(&self) -> Option<usize> {
        Some(self.max_connections)
    }

    /// smsmode does not sign its callbacks: the daemon checks the secret in their URL.
    fn reports(&self, callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
        super::status::read_report(callback.body)
    }

    /// Replies come to the same kind of callback, unsigned too: the daemon checks the token.
    fn inbound(&self, callback: &Callback<'_>) -> Result<Vec<Inbound>, CallbackError> {
        super::status::read_inbound(callback.body)
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn numbers_lose_the_plus_and_nothing_else() {
        assert_eq!(digits_only("+33612345678"), Some("33612345678"));
        assert_eq!(digits_only("262692123456"), Some("262692123456"));
        for bad in [
            "0612345678",
            "+33 6 12 34 56 78",
            "+",
            "+123456",
            "+1234567890123456",
            "",
        ] {
            assert_eq!(digits_only(bad), None, "{bad}");
        }
    }

    #[test]
    fn body_has_the_documented_shape() {
        let request = SendRequest {
            recipient: Recipient { to: "33612345678" },
            body: Body { text: "Crue" },
            ref_client: "dlv_1",
            from: None,
            callback_url_status: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"recipient":{"to":"33612345678"},"body":{"text":"Crue"},
                "refClient":"dlv_1"})
        );
    }
}
