//! The OVH SMS client: signed `POST /sms/{serviceName}/jobs` calls with OVH's clock, one shared
//! connection pool, a cap on requests in flight, and the translation of each answer into an
//! [`Outcome`]. The same signed calls, without a body, fetch the citizens' SMS
//! ([`super::incoming`]).

use crate::http::error_chain;
use std::{fmt, future::Future, time::Duration};

use reqwest::{
    Method,
    header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;
use url::Url;

use super::{
    ValidatedOvhConfig,
    auth::{OvhClock, REFRESH_EVERY, Stamp, parse_time, signature},
    config::{MAX_VALIDITY_MINUTES, Sender},
    error::{ErrorBody, OvhError, clean_text, parse_retry_after},
};
use crate::sms::gsm7::is_gsm7;
use crate::{
    BoxFuture, Callback, CallbackError, ConfigError, HeldInbound, Message, Outcome, Provider,
    Report,
};

/// Longest `tag` we send. OVH documents no limit for this campaign tag (sms-providers.md
/// §3.2); Tocsin's references (`dlv_…`) are far shorter, so this only guards against a caller
/// passing something unexpected.
const MAX_TAG_CHARS: usize = 64;

/// Sends SMS through an OVHcloud SMS account. Cheap to share behind an `Arc`; every send reuses
/// the same pool and the same knowledge of OVH's clock.
pub struct OvhSms {
    http: reqwest::Client,
    jobs_url: Url,
    /// `{base}/sms/{serviceName}/incoming`: the citizens' SMS waiting at OVH (§3.5).
    incoming_url: Url,
    time_url: Url,
    /// Marked sensitive, so neither reqwest nor our `Debug` prints them.
    application_key: HeaderValue,
    consumer_key: HeaderValue,
    application_secret: SecretString,
    sender: Sender,
    validity_period_minutes: Option<u32>,
    clock: OvhClock,
    /// reqwest opens connections without bound under load; this caps requests in flight.
    in_flight: Semaphore,
    max_connections: usize,
}

impl fmt::Debug for OvhSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OvhSms")
            .field("jobs_url", &self.jobs_url.as_str())
            .field("application_key", &"[REDACTED]")
            .field("application_secret", &"[REDACTED]")
            .field("consumer_key", &"[REDACTED]")
            .field("sender", &self.sender)
            .field("validity_period_minutes", &self.validity_period_minutes)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The JSON body of `POST /sms/{serviceName}/jobs` (§3.2).
#[derive(Serialize)]
struct JobRequest<'a> {
    message: &'a str,
    /// One receiver per job, so that each id in the report (and each receipt) is one delivery.
    receivers: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<&'a str>,
    #[serde(rename = "senderForResponse", skip_serializing_if = "is_false")]
    sender_for_response: bool,
    /// Always true: public-interest alerts are not commercial, so OVH adds no STOP mention and
    /// does not hold them back at night (§3.2, §3.6; sms-encoding.md §5.2–5.3).
    #[serde(rename = "noStopClause")]
    no_stop_clause: bool,
    priority: &'static str,
    charset: &'static str,
    coding: &'static str,
    class: &'static str,
    #[serde(rename = "validityPeriod", skip_serializing_if = "Option::is_none")]
    validity_period: Option<u32>,
    #[serde(skip_serializing_if = "str::is_empty")]
    tag: &'a str,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `sms.SmsSendingReport` (§3.2); every field optional, since a 2xx already means the job was
/// taken.
#[derive(Deserialize)]
struct SendingReport {
    #[serde(default)]
    ids: Vec<Value>,
    #[serde(default, rename = "invalidReceivers")]
    invalid_receivers: Vec<String>,
}

impl OvhSms {
    pub fn new(config: ValidatedOvhConfig) -> Result<Self, ConfigError> {
        Self::with_clock_refresh(config, REFRESH_EVERY)
    }

    /// Like [`new`](Self::new), re-reading OVH's clock every `refresh_every` (tests).
    pub(crate) fn with_clock_refresh(
        config: ValidatedOvhConfig,
        refresh_every: Duration,
    ) -> Result<Self, ConfigError> {
        let header = |field: &'static str, value: &SecretString| {
            let mut value = HeaderValue::from_str(value.expose_secret())
                .map_err(|_| ConfigError::new(field, "is not a valid HTTP header value"))?;
            value.set_sensitive(true);
            Ok::<_, ConfigError>(value)
        };
        let application_key = header("application_key", &config.application_key)?;
        let consumer_key = header("consumer_key", &config.consumer_key)?;
        // `…/sms/{serviceName}/jobs` → `…/sms/{serviceName}/incoming`.
        let incoming_url = config.jobs_url.join("incoming").map_err(|e| {
            ConfigError::new("base_url", format!("cannot append the API path: {e}"))
        })?;

        let http = reqwest::Client::builder()
            // Keep-alive HTTP/1.1 connections, as many idle as we may have in flight.
            .http1_only()
            .pool_max_idle_per_host(config.max_connections)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirected POST is a misconfigured base_url, and its signature would not match.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new("base_url", format!("cannot build the HTTP client: {e}"))
            })?;

        Ok(OvhSms {
            http,
            jobs_url: config.jobs_url,
            incoming_url,
            time_url: config.time_url,
            application_key,
            consumer_key,
            application_secret: config.application_secret,
            sender: config.sender,
            validity_period_minutes: config.validity_period_minutes,
            clock: OvhClock::new(refresh_every),
            in_flight: Semaphore::new(config.max_connections),
            max_connections: config.max_connections,
        })
    }

    /// Sends one SMS; `Ok` holds OVH's id for it when the report carried one.
    pub async fn submit(&self, message: Message<'_>) -> Result<Option<String>, OvhError> {
        let to = e164(message.to).ok_or(OvhError::InvalidRecipient)?;
        let (sender, sender_for_response) = match (message.sender, &self.sender) {
            (Some(commune), _) => (Some(commune), false),
            (None, Sender::Declared(account)) => (Some(account.as_str()), false),
            (None, Sender::ShortCode) => (None, true),
            (None, Sender::AccountDefault) => (None, false),
        };
        let request = JobRequest {
            message: message.text,
            receivers: [to],
            sender,
            sender_for_response,
            no_stop_clause: true,
            priority: "high",
            charset: "UTF-8",
            coding: if is_gsm7(message.text) {
                "7bit"
            } else {
                "8bit"
            },
            class: "phoneDisplay",
            validity_period: message
                .validity
                .map(validity_minutes)
                .or(self.validity_period_minutes),
            tag: truncate(message.reference, MAX_TAG_CHARS),
        };
        // The exact bytes sent are the bytes signed.
        let body = serde_json::to_vec(&request).expect("a job request always serialises");

        // The semaphore is never closed, so acquire cannot fail.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore never closed");
        self.at_ovh_time(|stamp, resynced| self.post_job(&body, stamp, to, resynced))
            .await
    }

    /// Runs `attempt` (one signed request) with a timestamp in OVH's time. When OVH refuses it
    /// for its timestamp or signature, nothing was done: OVH's clock is read again and `attempt`
    /// runs once more, told so by its `bool`.
    async fn at_ovh_time<T, F, Fut>(&self, attempt: F) -> Result<T, OvhError>
    where
        F: Fn(Stamp, bool) -> Fut,
        Fut: Future<Output = Result<T, OvhError>>,
    {
        let stamp = self
            .clock
            .now(|| self.ovh_time())
            .await
            .map_err(OvhError::Clock)?;
        match attempt(stamp, false).await {
            Err(error) if error.needs_resync() => {
                tracing::warn!(%error, "OVH refused a signed request; reading its clock again");
                self.clock
                    .resync(stamp.generation, || self.ovh_time())
                    .await
                    .map_err(|e| {
                        OvhError::Clock(format!("after OVH refused the request ({error}): {e}"))
                    })?;
                let stamp = self
                    .clock
                    .now(|| self.ovh_time())
                    .await
                    .map_err(OvhError::Clock)?;
                attempt(stamp, true).await
            }
            other => other,
        }
    }

    /// Sends one request signed as OVH wants (§3.1): the `X-Ovh-*` headers, and the signature
    /// over the method, the full URL exactly as sent, the exact body bytes (none for GET and
    /// DELETE) and the timestamp.
    async fn signed(
        &self,
        method: Method,
        url: &Url,
        body: &[u8],
        stamp: Stamp,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let signature = signature(
            self.application_secret.expose_secret(),
            self.consumer_key.to_str().unwrap_or_default(),
            method.as_str(),
            url.as_str(),
            body,
            stamp.timestamp,
        );
        let mut request = self
            .http
            .request(method, url.clone())
            .header("X-Ovh-Application", self.application_key.clone())
            .header("X-Ovh-Consumer", self.consumer_key.clone())
            .header("X-Ovh-Timestamp", stamp.timestamp)
            .header("X-Ovh-Signature", signature)
            .header(ACCEPT, "application/json");
        if !body.is_empty() {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        request.send().await
    }

    /// One signed `POST …/jobs` with the given body.
    async fn post_job(
        &self,
        body: &[u8],
        stamp: Stamp,
        to: &str,
        resynced: bool,
    ) -> Result<Option<String>, OvhError> {
        let response = self
            .signed(Method::POST, &self.jobs_url, body, stamp)
            .await
            .map_err(|e| classify_transport_error(&e, to))?;
        if response.status().is_success() {
            return accepted(response, to).await;
        }
        Err(refused(response, to, resynced).await)
    }

    /// `{base}/sms/{serviceName}/incoming`.
    pub(super) fn incoming_url(&self) -> &Url {
        &self.incoming_url
    }

    /// A signed request without a body (`GET`, `DELETE`) to `url`, in turn for a permit, read
    /// again once at OVH's clock if refused for it; `Ok` holds the 2xx answer's body. Errors
    /// hold no phone number (any run of 8 digits or more in OVH's text is masked).
    pub(super) async fn call_without_body(
        &self,
        method: Method,
        url: &Url,
    ) -> Result<Vec<u8>, OvhError> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore never closed");
        self.at_ovh_time(|stamp, resynced| {
            let method = method.clone();
            async move {
                let response = self
                    .signed(method, url, b"", stamp)
                    .await
                    .map_err(|e| classify_transport_error(&e, ""))?;
                if !response.status().is_success() {
                    return Err(refused(response, "", resynced).await);
                }
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| classify_transport_error(&e, ""))?;
                Ok(body.to_vec())
            }
        })
        .await
    }

    /// `GET /auth/time`: OVH's Unix time, unauthenticated (§3.1). The problem, on failure, holds
    /// no secret (the URL has none, and it is left out anyway).
    async fn ovh_time(&self) -> Result<i64, String> {
        let response = self
            .http
            .get(self.time_url.clone())
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| error_chain(&e))?;
        if !status.is_success() {
            return Err(format!(
                "HTTP {}: {}",
                status.as_u16(),
                clean_text(&body, "")
            ));
        }
        parse_time(&body).ok_or_else(|| {
            format!(
                "not a Unix time: {:?}",
                body.chars().take(40).collect::<String>()
            )
        })
    }
}

