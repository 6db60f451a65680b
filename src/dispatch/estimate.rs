//! The dry run: what an alert would do, without creating anything. Per channel, whom it reaches;
//! for SMS, the encoding, the segments each message takes (and which characters force UCS-2),
//! the segments in all and, when the account's price is configured, the cost.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::PgPool;

use super::{
    Providers, Routing,
    pipeline::intake,
    policy::{limits::AccountLimit, routing::Pricing},
};
use crate::{
    model::{Channel, SmsEncoding, TenantId, TopicId, ValidAlert, sms_text},
    store,
};

#[derive(Debug, Serialize)]
pub struct Estimate {
    /// Always true: nothing was created or sent.
    pub dry_run: bool,
    pub topic: String,
    /// Subscribers reached on at least one of the alert's channels.
    pub people: i64,
    /// The text as it would be sent (rewritten to GSM-7 when asked).
    pub text: String,
    pub channels: BTreeMap<Channel, ChannelEstimate>,
}

#[derive(Debug, Serialize)]
pub struct ChannelEstimate {
    /// Subscribers reached on this channel (for SMS, numbers that said STOP excluded).
    pub recipients: i64,
    /// The account that would carry it.
    pub account: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsEstimate>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceEstimate>,
}

/// What the calls would say and take.
#[derive(Debug, Serialize)]
pub struct VoiceEstimate {
    /// The script as it will be spoken, in full (message and prompt twice, then the closing).
    pub script: String,
    /// Seconds one call speaks, at about 150 words a minute.
    pub seconds_per_call: u64,
    /// Minutes in all, each call's begun minutes counted.
    pub total_minutes: i64,
    /// The total at the account's configured price per minute; null when none is configured.
    pub cost: Option<Cost>,
    /// The account's calls a second (`[limits.ACCOUNT] per_second`); null when unlimited.
    pub calls_per_second: Option<f64>,
    /// How long placing every call takes at that rate, in seconds; null when unlimited.
    pub placing_seconds: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct SmsEstimate {
    pub encoding: SmsEncoding,
    /// Segments per message.
    pub segments: usize,
    /// Characters (GSM-7 septets or UTF-16 units) per message.
    pub units: usize,
    /// The characters that make the text UCS-2; rewriting with `gsm7` replaces them.
    pub ucs2_characters: Vec<String>,
    pub total_segments: i64,
    /// The total at the account's configured price per segment; null when none is configured.
    pub cost: Option<Cost>,
    /// The most segments the tenant allows per SMS.
    pub max_segments: i32,
}

#[derive(Debug, Serialize)]
pub struct Cost {
    pub amount: f64,
    pub currency: String,
}

pub struct Context<'a> {
    pub db: &'a PgPool,
    pub routing: &'a Routing,
    pub providers: &'a Providers,
    pub pricing: &'a HashMap<String, Pricing>,
    pub limits: &'a HashMap<String, AccountLimit>,
}

/// Estimates `alert` for `tenant`; refused, like a real send, when its topic is unknown or its
/// SMS is longer than the tenant allows.
pub async fn estimate(
    context: &Context<'_>,
    tenant: TenantId,
    alert: &ValidAlert,
) -> Result<Estimate, intake::IntakeError> {
    let db = context.db;
    let topic: TopicId =
        match store::topics::resolve(db, tenant, std::slice::from_ref(&alert.topic)).await? {
            Ok(ids) => ids[0],
            Err(missing) => return Err(intake::IntakeError::UnknownTopic(missing.join(", "))),
        };
    let settings = store::tenants::get(db, tenant).await?;
    intake::check_segments(alert, &settings.senders)?;
    let reach = store::alerts::reach(db, topic).await?;
    let wanted = alert.channels_for(settings.senders.voice_enabled);
    let mut channels = BTreeMap::new();
    for &channel in &wanted {
        let account = context.routing.account_for(
            context.providers,
            &settings.slug,
            &settings.senders,
            channel,
        );
        let price = |units: i64, per_unit: fn(&Pricing) -> f64| {
            context.pricing.get(&account).map(|price| Cost {
                amount: (units as f64 * per_unit(price) * 100.0).round() / 100.0,
                currency: price.currency.clone(),
            })
        };
        let (recipients, sms, voice) = match channel {
            Channel::Email => (reach.email, None, None),
            Channel::Push => (reach.push, None, None),
            Channel::Voice => {
                let calls = reach.calls(alert.calls_mobiles());
                let script = crate::model::speech::Script::new(&settings.name, &alert.text);
                let total_minutes = calls * script.minutes_begun();
                let rate = context.limits.get(&account).and_then(|l| l.per_second);
                let voice = VoiceEstimate {
                    script: script.spoken(),
                    seconds_per_call: script.duration().as_secs(),
                    total_minutes,
                    cost: price(total_minutes, |p| p.per_minute),
                    calls_per_second: rate,
                    placing_seconds: rate.map(|r| (calls as f64 / r).ceil() as u64),
                };
                (calls, None, Some(voice))
            }
            Channel::Sms => {
                let length = alert
                    .sms_length
                    .unwrap_or_else(|| sms_text::sms_length(&alert.text));
                let total = reach.sms * length.segments as i64;
                let cost = price(total, |p| p.per_segment);
                let sms = SmsEstimate {
                    encoding: length.encoding,
                    segments: length.segments,
                    units: length.units,
                    ucs2_characters: sms_text::non_gsm7_chars(&alert.text)
                        .into_iter()
                        .map(String::from)
                        .collect(),
                    total_segments: total,
                    cost,
                    max_segments: settings.senders.max_sms_segments,
                };
                (reach.sms, Some(sms), None)
            }
        };
        channels.insert(
            channel,
            ChannelEstimate {
                recipients,
                account,
                sms,
                voice,
            },
        );
    }
    Ok(Estimate {
        dry_run: true,
        topic: alert.topic.as_str().to_string(),
        people: store::alerts::people_reached(db, topic, &wanted, alert.calls_mobiles()).await?,
        text: alert.text.clone(),
        channels,
    })
}
