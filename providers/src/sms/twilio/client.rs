//! The Twilio REST client: one shared connection pool, a cap on requests in flight, and the
//! translation of each answer into an [`Outcome`] (sms-providers.md §2.1, §2.2).

use crate::http::error_chain;
use std::{fmt, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Semaphore;
use url::{Url, form_urlencoded};

use super::{
    ValidatedTwilioConfig,
    config::{Credentials, MAX_VALIDITY_PERIOD_S, Sender, is_e164_digits},
    error::{Problem, TwilioError, clean_text, parse_retry_after},
    status::read_reports,
};
use crate::{BoxFuture, Callback, CallbackError, ConfigError, Message, Outcome, Provider, Report};

/// Sends SMS through Twilio Programmable Messaging. Cheap to share behind an `Arc`; every send
/// reuses the same pool.
pub struct TwilioSms {
    http: reqwest::Client,
    messages_url: Url,
    /// `Basic …`, marked sensitive so neither reqwest nor our `Debug` prints it.
    authorization: HeaderValue,
    account_sid: String,
    /// What Twilio signs this account's callbacks with, when configured.
    auth_token: Option<SecretString>,
    sender: Sender,
    status_callback_url: Option<String>,
    validity_period_s: Option<u32>,
    /// reqwest opens connections without bound under load; this caps requests in flight (and
    /// keeps the account under Twilio's REST concurrency limit, 20429).
    in_flight: Semaphore,
    max_connections: usize,
}

impl fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSms")
            .field("messages_url", &self.messages_url.as_str())
            .field("authorization", &"[REDACTED]")
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("sender", &self.sender)
            .field(
                "status_callback_url",
                &self.status_callback_url.as_ref().map(|_| "[set]"),
            )
            .field("validity_period_s", &self.validity_period_s)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The parts of the Message resource we read back; everything else is ignored.
#[derive(Deserialize)]
struct MessageResource {
    sid: Option<String>,
    status: Option<String>,
    error_code: Option<u32>,
}

impl TwilioSms {
    pub fn new(config: ValidatedTwilioConfig) -> Result<Self, ConfigError> {
        let (http, authorization) = connect(&config)?;
        Ok(TwilioSms {
            http,
            messages_url: config.messages_url,
            authorization,
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            sender: config.sender,
            status_callback_url: config.status_callback_url,
            validity_period_s: config.validity_period_s,
            in_flight: Semaphore::new(config.max_connections),
            max_connections: config.max_connections,
        })
    }

    /// Sends one SMS; `Ok` holds Twilio's message `sid` when the answer carried one.
    pub async fn submit(&self, message: Message<'_>) -> Result<Option<String>, TwilioError> {
        let to = e164(message.to).ok_or(TwilioError::InvalidRecipient)?;
        let body = self.form(&to, message);

        // The semaphore is never closed, so acquire cannot fail.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore never closed");
        let request = (&self.messages_url, &self.authorization, body);
        post_form(&self.http, request, &to).await
    }

    /// The form body of `POST …/Messages.json` (§2.1): `To`, the sender (the commune's `From`
    /// over the account's `From` or Messaging Service: exactly one of the two is sent), `Body`,
    /// and `StatusCallback` and `ValidityPeriod` when known.
    fn form(&self, to: &str, message: Message<'_>) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", to);
        match (message.sender, &self.sender) {
            (Some(from), _) => form.append_pair("From", from),
            (None, Sender::From(from)) => form.append_pair("From", from),
            (None, Sender::MessagingService(sid)) => form.append_pair("MessagingServiceSid", sid),
        };
        form.append_pair("Body", message.text);
        if let Some(callback) = message
            .status_callback
            .or(self.status_callback_url.as_deref())
        {
            form.append_pair("StatusCallback", callback);
        }
        let validity = message
            .validity
            .map(validity_period_s)
            .or(self.validity_period_s);
        if let Some(seconds) = validity {
            form.append_pair("ValidityPeriod", &seconds.to_string());
        }
        form.finish()
    }
}

/// POSTs a form to the account's API (`Messages.json`, `Calls.json`) and reads the answer: the
/// resource's `sid`, or Twilio's refusal (sms-providers.md §2.2).
pub(crate) async fn post_form(
    http: &reqwest::Client,
    (url, authorization, body): (&Url, &HeaderValue, String),
    to: &str,
) -> Result<Option<String>, TwilioError> {
    let response = http
        .post(url.clone())
        .header(AUTHORIZATION, authorization.clone())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
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
    Err(TwilioError::Http {
        status: status.as_u16(),
        problem: Problem::parse(&body, to),
        retry_after,
    })
}

/// The account's HTTP client and `Authorization` header (Basic, §2.1): shared by the SMS and
/// voice adapters.
pub(crate) fn connect(
    config: &ValidatedTwilioConfig,
) -> Result<(reqwest::Client, HeaderValue), ConfigError> {
    let (user, password, field) = match &config.credentials {
        Credentials::ApiKey { sid, secret } => (sid.as_str(), secret, "api_key_secret"),
        Credentials::AuthToken(token) => (config.account_sid.as_str(), token, "auth_token"),
    };
    let credentials = STANDARD.encode(format!("{user}:{}", password.expose_secret()));
    let mut authorization = HeaderValue::from_str(&format!("Basic {credentials}"))
        .map_err(|_| ConfigError::new(field, "is not usable in an HTTP header"))?;
    authorization.set_sensitive(true);

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
        .map_err(|e| ConfigError::new("base_url", format!("cannot build the HTTP client: {e}")))?;
    Ok((http, authorization))
}

/// What is left of an alert's life in whole seconds, within Twilio's 1–36000 (§2.1): a message
/// with less than a second left still gets one, one with more than ten hours gets ten.
fn validity_period_s(validity: Duration) -> u32 {
    let seconds = validity.as_secs().min(u64::from(MAX_VALIDITY_PERIOD_S)) as u32;
    seconds.max(1)
}

/// Reads a 2xx answer. The 2xx itself means Twilio took the message, so an unreadable body still
/// counts as accepted (without an id): resending would double the SMS.
async fn accepted(response: reqwest::Response) -> Result<Option<String>, TwilioError> {
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "twilio accepted a message but its answer was cut short");
            return Ok(None);
        }
    };
    let resource: MessageResource = match serde_json::from_slice(&body) {
        Ok(resource) => resource,
        Err(e) => {
            tracing::warn!(error = %e, "twilio accepted a message with an unreadable body");
            return Ok(None);
        }
    };
    // Twilio answers `queued` or `accepted`; a message already failed says so here.
    if let Some(status @ ("failed" | "undelivered" | "canceled")) = resource.status.as_deref() {
        return Err(TwilioError::Refused {
            status: status.to_owned(),
            error_code: resource.error_code,
        });
    }
    if resource.sid.is_none() {
        tracing::warn!("twilio accepted a message without a sid");
    }
    Ok(resource.sid)
}