/// Reads a 2xx answer. The 2xx itself means OVH took the job, so an unreadable report still
/// counts as accepted (without an id): resending would double the SMS.
async fn accepted(response: reqwest::Response, to: &str) -> Result<Option<String>, OvhError> {
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "OVH accepted a job but its answer was cut short");
            return Ok(None);
        }
    };
    let report: SendingReport = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!(error = %e, "OVH accepted a job with an unreadable sending report");
            return Ok(None);
        }
    };
    let id = report.ids.first().and_then(|id| match id {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    });
    // One receiver per job: listed as invalid, or any invalid receiver and no id, is ours.
    let listed = report
        .invalid_receivers
        .iter()
        .any(|r| r.trim_start_matches('+') == to.trim_start_matches('+'));
    if listed || (!report.invalid_receivers.is_empty() && id.is_none()) {
        return Err(OvhError::RefusedNumber);
    }
    if id.is_none() {
        tracing::warn!("OVH accepted a job without an id");
    }
    Ok(id)
}

/// A non-2xx answer as an error, `to` masked in what OVH says.
async fn refused(response: reqwest::Response, to: &str, resynced: bool) -> OvhError {
    let status = response.status();
    let retry_after = parse_retry_after(
        response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
    );
    // A body that cannot be read is like an empty one: the status still decides.
    let body = response.bytes().await.unwrap_or_default();
    OvhError::Http {
        status: status.as_u16(),
        body: ErrorBody::parse(&body, to),
        retry_after,
        resynced,
    }
}

