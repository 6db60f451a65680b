//! Citizens texting the commune's number: ALERTE subscribes them (to the default topics, or the
//! one they name), STOP takes them off for good, anything else gets the help reply. Each gets a
//! short answer in French, within caps (`public_caps`): a number texting again and again, or
//! many numbers at once, cannot make the platform answer without end.
//!
//! The numbering-plan checks of `POST /v1/subscribers` and the commune's countries apply here
//! too: a fixed line, a premium-rate or satellite number, a number of a country the commune
//! does not text, is neither subscribed nor answered (the reason is logged). STOP is honoured
//! from any number: the commune may have added a number its public routes would refuse.
//!
//! The SMS is outside text: it is cleaned of control characters and bounded before anything
//! reads, stores or logs it.

use sqlx::PgPool;
use tocsin_providers::{Account, Inbound, Message, Outcome};

use crate::dispatch::{
    citizens::service_messages,
    policy::public_caps::{CapError, PublicCaps},
};
use crate::{
    model::{
        Channel, PhoneNumber, TenantId,
        keywords::{self, Keyword},
        text::from_outside,
    },
    store::{self, service_messages::Kind, tenants::Tenant},
};

/// Most characters of a citizen's SMS kept: ten concatenated parts, more than any keyword needs.
const MAX_INBOUND_CHARS: usize = 1600;

/// Whether the commune's public side may text this number, and why not.
fn textable(tenant: &Tenant, phone: &PhoneNumber) -> Result<(), String> {
    phone.check_mobile().map_err(|e| e.to_string())?;
    tenant.sms_countries.check(phone).map_err(|e| e.to_string())
}

/// Acts on one SMS and returns the reply to send back, if one may be sent.
pub async fn handle(
    db: &PgPool,
    caps: &PublicCaps,
    tenant: &Tenant,
    sms: &Inbound,
) -> Result<Option<String>, sqlx::Error> {
    let sms = &Inbound {
        from: from_outside(&sms.from, 32),
        text: from_outside(&sms.text, MAX_INBOUND_CHARS),
    };
    let commune = tenant.name.as_str();
    let Ok(phone) = PhoneNumber::parse(&sms.from) else {
        tracing::warn!(tenant = %tenant.slug, "inbound SMS from an unreadable number: no reply");
        return Ok(None);
    };
    let textable = textable(tenant, &phone);
    let reply = match keywords::read(&sms.text) {
        Keyword::Stop => {
            store::subscribers::stop_by_sms(db, tenant.id, &phone).await?;
            tracing::info!(tenant = %tenant.slug, "a number said STOP");
            keywords::reply_stopped(commune)
        }
        Keyword::Subscribe { topic } => {
            if let Err(reason) = &textable {
                tracing::warn!(tenant = %tenant.slug, %reason, "SMS subscription refused");
                return Ok(None);
            }
            let topics = store::topics::for_keywords(db, tenant.id).await?;
            let chosen: Vec<_> = match &topic {
                Some(word) => topics
                    .iter()
                    .filter(|(_, slug, name, _)| {
                        keywords::topic_word(slug) == *word || keywords::topic_word(name) == *word
                    })
                    .collect(),
                None => topics.iter().filter(|t| t.3).collect(),
            };
            let slugs = |list: &[&(_, String, String, bool)]| -> Vec<String> {
                list.iter().map(|t| t.1.clone()).collect()
            };
            if chosen.is_empty() {
                let all: Vec<&_> = topics.iter().collect();
                let reply = keywords::reply_unknown_topic(commune, &slugs(&all));
                return within_caps(caps, tenant, &phone, reply).await;
            }
            let pairs: Vec<_> = chosen.iter().map(|t| (t.0, t.1.clone())).collect();
            let consent = store::subscribers::PhoneConsent::Keyword;
            store::subscribers::subscribe_by_phone(
                db, tenant.id, &phone, &pairs, consent, &sms.text,
            )
            .await?;
            tracing::info!(tenant = %tenant.slug, topics = ?slugs(&chosen), "subscribed by SMS");
            keywords::reply_subscribed(commune, &slugs(&chosen))
        }
        Keyword::Acknowledge => {
            let confirmed =
                store::acknowledgements::acknowledge_by_phone(db, tenant.id, phone.as_str())
                    .await?;
            tracing::info!(tenant = %tenant.slug, confirmed, "alert confirmed by SMS");
            if confirmed > 0 {
                keywords::reply_acknowledged(commune)
            } else {
                keywords::reply_nothing_to_acknowledge(commune)
            }
        }
        Keyword::Unknown => keywords::reply_help(commune),
    };
    if let Err(reason) = textable {
        tracing::info!(tenant = %tenant.slug, %reason, "no reply to an inbound SMS");
        return Ok(None);
    }
    within_caps(caps, tenant, &phone, reply).await
}

/// The reply, when the number's and the commune's caps allow one more (a hit is logged and
/// counted where it is taken).
async fn within_caps(
    caps: &PublicCaps,
    tenant: &Tenant,
    phone: &PhoneNumber,
    reply: String,
) -> Result<Option<String>, sqlx::Error> {
    match caps.reply(tenant.id, phone).await {
        Ok(()) => Ok(Some(reply)),
        Err(CapError::Hit(_)) => Ok(None),
        Err(CapError::Db(error)) => Err(error),
    }
}

/// Sends a reply as an SMS of its own, and counts it; a failure is logged (the citizen can text
/// again).
pub async fn send_reply(db: &PgPool, tenant: TenantId, account: &Account, to: &str, reply: &str) {
    let reference = format!("rep_{}", uuid::Uuid::now_v7().simple());
    let message = Message {
        reference: &reference,
        to,
        text: reply,
        ..Default::default()
    };
    let outcome = account.provider.send(message).await;
    count_reply(
        db,
        tenant,
        account,
        reply,
        matches!(outcome, Outcome::Accepted { .. }),
    )
    .await;
    if let Outcome::Failed { reason, .. } = outcome {
        let reason = from_outside(&reason, crate::model::text::MAX_REASON_CHARS);
        tracing::warn!(account = %account.name, %reason, "reply to an inbound SMS not sent");
    }
}

/// Counts a reply to an inbound SMS, sent by `account` on its own or in its answer to the
/// provider's callback (Twilio's TwiML, which the provider sends and bills the same).
pub async fn count_reply(
    db: &PgPool,
    tenant: TenantId,
    account: &Account,
    reply: &str,
    accepted: bool,
) {
    let counted = (Channel::Sms, account.name.as_str());
    service_messages::count(db, tenant, counted, Kind::Reply, reply, accepted).await;
}
