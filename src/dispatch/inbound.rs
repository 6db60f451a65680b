//! Citizens texting the commune's number: ALERTE subscribes them (to the default topics, or the
//! one they name), STOP takes them off for good, anything else gets the help reply. Each gets a
//! short answer in French.
//!
//! The SMS is outside text: it is cleaned of control characters and bounded before anything
//! reads, stores or logs it.

use sqlx::PgPool;
use tocsin_providers::{Account, Inbound, Message, Outcome};

use crate::{
    model::{
        PhoneNumber,
        keywords::{self, Keyword},
        text::from_outside,
    },
    store::{self, tenants::Tenant},
};

/// Most characters of a citizen's SMS kept: ten concatenated parts, more than any keyword needs.
const MAX_INBOUND_CHARS: usize = 1600;

/// Acts on one SMS and returns the reply to send back.
pub async fn handle(db: &PgPool, tenant: &Tenant, sms: &Inbound) -> Result<String, sqlx::Error> {
    let sms = &Inbound {
        from: from_outside(&sms.from, 32),
        text: from_outside(&sms.text, MAX_INBOUND_CHARS),
    };
    let commune = tenant.name.as_str();
    let Ok(phone) = PhoneNumber::parse(&sms.from) else {
        tracing::warn!(tenant = %tenant.slug, "inbound SMS from an unreadable number");
        return Ok(keywords::reply_help(commune));
    };
    Ok(match keywords::read(&sms.text) {
        Keyword::Stop => {
            store::subscribers::stop_by_sms(db, tenant.id, &phone).await?;
            tracing::info!(tenant = %tenant.slug, "a number said STOP");
            keywords::reply_stopped(commune)
        }
        Keyword::Subscribe { topic } => {
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
                return Ok(keywords::reply_unknown_topic(commune, &slugs(&all)));
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
        Keyword::Unknown => keywords::reply_help(commune),
    })
}

/// Sends a reply as an SMS of its own; a failure is logged (the citizen can text again).
pub async fn send_reply(account: &Account, to: &str, reply: &str) {
    let reference = format!("rep_{}", uuid::Uuid::now_v7().simple());
    let message = Message {
        reference: &reference,
        to,
        text: reply,
        ..Default::default()
    };
    if let Outcome::Failed { reason, .. } = account.provider.send(message).await {
        let reason = from_outside(&reason, crate::model::text::MAX_REASON_CHARS);
        tracing::warn!(account = %account.name, %reason, "reply to an inbound SMS not sent");
    }
}
