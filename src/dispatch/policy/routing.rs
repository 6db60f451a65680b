//! Which provider carries a tenant's SMS and e-mail: configuration, with a default for every
//! tenant and optional per-tenant choices.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{model::Channel, store::tenants::TenantSenders};

/// What one SMS segment or one minute of call costs on an account (`[pricing.ACCOUNT]`), for
/// the dry run's estimate and usage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    #[serde(default)]
    pub per_segment: f64,
    /// Voice accounts: a minute of call, each call counted in whole minutes begun.
    #[serde(default)]
    pub per_minute: f64,
    #[serde(default = "euro")]
    pub currency: String,
}

fn euro() -> String {
    "EUR".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// SMS provider of tenants without their own choice: `smsmode` (default) or `simulator`.
    #[serde(default = "default_sms")]
    pub sms: String,
    /// E-mail provider of tenants without their own choice: `smtp` (default) or `simulator`.
    #[serde(default = "default_email")]
    pub email: String,
    /// Voice account of tenants without their own choice: `twilio` (default).
    #[serde(default = "default_voice")]
    pub voice: String,
    /// Per-tenant choices, by tenant slug.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantRouting>,
    /// SMS account pools (`[sms.pools.NAME]`), usable wherever an SMS account is named: an
    /// alert routed to a pool is spread over its accounts, each holding to its own rate limit.
    #[serde(skip)]
    pub pools: BTreeMap<String, Pool>,
}

/// Several SMS accounts carrying one alert at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Each account with its share of the pool's messages, in slots out of the sum of shares
    /// (at most about a thousand): in proportion to the accounts' `per_second` limits, equal
    /// when one of them has none; reduced, so that equal accounts share 1:1.
    pub shares: Vec<(String, u32)>,
}

