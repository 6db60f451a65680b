//! Everything that can go wrong with one Twilio send, and what each failure means for a retry
//! (sms-providers.md §2.2 for Twilio's codes, §0 for "not sent" versus "uncertain").

pub(crate) use crate::http::parse_retry_after;
use std::time::Duration;

use serde_json::Value;

use super::codes::{
    AUTHENTICATION_FAILED, OPTED_OUT, Persistence, TOO_MANY_REQUESTS, api_meaning, delivery_error,
};
use crate::RetryClass;

/// Marks failures after which the SMS may or may not have gone out: Twilio documents no
/// idempotency key, so the dispatcher must not blindly resend these to a whole list (§0).
pub(crate) const UNCERTAIN: &str = "uncertain (may have been sent)";

/// Longest text kept from any one field of an error body.
const MAX_FIELD_CHARS: usize = 200;

/// Digit runs this long or longer are masked in provider text: phone numbers are longer, while
/// Twilio's error codes (5 digits) and limits (1600) are shorter.
const MIN_MASKED_DIGITS: usize = 6;

/// One failed send. Its `Display` is the operator-facing reason: it never holds the recipient's
/// number (numbers echoed by Twilio are masked) nor a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// The number handed to the adapter is not E.164; Twilio would refuse it (21211).
    #[error("recipient is not an E.164 number (\"+\" then 7 to 15 digits)")]
    InvalidRecipient,
    /// Twilio answered with a non-2xx status.
    #[error("{}", describe_http(*.status, .problem))]
    Http {
        status: u16,
        problem: Problem,
        retry_after: Option<Duration>,
    },
    /// Twilio took the request (2xx) but the message resource already says it failed.
    #[error(
        "twilio answered the send with a failed message: {}",
        describe_delivery_error(.status, *.error_code)
    )]
    Refused {
        status: String,
        error_code: Option<u32>,
    },
    /// No connection could be made (DNS, refused, TLS handshake): nothing was sent.
    #[error("twilio unreachable, not sent: {0}")]
    Unreachable(String),
    /// The request was written but no answer came in time.
    #[error("twilio did not answer in time: {}", UNCERTAIN)]
    Timeout,
    /// The connection broke after the request started.
    #[error("twilio connection broke mid-request: {}: {}", UNCERTAIN, .0)]
    Interrupted(String),
}

impl TwilioError {
    /// What the dispatcher may do next (§2.2). 429 or 20429 asks us to slow down (Twilio did not
    /// process the request); 20003 is a wrong credential and every 21xxx a refusal of this
    /// message, as is any other 4xx; 503 means not processed; other 5xx may have been.
    pub fn retry_class(&self) -> RetryClass {
        let class = match self {
            TwilioError::InvalidRecipient => RetryClass::Permanent,
            TwilioError::Http {
                status,
                problem,
                retry_after,
            } => match (*status, problem.code) {
                (429, _) | (_, Some(TOO_MANY_REQUESTS)) => RetryClass::RateLimited {
                    retry_after: *retry_after,
                },
                (_, Some(AUTHENTICATION_FAILED)) => RetryClass::Permanent,
                (_, Some(OPTED_OUT)) => RetryClass::OptedOut,
                (_, Some(code)) if is_api_refusal(code) => RetryClass::Permanent,
                (503, _) => RetryClass::Transient {
                    retry_after: *retry_after,
                },
                // 408: the server gave up waiting for our request, so it did not process it.
                (408 | 500..=599, _) => RetryClass::Transient { retry_after: None },
                _ => RetryClass::Permanent,
            },
            TwilioError::Refused {
                error_code: Some(OPTED_OUT),
                ..
            } => RetryClass::OptedOut,
            TwilioError::Refused { error_code, .. } => match delivery_error(*error_code).0 {
                Persistence::Temporary => RetryClass::Transient { retry_after: None },
                Persistence::Permanent => RetryClass::Permanent,
            },
            TwilioError::Unreachable(_) | TwilioError::Timeout | TwilioError::Interrupted(_) => {
                RetryClass::Transient { retry_after: None }
            }
        };
        class.uncertain_if(self.is_uncertain())
    }

