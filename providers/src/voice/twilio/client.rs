//! Placing a call, and reading what Twilio sends during and after it.

use std::fmt;

use reqwest::header::HeaderValue;
use secrecy::SecretString;
use tokio::sync::Semaphore;
use url::{Url, form_urlencoded};

use super::config::ValidatedTwilioVoiceConfig;
use crate::{
    BoxFuture, Callback, CallbackError, ConfigError, Message, Outcome, Provider, Report,
    sms::twilio::{
        TwilioError,
        client::{connect, post_form},
        config::is_e164_digits,
    },
    voice::{CallEvent, CallScript},
};

/// Places calls through Twilio Programmable Voice. Cheap to share behind an `Arc`.
pub struct TwilioVoice {
    http: reqwest::Client,
    calls_url: Url,
    authorization: HeaderValue,
    account_sid: String,
    auth_token: Option<SecretString>,
    caller_id: String,
    communes_may_present_their_own: bool,
    ring_timeout_s: u32,
    machine_detection: bool,
    in_flight: Semaphore,
    max_connections: usize,
}

impl fmt::Debug for TwilioVoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioVoice")
            .field("calls_url", &self.calls_url.as_str())
            .field("caller_id", &self.caller_id)
            .field("ring_timeout_s", &self.ring_timeout_s)
            .field("machine_detection", &self.machine_detection)
            .finish_non_exhaustive()
    }
}

impl TwilioVoice {
    pub fn new(config: ValidatedTwilioVoiceConfig) -> Result<Self, ConfigError> {
        let (http, authorization) = connect(&config.account)?;
        Ok(TwilioVoice {
            http,
            calls_url: config.calls_url,
            authorization,
            account_sid: config.account.account_sid,
            auth_token: config.account.auth_token,
            caller_id: config.caller_id,
            communes_may_present_their_own: config.communes_may_present_their_own,
            ring_timeout_s: config.ring_timeout_s,
            machine_detection: config.machine_detection,
            in_flight: Semaphore::new(config.account.max_connections),
            max_connections: config.account.max_connections,
        })
    }

    /// Places one call; `Ok` holds the call's `sid` when the answer carried one.
    pub async fn place(&self, message: Message<'_>) -> Result<Option<String>, TwilioError> {
        let digits = message.to.strip_prefix('+').unwrap_or(message.to);
        if !is_e164_digits(digits) {
            return Err(TwilioError::InvalidRecipient);
        }
        let to = format!("+{digits}");
        let Some(script_url) = message.call_url else {
            // The dispatcher always gives one; without it Twilio would have nothing to say.
            return Err(TwilioError::Interrupted(
                "no URL for the call's script".into(),
            ));
        };
        let body = self.form(&to, script_url, message);
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore never closed");
        post_form(
            &self.http,
            (&self.calls_url, &self.authorization, body),
            &to,
        )
        .await
    }

    /// `POST …/Calls.json`: `To`, `From` (the commune's number where the account lets communes
    /// present their own), `Url` where Twilio fetches the TwiML once answered, status callbacks
    /// on answer and end, the ring timeout, and detection of answering machines that waits for
    /// the end of their greeting.
    fn form(&self, to: &str, script_url: &str, message: Message<'_>) -> String {
        let from = match message.sender {
            Some(own) if self.communes_may_present_their_own && own.starts_with('+') => own,
            _ => &self.caller_id,
        };
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", to);
        form.append_pair("From", from);
        form.append_pair("Url", script_url);
        form.append_pair("Method", "POST");
        if let Some(callback) = message.status_callback {
            form.append_pair("StatusCallback", callback);
            form.append_pair("StatusCallbackMethod", "POST");
            for event in ["answered", "completed"] {
                form.append_pair("StatusCallbackEvent", event);
            }
        }
        form.append_pair("Timeout", &self.ring_timeout_s.to_string());
        if self.machine_detection {
            form.append_pair("MachineDetection", "DetectMessageEnd");
        }
        form.finish()
    }
}

impl Provider for TwilioVoice {
    fn send<'a>(&'a self, message: Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.place(message).await {
                Ok(provider_message_id) => Outcome::Accepted {
                    provider_message_id,
                },
                Err(error) => Outcome::failed(error.retry_class(), error.to_string()),
            }
        })
    }

    fn endpoint(&self) -> Option<Url> {
        Some(self.calls_url.clone())
    }

    fn connections(&self) -> Option<usize> {
        Some(self.max_connections)
    }

    fn reports(&self, callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
        super::events::read_status(callback, self.auth_token.as_ref(), &self.account_sid)
    }

    fn call_event(&self, callback: &Callback<'_>) -> Result<CallEvent, CallbackError> {
        super::events::read_call_event(callback, self.auth_token.as_ref(), &self.account_sid)
    }

    fn call_document(
        &self,
        script: &CallScript,
        keypad_url: &str,
        answered_by_machine: bool,
    ) -> Option<(&'static str, String)> {
        Some((
            "text/xml",
            super::twiml::document(script, keypad_url, answered_by_machine),
        ))
    }

    fn call_keypad_answer(
        &self,
        script: &CallScript,
        acknowledged: bool,
        again_url: &str,
    ) -> Option<(&'static str, String)> {
        Some((
            "text/xml",
            super::twiml::after_keypad(script, acknowledged, again_url),
        ))
    }
}
