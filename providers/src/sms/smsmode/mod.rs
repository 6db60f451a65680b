//! smsmode (France) over its REST API v1: `POST /sms/v1/messages` with an `X-Api-Key`
//! (reference/sms-providers.md §1.2).

mod client;
mod config;
mod error;
mod status;
#[cfg(test)]
mod tests;

pub use client::SmsmodeSms;
pub use config::{SmsmodeConfig, ValidatedSmsmodeConfig};
pub use error::{Problem, SmsmodeError};
pub use status::{StatusDetail, StatusValue};

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[sms.smsmode]` (the default account), or `provider = "smsmode"` in a named account.
pub const KIND: Kind = Kind {
    name: "smsmode",
    channel: Channel::Sms,
    check: |value| settings::<SmsmodeConfig>(value)?.validate().map(drop),
    build,
    needs: "api_key (TOCSIN_SMSMODE_API_KEY for [sms.smsmode])",
    reports_by_id: false,
    inbound: true,
    holds_inbound: false,
    rehearsal: false,
    warnings: crate::registry::no_warnings,
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<SmsmodeConfig>(value)?.validate()?;
    Ok(Arc::new(SmsmodeSms::new(config)?))
}
