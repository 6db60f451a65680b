//! Placing a call with its NCCO, and reading what Vonage posts during and after it.

use std::fmt;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::config::ValidatedVonageConfig;
use crate::{
    BoxFuture, Callback, CallbackError, ConfigError, Message, Outcome, Provider, Report,
    RetryClass,
    http::{error_chain, parse_retry_after},
    voice::{CallEvent, CallScript},
};

/// How long a call's JWT is good for: it is made for one request.
const TOKEN_SECONDS: i64 = 300;

/// Places calls through the Vonage Voice API. Cheap to share behind an `Arc`.
pub struct VonageVoice {
    http: reqwest::Client,
    config: ValidatedVonageConfig,
    in_flight: Semaphore,
}

impl fmt::Debug for VonageVoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VonageVoice")
            .field("calls_url", &self.config.calls_url.as_str())
            .field("application_id", &self.config.application_id)
            .field("caller_id", &self.config.caller_id)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct CallClaims<'a> {
    application_id: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

impl VonageVoice {
    pub fn new(config: ValidatedVonageConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new("base_url", format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(VonageVoice {
            http,
            in_flight: Semaphore::new(config.max_connections),
            config,
        })
    }

    /// The JWT of one request (RS256, the application's key).
    fn token(&self) -> Result<String, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let claims = CallClaims {
            application_id: &self.config.application_id,
            iat: now,
            exp: now + TOKEN_SECONDS,
            jti: hex::encode(rand::random::<[u8; 16]>()),
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jsonwebtoken::encode(&header, &claims, &self.config.signing_key)
            .map_err(|e| format!("the call's token could not be signed: {e}"))
    }

    /// The call: to, from (the commune's number where the account allows it), the NCCO (the
    /// script the callee may interrupt with a key, then one key posted to Tocsin), where its
    /// events go, how long it rings, and detection of answering machines that still hear the
    /// message.
    fn body(&self, to: &str, message: &Message<'_>, keypad_url: &str) -> Value {
        let from = match message.sender {
            Some(own) if self.config.communes_may_present_their_own && own.starts_with('+') => own,
            _ => &self.config.caller_id,
        };
        let mut body = json!({
            "to": [{ "type": "phone", "number": to }],
            "from": { "type": "phone", "number": from.trim_start_matches('+') },
            "ncco": [
                { "action": "talk", "text": message.text, "language": "fr-FR", "bargeIn": true },
                { "action": "input", "type": ["dtmf"],
                  "dtmf": { "maxDigits": 1, "timeOut": 5 },
                  "eventUrl": [keypad_url], "eventMethod": "POST" },
            ],
            "ringing_timer": self.config.ring_timeout_s,
        });
        if let Some(events) = message.status_callback {
            body["event_url"] = json!([events]);
            body["event_method"] = json!("POST");
        }
        if self.config.machine_detection {
            body["machine_detection"] = json!("continue");
        }
        body
    }

    pub async fn place(&self, message: Message<'_>) -> Outcome {
        let to = message.to.trim_start_matches('+');
        if !(7..=15).contains(&to.len()) || !to.bytes().all(|b| b.is_ascii_digit()) {
            return Outcome::failed(RetryClass::Permanent, "recipient is not an E.164 number");
        }
        let Some(script_url) = message.call_url else {
            return Outcome::failed(RetryClass::Permanent, "no URL for the call's key press");
        };
        let keypad_url = format!("{script_url}/keypad");
        let token = match self.token() {
            Ok(token) => token,
            Err(reason) => return Outcome::failed(RetryClass::Permanent, reason),
        };
        let body = self.body(to, &message, &keypad_url);
        let _permit = self.in_flight.acquire().await.expect("never closed");
        let response = self
            .http
            .post(self.config.calls_url.clone())
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return Outcome::failed(
                    RetryClass::Transient { retry_after: None },
                    format!("vonage unreachable, not called: {}", error_chain(&e)),
                );
            }
            Err(e) => {
                return Outcome::failed(
                    RetryClass::Uncertain,
                    format!("vonage did not answer in time: {}", error_chain(&e)),
                );
            }
        };
        let status = response.status();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Outcome::Accepted {
                provider_message_id: answer["uuid"].as_str().map(str::to_owned),
            };
        }
        let detail = problem(&answer);
        let class = match status.as_u16() {
            429 => RetryClass::RateLimited { retry_after },
            500 | 502 | 504 => RetryClass::Uncertain,
            503 => RetryClass::Transient { retry_after },
            _ => RetryClass::Permanent,
        };
        Outcome::failed(class, format!("vonage answered {status}: {detail}"))
    }
}

/// What an error body says (`title`, `detail`, the invalid parameters' names and reasons),
/// bounded: never the recipient's number, which Vonage does not echo.
fn problem(answer: &Value) -> String {
    let mut parts: Vec<String> = ["title", "detail"]
        .iter()
        .filter_map(|k| answer[*k].as_str().map(str::to_owned))
        .collect();
    for invalid in answer["invalid_parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        parts.push(format!(
            "{}: {}",
            invalid["name"].as_str().unwrap_or("?"),
            invalid["reason"].as_str().unwrap_or("?")
        ));
    }
    let text = parts.join("; ");
    text.chars().take(300).collect()
}

impl Provider for VonageVoice {
    fn send<'a>(&'a self, message: Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(self.place(message))
    }

    fn endpoint(&self) -> Option<url::Url> {
        Some(self.config.calls_url.clone())
    }

    fn connections(&self) -> Option<usize> {
        Some(self.config.max_connections)
    }

    fn reports(&self, callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
        super::events::read_status(callback, &self.config.signature_secret)
    }

    fn call_event(&self, callback: &Callback<'_>) -> Result<CallEvent, CallbackError> {
        super::events::read_input(callback, &self.config.signature_secret)
    }

    /// Vonage takes the NCCO with the call: nothing to serve when it is answered.
    fn call_document(&self, _: &CallScript, _: &str, _: bool) -> Option<(&'static str, String)> {
        None
    }

    fn call_keypad_answer(
        &self,
        script: &CallScript,
        acknowledged: bool,
        again_url: &str,
    ) -> Option<(&'static str, String)> {
        let talk =
            |text: &str| json!({ "action": "talk", "text": text, "language": script.language });
        let ncco = if acknowledged {
            json!([talk(&script.thanks)])
        } else {
            json!([
                { "action": "talk", "text": format!("{} {}", script.message, script.prompt),
                  "language": script.language, "bargeIn": true },
                { "action": "input", "type": ["dtmf"], "dtmf": { "maxDigits": 1, "timeOut": 5 },
                  "eventUrl": [format!("{again_url}/keypad")], "eventMethod": "POST" },
                talk(&script.closing),
            ])
        };
        Some(("application/json", ncco.to_string()))
    }
}
