//! Caps on what the public can make the platform send: codes by SMS, confirmation and
//! unsubscribe e-mails, replies to inbound SMS, and how often one client may ask. Each is a
//! counter in PostgreSQL (`store::public_counters`), so that every instance shares it; numbers,
//! addresses and clients are counted under a keyed hash, never in clear. Every cap hit is
//! logged and counted in `tocsin_public_limit_hits_total{route,limit}`, from here only.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

use crate::dispatch::metrics::Metrics;
use crate::{
    model::{
        Channel, EmailAddress, PhoneNumber, TenantId,
        keys::{KeyRing, Purpose},
    },
    store::{self, public_counters::Counter},
};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The caps (config `[public]`; config/tocsin.example.toml gives each one's reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicLimits {
    /// Codes one number may get per hour, from every commune together.
    pub codes_per_number_hour: u32,
    /// E-mails one address (plus-address and dot variants as one) may get per hour, from every
    /// commune together.
    pub emails_per_address_hour: u32,
    /// Replies one number may get to its inbound SMS per hour, from every commune together.
    pub replies_per_number_hour: u32,
    /// Messages the public may make one commune send, per channel, per hour and per day.
    pub per_commune_hour: u32,
    pub per_commune_day: u32,
    /// Messages the public may make the whole platform send, per channel, per hour.
    pub platform_per_hour: u32,
    /// Requests one client (an IPv4 address, an IPv6 /64) may make to one commune's public
    /// routes per hour.
    pub requests_per_client_hour: u32,
    /// Codes one client may try per code sent, and per hour in all.
    pub tries_per_code_and_client: u32,
    pub tries_per_client_hour: u32,
}

impl Default for PublicLimits {
    fn default() -> Self {
        PublicLimits {
            codes_per_number_hour: 3,
            emails_per_address_hour: 3,
            replies_per_number_hour: 3,
            per_commune_hour: 30,
            per_commune_day: 200,
            platform_per_hour: 1000,
            requests_per_client_hour: 30,
            tries_per_code_and_client: 5,
            tries_per_client_hour: 20,
        }
    }
}

/// Which cap a request hit: the `limit` label of the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Client,
    Number,
    Address,
    Replies,
    CommuneHour,
    CommuneDay,
    Platform,
    CodeTries,
    ClientTries,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Client => "client",
            Limit::Number => "number",
            Limit::Address => "address",
            Limit::Replies => "replies",
            Limit::CommuneHour => "commune_hour",
            Limit::CommuneDay => "commune_day",
            Limit::Platform => "platform_hour",
            Limit::CodeTries => "code_tries",
            Limit::ClientTries => "client_tries",
        }
    }
}

/// The caps, their counters and the metric of their hits.
pub struct PublicCaps {
    db: PgPool,
    /// Keys of the hashes numbers, addresses and clients are counted under (the current one:
    /// counters are by the hour and the day, so a rotation only starts them again).
    keys: KeyRing,
    pub limits: PublicLimits,
    metrics: Arc<Metrics>,
}

impl PublicCaps {
    pub fn new(db: PgPool, keys: KeyRing, limits: PublicLimits, metrics: Arc<Metrics>) -> Self {
        PublicCaps {
            db,
            keys,
            limits,
            metrics,
        }
    }

    fn hashed(&self, what: &str) -> String {
        hex::encode(&self.keys.mac(Purpose::PublicCaps, what.as_bytes())[..16])
    }

