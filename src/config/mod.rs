//! Configuration: defaults, then a TOML file (`--config`), then `TOCSIN_*` environment
//! variables; validated into typed values before anything starts. Every key is documented in
//! config/tocsin.example.toml.

mod accounts;
mod http;
mod oidc;
mod public;

use std::{net::SocketAddr, path::Path, time::Duration};

use secrecy::SecretString;
use serde::Deserialize;

pub use accounts::AccountConfig;
pub use http::HttpSettings;
pub use oidc::OidcConfig;

use crate::dispatch::{Routing, Settings, policy::limits::AccountLimit};

/// Environment variables and the configuration key each one sets. Deployments depend on these
/// names: never rename one.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("TOCSIN_DATABASE_URL", "database_url"),
    ("TOCSIN_AMQP_URL", "amqp_url"),
    ("TOCSIN_HTTP_ADDR", "http_addr"),
    ("TOCSIN_PUBLIC_URL", "public_url"),
    ("TOCSIN_QUEUE_PREFIX", "queue_prefix"),
    ("TOCSIN_API_KEY_SECRET", "api_key_secret"),
    ("TOCSIN_API_KEY_SECRET_PREVIOUS", "api_key_secret_previous"),
    ("TOCSIN_SMS_PROVIDER", "routing.sms"),
    ("TOCSIN_EMAIL_PROVIDER", "routing.email"),
    ("TOCSIN_SMTP_URL", "email.smtp.url"),
    ("TOCSIN_EMAIL_FROM", "email.smtp.from"),
    ("TOCSIN_SMSMODE_API_KEY", "sms.smsmode.api_key"),
    ("TOCSIN_SMSMODE_URL", "sms.smsmode.base_url"),
    ("TOCSIN_VAPID_PRIVATE_KEY", "push.vapid_private_key"),
    ("TOCSIN_VAPID_SUBJECT", "push.vapid_subject"),
    ("TOCSIN_PUSH_ALLOW_LOOPBACK", "push.allow_loopback"),
    ("TOCSIN_SMS_SIMULATOR_ENABLED", "sms.simulator.enabled"),
    ("TOCSIN_EMAIL_SIMULATOR_ENABLED", "email.simulator.enabled"),
    ("TOCSIN_OIDC_ISSUER", "oidc.issuer"),
    ("TOCSIN_OIDC_CLIENT_ID", "oidc.client_id"),
    ("TOCSIN_OIDC_CLIENT_SECRET", "oidc.client_secret"),
];

/// Variables that hold `true` or `false`.
const BOOLEAN_VARS: &[&str] = &[
    "TOCSIN_PUSH_ALLOW_LOOPBACK",
    "TOCSIN_SMS_SIMULATOR_ENABLED",
    "TOCSIN_EMAIL_SIMULATOR_ENABLED",
];

/// Variables that may instead name a file holding the value (`TOCSIN_API_KEY_SECRET_FILE`), the
/// convention of container secrets: the value then appears in no process listing or environment
/// dump.
pub const SECRET_VARS: &[&str] = &[
    "TOCSIN_DATABASE_URL",
    "TOCSIN_AMQP_URL",
    "TOCSIN_API_KEY_SECRET",
    "TOCSIN_API_KEY_SECRET_PREVIOUS",
    "TOCSIN_SMTP_URL",
    "TOCSIN_SMSMODE_API_KEY",
    "TOCSIN_VAPID_PRIVATE_KEY",
    "TOCSIN_OIDC_CLIENT_SECRET",
];

/// Fewest bytes in `api_key_secret`: an HMAC key shorter than its 32-byte output weakens it.
pub const MIN_API_KEY_SECRET_BYTES: usize = 32;

