//! Configuration of the SMTP adapter, and its validation.

use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::ConfigError;

/// `[email.smtp]`: which relay to use and who the mail is from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay as a URL (lettre's format): `smtps://user:password@host:465` (TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtp://host:25` (plain, for
    /// a local relay or tests only). User and password are optional and percent-encoded.
    /// Required, no default; a secret because it may hold the password, so it never prints.
    pub url: SecretString,
    /// The `From` mailbox, e.g. `Mairie de Exemple <alertes@exemple.fr>`. Required.
    pub from: String,
    /// Most SMTP sessions open at once from this process (sends wait for a free one), and the
    /// most idle sessions kept for reuse. Default 8.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Longest wait for one send, in milliseconds: for a free session, then for the relay's
    /// final answer. Also the TCP connect timeout. Default 10000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

pub const fn default_max_connections() -> u32 {
    8
}

pub const fn default_timeout_ms() -> u64 {
    10_000
}

/// Upper bound for `timeout_ms`.
const MAX_TIMEOUT_MS: u64 = 300_000;

impl SmtpConfig {
    /// A configuration with every default; handy for tests and the demo.
    pub fn new(url: impl Into<String>, from: impl Into<String>) -> Self {
        SmtpConfig {
            url: SecretString::from(url.into()),
            from: from.into(),
            max_connections: default_max_connections(),
            timeout_ms: default_timeout_ms(),
        }
    }

    pub fn validate(self) -> Result<ValidatedSmtpConfig, ConfigError> {
        validate_url(self.url.expose_secret())?;
        let from: Mailbox = self.from.parse().map_err(|e| {
            ConfigError::new(
                "from",
                format!("not a mailbox like `Name <user@domain>`: {e}"),
            )
        })?;
        if self.max_connections == 0 {
            return Err(ConfigError::new("max_connections", "must be at least 1"));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(ConfigError::new(
                "timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS} milliseconds"),
            ));
        }
        Ok(ValidatedSmtpConfig {
            url: self.url,
            from,
            max_connections: self.max_connections,
            timeout: Duration::from_millis(self.timeout_ms),
        })
    }
}

/// Checks what lettre's `from_url` would refuse, with messages that never echo the URL (it may
/// hold the password).
fn validate_url(raw: &str) -> Result<(), ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::new("url", format!("not a URL: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new("url", "has no host"));
    }
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    match (url.scheme(), tls.as_deref()) {
        ("smtps", None) | ("smtp", None | Some("required" | "opportunistic")) => {}
        ("smtps", Some(_)) => {
            return Err(ConfigError::new(
                "url",
                "smtps:// is always TLS; drop the tls= parameter",
            ));
        }
        ("smtp", Some(_)) => {
            return Err(ConfigError::new(
                "url",
                "tls= must be `required` or `opportunistic`",
            ));
        }
        (scheme, _) => {
            return Err(ConfigError::new(
                "url",
                format!("scheme must be smtp or smtps, not `{scheme}`"),
            ));
        }
    }
    if url.password().is_some() && url.username().is_empty() {
        return Err(ConfigError::new("url", "has a password but no user"));
    }
    // lettre percent-decodes user and password as UTF-8.
    for (part, value) in [
        ("user", url.username()),
        ("password", url.password().unwrap_or("")),
    ] {
        if percent_decode_utf8(value).is_none() {
            return Err(ConfigError::new(
                "url",
                format!("the {part} is not valid percent-encoded UTF-8"),
            ));
        }
    }
    Ok(())
}

fn percent_decode_utf8(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A [`SmtpConfig`] that passed [`SmtpConfig::validate`].
#[derive(Debug, Clone)]
pub struct ValidatedSmtpConfig {
    pub(crate) url: SecretString,
    pub(crate) from: Mailbox,
    pub(crate) max_connections: u32,
    pub(crate) timeout: Duration,
}

impl ValidatedSmtpConfig {
    /// How many sessions this adapter opens at most; the dispatcher may size its workers on it.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "Mairie de Exemple <alertes@exemple.fr>";

    fn field_at_fault(url: &str, from: &str) -> &'static str {
        SmtpConfig::new(url, from)
            .validate()
            .expect_err("should be refused")
            .field
    }

    #[test]
    fn defaults_from_a_minimal_section() {
        let config: SmtpConfig = serde_json::from_str(&format!(
            r#"{{"url":"smtp://localhost:2525","from":"{FROM}"}}"#
        ))
        .unwrap();
        assert_eq!(config.max_connections, 8);
        assert_eq!(config.timeout_ms, 10_000);
        let valid = config.validate().unwrap();
        assert_eq!(valid.from.to_string(), FROM);
        assert_eq!(valid.timeout, Duration::from_secs(10));
    }

    #[test]
    fn accepted_urls() {
        for url in [
            "smtp://localhost:2525",
            "smtps://user:p%40ss@smtp.example.fr",
            "smtp://user:pass@smtp.example.fr:587?tls=required",
            "smtp://smtp.example.fr?tls=opportunistic",
        ] {
            assert!(SmtpConfig::new(url, FROM).validate().is_ok(), "{url}");
        }
    }

    #[test]
    fn refused_urls_name_url_without_echoing_the_password() {
        for url in [
            "localhost:25",
            "http://user:hunter2@smtp.example.fr",
            "smtp://user:hunter2@smtp.example.fr?tls=maybe",
            "smtps://user:hunter2@smtp.example.fr?tls=required",
            "smtp://:hunter2@smtp.example.fr",
            "smtp://user:hunter2%ff@smtp.example.fr",
            "smtp://",
        ] {
            let err = SmtpConfig::new(url, FROM).validate().expect_err(url);
            assert_eq!(err.field, "url", "{url}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn from_must_be_a_mailbox() {
        assert_eq!(field_at_fault("smtp://localhost", "not an address"), "from");
        assert_eq!(
            field_at_fault("smtp://localhost", "Mairie <alertes@>"),
            "from"
        );
        assert!(
            SmtpConfig::new("smtp://localhost", "alertes@exemple.fr")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn limits_must_be_positive() {
        let mut config = SmtpConfig::new("smtp://localhost", FROM);
        config.max_connections = 0;
        assert_eq!(config.validate().unwrap_err().field, "max_connections");
        let mut config = SmtpConfig::new("smtp://localhost", FROM);
        config.timeout_ms = 0;
        assert_eq!(config.validate().unwrap_err().field, "timeout_ms");
    }

    #[test]
    fn the_url_never_prints() {
        let config = SmtpConfig::new("smtps://user:hunter2@smtp.example.fr", FROM);
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{:?}", config.validate().unwrap()).contains("hunter2"));
    }
}