    /// True when the SMS may have gone out despite the failure (timeout after the write, broken
    /// connection, 500/502/504), so a resend risks a duplicate.
    pub fn is_uncertain(&self) -> bool {
        match self {
            TwilioError::Timeout | TwilioError::Interrupted(_) => true,
            TwilioError::Http { status, .. } => is_uncertain_status(*status),
            _ => false,
        }
    }

    /// True when Twilio refused because the recipient replied STOP (21610): the subscriber
    /// should be marked opted out, not retried (§2.2, §2.5).
    pub fn is_opted_out(&self) -> bool {
        self.code() == Some(OPTED_OUT)
    }

    /// Twilio's error code, when the answer carried one.
    pub fn code(&self) -> Option<u32> {
        match self {
            TwilioError::Http { problem, .. } => problem.code,
            TwilioError::Refused { error_code, .. } => *error_code,
            _ => None,
        }
    }
}

/// 21xxx: Twilio refused this message's parameters; unknown ones too are permanent (§2.2).
fn is_api_refusal(code: u32) -> bool {
    (21_000..22_000).contains(&code)
}

fn is_uncertain_status(status: u16) -> bool {
    (500..=599).contains(&status) && status != 503
}

/// Twilio's REST error body, `{"code", "message", "more_info", "status"}` (§2.2), each field
/// optional because proxies in front of Twilio answer with whatever they like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    pub code: Option<u32>,
    /// The message, with phone numbers masked.
    pub message: Option<String>,
    pub more_info: Option<String>,
    /// The start of a body that was not a JSON object (an HTML error page, a proxy's text).
    pub raw: Option<String>,
}