/// A configuration that passed validation.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub amqp_url: SecretString,
    pub http_addr: SocketAddr,
    /// How the HTTP listeners bound their clients, and the API's own listener.
    pub http: HttpSettings,
    /// The base URL providers and citizens reach this platform at (callbacks are under it).
    pub public_url: url::Url,
    pub queue_prefix: String,
    /// The server's secret, every key is derived from (`model::keys`); `serve` and `key create`
    /// need it.
    pub api_key_secret: Option<SecretString>,
    /// The secret `api_key_secret` replaces, while a rotation to it is under way (`tocsin secrets
    /// rotate`): what was made under it keeps opening until `tocsin secrets retire`.
    pub api_key_secret_previous: Option<SecretString>,
    pub dispatch: Settings,
    pub scheduler: crate::scheduler::Settings,
    /// How long citizens' addresses stay in past deliveries.
    pub retention: crate::dispatch::upkeep::retention::Settings,
    /// How unconfirmed calls are placed again (`[voice] recall_interval_s`, `max_calls`).
    pub recall: crate::dispatch::pipeline::recall::Settings,
    /// When a tenant's SMS go to its secondary account.
    pub failover: crate::dispatch::policy::health::FailoverSettings,
    pub routing: Routing,
    /// Rate and connection limits of provider accounts, by account name.
    pub limits: std::collections::HashMap<String, AccountLimit>,
    /// What an SMS segment costs on each account, by account name, for dry runs.
    pub pricing: std::collections::HashMap<String, crate::dispatch::policy::routing::Pricing>,
    /// Every provider account, SMS and e-mail, checked (built when the daemon starts).
    pub accounts: Vec<AccountConfig>,
    /// The VAPID key that signs Web Push requests, when set.
    pub push: Option<PushConfig>,
    /// Caps on what the public can make the platform send.
    pub public_limits: crate::dispatch::policy::public_caps::PublicLimits,
    /// Signing in to the console through OpenID Connect, when set.
    pub oidc: Option<OidcConfig>,
}

/// `[push]`: the application server's VAPID identity (RFC 8292).
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// The P-256 private scalar, base64url (what web-push tools print); never printed.
    pub vapid_private_key: SecretString,
    /// `mailto:` or `https:` URL push services may contact.
    pub vapid_subject: String,
    /// The public key derived from it: the `applicationServerKey` browsers subscribe with.
    pub vapid_public_key: String,
    /// Which endpoints browsers may subscribe with (`allowed_hosts`, `allow_loopback`).
    pub egress: tocsin_providers::egress::EgressPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPush {
    vapid_private_key: Option<SecretString>,
    vapid_subject: Option<String>,
    /// Longest wait for a push service's answer.
    timeout_ms: Option<u64>,
    /// Most requests in flight to push services at once.
    max_connections: Option<u64>,
    /// Host suffixes push endpoints may have; `["*"]` for any.
    allowed_hosts: Option<Vec<String>>,
    /// Endpoints on this machine allowed (tests, the demo, the benchmark).
    #[serde(default)]
    allow_loopback: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_database_url")]
    database_url: SecretString,
    #[serde(default = "default_database_max_connections")]
    database_max_connections: u32,
    #[serde(default = "default_amqp_url")]
    amqp_url: SecretString,
    #[serde(default = "default_http_addr")]
    http_addr: String,
    #[serde(default)]
    http: http::RawHttp,
    public_url: Option<String>,
    #[serde(default)]
    queue_prefix: String,
    api_key_secret: Option<SecretString>,
    api_key_secret_previous: Option<SecretString>,
    #[serde(default)]
    dispatch: RawDispatch,
    #[serde(default)]
    scheduler: RawScheduler,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    failover: crate::dispatch::policy::health::FailoverSettings,
    #[serde(default)]
    routing: Option<Routing>,
    #[serde(default)]
    limits: std::collections::HashMap<String, AccountLimit>,
    #[serde(default)]
    pricing: std::collections::HashMap<String, crate::dispatch::policy::routing::Pricing>,
    /// Provider accounts (see `accounts`).
    #[serde(default)]
    sms: toml::Table,
    #[serde(default)]
    email: toml::Table,
    /// Voice accounts: `[voice.twilio]`, `[voice.accounts.NAME]`.
    #[serde(default)]
    voice: toml::Table,
    push: Option<RawPush>,
    #[serde(default)]
    public: public::RawPublic,
    oidc: Option<oidc::RawOidc>,
}

