//! Configuration of the Twilio adapter, and its validation.

use crate::http::MAX_TIMEOUT_MS;
use std::{fmt, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::ConfigError;

/// `[sms.twilio]`: which Twilio account to use, how to authenticate, and what to send with every
/// message (sms-providers.md §2.1).
///
/// `Debug` shows no secret (auth token, API key secret) and not the callback URL, whose path may
/// hold a token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// The Account SID, `AC` + 32 hex digits: the account in the API path. Required.
    pub account_sid: String,
    /// The account's Auth Token. Used to send when no API key is given, and the only key Twilio
    /// signs its callbacks with (`X-Twilio-Signature`, §2.4). Never printed.
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// An API Key SID, `SK` + 32 hex digits. With `api_key_secret`, what the adapter sends with
    /// (Twilio's recommendation), in preference to `auth_token`.
    #[serde(default)]
    pub api_key_sid: Option<String>,
    /// The secret of `api_key_sid`. Never printed.
    #[serde(default)]
    pub api_key_secret: Option<SecretString>,
    /// Sender (`From`): a Twilio number in E.164 (`+33757000000`) or an alphanumeric sender id of
    /// 3–11 letters or digits, not all digits, not a generic word such as `ALERTE`. Exactly one
    /// of `from` and `messaging_service_sid`.
    #[serde(default)]
    pub from: Option<String>,
    /// A Messaging Service (`MG` + 32 hex digits) whose sender pool Twilio picks from; the
    /// choice for mass alerts (§2.6). Exactly one of `from` and `messaging_service_sid`.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Root of the API, without `/2010-04-01`. Default `https://api.twilio.com`. Tests point it
    /// at a stand-in; a path prefix is kept (`http://host/prefix` → `/prefix/2010-04-01/…`).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Absolute `http(s)` URL where Twilio POSTs status callbacks (`StatusCallback`); its host
    /// must not contain underscores (§2.1). Default: none (the Messaging Service's, if any).
    #[serde(default)]
    pub status_callback_url: Option<String>,
    /// Seconds a message may wait in Twilio's queue before Twilio gives up on it
    /// (`ValidityPeriod`, 1–36000), when the message itself does not say. Default: none, so
    /// Twilio's own default (36000, ten hours) applies.
    #[serde(default)]
    pub validity_period_s: Option<u32>,
    /// Whole-request timeout (connect, send, response), in milliseconds. Default 10000, at most
    /// 120000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Most requests in flight at once from this process, and the size of the kept-alive
    /// connection pool. Default 32. Keep it under the account's REST concurrency limit (§2.2,
    /// error 20429).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

pub fn default_base_url() -> String {
    "https://api.twilio.com".to_owned()
}

pub const fn default_timeout_ms() -> u64 {
    10_000
}

pub const fn default_max_connections() -> usize {
    32
}

/// Twilio's bounds for `ValidityPeriod`, in seconds (§2.1).
pub(crate) const MAX_VALIDITY_PERIOD_S: u32 = 36_000;

impl TwilioConfig {
    /// A configuration with every default, authenticating with the Auth Token and sending from
    /// `from`; handy for tests and the demo.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        from: impl Into<String>,
    ) -> Self {
        TwilioConfig {
            account_sid: account_sid.into(),
            auth_token: Some(SecretString::from(auth_token.into())),
            api_key_sid: None,
            api_key_secret: None,
            from: Some(from.into()),
            messaging_service_sid: None,
            base_url: default_base_url(),
            status_callback_url: None,
            validity_period_s: None,
            timeout_ms: default_timeout_ms(),
            max_connections: default_max_connections(),
        }
    }

    pub fn validate(self) -> Result<ValidatedTwilioConfig, ConfigError> {
        if !is_sid(&self.account_sid, "AC") {
            return Err(ConfigError::new(
                "account_sid",
                "must be \"AC\" followed by 32 hexadecimal digits",
            ));
        }

        if let Some(token) = &self.auth_token {
            check_secret("auth_token", token)?;
        }
        let api_key = match (self.api_key_sid, self.api_key_secret) {
            (Some(sid), Some(secret)) => {
                if !is_sid(&sid, "SK") {
                    return Err(ConfigError::new(
                        "api_key_sid",
                        "must be \"SK\" followed by 32 hexadecimal digits",
                    ));
                }
                check_secret("api_key_secret", &secret)?;
                Some((sid, secret))
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "api_key_secret",
                    "is required with api_key_sid",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "api_key_sid",
                    "is required with api_key_secret",
                ));
            }
            (None, None) => None,
        };
        let credentials = match (api_key, &self.auth_token) {
            (Some((sid, secret)), _) => Credentials::ApiKey { sid, secret },
            (None, Some(token)) => Credentials::AuthToken(token.clone()),
            (None, None) => {
                return Err(ConfigError::new(
                    "auth_token",
                    "set auth_token, or api_key_sid and api_key_secret",
                ));
            }
        };

        let sender = match (self.from, self.messaging_service_sid) {
            (Some(from), None) => Sender::From(validate_from(from)?),
            (None, Some(service)) => {
                if !is_sid(&service, "MG") {
                    return Err(ConfigError::new(
                        "messaging_service_sid",
                        "must be \"MG\" followed by 32 hexadecimal digits",
                    ));
                }
                Sender::MessagingService(service)
            }
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "from",
                    "set either from or messaging_service_sid, not both",
                ));
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "from",
                    "set from (a Twilio number or sender id) or messaging_service_sid",
                ));
            }
        };

        let messages_url = messages_url(&self.base_url, &self.account_sid)?;

        let status_callback_url = match self.status_callback_url {
            Some(raw) => Some(validate_callback_url(&raw)?),
            None => None,
        };

        if let Some(seconds) = self.validity_period_s
            && !(1..=MAX_VALIDITY_PERIOD_S).contains(&seconds)
        {
            return Err(ConfigError::new(
                "validity_period_s",
                format!("must be between 1 and {MAX_VALIDITY_PERIOD_S} seconds"),
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

        Ok(ValidatedTwilioConfig {
            account_sid: self.account_sid,
            credentials,
            auth_token: self.auth_token,
            sender,
            messages_url,
            status_callback_url,
            validity_period_s: self.validity_period_s,
            timeout: Duration::from_millis(self.timeout_ms),
            max_connections: self.max_connections,
        })
    }
}

/// `AC…`, `SK…`, `MG…`: the two-letter prefix then 32 hex digits (§2.1).
pub(crate) fn is_sid(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Secrets go into a Basic-auth header or an HMAC key: visible ASCII only. The problem never
/// echoes the secret.
fn check_secret(field: &'static str, secret: &SecretString) -> Result<(), ConfigError> {
    let secret = secret.expose_secret();
    if secret.trim().is_empty() {
        return Err(ConfigError::new(field, "must not be empty"));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            field,
            "must be printable ASCII without spaces (check for a stray newline)",
        ));
    }
    Ok(())
}

