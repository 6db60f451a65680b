//! Everything that can go wrong with one OVH send, and what each failure means for a retry
//! (sms-providers.md §3.3 for the HTTP statuses, §0 for "not sent" versus "uncertain"); the same
//! failures when fetching citizens' SMS ([`OvhError::incoming_reason`]).

pub(crate) use crate::http::parse_retry_after;
use std::time::Duration;

use serde_json::Value;

use crate::RetryClass;

/// Marks failures after which the SMS may or may not have gone out: OVH documents no
/// idempotency key, so the dispatcher must not blindly resend these to a whole list (§0).
pub(crate) const UNCERTAIN: &str = "uncertain (may have been sent)";

/// Longest text kept from any one field of an error body.
const MAX_FIELD_CHARS: usize = 200;

/// The 403 `errorCode`s python-ovh maps, all configuration problems (§3.3).
const CREDENTIAL_CODES: [&str; 5] = [
    "NOT_GRANTED_CALL",
    "NOT_CREDENTIAL",
    "INVALID_KEY",
    "INVALID_CREDENTIAL",
    "FORBIDDEN",
];

/// One failed send. Its `Display` is the operator-facing reason: it never holds the recipient's
/// number (numbers echoed by OVH are masked) nor any credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OvhError {
    /// The number handed to the adapter is not E.164; OVH wants `+33…` (§3.2).
    #[error("recipient is not an E.164 number (\"+\" then 7 to 15 digits)")]
    InvalidRecipient,
    /// OVH took the job but listed the number in `invalidReceivers` (§3.2).
    #[error("OVH refused the number (listed in invalidReceivers)")]
    RefusedNumber,
    /// OVH answered with a non-2xx status. `resynced` says whether the send was already retried
    /// once after learning OVH's clock again.
    #[error("{}", describe_http(*.status, .body, *.resynced, Call::Send))]
    Http {
        status: u16,
        body: ErrorBody,
        retry_after: Option<Duration>,
        resynced: bool,
    },
    /// OVH's clock could not be read (`GET /auth/time`), so nothing was signed nor sent.
    #[error("cannot read OVH's clock (GET /auth/time), not sent: {0}")]
    Clock(String),
    /// No connection could be made (DNS, refused, TLS handshake): nothing was sent.
    #[error("OVH unreachable, not sent: {0}")]
    Unreachable(String),
    /// The request was written but no answer came in time.
    #[error("OVH did not answer in time: {}", UNCERTAIN)]
    Timeout,
    /// The connection broke after the request started.
    #[error("OVH connection broke mid-request: {}: {}", UNCERTAIN, .0)]
    Interrupted(String),
}

