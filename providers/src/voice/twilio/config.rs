//! `[voice.twilio]`: the account, how to authenticate, and the number calls present.

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::{
    ConfigError,
    sms::twilio::{TwilioConfig, ValidatedTwilioConfig, config as sms_config},
    voice::{caller_id_warnings, check_caller_id},
};

/// `Debug` shows no secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioVoiceConfig {
    /// The Account SID, `AC` + 32 hex digits.
    pub account_sid: String,
    /// The Auth Token: what Twilio signs its requests with (required: the TwiML fetch and the
    /// key pressed are only believed signed), and what the adapter sends with unless an API key
    /// is given.
    pub auth_token: Option<SecretString>,
    #[serde(default)]
    pub api_key_sid: Option<String>,
    #[serde(default)]
    pub api_key_secret: Option<SecretString>,
    /// The number calls present (`From`), E.164, one of the account's. Not a 06/07 mobile; a
    /// geographic 01–05 number only with `caller_id_verified`.
    pub caller_id: String,
    /// The 01–05 `caller_id` is a verified multi-use number (NPV), as ARCEP requires.
    #[serde(default)]
    pub caller_id_verified: bool,
    /// Communes may present their own number (`tenant update --voice-caller-id`), when the
    /// account owns it.
    #[serde(default)]
    pub communes_may_present_their_own: bool,
    /// Seconds a call rings before it counts as not answered (`Timeout`, 5–600). Default 30.
    #[serde(default = "default_ring_s")]
    pub ring_timeout_s: u32,
    /// Answering-machine detection waiting for the end of the greeting (`MachineDetection=
    /// DetectMessageEnd`), so that a machine records the whole message. Default true.
    #[serde(default = "yes")]
    pub machine_detection: bool,
    #[serde(default = "sms_config::default_base_url")]
    pub base_url: String,
    #[serde(default = "sms_config::default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "sms_config::default_max_connections")]
    pub max_connections: usize,
}

fn default_ring_s() -> u32 {
    30
}

fn yes() -> bool {
    true
}

/// A [`TwilioVoiceConfig`] that passed [`TwilioVoiceConfig::validate`].
#[derive(Clone)]
pub struct ValidatedTwilioVoiceConfig {
    pub(crate) account: ValidatedTwilioConfig,
    pub(crate) calls_url: Url,
    pub(crate) caller_id: String,
    pub(crate) communes_may_present_their_own: bool,
    pub(crate) ring_timeout_s: u32,
    pub(crate) machine_detection: bool,
}

impl TwilioVoiceConfig {
    /// Allowed but to be checked: a geographic 01–05 caller id not declared verified.
    pub fn warnings(&self) -> Vec<String> {
        caller_id_warnings(&self.caller_id, self.caller_id_verified)
    }

    pub fn validate(self) -> Result<ValidatedTwilioVoiceConfig, ConfigError> {
        if self.auth_token.is_none() {
            return Err(ConfigError::new(
                "auth_token",
                "is required for voice: Twilio signs the requests of a call with it",
            ));
        }
        check_caller_id(&self.caller_id)?;
        if !(5..=600).contains(&self.ring_timeout_s) {
            return Err(ConfigError::new(
                "ring_timeout_s",
                "must be between 5 and 600 seconds",
            ));
        }
        // The account part is the SMS adapter's, checked the same way.
        let account = TwilioConfig {
            account_sid: self.account_sid,
            auth_token: self.auth_token,
            api_key_sid: self.api_key_sid,
            api_key_secret: self.api_key_secret,
            from: Some(self.caller_id.clone()),
            messaging_service_sid: None,
            base_url: self.base_url,
            status_callback_url: None,
            validity_period_s: None,
            timeout_ms: self.timeout_ms,
            max_connections: self.max_connections,
        }
        .validate()
        .map_err(|e| match e.field {
            "from" => ConfigError::new("caller_id", e.problem),
            _ => e,
        })?;
        let calls_url = account
            .messages_url
            .join("Calls.json")
            .map_err(|e| ConfigError::new("base_url", e.to_string()))?;
        Ok(ValidatedTwilioVoiceConfig {
            account,
            calls_url,
            caller_id: self.caller_id,
            communes_may_present_their_own: self.communes_may_present_their_own,
            ring_timeout_s: self.ring_timeout_s,
            machine_detection: self.machine_detection,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(caller_id: &str) -> TwilioVoiceConfig {
        TwilioVoiceConfig {
            account_sid: format!("AC{}", "a".repeat(32)),
            auth_token: Some(SecretString::from("token".to_owned())),
            api_key_sid: None,
            api_key_secret: None,
            caller_id: caller_id.into(),
            caller_id_verified: false,
            communes_may_present_their_own: false,
            ring_timeout_s: 30,
            machine_detection: true,
            base_url: "http://127.0.0.1:9".into(),
            timeout_ms: 1000,
            max_connections: 4,
        }
    }

    #[test]
    fn the_presented_number_follows_the_french_rules() {
        let refused = |id: &str| config(id).validate().err().map(|e| e.field);
        assert_eq!(refused("+33612345678"), Some("caller_id"));
        assert_eq!(refused("MAIRIE"), Some("caller_id"));
        // A geographic number is allowed, with a warning until declared verified.
        assert_eq!(refused("+33329841234"), None);
        assert_eq!(config("+33329841234").warnings().len(), 1);
        let verified = TwilioVoiceConfig {
            caller_id_verified: true,
            ..config("+33329841234")
        };
        assert!(verified.warnings().is_empty());
        let config = config("+33937001234").validate().unwrap();
        assert!(
            config.calls_url.as_str().ends_with("/Calls.json"),
            "{}",
            config.calls_url
        );
    }
}