/// A Twilio number in E.164, or an alphanumeric sender id by the French operators' rules.
fn validate_from(from: String) -> Result<String, ConfigError> {
    if let Some(digits) = from.strip_prefix('+') {
        if !is_e164_digits(digits) {
            return Err(ConfigError::new(
                "from",
                "a number must be E.164: \"+\" then 7 to 15 digits, no spaces",
            ));
        }
        return Ok(from);
    }
    crate::sms::check_sender(&from).map_err(|problem| ConfigError::new("from", problem))?;
    Ok(from)
}

/// The digits of an E.164 number after the `+`: 7 to 15 of them, not starting with 0.
pub(crate) fn is_e164_digits(digits: &str) -> bool {
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// An absolute http(s) URL whose host has no underscore (Twilio refuses those, §2.1).
fn validate_callback_url(raw: &str) -> Result<String, ConfigError> {
    let url = Url::parse(raw).map_err(|e| {
        ConfigError::new("status_callback_url", format!("not an absolute URL: {e}"))
    })?;
    let Some(host) = url.host_str() else {
        return Err(ConfigError::new(
            "status_callback_url",
            "must be an http(s) URL with a host",
        ));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            "status_callback_url",
            "must be an http(s) URL with a host",
        ));
    }
    if host.contains('_') {
        return Err(ConfigError::new(
            "status_callback_url",
            "Twilio refuses host names with underscores",
        ));
    }
    Ok(url.to_string())
}

/// `{base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, keeping any path prefix of the
/// base.
fn messages_url(base_url: &str, account_sid: &str) -> Result<Url, ConfigError> {
    // The SID was checked (letters and digits only), so it needs no escaping.
    crate::http::api_root(base_url, "auth_token or api_key_sid")?
        .join(&format!("2010-04-01/Accounts/{account_sid}/Messages.json"))
        .map_err(|e| ConfigError::new("base_url", format!("cannot append the API path: {e}")))
}

/// How the adapter authenticates its sends (HTTP Basic, §2.1).
#[derive(Clone)]
pub(crate) enum Credentials {
    /// Username the API Key SID, password its secret.
    ApiKey { sid: String, secret: SecretString },
    /// Username the Account SID, password the Auth Token.
    AuthToken(SecretString),
}

/// Who the message comes from: exactly one of `From` and `MessagingServiceSid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sender {
    From(String),
    MessagingService(String),
}

