//! Everything that can go wrong with one smsmode send, and what each failure means for a retry
//! (sms-providers.md §1.2.2 for the HTTP statuses, §0 for "not sent" versus "uncertain").

pub(crate) use crate::http::parse_retry_after;
use std::time::Duration;

use serde_json::Value;

use super::status::{StatusDetail, StatusValue, failure_at_submission};
use crate::RetryClass;

/// Marks failures after which the SMS may or may not have gone out: smsmode documents no
/// idempotency key, so the dispatcher must not blindly resend these to a whole list (§0).
pub(crate) const UNCERTAIN: &str = "uncertain (may have been sent)";

/// Longest text kept from any one field of an error body.
const MAX_FIELD_CHARS: usize = 200;

/// One failed send. Its `Display` is the operator-facing reason: it never holds the recipient's
/// number (numbers echoed by smsmode are masked) nor the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsmodeError {
    /// The number handed to the adapter is not E.164; smsmode would refuse it.
    #[error("recipient is not an E.164 number (\"+\" then 7 to 15 digits)")]
    InvalidRecipient,
    /// smsmode's `refClient` holds at most 140 characters (§1.2.1).
    #[error("reference is {len} characters long; smsmode refClient holds at most 140")]
    ReferenceTooLong { len: usize },
    /// smsmode answered with a non-2xx status.
    #[error("{}", describe_http(.status, .problem))]
    Http {
        status: u16,
        problem: Problem,
        retry_after: Option<Duration>,
    },
    /// smsmode took the request (2xx) but reported the message as not deliverable.
    #[error("smsmode refused the message: status {}{}", status_text(.value), detail_text(.detail))]
    Refused {
        value: StatusValue,
        detail: Option<StatusDetail>,
    },
    /// No connection could be made (DNS, refused, TLS handshake): nothing was sent.
    #[error("smsmode unreachable, not sent: {0}")]
    Unreachable(String),
    /// The request was written but no answer came in time.
    #[error("smsmode did not answer in time: {}", UNCERTAIN)]
    Timeout,
    /// The connection broke after the request started.
    #[error("smsmode connection broke mid-request: {}: {}", UNCERTAIN, .0)]
    Interrupted(String),
}

impl SmsmodeError {
    /// What the dispatcher may do next. 400/404/405/406/415 are bugs or bad data and 401/403 a
    /// wrong key or channel: none improves on retry. 429 asks us to slow down; 503 means not
    /// processed; other 5xx may have been processed (§1.2.2).
    pub fn retry_class(&self) -> RetryClass {
        let class = match self {
            SmsmodeError::InvalidRecipient | SmsmodeError::ReferenceTooLong { .. } => {
                RetryClass::Permanent
            }
            SmsmodeError::Http {
                status,
                retry_after,
                ..
            } => match status {
                429 => RetryClass::RateLimited {
                    retry_after: *retry_after,
                },
                503 => RetryClass::Transient {
                    retry_after: *retry_after,
                },
                // 408: the server gave up waiting for our request, so it did not process it.
                408 | 500..=599 => RetryClass::Transient { retry_after: None },
                _ => RetryClass::Permanent,
            },
            SmsmodeError::Refused { value, detail } => {
                failure_at_submission(value, detail.as_ref()).unwrap_or(RetryClass::Permanent)
            }
            SmsmodeError::Unreachable(_) | SmsmodeError::Timeout | SmsmodeError::Interrupted(_) => {
                RetryClass::Transient { retry_after: None }
            }
        };
        class.uncertain_if(self.is_uncertain())
    }

    /// True when the SMS may have gone out despite the failure (timeout after the write, broken
    /// connection, 500/502/504), so a resend risks a duplicate.
    pub fn is_uncertain(&self) -> bool {
        match self {
            SmsmodeError::Timeout | SmsmodeError::Interrupted(_) => true,
            SmsmodeError::Http { status, .. } => is_uncertain_status(*status),
            _ => false,
        }
    }
}

fn is_uncertain_status(status: u16) -> bool {
    (500..=599).contains(&status) && status != 503
}

/// The problem-details body smsmode sends with an error (§1.2.2), each field optional because
/// proxies and load balancers in front of smsmode answer with whatever they like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    pub error_code: Option<String>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub detail: Option<String>,
    /// The start of a body that was not JSON (an HTML error page, a proxy's text).
    pub raw: Option<String>,
}

impl Problem {
    /// Reads an error body, masking anything that looks like a phone number (smsmode may echo
    /// the recipient in `message` or `detail`).
    pub(crate) fn parse(body: &[u8], recipient_digits: &str) -> Problem {
        let clean = |s: &str| clean_text(s, recipient_digits);
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                let text = |key: &str| match map.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(clean(s)),
                    // `status` is documented as a string; accept a number too.
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                Problem {
                    error_code: text("errorCode"),
                    title: text("title"),
                    message: text("message"),
                    detail: text("detail"),
                    raw: None,
                }
            }
            _ => {
                let raw = String::from_utf8_lossy(body);
                let raw = raw.trim();
                Problem {
                    raw: (!raw.is_empty()).then(|| clean(raw)),
                    ..Problem::default()
                }
            }
        }
    }

    /// `Bad Request: Query parameter invalid (Must be today or earlier)`, or `None` when the
    /// body said nothing.
    fn summary(&self) -> Option<String> {
        let mut parts: Vec<&str> = Vec::new();
        parts.extend(self.title.as_deref());
        parts.extend(self.message.as_deref());
        let mut text = parts.join(": ");
        if let Some(detail) = &self.detail {
            text = if text.is_empty() {
                detail.clone()
            } else {
                format!("{text} ({detail})")
            };
        }
        if text.is_empty() {
            text = self.raw.clone()?;
        }
        Some(text)
    }
}

