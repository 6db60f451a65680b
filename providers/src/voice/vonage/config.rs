//! `[voice.vonage]`: the Vonage application, its keys, and the number calls present.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::{ConfigError, http::MAX_TIMEOUT_MS, voice::check_caller_id};

/// `Debug` shows no secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VonageConfig {
    /// The Voice application's id, which its JWTs name.
    pub application_id: String,
    /// The application's private key (PEM), which signs the JWT of each call.
    #[serde(default)]
    pub private_key: Option<SecretString>,
    /// Or the file holding it.
    #[serde(default)]
    pub private_key_file: Option<String>,
    /// The account's signature secret: what Vonage signs the events it sends with.
    pub signature_secret: SecretString,
    /// The number calls present, E.164.
    pub caller_id: String,
    #[serde(default)]
    pub caller_id_verified: bool,
    #[serde(default)]
    pub communes_may_present_their_own: bool,
    /// Seconds a call rings before it counts as not answered (`ringing_timer`, 1–120).
    #[serde(default = "default_ring_s")]
    pub ring_timeout_s: u32,
    /// Answering-machine detection (`machine_detection: continue`): a machine still gets the
    /// whole message. Default true.
    #[serde(default = "yes")]
    pub machine_detection: bool,
    /// Default `https://api.nexmo.com`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_ring_s() -> u32 {
    30
}

fn yes() -> bool {
    true
}

fn default_base_url() -> String {
    "https://api.nexmo.com".into()
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_max_connections() -> usize {
    16
}

/// A [`VonageConfig`] that passed [`VonageConfig::validate`].
#[derive(Clone)]
pub struct ValidatedVonageConfig {
    pub(crate) application_id: String,
    pub(crate) signing_key: jsonwebtoken::EncodingKey,
    pub(crate) signature_secret: SecretString,
    pub(crate) calls_url: Url,
    pub(crate) caller_id: String,
    pub(crate) communes_may_present_their_own: bool,
    pub(crate) ring_timeout_s: u32,
    pub(crate) machine_detection: bool,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: usize,
}

impl VonageConfig {
    pub fn validate(self) -> Result<ValidatedVonageConfig, ConfigError> {
        if self.application_id.trim().is_empty() {
            return Err(ConfigError::new("application_id", "must not be empty"));
        }
        let pem = match (&self.private_key, &self.private_key_file) {
            (Some(pem), None) => pem.expose_secret().to_owned(),
            (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
                ConfigError::new("private_key_file", format!("cannot be read: {e}"))
            })?,
            _ => {
                return Err(ConfigError::new(
                    "private_key",
                    "set private_key (PEM) or private_key_file, one of the two",
                ));
            }
        };
        let signing_key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| ConfigError::new("private_key", "is not an RSA private key in PEM"))?;
        if self.signature_secret.expose_secret().trim().is_empty() {
            return Err(ConfigError::new("signature_secret", "must not be empty"));
        }
        check_caller_id(&self.caller_id)?;
        if !(1..=120).contains(&self.ring_timeout_s) {
            return Err(ConfigError::new(
                "ring_timeout_s",
                "must be between 1 and 120 seconds",
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(ConfigError::new(
                "timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS} milliseconds"),
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new("max_connections", "must be at least 1"));
        }
        let calls_url = crate::http::api_root(&self.base_url, "application_id")?
            .join("v1/calls")
            .map_err(|e| ConfigError::new("base_url", e.to_string()))?;
        Ok(ValidatedVonageConfig {
            application_id: self.application_id,
            signing_key,
            signature_secret: self.signature_secret,
            calls_url,
            caller_id: self.caller_id,
            communes_may_present_their_own: self.communes_may_present_their_own,
            ring_timeout_s: self.ring_timeout_s,
            machine_detection: self.machine_detection,
            timeout: Duration::from_millis(self.timeout_ms),
            max_connections: self.max_connections,
        })
    }
}
