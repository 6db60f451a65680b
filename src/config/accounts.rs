//! Provider accounts in configuration: `[sms.smsmode]`, `[email.smtp]` and the simulators (each
//! the default account of its provider, named after it), and named accounts of any provider,
//! `[sms.accounts.NAME] provider = "smsmode"`, several of one provider side by side (the
//! platform's shared account and a commune's own). Which providers exist is the registry's
//! business; nothing here names one.

use std::fmt;

use tocsin_providers::{
    Account, Channel, Kind,
    registry::{self, Context},
};

use super::{ConfigError, invalid};

/// An account as configured, checked by its provider; built when the daemon starts.
#[derive(Clone)]
pub struct AccountConfig {
    /// Its name in routing, limits, queues and metrics.
    pub name: String,
    pub kind: &'static Kind,
    /// Where it is configured (`sms.smsmode`, `sms.accounts.bras`), for errors.
    pub section: String,
    /// Its settings; they may hold credentials, so they are never printed.
    settings: toml::Value,
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.section, self.kind)
    }
}

impl AccountConfig {
    pub fn channel(&self) -> Channel {
        self.kind.channel
    }

    /// What `config check` should say about its settings (allowed, but likely wrong).
    pub fn warnings(&self) -> Vec<String> {
        (self.kind.warnings)(&self.settings)
            .into_iter()
            .map(|w| format!("{}: {w}", self.section))
            .collect()
    }

    /// Builds the account's client.
    pub fn build(&self, context: &Context) -> Result<Account, ConfigError> {
        let provider =
            (self.kind.build)(self.settings.clone(), context).map_err(|e| self.fault(e))?;
        Ok(Account {
            name: self.name.clone(),
            kind: self.kind,
            provider,
        })
    }

    fn fault(&self, e: tocsin_providers::ConfigError) -> ConfigError {
        if e.field.is_empty() {
            invalid(&self.section, e.problem)
        } else {
            invalid(format!("{}.{}", self.section, e.field), e.problem)
        }
    }
}

/// The accounts of one channel's section (`[sms]` or `[email]`), checked; the channel's
/// simulator is among them when its section enables it (`enabled = true`), as is any account
/// of a provider that reaches no one.
pub fn read(channel: Channel, section: toml::Table) -> Result<Vec<AccountConfig>, ConfigError> {
    let prefix = channel.as_str();
    let known = || registry::names(channel).join(", ");
    let mut accounts = Vec::new();
    for (key, value) in section {
        if key == "accounts" {
            let toml::Value::Table(named) = value else {
                return Err(invalid(
                    format!("{prefix}.accounts"),
                    "must hold one table per account: [sms.accounts.NAME]",
                ));
            };
            for (name, settings) in named {
                let section = format!("{prefix}.accounts.{name}");
                check_name(&name).map_err(|problem| invalid(&section, problem))?;
                let toml::Value::Table(mut settings) = settings else {
                    return Err(invalid(section, "must be a table of settings"));
                };
                let provider = match settings.remove("provider") {
                    Some(toml::Value::String(provider)) => provider,
                    _ => {
                        return Err(invalid(
                            format!("{section}.provider"),
                            format!("name the account's provider: one of {}", known()),
                        ));
                    }
                };
                let kind = registry::kind(channel, &provider).ok_or_else(|| {
                    invalid(
                        format!("{section}.provider"),
                        format!("unknown provider {provider:?}; known: {}", known()),
                    )
                })?;
                accounts.push(AccountConfig {
                    name,
                    kind,
                    section,
                    settings: toml::Value::Table(settings),
                });
            }
        } else {
            let kind = registry::kind(channel, &key).ok_or_else(|| {
                invalid(
                    format!("{prefix}.{key}"),
                    format!(
                        "unknown provider; known: {}, or a named account \
                         [{prefix}.accounts.NAME] with provider = …",
                        known()
                    ),
                )
            })?;
            accounts.push(AccountConfig {
                name: key.clone(),
                kind,
                section: format!("{prefix}.{key}"),
                settings: value,
            });
        }
    }
    if !accounts.iter().any(|a| a.name == "simulator")
        && let Some(simulator) = registry::kind(channel, "simulator")
    {
        accounts.push(AccountConfig {
            name: "simulator".into(),
            kind: simulator,
            section: format!("{prefix}.simulator"),
            settings: toml::Value::Table(toml::Table::new()),
        });
    }
    // A simulator reaches no one: routable only where the configuration says so.
    accounts.retain(|account| {
        !account.kind.rehearsal
            || account.settings.get("enabled") == Some(&toml::Value::Boolean(true))
    });
    accounts.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in accounts.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(invalid(
                &pair[1].section,
                format!(
                    "an account named {:?} is already configured at {}",
                    pair[1].name, pair[0].section
                ),
            ));
        }
    }
    for account in &accounts {
        (account.kind.check)(account.settings.clone()).map_err(|e| account.fault(e))?;
    }
    Ok(accounts)
}

/// The Web Push account, from `[push]`: one per platform, since browsers subscribe with its
/// VAPID public key.
pub fn push(settings: toml::Table) -> Result<AccountConfig, ConfigError> {
    let name = crate::dispatch::policy::routing::PUSH_ACCOUNT;
    let kind = registry::kind(Channel::Push, name)
        .ok_or_else(|| invalid("push", "this build has no Web Push provider"))?;
    let account = AccountConfig {
        name: name.into(),
        kind,
        section: "push".into(),
        settings: toml::Value::Table(settings),
    };
    (kind.check)(account.settings.clone()).map_err(|e| account.fault(e))?;
    Ok(account)
}

/// Account names go into queue names and metric labels.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err("an account name is 1 to 40 lower-case letters, digits, '-' or '_'".into())
    }
}

/// Why routing to `name` on `channel` is impossible, with the fix.
pub fn missing(channel: Channel, name: &str) -> String {
    let prefix = channel.as_str();
    match registry::kind(channel, name) {
        Some(kind) => format!(
            "routes to {name:?}, which is not configured: set [{prefix}.{name}] {}",
            kind.needs
        ),
        None => format!(
            "routes to {name:?}, which is not configured: add [{prefix}.accounts.{name}] with \
             provider = one of {}",
            registry::names(channel).join(", ")
        ),
    }
}
