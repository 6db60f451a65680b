//! Configuration of the SMTP adapter, and its validation.

use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::{Host, Url};

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

/// Default ports, as lettre has them: SMTP (RFC 5321), submission (RFC 6409), submission over
/// implicit TLS (RFC 8314).
const SMTP_PORT: u16 = 25;
const SUBMISSION_PORT: u16 = 587;
const SUBMISSIONS_PORT: u16 = 465;

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
        let relay = parse_url(self.url.expose_secret())?;
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
            relay,
            from,
            max_connections: self.max_connections,
            timeout: Duration::from_millis(self.timeout_ms),
        })
    }
}

/// Reads the relay URL the way lettre's `from_url` does (lettre 0.11, `connection_url.rs`), so
/// existing configurations keep their meaning: `smtp://` is plain on port 25, `smtp://…?tls=`
/// `required` or `opportunistic` is STARTTLS on port 587, `smtps://` is TLS from the first byte
/// on port 465; a path names the EHLO host; user and password are percent-decoded, and used only
/// when a password is given. Stricter than lettre where lettre would fail later (`tls=` on
/// `smtps://`, a password without a user). Messages never echo the URL: it may hold the password.
fn parse_url(raw: &str) -> Result<Relay, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::new("url", format!("not a URL: {e}")))?;
    // The bare address, without IPv6 brackets: it is resolved and checked against the
    // certificate as is.
    let host = match url.host() {
        Some(Host::Ipv6(ip)) => ip.to_string(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
        _ => return Err(ConfigError::new("url", "has no host")),
    };
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let (security, default_port) = match (url.scheme(), tls.as_deref()) {
        ("smtp", None) => (Security::Plain, SMTP_PORT),
        ("smtp", Some("required")) => (Security::StartTls, SUBMISSION_PORT),
        ("smtp", Some("opportunistic")) => (Security::StartTlsIfOffered, SUBMISSION_PORT),
        ("smtps", None) => (Security::Implicit, SUBMISSIONS_PORT),
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
    };
    if url.password().is_some() && url.username().is_empty() {
        return Err(ConfigError::new("url", "has a password but no user"));
    }
    let decode = |part: &'static str, value: &str| {
        percent_decode_utf8(value).ok_or_else(|| {
            ConfigError::new(
                "url",
                format!("the {part} is not valid percent-encoded UTF-8"),
            )
        })
    };
    let user = decode("user", url.username())?;
    let credentials = match url.password() {
        Some(password) => Some(Login {
            user,
            password: SecretString::from(decode("password", password)?),
        }),
        None => None,
    };
    let hello_name = (url.path().len() > 1).then(|| url.path().trim_matches('/').to_owned());
    // Sent as is after EHLO (RFC 5321 §4.1.1.1): a domain or an address literal, nothing else.
    if hello_name.as_deref().is_some_and(|name| {
        name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
    }) {
        return Err(ConfigError::new(
            "url",
            "the path, when given, is the EHLO name: a host name like `/mairie.exemple.fr`",
        ));
    }
    Ok(Relay {
        host,
        port: url.port().unwrap_or(default_port),
        security,
        hello_name,
        credentials,
    })
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
    pub(crate) relay: Relay,
    pub(crate) from: Mailbox,
    pub(crate) max_connections: u32,
    pub(crate) timeout: Duration,
}

/// The relay, read from the URL.
#[derive(Clone)]
pub(crate) struct Relay {
    /// A DNS name or an IP address (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: Security,
    /// The EHLO name when the URL has a path; otherwise this machine's host name.
    pub(crate) hello_name: Option<String>,
    pub(crate) credentials: Option<Login>,
}

/// How a session is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// Cleartext, for a local relay or tests.
    Plain,
    /// STARTTLS (RFC 3207) before anything else; a relay that does not offer it is refused.
    StartTls,
    /// STARTTLS when the relay offers it, cleartext otherwise (`tls=opportunistic`).
    StartTlsIfOffered,
    /// TLS from the first byte (RFC 8314 §3.3).
    Implicit,
}

/// AUTH credentials, percent-decoded.
#[derive(Clone)]
pub(crate) struct Login {
    pub(crate) user: String,
    pub(crate) password: SecretString,
}

impl std::fmt::Debug for Relay {
    // Neither the user nor the password is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("hello_name", &self.hello_name)
            .field("authenticates", &self.credentials.is_some())
            .finish()
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
    fn urls_read_as_lettre_reads_them() {
        let relay = |url: &str| SmtpConfig::new(url, FROM).validate().unwrap().relay;
        for (url, port, security) in [
            ("smtp://relay", 25, Security::Plain),
            ("smtp://relay?tls=required", 587, Security::StartTls),
            (
                "smtp://relay?tls=opportunistic",
                587,
                Security::StartTlsIfOffered,
            ),
            ("smtps://relay", 465, Security::Implicit),
            ("smtps://relay:2465", 2465, Security::Implicit),
        ] {
            let relay = relay(url);
            assert_eq!((relay.port, relay.security), (port, security), "{url}");
            assert_eq!(relay.host, "relay");
        }
        let relay = relay("smtps://us%C3%A9r:p%40ss@[2001:db8::1]/mairie.exemple.fr");
        assert_eq!(relay.host, "2001:db8::1");
        assert_eq!(relay.hello_name.as_deref(), Some("mairie.exemple.fr"));
        let login = relay.credentials.unwrap();
        assert_eq!(
            (login.user.as_str(), login.password.expose_secret()),
            ("usér", "p@ss")
        );
        // As lettre: a user without a password does not authenticate.
        assert!(
            super::parse_url("smtp://user@relay")
                .unwrap()
                .credentials
                .is_none()
        );
        assert_eq!(
            field_at_fault("smtp://relay/not%20a%20name", FROM),
            "url",
            "the EHLO name is checked"
        );
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
        let debug = format!("{:?}", config.validate().unwrap());
        assert!(
            !debug.contains("hunter2") && !debug.contains("user"),
            "{debug}"
        );
    }
}