impl OvhError {
    /// What the dispatcher may do next (§3.3). 400, 404, 409 and 460 are bad data or a wrong or
    /// lapsed account; 401 and 403 are refused credentials (after one resync for 401): none
    /// improves on retry. 429 asks us to slow down; 503 means not processed; other 5xx may have
    /// been processed.
    pub fn retry_class(&self) -> RetryClass {
        let class = match self {
            OvhError::InvalidRecipient | OvhError::RefusedNumber => RetryClass::Permanent,
            OvhError::Http {
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
            OvhError::Clock(_)
            | OvhError::Unreachable(_)
            | OvhError::Timeout
            | OvhError::Interrupted(_) => RetryClass::Transient { retry_after: None },
        };
        class.uncertain_if(self.is_uncertain())
    }

    /// True when the SMS may have gone out despite the failure (timeout after the write, broken
    /// connection, 5xx other than 503), so a resend risks a duplicate.
    pub fn is_uncertain(&self) -> bool {
        match self {
            OvhError::Timeout | OvhError::Interrupted(_) => true,
            OvhError::Http { status, .. } => is_uncertain_status(*status),
            _ => false,
        }
    }

    /// The reason a fetch of citizens' SMS failed at `call` (`GET /sms/{serviceName}/incoming`
    /// …): like `Display`, with the rights that fetch needs and without what only matters to a
    /// send (whether an SMS may have gone out). It holds no credential and no phone number.
    pub(crate) fn incoming_reason(&self, call: &str) -> String {
        let what = match self {
            OvhError::Http {
                status,
                body,
                resynced,
                ..
            } => describe_http(*status, body, *resynced, Call::Incoming),
            OvhError::Clock(problem) => {
                format!("cannot read OVH's clock (GET /auth/time): {problem}")
            }
            OvhError::Unreachable(problem) => format!("OVH unreachable: {problem}"),
            OvhError::Timeout => "OVH did not answer in time".to_owned(),
            OvhError::Interrupted(problem) => {
                format!("OVH connection broke mid-request: {problem}")
            }
            OvhError::InvalidRecipient | OvhError::RefusedNumber => self.to_string(),
        };
        format!("{call}: {what}")
    }

    /// True when OVH refused the request for its timestamp or signature: learn OVH's clock again
    /// and retry once, since nothing was sent (§3.1, §3.3). 401 always; 400, and a 403 that is
    /// none of the credential codes, when they speak of the signature or the time.
    pub(crate) fn needs_resync(&self) -> bool {
        match self {
            OvhError::Http {
                status: 401,
                resynced: false,
                ..
            } => true,
            OvhError::Http {
                status: 400,
                body,
                resynced: false,
                ..
            } => body.blames_the_clock(),
            OvhError::Http {
                status: 403,
                body,
                resynced: false,
                ..
            } => !body.is_credential_code() && body.blames_the_clock(),
            _ => false,
        }
    }
}

fn is_uncertain_status(status: u16) -> bool {
    (500..=599).contains(&status) && status != 503
}

/// The JSON body OVH sends with an error (`message`, and `errorCode` for 403 and some 400s,
/// §3.3), each field optional because proxies in front of OVH answer with whatever they like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub error_code: Option<String>,
    pub message: Option<String>,
    /// The start of a body that was not JSON (an HTML error page, a proxy's text).
    pub raw: Option<String>,
}

impl ErrorBody {
    /// Reads an error body, masking anything that looks like a phone number (OVH may echo the
    /// receiver in `message`).
    pub(crate) fn parse(body: &[u8], recipient: &str) -> ErrorBody {
        let clean = |s: &str| clean_text(s, recipient);
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                let text = |key: &str| match map.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(clean(s)),
                    _ => None,
                };
                ErrorBody {
                    error_code: text("errorCode"),
                    message: text("message"),
                    raw: None,
                }
            }
            _ => {
                let raw = String::from_utf8_lossy(body);
                let raw = raw.trim();
                ErrorBody {
                    raw: (!raw.is_empty()).then(|| clean(raw)),
                    ..ErrorBody::default()
                }
            }
        }
    }

    /// Whether the error speaks of the signature or the time: "Invalid signature"
    /// (`INVALID_SIGNATURE`), "Invalid timestamp", or "Query out of time" (`QUERY_TIME_OUT`,
    /// what OVH answers for a skewed timestamp).
    fn blames_the_clock(&self) -> bool {
        let text = [&self.error_code, &self.message, &self.raw]
            .into_iter()
            .flatten()
            .map(|s| s.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        ["signature", "timestamp", "time_out", "out of time"]
            .iter()
            .any(|word| text.contains(word))
    }

    fn is_credential_code(&self) -> bool {
        self.error_code
            .as_deref()
            .is_some_and(|code| CREDENTIAL_CODES.contains(&code))
    }

    /// The message, or the raw body, or `None` when the body said nothing.
    fn summary(&self) -> Option<&str> {
        self.message.as_deref().or(self.raw.as_deref())
    }
}

/// Which request an error answered: the rights it needs, and whether it may have sent an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// `POST /sms/{serviceName}/jobs`.
    Send,
    /// `GET /sms/{serviceName}/incoming[/{id}]` or `DELETE /sms/{serviceName}/incoming/{id}`.
    Incoming,
}

