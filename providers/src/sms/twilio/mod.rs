//! Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded, with HTTP Basic auth (reference/sms-providers.md §2); plus the pure pieces a
//! callback endpoint needs: reading a status callback (§2.3) and checking its
//! `X-Twilio-Signature` (§2.4).
//!
//! Known limits: Twilio documents no idempotency key, so a timeout or a 500/502/504 leaves the
//! send uncertain (§0). Twilio's advice for unknown 3xxxx callback codes is "at most one retry";
//! a [`RetryClass`](crate::RetryClass) cannot count, so the dispatcher's retry budget applies.

pub(crate) mod client;
mod codes;
pub(crate) mod config;
pub(crate) mod error;
mod signature;
pub(crate) mod status;
#[cfg(test)]
mod tests;

pub use client::TwilioSms;
pub use config::{TwilioConfig, ValidatedTwilioConfig};
pub use error::{Problem, TwilioError};
pub use signature::{signature, validate_signature};
pub use status::{ReportedState, StatusReport, parse_status_callback};

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[sms.twilio]` (the default account), or `provider = "twilio"` in a named account.
pub const KIND: Kind = Kind {
    name: "twilio",
    channel: Channel::Sms,
    check: |value| settings::<TwilioConfig>(value)?.validate().map(drop),
    build,
    needs: "account_sid; auth_token, or api_key_sid and api_key_secret; and from (a Twilio \
            number or sender id) or messaging_service_sid",
    reports_by_id: false,
    inbound: true,
    holds_inbound: false,
    rehearsal: false,
    warnings: crate::registry::no_warnings,
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<TwilioConfig>(value)?.validate()?;
    Ok(Arc::new(TwilioSms::new(config)?))
}
