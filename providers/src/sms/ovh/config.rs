//! Configuration of the OVHcloud SMS adapter, and its validation.

use crate::http::MAX_TIMEOUT_MS;
use std::{fmt, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::ConfigError;

/// `[sms.ovh]`: which OVHcloud SMS account to use, with which API credentials, and what to send
/// with every message.
///
/// `Debug` shows none of the three credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OvhConfig {
    /// Application Key (AK), sent as `X-Ovh-Application`. Required, no default; never printed.
    pub application_key: SecretString,
    /// Application Secret (AS): signs every request, never sent. Required, no default; never
    /// printed.
    pub application_secret: SecretString,
    /// Consumer Key (CK), sent as `X-Ovh-Consumer`. It must be granted `POST /sms/*/jobs`,
    /// `GET /sms/*` (sms-providers.md §3.1) and, for citizens' replies, `GET /sms/*/incoming`,
    /// `GET /sms/*/incoming/*` and `DELETE /sms/*/incoming/*`. Required, no default; never
    /// printed.
    pub consumer_key: SecretString,
    /// The SMS account, such as `sms-ab12345-1` (`GET /sms` lists them). Required, no default.
    pub service_name: String,
    /// A sender declared **and validated** on the OVH account (§3.6): an alphanumeric OADC of
    /// 3–11 letters or digits, not all digits, not a generic word such as `ALERTE`
    /// (sms-encoding.md §5.1). A commune's own sender replaces it message by message. Default:
    /// none. Not together with `sender_for_response`.
    #[serde(default)]
    pub sender: Option<String>,
    /// `true` sends from OVH's reply-capable short code (`senderForResponse`, France only,
    /// replies accepted for 48 hours, URLs blocked in the text) when the message has no sender
    /// of its own. Default `false`. Not together with `sender`.
    #[serde(default)]
    pub sender_for_response: bool,
    /// Root of the OVH API, with its version. Default `https://eu.api.ovh.com/1.0` (French
    /// accounts use the Europe root). The path prefix is kept (`…/1.0` → `…/1.0/sms/…/jobs`) and
    /// signed, since the signature covers the full URL. Tests point it at a stand-in.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// How long the network keeps trying an SMS, in minutes (`validityPeriod`), when the message
    /// does not say how long its alert lives. 1 to 2880. Default: none, so OVH's own (2880, 48
    /// hours) applies.
    #[serde(default)]
    pub validity_period_minutes: Option<u32>,
    /// Whole-request timeout (connect, send, response), in milliseconds. Default 10000, at most
    /// 120000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Most requests in flight at once from this process, and the size of the kept-alive
    /// connection pool. Default 32.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

pub fn default_base_url() -> String {
    "https://eu.api.ovh.com/1.0".to_owned()
}

pub const fn default_timeout_ms() -> u64 {
    10_000
}

pub const fn default_max_connections() -> usize {
    32
}

/// Upper bound for `validityPeriod`: OVH's own default and the value of its guide (48 hours,
/// sms-providers.md §3.2). No larger value is documented; an alert is stale long before.
pub(crate) const MAX_VALIDITY_MINUTES: u32 = 2880;

impl OvhConfig {
    /// A configuration with every default and the given credentials and account; handy for tests
    /// and the demo.
    pub fn new(
        application_key: impl Into<String>,
        application_secret: impl Into<String>,
        consumer_key: impl Into<String>,
        service_name: impl Into<String>,
    ) -> Self {
        OvhConfig {
            application_key: SecretString::from(application_key.into()),
            application_secret: SecretString::from(application_secret.into()),
            consumer_key: SecretString::from(consumer_key.into()),
            service_name: service_name.into(),
            sender: None,
            sender_for_response: false,
            base_url: default_base_url(),
            validity_period_minutes: None,
            timeout_ms: default_timeout_ms(),
            max_connections: default_max_connections(),
        }
    }

    pub fn validate(self) -> Result<ValidatedOvhConfig, ConfigError> {
        check_credential("application_key", &self.application_key)?;
        check_credential("application_secret", &self.application_secret)?;
        check_credential("consumer_key", &self.consumer_key)?;
        check_service_name(&self.service_name)?;

        let sender = match (self.sender, self.sender_for_response) {
            (Some(_), true) => {
                return Err(ConfigError::new(
                    "sender_for_response",
                    "cannot be true together with sender: choose the declared sender or OVH's \
                     reply-capable short code",
                ));
            }
            (Some(sender), false) => {
                crate::sms::check_sender(&sender)
                    .map_err(|problem| ConfigError::new("sender", problem))?;
                Sender::Declared(sender)
            }
            (None, true) => Sender::ShortCode,
            (None, false) => Sender::AccountDefault,
        };

        let base = base_url(&self.base_url)?;
        let join = |path: &str| {
            base.join(path).map_err(|e| {
                ConfigError::new("base_url", format!("cannot append the API path: {e}"))
            })
        };
        let jobs_url = join(&format!("sms/{}/jobs", self.service_name))?;
        let time_url = join("auth/time")?;

        if let Some(minutes) = self.validity_period_minutes
            && !(1..=MAX_VALIDITY_MINUTES).contains(&minutes)
        {
            return Err(ConfigError::new(
                "validity_period_minutes",
                format!("must be between 1 and {MAX_VALIDITY_MINUTES} minutes"),
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

        Ok(ValidatedOvhConfig {
            application_key: self.application_key,
            application_secret: self.application_secret,
            consumer_key: self.consumer_key,
            jobs_url,
            time_url,
            sender,
            validity_period_minutes: self.validity_period_minutes,
            timeout: Duration::from_millis(self.timeout_ms),
            max_connections: self.max_connections,
        })
    }
}

/// The keys go into headers (AK, CK) or into the signed string (AS): visible ASCII only. The
/// problem never echoes the value.
fn check_credential(field: &'static str, value: &SecretString) -> Result<(), ConfigError> {
    let value = value.expose_secret();
    if value.trim().is_empty() {
        return Err(ConfigError::new(field, "must not be empty"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            field,
            "must be printable ASCII without spaces (check for a stray newline)",
        ));
    }
    Ok(())
}

/// `sms-` then lower-case letters, digits and dashes, ending in `-<digits>`: `sms-ab12345-1`.
/// It becomes a path segment of a signed URL, so nothing else may slip in.
fn check_service_name(name: &str) -> Result<(), ConfigError> {
    let shaped = name.strip_prefix("sms-").is_some_and(|rest| {
        let (account, number) = rest.rsplit_once('-').unwrap_or(("", ""));
        !account.is_empty()
            && account
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
    });
    if !shaped || name.len() > 64 {
        return Err(ConfigError::new(
            "service_name",
            format!("{name:?} is not an OVH SMS account name such as \"sms-ab12345-1\""),
        ));
    }
    Ok(())
}

/// The base URL, checked, with a trailing slash so that joining keeps its path prefix.
fn base_url(raw: &str) -> Result<Url, ConfigError> {
    crate::http::api_root(raw, "the application and consumer keys")
}

/// Who the SMS comes from when the message names no sender of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sender {
    /// Neither `sender` nor `senderForResponse`: OVH picks the account's default, or refuses
    /// the job if the account has none (its 400 says so).
    AccountDefault,
    /// `sender`: a sender declared and validated on the account.
    Declared(String),
    /// `senderForResponse: true`: OVH's reply-capable short code.
    ShortCode,
}

/// An [`OvhConfig`] that passed [`OvhConfig::validate`].
#[derive(Clone)]
pub struct ValidatedOvhConfig {
    pub(crate) application_key: SecretString,
    pub(crate) application_secret: SecretString,
    pub(crate) consumer_key: SecretString,
    /// `{base}/sms/{serviceName}/jobs`.
    pub(crate) jobs_url: Url,
    /// `{base}/auth/time`.
    pub(crate) time_url: Url,
    pub(crate) sender: Sender,
    pub(crate) validity_period_minutes: Option<u32>,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: usize,
}

impl fmt::Debug for OvhConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OvhConfig")
            .field("application_key", &"[REDACTED]")
            .field("application_secret", &"[REDACTED]")
            .field("consumer_key", &"[REDACTED]")
            .field("service_name", &self.service_name)
            .field("sender", &self.sender)
            .field("sender_for_response", &self.sender_for_response)
            .field("base_url", &self.base_url)
            .field("validity_period_minutes", &self.validity_period_minutes)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl fmt::Debug for ValidatedOvhConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedOvhConfig")
            .field("application_key", &"[REDACTED]")
            .field("application_secret", &"[REDACTED]")
            .field("consumer_key", &"[REDACTED]")
            .field("jobs_url", &self.jobs_url.as_str())
            .field("time_url", &self.time_url.as_str())
            .field("sender", &self.sender)
            .field("validity_period_minutes", &self.validity_period_minutes)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "EXAMPLEappKey000";
    const AS: &str = "EXAMPLEappSecret0000000000000000";
    const CK: &str = "EXAMPLEconsumerKey00000000000000";

    fn with(f: impl FnOnce(&mut OvhConfig)) -> Result<ValidatedOvhConfig, ConfigError> {
        let mut config = OvhConfig::new(AK, AS, CK, "sms-ab12345-1");
        f(&mut config);
        config.validate()
    }

    fn field_at_fault(f: impl FnOnce(&mut OvhConfig)) -> &'static str {
        with(f).expect_err("should be refused").field
    }

    #[test]
    fn defaults_from_a_minimal_section() {
        let config: OvhConfig = toml::from_str(
            r#"
            application_key = "ak"
            application_secret = "as"
            consumer_key = "ck"
            service_name = "sms-ab12345-1"
            "#,
        )
        .unwrap();
        assert_eq!(config.base_url, "https://eu.api.ovh.com/1.0");
        assert_eq!(config.timeout_ms, 10_000);
        assert_eq!(config.max_connections, 32);
        assert_eq!(config.sender, None);
        assert!(!config.sender_for_response);
        assert_eq!(config.validity_period_minutes, None);
        let valid = config.validate().unwrap();
        assert_eq!(
            valid.jobs_url.as_str(),
            "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/jobs"
        );
        assert_eq!(
            valid.time_url.as_str(),
            "https://eu.api.ovh.com/1.0/auth/time"
        );
        assert_eq!(valid.sender, Sender::AccountDefault);
        assert_eq!(valid.timeout, Duration::from_secs(10));
    }

    #[test]
    fn unknown_keys_and_missing_credentials_are_refused() {
        let base = "application_key = \"a\"\napplication_secret = \"s\"\nconsumer_key = \"c\"\n";
        assert!(toml::from_str::<OvhConfig>(base).is_err(), "service_name");
        let typo = format!("{base}service_name = \"sms-ab12345-1\"\nsender_for_reponse = true\n");
        assert!(toml::from_str::<OvhConfig>(&typo).is_err());
        assert!(toml::from_str::<OvhConfig>("service_name = \"sms-ab12345-1\"").is_err());
    }

    #[test]
    fn credentials_are_never_printed() {
        let config = OvhConfig::new("ak-s3cr3t", "as-s3cr3t", "ck-s3cr3t", "sms-ab12345-1");
        let shown = format!("{config:?} {:?}", config.clone().validate().unwrap());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("sms-ab12345-1"));
    }

    #[test]
    fn bad_credentials_name_their_field_without_echoing_them() {
        let err = with(|c| c.application_secret = SecretString::from("abc\n")).unwrap_err();
        assert_eq!(err.field, "application_secret");
        assert!(!err.to_string().contains("abc"));
        assert_eq!(
            field_at_fault(|c| c.application_key = SecretString::from(" ")),
            "application_key"
        );
        assert_eq!(
            field_at_fault(|c| c.consumer_key = SecretString::from("a b")),
            "consumer_key"
        );
    }

    #[test]
    fn service_names_look_like_ovh_s() {
        for good in ["sms-ab12345-1", "sms-xy1-12"] {
            assert!(with(|c| c.service_name = good.into()).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab12345-1",
            "sms-ab12345",
            "sms--1",
            "SMS-AB12345-1",
            "sms-ab12345-1/../x",
            "sms-ab 12345-1",
            "sms-ab12345-x",
        ] {
            assert_eq!(
                field_at_fault(|c| c.service_name = bad.into()),
                "service_name",
                "{bad}"
            );
        }
    }

    #[test]
    fn base_url_keeps_its_path_prefix() {
        let valid = with(|c| c.base_url = "http://127.0.0.1:8080/1.0/".into()).unwrap();
        assert_eq!(
            valid.jobs_url.as_str(),
            "http://127.0.0.1:8080/1.0/sms/sms-ab12345-1/jobs"
        );
        assert_eq!(
            valid.time_url.as_str(),
            "http://127.0.0.1:8080/1.0/auth/time"
        );
        let valid = with(|c| c.base_url = "https://ca.api.ovh.com/1.0".into()).unwrap();
        assert_eq!(
            valid.jobs_url.as_str(),
            "https://ca.api.ovh.com/1.0/sms/sms-ab12345-1/jobs"
        );
    }

    #[test]
    fn bad_base_urls_name_base_url() {
        for bad in [
            "eu.api.ovh.com/1.0",
            "ftp://eu.api.ovh.com/1.0",
            "https://x/1.0?a=1",
            "https://u:p@x/1.0",
        ] {
            assert_eq!(
                field_at_fault(|c| c.base_url = bad.into()),
                "base_url",
                "{bad}"
            );
        }
    }

    #[test]
    fn one_sender_choice_at_most() {
        let valid = with(|c| c.sender = Some("VilleDeX".into())).unwrap();
        assert_eq!(valid.sender, Sender::Declared("VilleDeX".into()));
        let valid = with(|c| c.sender_for_response = true).unwrap();
        assert_eq!(valid.sender, Sender::ShortCode);
        assert_eq!(
            field_at_fault(|c| {
                c.sender = Some("VilleDeX".into());
                c.sender_for_response = true;
            }),
            "sender_for_response"
        );
    }

    #[test]
    fn senders_follow_french_oadc_rules() {
        for bad in ["AB", "MairieXyz123", "Ville X", "Mairié", "36034", "ALERTE"] {
            assert_eq!(
                field_at_fault(|c| c.sender = Some(bad.into())),
                "sender",
                "{bad}"
            );
        }
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(field_at_fault(|c| c.timeout_ms = 0), "timeout_ms");
        assert_eq!(field_at_fault(|c| c.timeout_ms = 120_001), "timeout_ms");
        assert!(with(|c| c.timeout_ms = 120_000).is_ok());
        assert_eq!(field_at_fault(|c| c.max_connections = 0), "max_connections");
        for bad in [0, 2881] {
            assert_eq!(
                field_at_fault(|c| c.validity_period_minutes = Some(bad)),
                "validity_period_minutes"
            );
        }
        for good in [1, 240, 2880] {
            assert!(with(|c| c.validity_period_minutes = Some(good)).is_ok());
        }
    }
}