impl Pool {
    /// `accounts` with their rate limits (`None`: unlimited).
    pub fn new(accounts: &[(String, Option<f64>)]) -> Pool {
        let rates: Option<Vec<f64>> = accounts.iter().map(|(_, rate)| *rate).collect();
        let shares: Vec<u32> = match rates {
            Some(rates) => {
                let smallest = rates.iter().copied().fold(f64::INFINITY, f64::min);
                let scaled: Vec<u32> = rates
                    .iter()
                    .map(|rate| (rate / smallest * 10.0).round() as u32)
                    .collect();
                if scaled.iter().sum::<u32>() <= 1000 {
                    scaled
                } else {
                    let total: f64 = rates.iter().sum();
                    rates
                        .iter()
                        .map(|rate| ((rate / total * 1000.0).round() as u32).max(1))
                        .collect()
                }
            }
            None => vec![1; accounts.len()],
        };
        let common = shares.iter().copied().fold(0, gcd).max(1);
        Pool {
            shares: accounts
                .iter()
                .map(|(name, _)| name.clone())
                .zip(shares.into_iter().map(|share| share / common))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRouting {
    pub sms: Option<String>,
    pub email: Option<String>,
    pub voice: Option<String>,
}

// A deployment that forgot its provider must fail its configuration check, not rehearse with
// the simulator while a commune believes it warned its citizens.
fn default_sms() -> String {
    "smsmode".into()
}

fn default_email() -> String {
    "smtp".into()
}

fn default_voice() -> String {
    "twilio".into()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The account that carries Web Push, configured by `[push]`.
pub const PUSH_ACCOUNT: &str = "webpush";

impl Default for Routing {
    fn default() -> Self {
        Routing {
            sms: default_sms(),
            email: default_email(),
            voice: default_voice(),
            tenants: BTreeMap::new(),
            pools: BTreeMap::new(),
        }
    }
}

impl Routing {
    pub fn provider(&self, tenant: &str, channel: Channel) -> &str {
        let own = self.tenants.get(tenant);
        match channel {
            Channel::Sms => own.and_then(|t| t.sms.as_deref()).unwrap_or(&self.sms),
            Channel::Email => own.and_then(|t| t.email.as_deref()).unwrap_or(&self.email),
            // One VAPID identity for the platform: browsers subscribed with its public key.
            Channel::Push => PUSH_ACCOUNT,
            Channel::Voice => own.and_then(|t| t.voice.as_deref()).unwrap_or(&self.voice),
        }
    }

    /// The accounts carrying a tenant's alerts on `channel`, each with its share (slots out of
    /// their sum): its own SMS account or pool when it names one this platform configures, else
    /// the routing's.
    pub fn accounts_for(
        &self,
        providers: &crate::dispatch::Providers,
        tenant: &str,
        senders: &TenantSenders,
        channel: Channel,
    ) -> Vec<(String, u32)> {
        let name = match &senders.sms_account {
            Some(own) if channel == Channel::Sms => {
                if self.pools.contains_key(own) || providers.get(channel, own).is_some() {
                    own.as_str()
                } else {
                    tracing::warn!(%tenant, account = %own,
                        "the tenant's SMS account is not configured here; using the routing's");
                    self.provider(tenant, channel)
                }
            }
            _ => self.provider(tenant, channel),
        };
        match self.pools.get(name) {
            Some(pool) if channel == Channel::Sms => pool.shares.clone(),
            _ => vec![(name.to_string(), 1)],
        }
    }

    /// The one account carrying a tenant's single messages on `channel` (a code, a reply, an
    /// estimate's price): the first of a pool.
    pub fn account_for(
        &self,
        providers: &crate::dispatch::Providers,
        tenant: &str,
        senders: &TenantSenders,
        channel: Channel,
    ) -> String {
        let mut accounts = self.accounts_for(providers, tenant, senders, channel);
        accounts.swap_remove(0).0
    }

    /// Every (channel, account) pair some tenant may use, pools opened into their accounts.
    pub fn routes(&self) -> Vec<(Channel, &str)> {
        let mut named = vec![
            (Channel::Sms, self.sms.as_str()),
            (Channel::Email, self.email.as_str()),
        ];
        for t in self.tenants.values() {
            named.extend(t.sms.as_deref().map(|p| (Channel::Sms, p)));
            named.extend(t.email.as_deref().map(|p| (Channel::Email, p)));
        }
        let mut routes = Vec::new();
        for (channel, name) in named {
            match self.pools.get(name) {
                Some(pool) if channel == Channel::Sms => routes.extend(
                    pool.shares
                        .iter()
                        .map(|(account, _)| (channel, account.as_str())),
                ),
                _ => routes.push((channel, name)),
            }
        }
        routes.sort();
        routes.dedup();
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_choice_overrides_the_default_for_its_channel_only() {
        let mut routing = Routing {
            sms: "smsmode".into(),
            email: "smtp".into(),
            ..Default::default()
        };
        routing.tenants.insert(
            "bras".into(),
            TenantRouting {
                sms: Some("simulator".into()),
                email: None,
                voice: None,
            },
        );
        assert_eq!(routing.provider("bras", Channel::Sms), "simulator");
        assert_eq!(routing.provider("bras", Channel::Email), "smtp");
        assert_eq!(routing.provider("verdun", Channel::Sms), "smsmode");
        assert_eq!(routing.routes().len(), 3);
    }

    #[test]
    fn a_pool_shares_in_proportion_to_rates_or_equally() {
        let pool = Pool::new(&[("a".into(), Some(100.0)), ("b".into(), Some(300.0))]);
        assert_eq!(pool.shares, vec![("a".into(), 1), ("b".into(), 3)]);
        let even = Pool::new(&[("a".into(), Some(200.0)), ("b".into(), Some(200.0))]);
        assert_eq!(even.shares, vec![("a".into(), 1), ("b".into(), 1)]);
        let odd = Pool::new(&[("a".into(), Some(20.0)), ("b".into(), Some(50.0))]);
        assert_eq!(odd.shares, vec![("a".into(), 2), ("b".into(), 5)]);
        let pool = Pool::new(&[("a".into(), Some(100.0)), ("b".into(), None)]);
        assert_eq!(pool.shares, vec![("a".into(), 1), ("b".into(), 1)]);
        let tiny = Pool::new(&[("a".into(), Some(1.0)), ("b".into(), Some(5000.0))]);
        assert_eq!(tiny.shares[0].1, 1, "every account gets some share");
        assert!(tiny.shares[1].1 <= 1000);
    }

    #[test]
    fn routes_open_pools_into_their_accounts() {
        let mut routing = Routing {
            sms: "meuse".into(),
            ..Default::default()
        };
        routing.pools.insert(
            "meuse".into(),
            Pool::new(&[("m1".into(), None), ("m2".into(), None)]),
        );
        assert_eq!(
            routing.routes(),
            vec![
                (Channel::Sms, "m1"),
                (Channel::Sms, "m2"),
                (Channel::Email, "smtp")
            ]
        );
    }
}
