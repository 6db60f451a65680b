//! Configuration of the Web Push adapter, and its validation.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::http::MAX_TIMEOUT_MS;
use crate::{
    ConfigError,
    egress::{DEFAULT_PUSH_HOSTS, EgressPolicy},
    push::crypto::VapidKey,
};

/// `[push.webpush]`: the application server's VAPID identity (RFC 8292) and how hard to push.
/// There is no URL to set: each message carries its own push service endpoint.
///
/// `Debug` shows the VAPID public key, never the private one.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushConfig {
    /// The VAPID signing key: the 32-octet P-256 private scalar, base64url (what
    /// `tocsin vapid generate` and `web-push generate-vapid-keys` print). Browsers subscribed
    /// with its public half, so changing it orphans every subscription. Required; never printed.
    pub vapid_private_key: SecretString,
    /// Who push services may contact about this sender (the JWT `sub`): a `mailto:` address or
    /// an `https:` URL, monitored. Required.
    pub vapid_subject: String,
    /// Whole-request timeout (connect, send, response), in milliseconds. Default 10000, at most
    /// 120000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Most requests in flight at once from this process, and the kept-alive connections per
    /// push service. Default 64. Push services take far more than SMS APIs; with HTTP/2 (FCM,
    /// Apple) many requests share one connection.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Host suffixes a subscription's endpoint may have (`fcm.googleapis.com` takes
    /// `fcm.googleapis.com` and its subdomains). Default: the push services browsers use
    /// ([`DEFAULT_PUSH_HOSTS`]); `["*"]` lifts the list, the address checks still apply.
    #[serde(default = "default_allowed_hosts")]
    pub allowed_hosts: Vec<String>,
    /// Lets endpoints on this machine (127.0.0.0/8, ::1, `localhost`) through, over http or
    /// https on any port: for tests, the demo and the benchmark only. Default false.
    #[serde(default)]
    pub allow_loopback: bool,
}

pub fn default_allowed_hosts() -> Vec<String> {
    DEFAULT_PUSH_HOSTS.iter().map(|h| h.to_string()).collect()
}

pub const fn default_timeout_ms() -> u64 {
    10_000
}

pub const fn default_max_connections() -> usize {
    64
}

impl WebPushConfig {
    /// A configuration with every default; handy for tests and the demo.
    pub fn new(vapid_private_key: impl Into<String>, vapid_subject: impl Into<String>) -> Self {
        WebPushConfig {
            vapid_private_key: SecretString::from(vapid_private_key.into()),
            vapid_subject: vapid_subject.into(),
            timeout_ms: default_timeout_ms(),
            max_connections: default_max_connections(),
            allowed_hosts: default_allowed_hosts(),
            allow_loopback: false,
        }
    }

    pub fn validate(self) -> Result<ValidatedWebPushConfig, ConfigError> {
        // `PushCryptoError` describes the key without echoing it.
        let vapid = VapidKey::from_base64url(self.vapid_private_key.expose_secret())
            .map_err(|e| ConfigError::new("vapid_private_key", e.to_string()))?;
        let subject = self.vapid_subject.trim().to_owned();
        check_subject(&subject)?;
        // The same rule signs every token, so a subject that passed here never fails a send.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let probe = Url::parse("https://push.example").expect("a valid URL");
        vapid
            .vapid_header(&probe, &subject, now + 60, now)
            .map_err(|e| ConfigError::new("vapid_subject", e.to_string()))?;

        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(ConfigError::new(
                "timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS} milliseconds"),
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new("max_connections", "must be at least 1"));
        }
        let egress = EgressPolicy::new(&self.allowed_hosts, self.allow_loopback)
            .map_err(|e| ConfigError::new("allowed_hosts", e))?;
        Ok(ValidatedWebPushConfig {
            egress,
            vapid: Arc::new(vapid),
            subject,
            timeout: Duration::from_millis(self.timeout_ms),
            max_connections: self.max_connections,
        })
    }
}

/// RFC 8292 §2.1: `sub` is a contact URI, `mailto:` or `https:`. Apple refuses subjects it
/// cannot use (web-push.md §5.2), so the check is strict: no spaces, something after the
/// scheme, an https URL with a host.
fn check_subject(subject: &str) -> Result<(), ConfigError> {
    let problem = |text: &str| Err(ConfigError::new("vapid_subject", text));
    if subject.is_empty() {
        return problem("must not be empty (e.g. mailto:alertes@ville.fr)");
    }
    if subject.chars().any(char::is_whitespace) {
        return problem("must not contain spaces");
    }
    if let Some(address) = subject.strip_prefix("mailto:") {
        if !address.contains('@') {
            return problem("a mailto: subject needs an address (mailto:alertes@ville.fr)");
        }
        return Ok(());
    }
    match Url::parse(subject) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => Ok(()),
        _ => problem("must be a mailto: or https: URL (e.g. mailto:alertes@ville.fr)"),
    }
}