fn default_database_url() -> SecretString {
    SecretString::from("postgres://postgres@127.0.0.1:5432/tocsin")
}
const fn default_database_max_connections() -> u32 {
    16
}
fn default_amqp_url() -> SecretString {
    SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f")
}
fn default_http_addr() -> String {
    "127.0.0.1:8080".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDispatch {
    batch_size: usize,
    fanout_chunk: i64,
    sender_concurrency: u16,
    sends_per_batch: usize,
    outbox_poll_ms: u64,
    retry_delays_ms: Vec<u64>,
    max_attempts: u32,
    lease_ms: u64,
    sweep_interval_ms: u64,
    stale_after_ms: u64,
    shutdown_grace_ms: u64,
    inbound_poll_ms: u64,
}

impl Default for RawDispatch {
    fn default() -> Self {
        let s = Settings::default();
        RawDispatch {
            batch_size: s.batch_size,
            fanout_chunk: s.fanout_chunk,
            sender_concurrency: s.sender_concurrency,
            sends_per_batch: s.sends_per_batch,
            outbox_poll_ms: s.outbox_poll.as_millis() as u64,
            retry_delays_ms: s
                .retry
                .delays
                .iter()
                .map(|d| d.as_millis() as u64)
                .collect(),
            max_attempts: s.retry.max_attempts,
            lease_ms: s.lease.as_millis() as u64,
            sweep_interval_ms: s.sweep_interval.as_millis() as u64,
            stale_after_ms: s.stale_after.as_millis() as u64,
            shutdown_grace_ms: s.shutdown_grace.as_millis() as u64,
            inbound_poll_ms: s.inbound_poll.as_millis() as u64,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawScheduler {
    grace_minutes: u64,
    tick_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRetention {
    delivery_address_days: u64,
    sweep_interval_ms: u64,
}

impl Default for RawRetention {
    fn default() -> Self {
        let r = crate::dispatch::upkeep::retention::Settings::default();
        RawRetention {
            delivery_address_days: r.delivery_addresses.as_secs() / 86_400,
            sweep_interval_ms: r.sweep_interval.as_millis() as u64,
        }
    }
}

impl Default for RawScheduler {
    fn default() -> Self {
        let s = crate::scheduler::Settings::default();
        RawScheduler {
            grace_minutes: s.grace.as_secs() / 60,
            tick_ms: s.tick.as_millis() as u64,
        }
    }
}

impl Config {
    /// The server's secrets, which every key derives from; `None` without `api_key_secret`.
    pub fn server_secrets(&self) -> Option<crate::store::key_versions::Secrets<'_>> {
        use secrecy::ExposeSecret;
        Some(crate::store::key_versions::Secrets {
            current: self.api_key_secret.as_ref()?.expose_secret().as_bytes(),
            previous: self
                .api_key_secret_previous
                .as_ref()
                .map(|s| s.expose_secret().as_bytes()),
        })
    }

    /// Every (channel, account) pair configured: the send queues a daemon declares.
    pub fn account_routes(&self) -> Vec<(crate::model::Channel, &str)> {
        self.accounts
            .iter()
            .map(|a| (a.channel().into(), a.name.as_str()))
            .collect()
    }

    /// Loads the file (if any) and the process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(path, |name| std::env::var(name).ok())
    }

    /// Loads the file and the environment, but routes every tenant to the simulators: the demo
    /// and the benchmark bring their own providers and must never reach a real one.
    pub fn load_simulated(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(path, |name| match name {
            "TOCSIN_SMS_PROVIDER" | "TOCSIN_EMAIL_PROVIDER" => Some("simulator".into()),
            "TOCSIN_SMS_SIMULATOR_ENABLED" | "TOCSIN_EMAIL_SIMULATOR_ENABLED" => {
                Some("true".into())
            }
            _ => std::env::var(name).ok(),
        })
    }

    /// Loads the file (if any) and the variables `env` gives: tests pass their own.
    pub fn load_with(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let (origin, text) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                (path.display().to_string(), text)
            }
            None => ("defaults".to_string(), String::new()),
        };
        let mut table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: origin.clone(),
                    message: e.to_string(),
                })?;
        for (name, key) in ENV_KEYS {
            if let Some(value) = env_value(name, &env)? {
                let value = if BOOLEAN_VARS.contains(name) {
                    toml::Value::Boolean(value.parse().map_err(|_| {
                        invalid(*name, format!("must be true or false, not {value:?}"))
                    })?)
                } else {
                    toml::Value::String(value)
                };
                set_path(&mut table, key, value);
            }
        }
        let raw: RawConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin,
                    message: e.to_string(),
                })?;
        raw.validate()
    }
}

