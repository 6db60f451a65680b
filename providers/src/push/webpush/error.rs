//! Everything that can go wrong with one push, and what each failure means for a retry
//! (web-push.md §2.2: RFC 8030, RFC 8292 and what push services do in practice).

use std::time::Duration;

use crate::{RetryClass, push::crypto::PushCryptoError};

/// One failed push. Its `Display` is the operator-facing reason: it never holds the endpoint
/// (a bearer capability) or the subscription's keys, only the push service's host.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebPushError {
    /// `Message::to` is not a usable `PushSubscription`.
    #[error("invalid push subscription: {0}")]
    InvalidSubscription(String),
    /// The payload does not fit one 4096-octet record even with its text cut.
    #[error(
        "push payload is {len} octets with the text cut to \"…\"; at most 3993 fit \
         (subject, commune or link too long)"
    )]
    PayloadTooLarge { len: usize },
    /// Encrypting or signing failed (only the system RNG may fail on valid input).
    #[error("push encryption failed: {0}")]
    Crypto(PushCryptoError),
    /// The push service answered with a non-2xx status.
    #[error("{}", describe_http(.host, *.status))]
    Http {
        /// The push service's host (`fcm.googleapis.com`).
        host: String,
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The endpoint's name resolved only to addresses Tocsin must not reach (egress.rs):
    /// nothing was sent, and nothing will be.
    #[error("push service {host} refused by the egress policy, not sent: {reason}")]
    Refused { host: String, reason: String },
    /// No connection could be made (DNS, refused, TLS handshake): nothing was sent.
    #[error("push service {host} unreachable, not sent: {chain}")]
    Unreachable { host: String, chain: String },
    /// The request was sent but no answer came in time.
    #[error("push service {host} did not answer in time")]
    Timeout { host: String },
    /// The connection broke after the request started.
    #[error("push service {host} connection broke mid-request: {chain}")]
    Interrupted { host: String, chain: String },
}

impl WebPushError {
    /// True when the push service may have taken the message: no answer after the request was
    /// sent, a connection broken mid-request, or a 500, 502 or 504 (a 503 says it was not).
    pub fn is_uncertain(&self) -> bool {
        match self {
            WebPushError::Timeout { .. } | WebPushError::Interrupted { .. } => true,
            WebPushError::Http { status, .. } => matches!(status, 500 | 502 | 504),
            _ => false,
        }
    }

    /// What the dispatcher may do next (web-push.md §2.2). 404 and 410 mean the subscription is
    /// gone for good; 429 asks us to slow down; 5xx, 408 and transport failures are worth
    /// another try (a duplicate is harmless: the `Topic` replaces an undelivered one); every
    /// other refusal will be refused again.
    pub fn retry_class(&self) -> RetryClass {
        let class = match self {
            WebPushError::Http {
                status,
                retry_after,
                ..
            } => match status {
                404 | 410 => RetryClass::Gone,
                429 => RetryClass::RateLimited {
                    retry_after: *retry_after,
                },
                500..=599 => RetryClass::Transient {
                    retry_after: *retry_after,
                },
                // The service gave up waiting for our request: it did not process it.
                408 => RetryClass::Transient { retry_after: None },
                _ => RetryClass::Permanent,
            },
            WebPushError::Crypto(error) => error.retry_class(),
            WebPushError::InvalidSubscription(_)
            | WebPushError::PayloadTooLarge { .. }
            | WebPushError::Refused { .. } => RetryClass::Permanent,
            WebPushError::Unreachable { .. }
            | WebPushError::Timeout { .. }
            | WebPushError::Interrupted { .. } => RetryClass::Transient { retry_after: None },
        };
        class.uncertain_if(self.is_uncertain())
    }
}

/// `push service fcm.googleapis.com answered 410 Gone: the subscription expired or was
/// unsubscribed`: the status and what it means to Tocsin, never the answer's body.
fn describe_http(host: &str, status: u16) -> String {
    let name = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default();
    let mut text = format!("push service {host} answered {status}{name}");
    if let Some(meaning) = meaning(status) {
        text.push_str(": ");
        text.push_str(meaning);
    }
    text
}

