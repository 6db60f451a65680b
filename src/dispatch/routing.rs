//! Which provider carries a tenant's SMS and e-mail: configuration, with a default for every
//! tenant and optional per-tenant choices.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{model::Channel, store::tenants::TenantSenders};

/// What one SMS segment costs on an account (`[pricing.ACCOUNT]`), for the dry run's estimate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    pub per_segment: f64,
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
    /// Per-tenant choices, by tenant slug.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantRouting>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRouting {
    pub sms: Option<String>,
    pub email: Option<String>,
}

// A deployment that forgot its provider must fail its configuration check, not rehearse with
// the simulator while a commune believes it warned its citizens.
fn default_sms() -> String {
    "smsmode".into()
}

fn default_email() -> String {
    "smtp".into()
}

/// The account that carries Web Push, configured by `[push]`.
pub const PUSH_ACCOUNT: &str = "webpush";

impl Default for Routing {
    fn default() -> Self {
        Routing {
            sms: default_sms(),
            email: default_email(),
            tenants: BTreeMap::new(),
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
        }
    }

    /// The account carrying a tenant's messages on `channel`: its own SMS account when it names
    /// one this platform configures, else the routing's.
    pub fn account_for(
        &self,
        providers: &super::Providers,
        tenant: &str,
        senders: &TenantSenders,
        channel: Channel,
    ) -> String {
        if channel == Channel::Sms
            && let Some(own) = &senders.sms_account
        {
            if providers.get(channel, own).is_some() {
                return own.clone();
            }
            tracing::warn!(%tenant, account = %own,
                "the tenant's SMS account is not configured here; using the routing's");
        }
        self.provider(tenant, channel).to_string()
    }

    /// Every (channel, provider) pair some tenant may use.
    pub fn routes(&self) -> Vec<(Channel, &str)> {
        let mut routes = vec![
            (Channel::Sms, self.sms.as_str()),
            (Channel::Email, self.email.as_str()),
        ];
        for t in self.tenants.values() {
            routes.extend(t.sms.as_deref().map(|p| (Channel::Sms, p)));
            routes.extend(t.email.as_deref().map(|p| (Channel::Email, p)));
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
            },
        );
        assert_eq!(routing.provider("bras", Channel::Sms), "simulator");
        assert_eq!(routing.provider("bras", Channel::Email), "smtp");
        assert_eq!(routing.provider("verdun", Channel::Sms), "smsmode");
        assert_eq!(routing.routes().len(), 3);
    }
}