/// A [`TwilioConfig`] that passed [`TwilioConfig::validate`].
#[derive(Clone)]
pub struct ValidatedTwilioConfig {
    pub(crate) account_sid: String,
    pub(crate) credentials: Credentials,
    pub(crate) auth_token: Option<SecretString>,
    pub(crate) sender: Sender,
    pub(crate) messages_url: Url,
    pub(crate) status_callback_url: Option<String>,
    pub(crate) validity_period_s: Option<u32>,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: usize,
}

impl ValidatedTwilioConfig {
    /// The account whose callbacks this is: callbacks carry it as `AccountSid`.
    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    /// The key Twilio signs this account's callbacks with (§2.4), when configured: API keys do
    /// not sign callbacks.
    pub fn auth_token(&self) -> Option<&SecretString> {
        self.auth_token.as_ref()
    }
}

/// `[set]` or `None`, never the value.
fn presence<T>(value: &Option<T>) -> Option<&'static str> {
    value.as_ref().map(|_| "[set]")
}

/// `[REDACTED]` or `None`, never the value.
fn redacted<T>(value: &Option<T>) -> Option<&'static str> {
    value.as_ref().map(|_| "[REDACTED]")
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &redacted(&self.auth_token))
            .field("api_key_sid", &self.api_key_sid)
            .field("api_key_secret", &redacted(&self.api_key_secret))
            .field("from", &self.from)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("base_url", &self.base_url)
            .field("status_callback_url", &presence(&self.status_callback_url))
            .field("validity_period_s", &self.validity_period_s)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiKey { sid, .. } => f
                .debug_struct("ApiKey")
                .field("sid", sid)
                .field("secret", &"[REDACTED]")
                .finish(),
            Credentials::AuthToken(_) => f.debug_tuple("AuthToken").field(&"[REDACTED]").finish(),
        }
    }
}

