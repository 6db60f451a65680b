//! Configuration of the smsmode adapter, and its validation.

use crate::http::MAX_TIMEOUT_MS;
use std::{fmt, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::ConfigError;

/// `[sms.smsmode]`: how to reach smsmode and what to send with every message.
///
/// `Debug` shows neither the key nor the callback URL (its path holds the token that
/// authenticates smsmode's callbacks).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsmodeConfig {
    /// API key of an smsmode **SMS channel**, sent as `X-Api-Key`. Required, no default; never
    /// printed. Prefer a TRANSACTIONAL channel: marketing channels get STOP and hour rules.
    pub api_key: SecretString,
    /// Root of the REST API, without `/sms/v1`. Default `https://rest.smsmode.com`. Tests point
    /// it at a stand-in; a path prefix is kept (`http://host/prefix` → `/prefix/sms/v1/…`).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Sender shown on handsets (`from`): an alphanumeric OADC of 3–11 letters or digits, not
    /// all digits, not a generic word such as `ALERTE` (sms-encoding.md §5.1). Default: none,
    /// so smsmode uses the channel's default sender.
    #[serde(default)]
    pub sender: Option<String>,
    /// Absolute `http(s)` URL where smsmode POSTs delivery-status callbacks
    /// (`callbackUrlStatus`). It should carry an unguessable token, since smsmode does not sign
    /// callbacks (sms-providers.md §0). Default: none (no receipts).
    #[serde(default)]
    pub status_callback_url: Option<String>,
    /// Whole-request timeout (connect, send, response), in milliseconds. Default 10000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Most requests in flight at once from this process, and the size of the kept-alive
    /// connection pool. Default 32.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

pub fn default_base_url() -> String {
    "https://rest.smsmode.com".to_owned()
}

pub const fn default_timeout_ms() -> u64 {
    10_000
}

pub const fn default_max_connections() -> usize {
    32
}

impl SmsmodeConfig {
    /// A configuration with every default and the given key; handy for tests and the demo.
    pub fn new(api_key: impl Into<String>) -> Self {
        SmsmodeConfig {
            api_key: SecretString::from(api_key.into()),
            base_url: default_base_url(),
            sender: None,
            status_callback_url: None,
            timeout_ms: default_timeout_ms(),
            max_connections: default_max_connections(),
        }
    }

    pub fn validate(self) -> Result<ValidatedSmsmodeConfig, ConfigError> {
        let key = self.api_key.expose_secret();
        // The key goes into a header: visible ASCII only. The message never echoes the key.
        if key.trim().is_empty() {
            return Err(ConfigError::new("api_key", "must not be empty"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                "api_key",
                "must be printable ASCII without spaces (check for a stray newline)",
            ));
        }

        let messages_url = messages_url(&self.base_url)?;

        let sender = match self.sender {
            Some(sender) => Some(validate_sender(sender)?),
            None => None,
        };

        let status_callback_url = match self.status_callback_url {
            Some(raw) => {
                let url = Url::parse(&raw).map_err(|e| {
                    ConfigError::new("status_callback_url", format!("not an absolute URL: {e}"))
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(ConfigError::new(
                        "status_callback_url",
                        "must be an http(s) URL with a host",
                    ));
                }
                Some(url.to_string())
            }
            None => None,
        };

        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(ConfigError::new(
                "timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS} milliseconds"),
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new("max_connections", "must be at least 1"));
        }

        Ok(ValidatedSmsmodeConfig {
            api_key: self.api_key,
            messages_url,
            sender,
            status_callback_url,
            timeout: Duration::from_millis(self.timeout_ms),
            max_connections: self.max_connections,
        })
    }
}

/// `{base_url}/sms/v1/messages`, keeping any path prefix of the base.
fn messages_url(base_url: &str) -> Result<Url, ConfigError> {
    crate::http::api_root(base_url, "api_key")?
        .join("sms/v1/messages")
        .map_err(|e| ConfigError::new("base_url", format!("cannot append the API path: {e}")))
}

fn validate_sender(sender: String) -> Result<String, ConfigError> {
    crate::sms::check_sender(&sender).map_err(|problem| ConfigError::new("sender", problem))?;
    Ok(sender)
}

/// A [`SmsmodeConfig`] that passed [`SmsmodeConfig::validate`].
#[derive(Clone)]
pub struct ValidatedSmsmodeConfig {
    pub(crate) api_key: SecretString,
    pub(crate) messages_url: Url,
    pub(crate) sender: Option<String>,
    pub(crate) status_callback_url: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: usize,
}

/// `[set]` or `None`, never the value.
fn presence<T>(value: &Option<T>) -> Option<&'static str> {
    value.as_ref().map(|_| "[set]")
}