    /// Takes one from each counter; the cap hit, logged and counted, when one is used up.
    async fn take(
        &self,
        route: &'static str,
        tenant: &str,
        counters: &[(Limit, Counter<'_>)],
    ) -> Result<(), CapError> {
        let plain: Vec<Counter<'_>> = counters.iter().map(|(_, c)| c.clone()).collect();
        match store::public_counters::take(&self.db, &plain).await? {
            None => Ok(()),
            Some(index) => {
                let limit = counters[index].0;
                tracing::warn!(route, limit = limit.as_str(), %tenant, "public limit hit");
                self.metrics
                    .public_limit_hits
                    .with_label_values(&[route, limit.as_str()])
                    .inc();
                Err(CapError::Hit(limit))
            }
        }
    }

    /// The commune's and the platform's counters for one more message on `channel`, last, in
    /// the same order for every kind of message (see `public_counters::take`).
    fn shared<'a>(&self, channel: Channel, tenant: &'a str) -> [(Limit, Counter<'a>); 3] {
        let l = &self.limits;
        let (hour, day, platform) = match channel {
            Channel::Email => ("email_commune_hour", "email_commune_day", "email_platform"),
            _ => ("sms_commune_hour", "sms_commune_day", "sms_platform"),
        };
        [
            (
                Limit::CommuneHour,
                counter(hour, tenant, HOUR, l.per_commune_hour),
            ),
            (
                Limit::CommuneDay,
                counter(day, tenant, DAY, l.per_commune_day),
            ),
            (
                Limit::Platform,
                counter(platform, "", HOUR, l.platform_per_hour),
            ),
        ]
    }

    /// One request of `client` to a commune's public routes.
    pub async fn client_request(
        &self,
        route: &'static str,
        tenant: TenantId,
        client: &str,
    ) -> Result<(), CapError> {
        let key = self.hashed(&format!("client:{tenant}:{client}"));
        let limit = self.limits.requests_per_client_hour;
        let counters = [(Limit::Client, counter("client", &key, HOUR, limit))];
        self.take(route, &tenant.to_string(), &counters).await
    }

    /// One code by SMS to `phone` for the commune.
    pub async fn code(
        &self,
        route: &'static str,
        tenant: TenantId,
        phone: &PhoneNumber,
    ) -> Result<(), CapError> {
        let key = self.hashed(&format!("number:{}", phone.as_str()));
        let tenant_key = tenant.to_string();
        let limit = self.limits.codes_per_number_hour;
        let mut counters = vec![(Limit::Number, counter("codes", &key, HOUR, limit))];
        counters.extend(self.shared(Channel::Sms, &tenant_key));
        self.take(route, &tenant_key, &counters).await
    }

    /// One e-mail of the commune to `address`.
    pub async fn email(
        &self,
        route: &'static str,
        tenant: TenantId,
        address: &EmailAddress,
    ) -> Result<(), CapError> {
        let key = self.hashed(&format!("address:{}", counting_form(address.as_str())));
        let tenant_key = tenant.to_string();
        let limit = self.limits.emails_per_address_hour;
        let mut counters = vec![(Limit::Address, counter("emails", &key, HOUR, limit))];
        counters.extend(self.shared(Channel::Email, &tenant_key));
        self.take(route, &tenant_key, &counters).await
    }

    /// One reply by SMS to a number that texted the commune.
    pub async fn reply(&self, tenant: TenantId, phone: &PhoneNumber) -> Result<(), CapError> {
        let key = self.hashed(&format!("number:{}", phone.as_str()));
        let tenant_key = tenant.to_string();
        let limit = self.limits.replies_per_number_hour;
        let mut counters = vec![(Limit::Replies, counter("replies", &key, HOUR, limit))];
        counters.extend(self.shared(Channel::Sms, &tenant_key));
        self.take("inbound", &tenant_key, &counters).await
    }

    /// One try of a code by `client`: `code` names the number's pending code (a new code gives
    /// new tries), so that a stranger's guesses use up the stranger's tries, not the citizen's.
    pub async fn code_try(
        &self,
        route: &'static str,
        tenant: TenantId,
        phone: &PhoneNumber,
        code: &str,
        client: &str,
    ) -> Result<(), CapError> {
        let l = &self.limits;
        let per_client = self.hashed(&format!("client:{client}"));
        let per_code = self.hashed(&format!("code:{tenant}:{}:{code}:{client}", phone.as_str()));
        let counters = [
            (
                Limit::ClientTries,
                counter("client_tries", &per_client, HOUR, l.tries_per_client_hour),
            ),
            (
                Limit::CodeTries,
                counter("code_tries", &per_code, HOUR, l.tries_per_code_and_client),
            ),
        ];
        self.take(route, &tenant.to_string(), &counters).await
    }
}

fn counter<'a>(scope: &'static str, key: &'a str, window: Duration, limit: u32) -> Counter<'a> {
    Counter {
        scope,
        key,
        window,
        limit,
    }
}

/// The form an address is counted under: lower case, without `+tag` and dots in its local
/// part, so that `Anne.Marie+1@…` and `annemarie@…` count as one (many providers deliver
/// them to the same box; counting a few distinct boxes together costs nothing).
pub fn counting_form(address: &str) -> String {
    let address = address.trim().to_lowercase();
    let Some((local, domain)) = address.rsplit_once('@') else {
        return address;
    };
    let local = local.split('+').next().unwrap_or(local).replace('.', "");
    format!("{local}@{domain}")
}

#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error("public limit {} reached", .0.as_str())]
    Hit(Limit),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::counting_form;

    #[test]
    fn plus_and_dot_variants_of_an_address_count_as_one() {
        for variant in [
            "anne.marie@example.fr",
            "Anne.Marie+alertes@Example.FR",
            "annemarie+1@example.fr",
            " a.n.n.e.marie@example.fr ",
        ] {
            assert_eq!(counting_form(variant), "annemarie@example.fr", "{variant}");
        }
        assert_ne!(
            counting_form("anne@example.fr"),
            counting_form("anne@example.com")
        );
    }
}