fn describe_http(status: u16, body: &ErrorBody, resynced: bool, call: Call) -> String {
    let code = match &body.error_code {
        Some(code) => format!("OVH HTTP {status} {code}"),
        None => format!("OVH HTTP {status}"),
    };
    let summary = body.summary().unwrap_or("(no error details)");
    let hint = match status {
        400 | 403 if resynced => Some(
            "OVH still refused the request after its clock was read again (check \
             application_secret and consumer_key)",
        ),
        401 => Some(
            "OVH refused the credentials even after its clock was read again (check \
             application_key, application_secret and consumer_key)",
        ),
        403 => Some(match body.error_code.as_deref() {
            Some("NOT_GRANTED_CALL") => match call {
                Call::Send => {
                    "the consumer key is not granted POST /sms/*/jobs (create one with that right)"
                }
                Call::Incoming => {
                    "the consumer key is not granted GET /sms/*/incoming, GET /sms/*/incoming/* \
                     and DELETE /sms/*/incoming/* (create one with those rights)"
                }
            },
            Some("NOT_CREDENTIAL") => "OVH does not know this consumer key (check consumer_key)",
            Some("INVALID_KEY") => "OVH does not know this application key (check application_key)",
            Some("INVALID_CREDENTIAL") => {
                "the consumer key is invalid, expired or not validated yet (validate it or \
                 create another)"
            }
            _ => "OVH forbids this call to these credentials (check the keys and their rights)",
        }),
        404 => Some("OVH knows no such SMS account or object (check service_name)"),
        409 => Some("OVH reports a conflict"),
        460 => Some("the SMS account has expired or is suspended (renew it or settle the bill)"),
        429 => Some("too many requests"),
        s if call == Call::Send && is_uncertain_status(s) => Some(UNCERTAIN),
        _ => None,
    };
    match hint {
        Some(hint) => format!("{code}: {summary}: {hint}"),
        None => format!("{code}: {summary}"),
    }
}