impl fmt::Debug for SmsmodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsmodeConfig")
            .field("api_key", &"[REDACTED]")
            .field("base_url", &self.base_url)
            .field("sender", &self.sender)
            .field("status_callback_url", &presence(&self.status_callback_url))
            .field("timeout_ms", &self.timeout_ms)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl fmt::Debug for ValidatedSmsmodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedSmsmodeConfig")
            .field("api_key", &"[REDACTED]")
            .field("messages_url", &self.messages_url.as_str())
            .field("sender", &self.sender)
            .field("status_callback_url", &presence(&self.status_callback_url))
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut SmsmodeConfig)) -> Result<ValidatedSmsmodeConfig, ConfigError> {
        let mut config = SmsmodeConfig::new("AbCdEf0123456789");
        f(&mut config);
        config.validate()
    }

    fn field_at_fault(f: impl FnOnce(&mut SmsmodeConfig)) -> &'static str {
        with(f).expect_err("should be refused").field
    }

    #[test]
    fn defaults_from_a_minimal_section() {
        let config: SmsmodeConfig = serde_json::from_str(r#"{"api_key":"k3y"}"#).unwrap();
        assert_eq!(config.base_url, "https://rest.smsmode.com");
        assert_eq!(config.timeout_ms, 10_000);
        assert_eq!(config.max_connections, 32);
        assert_eq!(config.sender, None);
        let valid = config.validate().unwrap();
        assert_eq!(
            valid.messages_url.as_str(),
            "https://rest.smsmode.com/sms/v1/messages"
        );
        assert_eq!(valid.timeout, Duration::from_secs(10));
    }

    #[test]
    fn the_callback_token_is_never_printed() {
        let valid = with(|c| c.status_callback_url = Some("https://t.example/cb/s3cr3t".into()));
        assert!(!format!("{:?}", valid.unwrap()).contains("s3cr3t"));
    }

    #[test]
    fn the_key_is_required_and_never_printed() {
        assert!(serde_json::from_str::<SmsmodeConfig>("{}").is_err());
        let config = SmsmodeConfig::new("sup3r-s3cret");
        assert!(!format!("{config:?}").contains("sup3r-s3cret"));
        assert!(!format!("{:?}", config.validate().unwrap()).contains("sup3r-s3cret"));
    }

    #[test]
    fn bad_keys_name_api_key_without_echoing_it() {
        let err = with(|c| c.api_key = SecretString::from("abc\n")).unwrap_err();
        assert_eq!(err.field, "api_key");
        assert!(!err.to_string().contains("abc"));
        assert_eq!(
            field_at_fault(|c| c.api_key = SecretString::from("  ")),
            "api_key"
        );
    }

    #[test]
    fn base_url_keeps_a_path_prefix() {
        let valid = with(|c| c.base_url = "http://127.0.0.1:8080/smsmode".into()).unwrap();
        assert_eq!(
            valid.messages_url.as_str(),
            "http://127.0.0.1:8080/smsmode/sms/v1/messages"
        );
        let valid = with(|c| c.base_url = "http://127.0.0.1:8080/".into()).unwrap();
        assert_eq!(
            valid.messages_url.as_str(),
            "http://127.0.0.1:8080/sms/v1/messages"
        );
    }

    #[test]
    fn bad_base_urls_name_base_url() {
        for bad in [
            "rest.smsmode.com",
            "ftp://rest.smsmode.com",
            "https://x/?a=1",
            "https://u:p@x",
        ] {
            assert_eq!(
                field_at_fault(|c| c.base_url = bad.into()),
                "base_url",
                "{bad}"
            );
        }
    }

    #[test]
    fn senders_follow_french_oadc_rules() {
        for good in ["VilleDeX", "Mairie2", "ABC", "MairieXyz12"] {
            assert!(with(|c| c.sender = Some(good.into())).is_ok(), "{good}");
        }
        for bad in [
            "AB",
            "MairieXyz123",
            "Ville X",
            "Mairié",
            "Ville-X",
            "36034",
            "ALERTE",
            "rdv",
        ] {
            assert_eq!(
                field_at_fault(|c| c.sender = Some(bad.into())),
                "sender",
                "{bad}"
            );
        }
    }

    #[test]
    fn callback_must_be_absolute_http() {
        let ok = with(|c| c.status_callback_url = Some("https://t.example/cb/smsmode/x".into()));
        assert!(ok.is_ok());
        for bad in ["/cb/smsmode", "mailto:a@b.c"] {
            let field = field_at_fault(|c| c.status_callback_url = Some(bad.into()));
            assert_eq!(field, "status_callback_url");
        }
    }

    #[test]
    fn limits_must_be_positive() {
        assert_eq!(field_at_fault(|c| c.timeout_ms = 0), "timeout_ms");
        assert_eq!(field_at_fault(|c| c.timeout_ms = 10_000_000), "timeout_ms");
        assert_eq!(field_at_fault(|c| c.max_connections = 0), "max_connections");
    }
}