impl fmt::Debug for ValidatedTwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedTwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("credentials", &self.credentials)
            .field("auth_token", &redacted(&self.auth_token))
            .field("sender", &self.sender)
            .field("messages_url", &self.messages_url.as_str())
            .field("status_callback_url", &presence(&self.status_callback_url))
            .field("validity_period_s", &self.validity_period_s)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
    const KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";
    const SERVICE: &str = "MG0123456789ABCDEF0123456789ABCDEF";

    fn with(f: impl FnOnce(&mut TwilioConfig)) -> Result<ValidatedTwilioConfig, ConfigError> {
        let mut config = TwilioConfig::new(SID, TOKEN, "VilleDeX");
        f(&mut config);
        config.validate()
    }

    fn field_at_fault(f: impl FnOnce(&mut TwilioConfig)) -> &'static str {
        with(f).expect_err("should be refused").field
    }

    #[test]
    fn defaults_from_a_minimal_section() {
        let config: TwilioConfig = toml::from_str(&format!(
            "account_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\nfrom = \"+33757000000\""
        ))
        .unwrap();
        assert_eq!(config.base_url, "https://api.twilio.com");
        assert_eq!(config.timeout_ms, 10_000);
        assert_eq!(config.max_connections, 32);
        assert_eq!(config.validity_period_s, None);
        assert_eq!(config.status_callback_url, None);
        let valid = config.validate().unwrap();
        assert_eq!(
            valid.messages_url.as_str(),
            format!("https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json")
        );
        assert_eq!(valid.timeout, Duration::from_secs(10));
        assert_eq!(valid.sender, Sender::From("+33757000000".into()));
        assert!(matches!(valid.credentials, Credentials::AuthToken(_)));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<TwilioConfig>(&format!(
            "account_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\nfrom = \"VilleDeX\"\nsender = \"x\""
        ))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `sender`"), "{err}");
    }

    #[test]
    fn account_sid_is_ac_and_32_hex_digits() {
        for bad in [
            "",
            "AC0123",
            "SK0123456789abcdef0123456789abcdef",
            "AC0123456789abcdef0123456789abcdeg",
            "AC0123456789abcdef0123456789abcdef0",
        ] {
            assert_eq!(
                field_at_fault(|c| c.account_sid = bad.into()),
                "account_sid",
                "{bad}"
            );
        }
    }

    #[test]
    fn an_api_key_is_preferred_and_needs_both_halves() {
        let valid = with(|c| {
            c.api_key_sid = Some(KEY_SID.into());
            c.api_key_secret = Some(SecretString::from("k3y-s3cret"));
        })
        .unwrap();
        assert!(matches!(&valid.credentials, Credentials::ApiKey { sid, .. } if sid == KEY_SID));
        assert!(valid.auth_token().is_some(), "kept to check callbacks");

        let only_key = with(|c| {
            c.auth_token = None;
            c.api_key_sid = Some(KEY_SID.into());
            c.api_key_secret = Some(SecretString::from("k3y-s3cret"));
        })
        .unwrap();
        assert!(only_key.auth_token().is_none());

        let field = field_at_fault(|c| c.api_key_sid = Some(KEY_SID.into()));
        assert_eq!(field, "api_key_secret");
        let field = field_at_fault(|c| c.api_key_secret = Some(SecretString::from("x")));
        assert_eq!(field, "api_key_sid");
        let field = field_at_fault(|c| {
            c.api_key_sid = Some(SID.into());
            c.api_key_secret = Some(SecretString::from("x"));
        });
        assert_eq!(field, "api_key_sid");
        assert_eq!(field_at_fault(|c| c.auth_token = None), "auth_token");
    }

    #[test]
    fn bad_secrets_are_named_without_being_echoed() {
        let err = with(|c| c.auth_token = Some(SecretString::from("t0k3n\n"))).unwrap_err();
        assert_eq!(err.field, "auth_token");
        assert!(!err.to_string().contains("t0k3n"), "{err}");
        let err = with(|c| {
            c.api_key_sid = Some(KEY_SID.into());
            c.api_key_secret = Some(SecretString::from("  "));
        })
        .unwrap_err();
        assert_eq!(err.field, "api_key_secret");
    }

    #[test]
    fn secrets_are_never_printed() {
        let mut config = TwilioConfig::new(SID, TOKEN, "VilleDeX");
        config.api_key_sid = Some(KEY_SID.into());
        config.api_key_secret = Some(SecretString::from("k3y-s3cret"));
        config.status_callback_url = Some("https://t.example/cb/twilio/s3cr3t-path".into());
        for debug in [
            format!("{config:?}"),
            format!("{:?}", config.clone().validate().unwrap()),
        ] {
            for secret in [TOKEN, "k3y-s3cret", "s3cr3t-path"] {
                assert!(!debug.contains(secret), "{debug}");
            }
            assert!(debug.contains("[REDACTED]"), "{debug}");
        }
    }

    #[test]
    fn exactly_one_of_from_and_messaging_service() {
        let valid = with(|c| {
            c.from = None;
            c.messaging_service_sid = Some(SERVICE.into());
        })
        .unwrap();
        assert_eq!(valid.sender, Sender::MessagingService(SERVICE.into()));
        assert_eq!(
            field_at_fault(|c| c.messaging_service_sid = Some(SERVICE.into())),
            "from"
        );
        assert_eq!(field_at_fault(|c| c.from = None), "from");
        let field = field_at_fault(|c| {
            c.from = None;
            c.messaging_service_sid = Some("MG123".into());
        });
        assert_eq!(field, "messaging_service_sid");
    }

    #[test]
    fn from_is_a_number_or_a_french_sender_id() {
        for good in ["+33757000000", "+14155552345", "VilleDeX", "Mairie2", "ABC"] {
            assert!(with(|c| c.from = Some(good.into())).is_ok(), "{good}");
        }
        for bad in [
            "+33 7 57 00 00 00",
            "+0757000000",
            "+123",
            "0757000000",
            "36034",
            "AB",
            "MairieXyz123",
            "Ville X",
            "Mairié",
            "ALERTE",
        ] {
            assert_eq!(
                field_at_fault(|c| c.from = Some(bad.into())),
                "from",
                "{bad}"
            );
        }
    }

    #[test]
    fn base_url_keeps_a_path_prefix() {
        let valid = with(|c| c.base_url = "http://127.0.0.1:8080/twilio".into()).unwrap();
        assert_eq!(
            valid.messages_url.as_str(),
            format!("http://127.0.0.1:8080/twilio/2010-04-01/Accounts/{SID}/Messages.json")
        );
        for bad in [
            "api.twilio.com",
            "ftp://api.twilio.com",
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
    fn callback_must_be_absolute_http_without_underscores() {
        let ok = with(|c| c.status_callback_url = Some("https://t.example/cb/twilio/x_y".into()));
        assert!(ok.is_ok());
        for bad in ["/cb/twilio", "mailto:a@b.c", "https://my_host.example/cb"] {
            let field = field_at_fault(|c| c.status_callback_url = Some(bad.into()));
            assert_eq!(field, "status_callback_url", "{bad}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert!(with(|c| c.validity_period_s = Some(36_000)).is_ok());
        assert!(with(|c| c.validity_period_s = Some(1)).is_ok());
        for bad in [0, 36_001] {
            let field = field_at_fault(|c| c.validity_period_s = Some(bad));
            assert_eq!(field, "validity_period_s", "{bad}");
        }
        assert_eq!(field_at_fault(|c| c.timeout_ms = 0), "timeout_ms");
        assert_eq!(field_at_fault(|c| c.timeout_ms = 120_001), "timeout_ms");
        assert!(with(|c| c.timeout_ms = 120_000).is_ok());
        assert_eq!(field_at_fault(|c| c.max_connections = 0), "max_connections");
    }
}