/// A failure before any HTTP status: could the request have reached OVH (§0)?
fn classify_transport_error(error: &reqwest::Error, to: &str) -> OvhError {
    let chain = clean_text(&error_chain(error), to);
    if error.is_connect() {
        // Includes DNS failures, refused connections, TLS handshakes and connect timeouts:
        // nothing was written.
        OvhError::Unreachable(chain)
    } else if error.is_timeout() {
        OvhError::Timeout
    } else {
        OvhError::Interrupted(chain)
    }
}

/// `+33612345678` as is: OVH wants the international form with its `+` (§3.2: a local `06…`
/// fails). `None` unless the input is `+` then 7 to 15 digits, the first not 0.
fn e164(to: &str) -> Option<&str> {
    let digits = to.strip_prefix('+')?;
    let ok = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then_some(to)
}

/// A validity in whole minutes, rounded up (a part minute still counts), at least 1 and at most
/// OVH's 48 hours.
fn validity_minutes(validity: Duration) -> u32 {
    let minutes = validity.as_nanos().div_ceil(60_000_000_000);
    minutes.clamp(1, u128::from(MAX_VALIDITY_MINUTES)) as u32
}

/// The first `max` characters of `text`.
fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

impl Provider for OvhSms {
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

    fn endpoint(&self) -> Option<reqwest::Url> {
        Some(self.jobs_url.clone())
    }