/// A variable's value, or for a secret the content of the file its `_FILE` twin names (one
/// trailing line end removed); both at once is an error.
fn env_value(
    name: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let direct = env(name).filter(|v| !v.is_empty());
    if !SECRET_VARS.contains(&name) {
        return Ok(direct);
    }
    let file_var = format!("{name}_FILE");
    let Some(path) = env(&file_var).filter(|v| !v.is_empty()) else {
        return Ok(direct);
    };
    if direct.is_some() {
        return Err(invalid(
            file_var,
            format!("set either {name} or {name}_FILE, not both"),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: format!("{path} ({file_var})"),
        source,
    })?;
    let value = text
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&text);
    if value.is_empty() {
        return Err(invalid(file_var, format!("{path} is empty")));
    }
    Ok(Some(value.to_string()))
}

/// `[push]` checked: both keys or neither, a key on P-256, a subject push services accept; and
/// the account that sends with them.
fn validate_push(raw: RawPush) -> Result<(PushConfig, AccountConfig), ConfigError> {
    use secrecy::ExposeSecret;
    let (timeout_ms, max_connections) = (raw.timeout_ms, raw.max_connections);
    let allowed_hosts = raw
        .allowed_hosts
        .unwrap_or_else(tocsin_providers::push::webpush::default_allowed_hosts);
    let egress = tocsin_providers::egress::EgressPolicy::new(&allowed_hosts, raw.allow_loopback)
        .map_err(|e| invalid("push.allowed_hosts", e))?;
    let (Some(key), Some(subject)) = (raw.vapid_private_key, raw.vapid_subject) else {
        return Err(invalid(
            "push",
            "set both vapid_private_key and vapid_subject (TOCSIN_VAPID_PRIVATE_KEY, \
             TOCSIN_VAPID_SUBJECT); `tocsin vapid generate` makes a key",
        ));
    };
    let vapid = tocsin_providers::push::crypto::VapidKey::from_base64url(key.expose_secret())
        .map_err(|e| invalid("push.vapid_private_key", e.to_string()))?;
    let subject = subject.trim().to_string();
    let fine = (subject.starts_with("mailto:") && subject.len() > 7)
        || url::Url::parse(&subject).is_ok_and(|u| u.scheme() == "https");
    if !fine {
        return Err(invalid(
            "push.vapid_subject",
            "must be a mailto: or https: URL (e.g. mailto:alertes@bras.fr)",
        ));
    }
    let mut settings = toml::Table::new();
    settings.insert(
        "vapid_private_key".into(),
        key.expose_secret().to_string().into(),
    );
    settings.insert("vapid_subject".into(), subject.clone().into());
    if let Some(ms) = timeout_ms {
        settings.insert("timeout_ms".into(), (ms.min(i64::MAX as u64) as i64).into());
    }
    if let Some(n) = max_connections {
        settings.insert(
            "max_connections".into(),
            (n.min(i64::MAX as u64) as i64).into(),
        );
    }
    settings.insert(
        "allowed_hosts".into(),
        toml::Value::Array(allowed_hosts.into_iter().map(Into::into).collect()),
    );
    settings.insert("allow_loopback".into(), raw.allow_loopback.into());
    let account = accounts::push(settings)?;
    Ok((
        PushConfig {
            vapid_private_key: key,
            vapid_subject: subject,
            vapid_public_key: vapid.public_key_base64url(),
            egress,
        },
        account,
    ))
}