/// A failure before any HTTP status: could the request have reached Twilio (§0)?
fn classify_transport_error(error: &reqwest::Error, to: &str) -> TwilioError {
    let chain = clean_text(&error_chain(error), to);
    if error.is_connect() {
        // Includes DNS failures, refused connections, TLS handshakes and connect timeouts:
        // nothing was written.
        TwilioError::Unreachable(chain)
    } else if error.is_timeout() {
        TwilioError::Timeout
    } else {
        TwilioError::Interrupted(chain)
    }
}

/// `+33612345678` as Twilio wants it, with the `+` (§0); a missing `+` is added. `None` unless
/// the input is E.164 (an optional `+` then 7 to 15 digits, not starting with 0).
fn e164(number: &str) -> Option<String> {
    let digits = number.strip_prefix('+').unwrap_or(number);
    is_e164_digits(digits).then(|| format!("+{digits}"))
}

impl Provider for TwilioSms {
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

    /// Twilio signs its status callbacks with the Auth Token (§2.4): unsigned or foreign ones
    /// are refused before anything is read.
    fn reports(&self, callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
        read_reports(callback, self.auth_token.as_ref(), &self.account_sid)
    }

    fn inbound(&self, callback: &Callback<'_>) -> Result<Vec<crate::Inbound>, CallbackError> {
        super::status::read_inbound(callback, self.auth_token.as_ref(), &self.account_sid)
    }

    /// Twilio sends the reply itself, from the number the citizen texted, when the webhook's
    /// answer holds it as TwiML.
    fn answer_inbound(&self, reply: &str) -> Option<(&'static str, String)> {
        Some(("text/xml", super::status::twiml_reply(reply)))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn numbers_keep_or_gain_the_plus() {
        assert_eq!(e164("+33612345678").as_deref(), Some("+33612345678"));
        assert_eq!(e164("262692123456").as_deref(), Some("+262692123456"));
        for bad in [
            "0612345678",
            "+33 6 12 34 56 78",
            "+",
            "+123456",
            "+1234567890123456",
            "whatsapp:+33612345678",
            "",
        ] {
            assert_eq!(e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn validity_is_whole_seconds_within_twilio_s_bounds() {
        assert_eq!(validity_period_s(Duration::from_millis(1500)), 1);
        assert_eq!(validity_period_s(Duration::from_millis(200)), 1);
        assert_eq!(validity_period_s(Duration::ZERO), 1);
        assert_eq!(validity_period_s(Duration::from_secs(600)), 600);
        assert_eq!(validity_period_s(Duration::from_secs(36_000)), 36_000);
        assert_eq!(validity_period_s(Duration::from_secs(86_400)), 36_000);
        assert_eq!(validity_period_s(Duration::MAX), 36_000);
    }
}