    fn connections(&self) -> Option<usize> {
        Some(self.max_connections)
    }

    /// OVH does not sign its callbacks: the daemon checks the secret in their URL. Reports name
    /// OVH's id only, since the account's callback URL is the same for every message.
    fn reports(&self, callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
        super::receipt::read_report(callback)
    }

    /// OVH documents no push format for replies, only its pull API (§3.5): each SMS waiting at
    /// OVH is read, and deleted there once the daemon recorded it.
    fn fetch_inbound(&self) -> BoxFuture<'_, Result<Vec<HeldInbound>, String>> {
        Box::pin(self.fetch_incoming())
    }

    fn remove_inbound<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.remove_incoming(id))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn numbers_keep_their_plus_and_must_be_e164() {
        assert_eq!(e164("+33612345678"), Some("+33612345678"));
        assert_eq!(e164("+262692123456"), Some("+262692123456"));
        for bad in [
            "33612345678",
            "0612345678",
            "+33 6 12 34 56 78",
            "+0612345678",
            "+",
            "+123456",
            "+1234567890123456",
            "",
        ] {
            assert_eq!(e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn validity_is_rounded_up_to_whole_minutes_within_ovh_s_range() {
        for (validity, minutes) in [
            (Duration::ZERO, 1),
            (Duration::from_millis(1), 1),
            (Duration::from_secs(59), 1),
            (Duration::from_secs(60), 1),
            (Duration::from_millis(60_001), 2),
            (Duration::from_secs(61), 2),
            (Duration::from_secs(3600), 60),
            (Duration::from_secs(3 * 24 * 3600), 2880),
        ] {
            assert_eq!(validity_minutes(validity), minutes, "{validity:?}");
        }
    }

    #[test]
    fn tags_are_cut_on_characters() {
        assert_eq!(truncate("dlv_42", 64), "dlv_42");
        assert_eq!(truncate("ééé", 2), "éé");
        assert_eq!(truncate(&"r".repeat(100), 64).len(), 64);
    }

    #[test]
    fn body_has_the_documented_shape() {
        let request = JobRequest {
            message: "Crue",
            receivers: ["+33612345678"],
            sender: Some("VilleDeX"),
            sender_for_response: false,
            no_stop_clause: true,
            priority: "high",
            charset: "UTF-8",
            coding: "7bit",
            class: "phoneDisplay",
            validity_period: None,
            tag: "",
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"message":"Crue","receivers":["+33612345678"],
                "sender":"VilleDeX","noStopClause":true,"priority":"high","charset":"UTF-8",
                "coding":"7bit","class":"phoneDisplay"})
        );
    }
}