/// `public_url` checked (http or https, a host, no query), or `http://` + the HTTP address.
fn public_url(given: Option<&str>, http_addr: &SocketAddr) -> Result<url::Url, ConfigError> {
    let text = match given {
        Some(text) => text.trim().to_string(),
        None => format!("http://{http_addr}"),
    };
    let url = url::Url::parse(&text)
        .map_err(|e| invalid("public_url", format!("{text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("public_url", "must be an http(s) URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("public_url", "must have no query or fragment"));
    }
    Ok(url)
}

/// `[sms.pools.NAME] accounts = [...]`: each pool's accounts must be SMS accounts configured
/// here, and its name none of theirs.
fn read_pools(
    raw: Option<toml::Value>,
    accounts: &[AccountConfig],
    limits: &std::collections::HashMap<String, AccountLimit>,
) -> Result<std::collections::BTreeMap<String, crate::dispatch::policy::routing::Pool>, ConfigError>
{
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawPool {
        accounts: Vec<String>,
    }
    let mut pools = std::collections::BTreeMap::new();
    let Some(raw) = raw else {
        return Ok(pools);
    };
    let toml::Value::Table(raw) = raw else {
        return Err(invalid(
            "sms.pools",
            "must hold one table per pool: [sms.pools.NAME]",
        ));
    };
    let is_sms_account = |name: &str| {
        accounts
            .iter()
            .any(|a| a.channel() == tocsin_providers::Channel::Sms && a.name == name)
    };
    for (name, value) in raw {
        let section = format!("sms.pools.{name}");
        accounts::check_name(&name).map_err(|problem| invalid(&section, problem))?;
        let pool: RawPool = value
            .try_into()
            .map_err(|e: toml::de::Error| invalid(&section, e.message().to_string()))?;
        if is_sms_account(&name) {
            return Err(invalid(
                &section,
                "an SMS account has this name already: name the pool differently",
            ));
        }
        if pool.accounts.is_empty() {
            return Err(invalid(
                format!("{section}.accounts"),
                "name at least one SMS account",
            ));
        }
        let mut members = Vec::new();
        for account in &pool.accounts {
            if !is_sms_account(account) {
                return Err(invalid(
                    format!("{section}.accounts"),
                    accounts::missing(tocsin_providers::Channel::Sms, account),
                ));
            }
            if members.iter().any(|(m, _)| m == account) {
                return Err(invalid(
                    format!("{section}.accounts"),
                    format!("{account:?} is named twice"),
                ));
            }
            let rate = limits.get(account).and_then(|l| l.per_second);
            members.push((account.clone(), rate));
        }
        pools.insert(name, crate::dispatch::policy::routing::Pool::new(&members));
    }
    Ok(pools)
}

/// Sets `a.b.c` in a TOML table, creating the intermediate tables.
fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("a key has at least one part");
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert(last.to_string(), value);
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let http_addr = self.http_addr.parse().map_err(|_| {
            invalid(
                "http_addr",
                format!(
                    "{:?} is not an address such as 127.0.0.1:8080",
                    self.http_addr
                ),
            )
        })?;
        let public_url = public_url(self.public_url.as_deref(), &http_addr)?;
        let http = self.http.validate(Some(&http_addr))?;
        if !self
            .queue_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(invalid(
                "queue_prefix",
                "may hold only letters, digits, '.', '_' and '-'",
            ));
        }
        for (field, secret) in [
            ("api_key_secret", &self.api_key_secret),
            ("api_key_secret_previous", &self.api_key_secret_previous),
        ] {
            let Some(secret) = secret else { continue };
            let len = secrecy::ExposeSecret::expose_secret(secret).len();
            if len < MIN_API_KEY_SECRET_BYTES {
                return Err(invalid(
                    field,
                    format!(
                        "is {len} bytes long; at least {MIN_API_KEY_SECRET_BYTES} are needed \
                         (for example `openssl rand -hex 32`)"
                    ),
                ));
            }
        }
        if self.api_key_secret.is_none() && self.api_key_secret_previous.is_some() {
            return Err(invalid(
                "api_key_secret_previous",
                "is set without api_key_secret: the previous secret is kept beside a new one",
            ));
        }
        if self.database_max_connections == 0 {
            return Err(invalid("database_max_connections", "must be at least 1"));
        }
        let d = self.dispatch;
        if !(1..=5000).contains(&d.batch_size) {
            return Err(invalid("dispatch.batch_size", "must be between 1 and 5000"));
        }
        if d.fanout_chunk < 1 {
            return Err(invalid("dispatch.fanout_chunk", "must be at least 1"));
        }
        if d.sender_concurrency == 0 || d.sends_per_batch == 0 {
            return Err(invalid(
                "dispatch.sender_concurrency",
                "and sends_per_batch must be at least 1",
            ));
        }
        if d.retry_delays_ms.is_empty() || d.retry_delays_ms.contains(&0) {
            return Err(invalid(
                "dispatch.retry_delays_ms",
                "give at least one delay, each above 0 ms",
            ));
        }
        if d.max_attempts == 0 {
            return Err(invalid("dispatch.max_attempts", "must be at least 1"));
        }
        let urgent_ms = crate::dispatch::policy::retry::URGENT_MAX_WAIT.as_millis();
        if !d
            .retry_delays_ms
            .iter()
            .any(|&ms| u128::from(ms) <= urgent_ms)
        {
            return Err(invalid(
                "dispatch.retry_delays_ms",
                "give at least one delay of at most 60000 ms: urgent alerts never wait longer",
            ));
        }
        if d.lease_ms < 1000 {
            return Err(invalid("dispatch.lease_ms", "must be at least 1000 ms"));
        }
        let ms = Duration::from_millis;
        let dispatch = Settings {
            batch_size: d.batch_size,
            fanout_chunk: d.fanout_chunk,
            sender_concurrency: d.sender_concurrency,
            sends_per_batch: d.sends_per_batch,
            outbox_poll: ms(d.outbox_poll_ms.max(10)),
            retry: crate::dispatch::RetryPolicy {
                delays: d.retry_delays_ms.iter().copied().map(ms).collect(),
                max_attempts: d.max_attempts,
            },
            lease: ms(d.lease_ms),
            sweep_interval: ms(d.sweep_interval_ms.max(100)),
            stale_after: ms(d.stale_after_ms),
            shutdown_grace: ms(d.shutdown_grace_ms),
            inbound_poll: ms(d.inbound_poll_ms.max(100)),
        };
        if !(100..=60_000).contains(&self.scheduler.tick_ms) {
            return Err(invalid(
                "scheduler.tick_ms",
                "must be between 100 and 60000 ms",
            ));
        }
        let r = &self.retention;
        if !(1..=3650).contains(&r.delivery_address_days) {
            return Err(invalid(
                "retention.delivery_address_days",
                "must be between 1 and 3650 days",
            ));
        }
        if r.sweep_interval_ms < 100 {
            return Err(invalid(
                "retention.sweep_interval_ms",
                "must be at least 100 ms",
            ));
        }
        let retention = crate::dispatch::upkeep::retention::Settings {
            delivery_addresses: Duration::from_secs(r.delivery_address_days * 86_400),
            sweep_interval: ms(r.sweep_interval_ms),
        };
        let scheduler = crate::scheduler::Settings {
            grace: Duration::from_secs(self.scheduler.grace_minutes * 60),
            tick: ms(self.scheduler.tick_ms),
        };
        let mut sms = self.sms;
        let pools = sms.remove("pools");
        let mut accounts = accounts::read(tocsin_providers::Channel::Sms, sms)?;
        accounts.extend(accounts::read(
            tocsin_providers::Channel::Email,
            self.email,
        )?);
        let mut voice = self.voice;
        let recall = recall_settings(&mut voice)?;
        accounts.extend(accounts::read(tocsin_providers::Channel::Voice, voice)?);
        for name in self.limits.keys() {
            let channels: Vec<&str> = accounts
                .iter()
                .filter(|a| a.name == *name)
                .map(|a| a.channel().as_str())
                .collect();
            if channels.len() > 1 {
                return Err(invalid(
                    format!("limits.{name}"),
                    format!(
                        "accounts of {} are all named {name:?}, and this limit would bind them \
                         together; give one its own name ([voice.accounts.NAME] provider = …)",
                        channels.join(" and ")
                    ),
                ));
            }
        }
        for (name, limit) in &self.limits {
            if limit
                .per_second
                .is_some_and(|r| !(r.is_finite() && r > 0.0))
            {
                return Err(invalid(
                    format!("limits.{name}.per_second"),
                    "must be a number of messages per second above 0",
                ));
            }
            if limit.concurrency == 0 {
                return Err(invalid(
                    format!("limits.{name}.concurrency"),
                    "must be at least 1",
                ));
            }
        }
        for (name, price) in &self.pricing {
            for (field, amount) in [
                ("per_segment", price.per_segment),
                ("per_minute", price.per_minute),
            ] {
                if !(amount.is_finite() && amount >= 0.0) {
                    return Err(invalid(
                        format!("pricing.{name}.{field}"),
                        "must be a price of 0 or more",
                    ));
                }
            }
            if price.currency.len() != 3 || !price.currency.chars().all(|c| c.is_ascii_uppercase())
            {
                return Err(invalid(
                    format!("pricing.{name}.currency"),
                    "must be an ISO 4217 code such as EUR",
                ));
            }
        }
        let push = match self.push.map(validate_push).transpose()? {
            Some((push, account)) => {
                accounts.push(account);
                Some(push)
            }
            None => None,
        };
        let f = &self.failover;
        if !(f.failure_share > 0.0 && f.failure_share <= 1.0) {
            return Err(invalid(
                "failover.failure_share",
                "must be above 0 and at most 1",
            ));
        }
        if f.window_s == 0 || f.min_samples == 0 || f.probe_one_in == 0 {
            return Err(invalid(
                "failover",
                "window_s, min_samples and probe_one_in must be at least 1",
            ));
        }
        let public_limits = self.public.validate()?;
        let mut routing = self.routing.unwrap_or_default();
        routing.pools = read_pools(pools, &accounts, &self.limits)?;
        for (channel, name) in routing.routes() {
            let channel = channel.into();
            if !accounts
                .iter()
                .any(|a| a.channel() == channel && a.name == name)
            {
                return Err(invalid(
                    format!("routing.{}", channel.as_str()),
                    accounts::missing(channel, name),
                ));
            }
        }
        Ok(Config {
            database_url: self.database_url,
            database_max_connections: self.database_max_connections,
            http,
            amqp_url: self.amqp_url,
            http_addr,
            public_url,
            queue_prefix: self.queue_prefix,
            api_key_secret: self.api_key_secret,
            api_key_secret_previous: self.api_key_secret_previous,
            dispatch,
            scheduler,
            retention,
            recall,
            failover: self.failover,
            routing,
            limits: self.limits,
            pricing: self.pricing,
            accounts,
            push,
            public_limits,
            oidc: self.oidc.map(oidc::RawOidc::validate).transpose()?,
        })
    }
}

/// `[voice] recall_interval_s` and `max_calls`, taken out of the section (the rest names voice
/// accounts).
fn recall_settings(
    voice: &mut toml::Table,
) -> Result<crate::dispatch::pipeline::recall::Settings, ConfigError> {
    let mut settings = crate::dispatch::pipeline::recall::Settings::default();
    let mut whole =
        |key: &str, range: std::ops::RangeInclusive<i64>, what: &str| match voice.remove(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if range.contains(&n) => Ok(Some(n as u64)),
            Some(_) => Err(invalid(
                format!("voice.{key}"),
                format!("must be {what} from {} to {}", range.start(), range.end()),
            )),
        };
    if let Some(seconds) = whole("recall_interval_s", 1..=86_400, "a number of seconds")? {
        settings.recall_interval = Duration::from_secs(seconds);
    }
    if let Some(calls) = whole("max_calls", 1..=10, "a number of calls")? {
        settings.max_calls = calls as u32;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests;