/// What a status means for Tocsin (web-push.md §2.2).
fn meaning(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "the request was refused as malformed (TTL, Topic, Urgency or encryption)",
        401 => "VAPID authentication is missing or was refused",
        403 => {
            "the VAPID token was refused: usually the VAPID key is not the one this \
             subscription was made with (its applicationServerKey), or the clock is off"
        }
        404 | 410 => "the subscription expired or was unsubscribed",
        413 => "the encrypted payload is too large",
        429 => "too many requests to this push service",
        500..=599 => "push service trouble",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "fcm.googleapis.com";

    fn http(status: u16, retry_after: Option<u64>) -> WebPushError {
        WebPushError::Http {
            host: HOST.into(),
            status,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn a_gone_subscription_is_gone_for_404_and_410() {
        for status in [404, 410] {
            let error = http(status, None);
            assert_eq!(error.retry_class(), RetryClass::Gone, "{status}");
            assert!(error.to_string().contains("expired or was unsubscribed"));
        }
        assert_eq!(
            http(410, None).to_string(),
            "push service fcm.googleapis.com answered 410 Gone: the subscription expired or was \
             unsubscribed"
        );
    }

    #[test]
    fn rate_limits_keep_their_retry_after() {
        assert_eq!(
            http(429, Some(30)).retry_class(),
            RetryClass::RateLimited {
                retry_after: Some(Duration::from_secs(30))
            }
        );
        assert_eq!(
            http(429, None).retry_class(),
            RetryClass::RateLimited { retry_after: None }
        );
    }

    #[test]
    fn server_errors_are_transient_with_their_retry_after_or_uncertain() {
        assert_eq!(
            http(503, Some(5)).retry_class(),
            RetryClass::Transient {
                retry_after: Some(Duration::from_secs(5))
            }
        );
        // Anything but a 503 may come after the service took the message.
        for status in [500, 502, 504] {
            assert_eq!(
                http(status, Some(5)).retry_class(),
                RetryClass::Uncertain,
                "{status}"
            );
        }
        assert_eq!(
            http(408, None).retry_class(),
            RetryClass::Transient { retry_after: None }
        );
    }

    #[test]
    fn refusals_are_permanent_and_say_why() {
        for status in [400, 401, 403, 405, 413, 415, 301] {
            assert_eq!(
                http(status, None).retry_class(),
                RetryClass::Permanent,
                "{status}"
            );
        }
        assert!(http(400, None).to_string().contains("400 Bad Request"));
        assert!(
            http(401, None)
                .to_string()
                .contains("401 Unauthorized: VAPID")
        );
        let forbidden = http(403, None).to_string();
        assert!(forbidden.contains("403 Forbidden"), "{forbidden}");
        assert!(
            forbidden.contains("VAPID key is not the one this subscription was made with"),
            "{forbidden}"
        );
        assert!(http(413, None).to_string().contains("too large"));
    }

    #[test]
    fn transport_failures_are_transient() {
        for (error, class) in [
            (
                WebPushError::Timeout { host: HOST.into() },
                RetryClass::Uncertain,
            ),
            (
                WebPushError::Unreachable {
                    host: HOST.into(),
                    chain: "connection refused".into(),
                },
                RetryClass::Transient { retry_after: None },
            ),
            (
                WebPushError::Interrupted {
                    host: HOST.into(),
                    chain: "reset".into(),
                },
                RetryClass::Uncertain,
            ),
        ] {
            assert_eq!(error.retry_class(), class, "{error}");
            assert!(error.to_string().contains(HOST), "{error}");
        }
    }

    #[test]
    fn bad_input_is_permanent_and_a_failing_rng_is_not() {
        let invalid = WebPushError::InvalidSubscription("no endpoint".into());
        assert_eq!(invalid.retry_class(), RetryClass::Permanent);
        assert_eq!(
            invalid.to_string(),
            "invalid push subscription: no endpoint"
        );
        let large = WebPushError::PayloadTooLarge { len: 5000 };
        assert_eq!(large.retry_class(), RetryClass::Permanent);
        assert_eq!(
            WebPushError::Crypto(PushCryptoError::Rng).retry_class(),
            RetryClass::Transient { retry_after: None }
        );
    }

    #[test]
    fn a_refused_endpoint_is_never_retried() {
        let refused = WebPushError::Refused {
            host: "push.example.net".into(),
            reason: "the push service's name points to this machine (loopback)".into(),
        };
        assert_eq!(refused.retry_class(), RetryClass::Permanent);
        assert!(refused.to_string().contains("not sent"), "{refused}");
    }
}