/// A [`WebPushConfig`] that passed [`WebPushConfig::validate`].
#[derive(Clone)]
pub struct ValidatedWebPushConfig {
    pub(crate) egress: EgressPolicy,
    pub(crate) vapid: Arc<VapidKey>,
    pub(crate) subject: String,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: usize,
}

impl ValidatedWebPushConfig {
    /// The VAPID public key, base64url: the `applicationServerKey` browsers must subscribe with.
    pub fn public_key(&self) -> String {
        self.vapid.public_key_base64url()
    }

    /// Where this account's pushes may go.
    pub fn egress(&self) -> &EgressPolicy {
        &self.egress
    }
}

impl fmt::Debug for WebPushConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPushConfig")
            .field("vapid_private_key", &"[REDACTED]")
            .field("vapid_subject", &self.vapid_subject)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_connections", &self.max_connections)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allow_loopback", &self.allow_loopback)
            .finish()
    }
}

impl fmt::Debug for ValidatedWebPushConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedWebPushConfig")
            .field("vapid", &self.vapid)
            .field("subject", &self.subject)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .field("egress", &self.egress)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed, valid P-256 scalar (RFC 8291 Appendix A's application server key).
    const KEY: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";

    fn with(f: impl FnOnce(&mut WebPushConfig)) -> Result<ValidatedWebPushConfig, ConfigError> {
        let mut config = WebPushConfig::new(KEY, "mailto:alertes@bras.fr");
        f(&mut config);
        config.validate()
    }

    fn field_at_fault(f: impl FnOnce(&mut WebPushConfig)) -> &'static str {
        with(f).expect_err("should be refused").field
    }

    #[test]
    fn defaults_from_a_minimal_section() {
        let config: WebPushConfig = toml::from_str(&format!(
            "vapid_private_key = \"{KEY}\"\nvapid_subject = \"mailto:alertes@bras.fr\""
        ))
        .unwrap();
        assert_eq!(config.timeout_ms, 10_000);
        assert_eq!(config.max_connections, 64);
        let valid = config.validate().unwrap();
        assert_eq!(valid.timeout, Duration::from_secs(10));
        assert_eq!(valid.subject, "mailto:alertes@bras.fr");
        assert_eq!(valid.public_key(), PUBLIC);
    }

    #[test]
    fn both_vapid_keys_are_required_and_unknown_keys_refused() {
        let missing = toml::from_str::<WebPushConfig>("vapid_subject = \"mailto:a@b.fr\"");
        let err = missing.unwrap_err().to_string();
        assert!(err.contains("missing field `vapid_private_key`"), "{err}");
        let missing = toml::from_str::<WebPushConfig>(&format!("vapid_private_key = \"{KEY}\""));
        let err = missing.unwrap_err().to_string();
        assert!(err.contains("missing field `vapid_subject`"), "{err}");
        let unknown = toml::from_str::<WebPushConfig>(&format!(
            "vapid_private_key = \"{KEY}\"\nvapid_subject = \"mailto:a@b.fr\"\nbase_url = \"x\""
        ));
        let err = unknown.unwrap_err().to_string();
        assert!(err.contains("unknown field `base_url`"), "{err}");
    }

    #[test]
    fn a_bad_private_key_is_named_without_being_echoed() {
        for bad in [
            "",
            "not base64!",
            "AAAA",
            &"A".repeat(43),
            &format!("{KEY}AAAA"),
        ] {
            let err = with(|c| c.vapid_private_key = SecretString::from(bad.to_owned()));
            let err = err.unwrap_err();
            assert_eq!(err.field, "vapid_private_key", "{bad}");
            if bad.len() > 4 {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
    }

    #[test]
    fn the_subject_is_a_mailto_address_or_an_https_url() {
        for good in [
            "mailto:alertes@bras.fr",
            "https://bras.fr/contact",
            " mailto:alertes@bras.fr ",
        ] {
            assert!(with(|c| c.vapid_subject = good.into()).is_ok(), "{good}");
        }
        for bad in [
            "",
            "alertes@bras.fr",
            "mailto:",
            "mailto:alertes",
            "mailto:a lertes@bras.fr",
            "http://bras.fr/contact",
            "https://",
            "https:",
            "tel:+33612345678",
        ] {
            let field = field_at_fault(|c| c.vapid_subject = bad.into());
            assert_eq!(field, "vapid_subject", "{bad}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(field_at_fault(|c| c.timeout_ms = 0), "timeout_ms");
        assert_eq!(field_at_fault(|c| c.timeout_ms = 120_001), "timeout_ms");
        assert!(with(|c| c.timeout_ms = 120_000).is_ok());
        assert_eq!(field_at_fault(|c| c.max_connections = 0), "max_connections");
        assert!(with(|c| c.max_connections = 1).is_ok());
    }

    #[test]
    fn the_private_key_is_never_printed() {
        let config = WebPushConfig::new(KEY, "mailto:alertes@bras.fr");
        for debug in [
            format!("{config:?}"),
            format!("{:?}", config.clone().validate().unwrap()),
        ] {
            assert!(!debug.contains(KEY), "{debug}");
        }
        assert!(format!("{:?}", config.validate().unwrap()).contains(PUBLIC));
    }
}