/// Makes provider text safe for a reason: one line, bounded, and with the recipient's number
/// and any other phone-number-like run masked: 8 digits or more, possibly split by single
/// spaces, dots or dashes (`06 12 34 56 78`).
pub(crate) fn clean_text(text: &str, recipient: &str) -> String {
    let mut text = text.to_owned();
    for form in [recipient, recipient.trim_start_matches('+')] {
        if !form.is_empty() {
            text = text.replace(form, "<number>");
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len().min(MAX_FIELD_CHARS + 8));
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(if chars[i].is_control() { ' ' } else { chars[i] });
            i += 1;
            continue;
        }
        // A run of digits and the single separators inside it.
        let (start, mut end, mut digits) = (i, i, 0);
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits += 1;
                end += 1;
            } else if matches!(chars[end], ' ' | '.' | '-' | '\u{a0}')
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 1;
            } else {
                break;
            }
        }
        // Counts, codes and amounts are short; phone numbers are 8+ digits.
        if digits >= 8 {
            out.push_str("<number>");
        } else {
            out.extend(&chars[start..end]);
        }
        i = end;
    }

    if out.chars().count() > MAX_FIELD_CHARS {
        let cut: String = out.chars().take(MAX_FIELD_CHARS).collect();
        format!("{cut}…")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::MAX_RETRY_AFTER;

    const TO: &str = "+33612345678";

    fn http(status: u16, body: &str) -> OvhError {
        OvhError::Http {
            status,
            body: ErrorBody::parse(body.as_bytes(), TO),
            retry_after: None,
            resynced: false,
        }
    }

    fn after_resync(error: OvhError) -> OvhError {
        match error {
            OvhError::Http {
                status,
                body,
                retry_after,
                ..
            } => OvhError::Http {
                status,
                body,
                retry_after,
                resynced: true,
            },
            other => other,
        }
    }

    const PERMANENT: RetryClass = RetryClass::Permanent;
    const TRANSIENT: RetryClass = RetryClass::Transient { retry_after: None };

    #[test]
    fn bad_parameters_400_is_permanent_without_resync() {
        let error = http(400, r#"{"message":"Invalid parameter receivers"}"#);
        assert!(!error.needs_resync());
        assert_eq!(error.retry_class(), PERMANENT);
        assert!(!error.is_uncertain());
        assert_eq!(
            error.to_string(),
            "OVH HTTP 400: Invalid parameter receivers"
        );
    }

    #[test]
    fn a_400_about_signature_or_time_resyncs_once_then_is_permanent() {
        for body in [
            r#"{"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"Invalid signature"}"#,
            r#"{"message":"Query out of time","httpCode":"400 Bad Request","errorCode":"QUERY_TIME_OUT"}"#,
            r#"{"message":"Invalid timestamp"}"#,
        ] {
            let error = http(400, body);
            assert!(error.needs_resync(), "{body}");
            let error = after_resync(error);
            assert!(!error.needs_resync(), "{body}");
            assert_eq!(error.retry_class(), PERMANENT);
            assert!(
                error
                    .to_string()
                    .contains("check application_secret and consumer_key"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_401_resyncs_once_then_is_a_configuration_error() {
        let error = http(401, r#"{"message":"You must login first"}"#);
        assert!(error.needs_resync());
        let error = after_resync(error);
        assert!(!error.needs_resync());
        assert_eq!(error.retry_class(), PERMANENT);
        assert!(!error.is_uncertain());
        assert_eq!(
            error.to_string(),
            "OVH HTTP 401: You must login first: OVH refused the credentials even after its \
             clock was read again (check application_key, application_secret and consumer_key)"
        );
    }

    #[test]
    fn a_403_credential_code_is_permanent_with_the_code_in_the_reason() {
        for (code, hint) in [
            ("NOT_GRANTED_CALL", "not granted POST /sms/*/jobs"),
            ("NOT_CREDENTIAL", "check consumer_key"),
            ("INVALID_KEY", "check application_key"),
            ("INVALID_CREDENTIAL", "not validated yet"),
            ("FORBIDDEN", "forbids this call"),
        ] {
            let error = http(
                403,
                &format!(r#"{{"errorCode":"{code}","message":"Invalid signature or key"}}"#),
            );
            assert!(!error.needs_resync(), "{code}");
            assert_eq!(error.retry_class(), PERMANENT, "{code}");
            let reason = error.to_string();
            assert!(
                reason.starts_with(&format!("OVH HTTP 403 {code}: ")),
                "{reason}"
            );
            assert!(reason.contains(hint), "{reason}");
        }
    }

    #[test]
    fn a_403_about_the_signature_without_a_credential_code_resyncs() {
        let error = http(403, r#"{"message":"Invalid signature"}"#);
        assert!(error.needs_resync());
        assert_eq!(after_resync(error).retry_class(), PERMANENT);
        assert!(!http(403, r#"{"message":"Forbidden"}"#).needs_resync());
    }

    #[test]
    fn a_404_is_an_unknown_service_name() {
        let error = http(
            404,
            r#"{"message":"The requested object (serviceName = sms-zz99999-9) does not exist"}"#,
        );
        assert_eq!(error.retry_class(), PERMANENT);
        assert!(!error.needs_resync());
        assert!(
            error.to_string().ends_with("(check service_name)"),
            "{error}"
        );
    }

    #[test]
    fn a_409_is_permanent() {
        let error = http(409, r#"{"message":"Conflict"}"#);
        assert_eq!(error.retry_class(), PERMANENT);
        assert_eq!(
            error.to_string(),
            "OVH HTTP 409: Conflict: OVH reports a conflict"
        );
    }

    #[test]
    fn a_460_is_an_expired_or_suspended_service() {
        let error = http(460, r#"{"message":"Service expired"}"#);
        assert_eq!(error.retry_class(), PERMANENT);
        assert!(
            error.to_string().contains("expired or is suspended"),
            "{error}"
        );
    }

    #[test]
    fn a_429_is_rate_limited_and_honours_a_capped_retry_after() {
        assert_eq!(
            http(429, "").retry_class(),
            RetryClass::RateLimited { retry_after: None }
        );
        let error = OvhError::Http {
            status: 429,
            body: ErrorBody::default(),
            retry_after: parse_retry_after(Some("999999")),
            resynced: false,
        };
        assert_eq!(
            error.retry_class(),
            RetryClass::RateLimited {
                retry_after: Some(MAX_RETRY_AFTER)
            }
        );
        assert!(!error.is_uncertain());
    }

    #[test]
    fn a_500_is_retried_as_uncertain() {
        let error = http(500, r#"{"message":"Internal server error"}"#);
        assert_eq!(error.retry_class(), RetryClass::Uncertain);
        assert!(error.is_uncertain());
        assert_eq!(
            error.to_string(),
            "OVH HTTP 500: Internal server error: uncertain (may have been sent)"
        );
        for status in [502, 504] {
            assert!(http(status, "").is_uncertain());
        }
    }

    #[test]
    fn a_503_is_transient_and_not_sent() {
        let error = http(503, r#"{"message":"Service unavailable"}"#);
        assert_eq!(error.retry_class(), TRANSIENT);
        assert!(!error.is_uncertain());
        assert_eq!(error.to_string(), "OVH HTTP 503: Service unavailable");
    }

    #[test]
    fn transport_failures_say_whether_the_sms_may_have_gone() {
        assert_eq!(OvhError::Timeout.retry_class(), RetryClass::Uncertain);
        assert!(OvhError::Timeout.is_uncertain());
        assert!(OvhError::Interrupted("reset".into()).is_uncertain());
        let refused = OvhError::Unreachable("Connection refused".into());
        assert_eq!(refused.retry_class(), TRANSIENT);
        assert!(!refused.is_uncertain());
        let clock = OvhError::Clock("timed out".into());
        assert_eq!(clock.retry_class(), TRANSIENT);
        assert!(!clock.is_uncertain());
    }

    #[test]
    fn refused_and_malformed_numbers_are_permanent() {
        assert_eq!(OvhError::RefusedNumber.retry_class(), PERMANENT);
        assert_eq!(
            OvhError::RefusedNumber.to_string(),
            "OVH refused the number (listed in invalidReceivers)"
        );
        assert_eq!(OvhError::InvalidRecipient.retry_class(), PERMANENT);
    }

    #[test]
    fn numbers_echoed_by_ovh_are_masked() {
        let body = r#"{"message":"Invalid receiver +33612345678 / 33612345678 / 06 12 34 56 78 / 0612345678"}"#;
        let reason = http(400, body).to_string();
        assert!(!reason.contains("612345678"), "{reason}");
        assert_eq!(
            reason,
            "OVH HTTP 400: Invalid receiver <number> / <number> / <number> / <number>"
        );
    }

    #[test]
    fn missing_or_foreign_bodies_are_tolerated() {
        assert_eq!(
            http(400, "").to_string(),
            "OVH HTTP 400: (no error details)"
        );
        assert_eq!(
            http(502, "<html>Bad gateway</html>").to_string(),
            "OVH HTTP 502: <html>Bad gateway</html>: uncertain (may have been sent)"
        );
        let long = format!("line one\nline two {}", "x".repeat(500));
        let reason = http(400, &long).to_string();
        assert!(!reason.contains('\n') && reason.chars().count() < 260);
    }

    #[test]
    fn incoming_reasons_name_the_call_and_its_rights_and_never_a_number() {
        let refused = http(
            403,
            r#"{"errorCode":"NOT_GRANTED_CALL","message":"This call has not been granted"}"#,
        );
        assert_eq!(
            refused.incoming_reason("GET /sms/{serviceName}/incoming"),
            "GET /sms/{serviceName}/incoming: OVH HTTP 403 NOT_GRANTED_CALL: This call has not \
             been granted: the consumer key is not granted GET /sms/*/incoming, GET \
             /sms/*/incoming/* and DELETE /sms/*/incoming/* (create one with those rights)"
        );
        // Nothing is sent by a fetch: no "may have been sent".
        assert_eq!(
            http(500, r#"{"message":"Internal server error"}"#).incoming_reason("GET x"),
            "GET x: OVH HTTP 500: Internal server error"
        );
        assert_eq!(
            OvhError::Timeout.incoming_reason("DELETE x"),
            "DELETE x: OVH did not answer in time"
        );
        let echoed = http(404, r#"{"message":"No incoming SMS from 0033612345678"}"#);
        let reason = echoed.incoming_reason("GET x");
        assert!(!reason.contains("612345678"), "{reason}");
        assert!(reason.ends_with("(check service_name)"), "{reason}");
    }
}
