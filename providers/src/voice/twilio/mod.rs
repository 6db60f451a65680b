//! Twilio Programmable Voice (reference/voice.md): a call is `POST /2010-04-01/Accounts/
//! {AccountSid}/Calls.json`, form-encoded, with the SMS adapter's Basic auth. When the callee
//! answers, Twilio fetches what to say (TwiML) from Tocsin at the URL the call gave; the key
//! pressed is posted to the `<Gather>`'s `action`; status callbacks tell how the call ended.
//! Every request Twilio makes is signed with `X-Twilio-Signature`, checked as for SMS.

mod client;
mod config;
mod events;
mod twiml;

pub use client::TwilioVoice;
pub use config::TwilioVoiceConfig;
pub use twiml::{after_keypad, document};

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[voice.twilio]`, or `provider = "twilio"` in a named voice account.
pub const KIND: Kind = Kind {
    name: "twilio",
    channel: Channel::Voice,
    check: |value| settings::<TwilioVoiceConfig>(value)?.validate().map(drop),
    build,
    needs: "account_sid; auth_token (Twilio signs what it sends with it); caller_id (a number \
            of the account, by the French rules: not 06/07, 01–05 only if verified)",
    reports_by_id: false,
    inbound: false,
    holds_inbound: false,
    rehearsal: false,
    warnings: |value| {
        settings::<TwilioVoiceConfig>(value.clone())
            .map(|config| config.warnings())
            .unwrap_or_default()
    },
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<TwilioVoiceConfig>(value)?.validate()?;
    Ok(Arc::new(TwilioVoice::new(config)?))
}