impl Problem {
    /// Reads an error body, masking anything that looks like a phone number (Twilio echoes the
    /// `To` number in `message`: "The 'To' number +3361234 is not a valid phone number.").
    pub(crate) fn parse(body: &[u8], recipient: &str) -> Problem {
        let clean = |s: &str| clean_text(s, recipient);
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                let text = |key: &str| match map.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(clean(s)),
                    _ => None,
                };
                // `code` is an integer; accept digits in a string too.
                let code = match map.get("code") {
                    Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                Problem {
                    code,
                    message: text("message"),
                    more_info: text("more_info"),
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
}

fn describe_http(status: u16, problem: &Problem) -> String {
    let mut parts = Vec::new();
    parts.push(match problem.code {
        Some(code) => format!("twilio error {code} (HTTP {status})"),
        None => format!("twilio HTTP {status}"),
    });
    let meaning = match (problem.code, status) {
        (Some(code), _) => api_meaning(code),
        (None, 401) => api_meaning(AUTHENTICATION_FAILED),
        (None, 429) => api_meaning(TOO_MANY_REQUESTS),
        _ => None,
    };
    parts.extend(meaning.map(str::to_owned));
    match problem.message.as_ref().or(problem.raw.as_ref()) {
        Some(text) => parts.push(text.clone()),
        None if meaning.is_none() => parts.push("(no error details)".to_owned()),
        None => {}
    }
    if is_uncertain_status(status) {
        parts.push(UNCERTAIN.to_owned());
    }
    parts.join(": ")
}

/// `twilio ErrorCode 30003 (undelivered): unreachable destination handset`, the reason shared by
/// a refused send and a failed status callback.
pub(crate) fn describe_delivery_error(status: &str, code: Option<u32>) -> String {
    let (_, meaning) = delivery_error(code);
    let status = clean_text(status, "");
    match code {
        Some(code) => format!("twilio ErrorCode {code} ({status}): {meaning}"),
        None => format!("twilio {status} without ErrorCode"),
    }
}

/// Makes provider text safe for a reason: one line, bounded, with the recipient's number and any
/// other long digit run (a phone number in any format) masked.
pub(crate) fn clean_text(text: &str, recipient: &str) -> String {
    crate::http::mask_numbers(text, recipient, MIN_MASKED_DIGITS, MAX_FIELD_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "+33612345678";

    fn twilio(status: u16, code: u32, message: &str) -> TwilioError {
        let body = serde_json::json!({
            "code": code, "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status,
        });
        TwilioError::Http {
            status,
            problem: Problem::parse(body.to_string().as_bytes(), TO),
            retry_after: None,
        }
    }

    fn http(status: u16, body: &str) -> TwilioError {
        TwilioError::Http {
            status,
            problem: Problem::parse(body.as_bytes(), TO),
            retry_after: None,
        }
    }

    const NOT_SENT: RetryClass = RetryClass::Transient { retry_after: None };

    #[test]
    fn authentication_failed_is_permanent_and_names_the_keys() {
        let error = twilio(401, 20003, "Authenticate");
        assert_eq!(error.retry_class(), RetryClass::Permanent);
        assert!(!error.is_uncertain());
        assert_eq!(
            error.to_string(),
            "twilio error 20003 (HTTP 401): authentication failed: check account_sid, and \
             auth_token or api_key_sid and api_key_secret: Authenticate"
        );
        // A bare 401 (a proxy's) says the same.
        let bare = http(401, "");
        assert_eq!(bare.retry_class(), RetryClass::Permanent);
        assert!(bare.to_string().contains("authentication failed"), "{bare}");
    }

    #[test]
    fn too_many_requests_is_rate_limited_with_or_without_the_code() {
        let limited = RetryClass::RateLimited { retry_after: None };
        assert_eq!(
            twilio(429, 20429, "Too Many Requests").retry_class(),
            limited
        );
        assert_eq!(http(429, "").retry_class(), limited);
        assert_eq!(twilio(400, 20429, "").retry_class(), limited);
        let with_delay = TwilioError::Http {
            status: 429,
            problem: Problem::default(),
            retry_after: parse_retry_after(Some("7")),
        };
        assert_eq!(
            with_delay.retry_class(),
            RetryClass::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn invalid_to_is_permanent_and_the_echoed_number_is_masked() {
        let error = twilio(
            400,
            21211,
            "The 'To' number +33612345678 is not a valid phone number.",
        );
        assert_eq!(error.retry_class(), RetryClass::Permanent);
        assert_eq!(
            error.to_string(),
            "twilio error 21211 (HTTP 400): invalid To number: The 'To' number +<number> is not \
             a valid phone number."
        );
        // The reference's own example: a 7-digit number that is not ours.
        let short = twilio(
            400,
            21211,
            "The 'To' number +3361234 is not a valid phone number.",
        );
        assert!(!short.to_string().contains("3361234"), "{short}");
    }

    #[test]
    fn not_a_mobile_number_is_permanent() {
        let error = twilio(400, 21614, "'To' number is not a valid mobile number");
        assert_eq!(error.retry_class(), RetryClass::Permanent);
        assert!(
            error
                .to_string()
                .contains("To is not a valid mobile number"),
            "{error}"
        );
        assert!(!error.is_opted_out());
    }

    #[test]
    fn opted_out_is_permanent_and_detectable() {
        let error = twilio(400, 21610, "Attempt to send to unsubscribed recipient");
        assert_eq!(error.retry_class(), RetryClass::OptedOut);
        assert!(error.is_opted_out());
        assert_eq!(
            error.to_string(),
            "twilio error 21610 (HTTP 400): the recipient opted out (replied STOP); they can \
             text START to resubscribe: Attempt to send to unsubscribed recipient"
        );
    }

    #[test]
    fn geo_permission_is_permanent() {
        let error = twilio(400, 21408, "Permission to send an SMS has not been enabled");
        assert_eq!(error.retry_class(), RetryClass::Permanent);
        assert!(error.to_string().contains("Geo Permissions"), "{error}");
    }

    #[test]
    fn unroutable_pair_is_permanent() {
        let error = twilio(
            400,
            21612,
            "The 'To' phone number is not currently reachable",
        );
        assert_eq!(error.retry_class(), RetryClass::Permanent);
        assert!(error.to_string().contains("cannot be routed"), "{error}");
    }

    #[test]
    fn a_bad_from_is_permanent() {
        for code in [21606, 21659] {
            let error = twilio(400, code, "The From phone number is not valid");
            assert_eq!(error.retry_class(), RetryClass::Permanent, "{code}");
            assert!(error.to_string().contains("From sender"), "{error}");
        }
    }

    #[test]
    fn a_body_too_long_is_permanent() {
        let error = twilio(
            400,
            21617,
            "The concatenated message body exceeds the limit",
        );
        assert_eq!(error.retry_class(), RetryClass::Permanent);
        assert!(error.to_string().contains("1600-character"), "{error}");
    }

    #[test]
    fn unknown_21xxx_codes_are_permanent_whatever_the_status() {
        assert_eq!(
            twilio(400, 21999, "Something new").retry_class(),
            RetryClass::Permanent
        );
        assert_eq!(
            twilio(500, 21999, "Something new").retry_class(),
            RetryClass::Permanent
        );
        assert_eq!(
            twilio(400, 21999, "Something new").to_string(),
            "twilio error 21999 (HTTP 400): Something new"
        );
    }

    #[test]
    fn other_client_errors_are_permanent() {
        for status in [400, 403, 404, 405, 415, 422, 301] {
            assert_eq!(
                http(status, "").retry_class(),
                RetryClass::Permanent,
                "{status}"
            );
        }
        assert_eq!(
            twilio(404, 20404, "The requested resource was not found").retry_class(),
            RetryClass::Permanent
        );
        // The server gave up on our request before processing it.
        assert_eq!(http(408, "").retry_class(), NOT_SENT);
    }

    #[test]
    fn service_unavailable_is_transient_and_not_sent() {
        let error = http(
            503,
            r#"{"code":20503,"message":"Service Unavailable","status":503}"#,
        );
        assert_eq!(error.retry_class(), NOT_SENT);
        assert!(!error.is_uncertain());
        assert_eq!(
            error.to_string(),
            "twilio error 20503 (HTTP 503): Service Unavailable"
        );
        let later = TwilioError::Http {
            status: 503,
            problem: Problem::default(),
            retry_after: parse_retry_after(Some("30")),
        };
        assert_eq!(
            later.retry_class(),
            RetryClass::Transient {
                retry_after: Some(Duration::from_secs(30))
            }
        );
    }

    #[test]
    fn server_errors_but_503_are_uncertain() {
        for status in [500, 502, 504] {
            let error = http(status, "<html>oops</html>");
            assert_eq!(error.retry_class(), RetryClass::Uncertain, "{status}");
            assert!(error.is_uncertain(), "{status}");
            assert_eq!(
                error.to_string(),
                format!("twilio HTTP {status}: <html>oops</html>: uncertain (may have been sent)")
            );
        }
    }

    #[test]
    fn transport_failures_say_whether_it_may_have_been_sent() {
        assert!(TwilioError::Timeout.is_uncertain());
        assert!(TwilioError::Interrupted("reset".into()).is_uncertain());
        assert!(!TwilioError::Unreachable("refused".into()).is_uncertain());
        for error in [
            TwilioError::Timeout,
            TwilioError::Interrupted("reset".into()),
        ] {
            assert_eq!(error.retry_class(), RetryClass::Uncertain);
        }
        assert_eq!(
            TwilioError::Unreachable("refused".into()).retry_class(),
            NOT_SENT
        );
        assert_eq!(
            TwilioError::InvalidRecipient.retry_class(),
            RetryClass::Permanent
        );
    }

    #[test]
    fn a_failed_resource_in_a_2xx_follows_the_callback_table() {
        let unreachable = TwilioError::Refused {
            status: "undelivered".into(),
            error_code: Some(30003),
        };
        assert_eq!(unreachable.retry_class(), NOT_SENT);
        let stopped = TwilioError::Refused {
            status: "failed".into(),
            error_code: Some(21610),
        };
        assert_eq!(stopped.retry_class(), RetryClass::OptedOut);
        assert!(stopped.is_opted_out());
        assert_eq!(
            stopped.to_string(),
            "twilio answered the send with a failed message: twilio ErrorCode 21610 (failed): the \
             recipient opted out (replied STOP)"
        );
    }

    #[test]
    fn missing_or_foreign_bodies_are_tolerated() {
        assert_eq!(
            http(400, "").to_string(),
            "twilio HTTP 400: (no error details)"
        );
        assert_eq!(http(400, "[1,2]").to_string(), "twilio HTTP 400: [1,2]");
        assert_eq!(
            http(400, r#"{"code":"21211"}"#).to_string(),
            "twilio error 21211 (HTTP 400): invalid To number"
        );
    }

    #[test]
    fn long_bodies_are_cut_and_flattened() {
        let body = format!("line one\nline two {}", "x".repeat(500));
        let reason = http(400, &body).to_string();
        assert!(!reason.contains('\n'));
        assert!(reason.chars().count() < 260, "{}", reason.len());
    }
}