fn describe_http(status: &u16, problem: &Problem) -> String {
    let status = *status;
    let code = match &problem.error_code {
        Some(code) => format!("smsmode {code}"),
        None => format!("smsmode HTTP {status}"),
    };
    let summary = problem
        .summary()
        .unwrap_or_else(|| "(no error details)".to_owned());
    match status {
        401 | 403 => format!(
            "{code}: {summary}: smsmode refused the API key (check api_key and that it belongs \
             to an SMS channel)"
        ),
        s if is_uncertain_status(s) => format!("{code}: {summary}: {UNCERTAIN}"),
        _ => format!("{code}: {summary}"),
    }
}

fn status_text(value: &StatusValue) -> &str {
    match value {
        StatusValue::Scheduled => "SCHEDULED",
        StatusValue::Enroute => "ENROUTE",
        StatusValue::Delivered => "DELIVERED",
        StatusValue::Undeliverable => "UNDELIVERABLE",
        StatusValue::Undelivered => "UNDELIVERED",
        StatusValue::Unknown(other) => other,
    }
}

fn detail_text(detail: &Option<StatusDetail>) -> String {
    match detail {
        Some(d) if d.is_account_limit() => {
            format!(
                " ({}; the account needs an operator, then a retry)",
                d.as_str()
            )
        }
        Some(d) => format!(" ({})", d.as_str()),
        None => String::new(),
    }
}

/// Makes provider text safe for a reason: one line, bounded, and with the recipient's number
/// and any other long digit run (a phone number in any format) masked.
pub(crate) fn clean_text(text: &str, recipient_digits: &str) -> String {
    // Error codes (400.001) and counts are short; phone numbers are 8+ digits.
    crate::http::mask_numbers(text, recipient_digits, 8, MAX_FIELD_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, body: &str) -> SmsmodeError {
        SmsmodeError::Http {
            status,
            problem: Problem::parse(body.as_bytes(), "33612345678"),
            retry_after: None,
        }
    }

    #[test]
    fn status_classes_follow_the_reference() {
        for s in [400, 404, 405, 406, 415, 401, 403, 301] {
            assert_eq!(http(s, "").retry_class(), RetryClass::Permanent, "{s}");
        }
        assert_eq!(
            http(503, "").retry_class(),
            RetryClass::Transient { retry_after: None }
        );
        for s in [500, 502, 504] {
            assert_eq!(http(s, "").retry_class(), RetryClass::Uncertain, "{s}");
        }
        assert_eq!(
            http(429, "").retry_class(),
            RetryClass::RateLimited { retry_after: None }
        );
        assert!(http(500, "").is_uncertain() && http(504, "").is_uncertain());
        assert!(!http(503, "").is_uncertain() && !http(400, "").is_uncertain());
    }

    #[test]
    fn problem_body_becomes_the_reason() {
        let body = r#"{"title":"Bad Request","message":"Query parameter: startDate invalid",
            "detail":"Must be today or earlier","type":"https://dev.smsmode.com/commons/errors/400.001",
            "status":"400","errorCode":"400.001"}"#;
        assert_eq!(
            http(400, body).to_string(),
            "smsmode 400.001: Bad Request: Query parameter: startDate invalid \
             (Must be today or earlier)"
        );
    }

    #[test]
    fn missing_or_foreign_bodies_are_tolerated() {
        assert_eq!(
            http(400, "").to_string(),
            "smsmode HTTP 400: (no error details)"
        );
        assert_eq!(
            http(502, "<html>Bad gateway</html>").to_string(),
            "smsmode HTTP 502: <html>Bad gateway</html>: uncertain (may have been sent)"
        );
        assert_eq!(http(400, "[1,2]").to_string(), "smsmode HTTP 400: [1,2]");
        assert_eq!(
            http(404, r#"{"status":404}"#).to_string(),
            "smsmode HTTP 404: (no error details)"
        );
    }

    #[test]
    fn numbers_echoed_by_smsmode_are_masked() {
        let body =
            r#"{"title":"Bad Request","message":"Invalid number 33612345678 / +33 0612345678"}"#;
        let reason = http(400, body).to_string();
        assert!(!reason.contains("612345678"), "{reason}");
        assert_eq!(
            reason,
            "smsmode HTTP 400: Bad Request: Invalid number <number> / +33 <number>"
        );
    }

    #[test]
    fn long_bodies_are_cut_and_flattened() {
        let body = format!("line one\nline two {}", "x".repeat(500));
        let reason = http(400, &body).to_string();
        assert!(!reason.contains('\n'));
        assert!(reason.chars().count() < 260, "{}", reason.len());
    }

    #[test]
    fn key_refusals_say_so() {
        let reason = http(401, r#"{"title":"Unauthorized","errorCode":"401.000"}"#).to_string();
        assert!(reason.starts_with("smsmode 401.000: Unauthorized: smsmode refused the API key"));
    }
}
