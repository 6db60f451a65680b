//! E-mail over SMTP: messages built with lettre, sent on sessions of our own (TCP_NODELAY,
//! reused, at most `max_connections` open at once, pipelined when the relay offers it).

mod client;
mod config;
mod error;
mod pool;
mod session;
#[cfg(test)]
mod tests;

pub use client::SmtpEmail;
pub use config::{SmtpConfig, ValidatedSmtpConfig};
pub use error::SmtpError;

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[email.smtp]` (the default account), or `provider = "smtp"` in a named account.
pub const KIND: Kind = Kind {
    name: "smtp",
    channel: Channel::Email,
    check: |value| settings::<SmtpConfig>(value)?.validate().map(drop),
    build,
    needs: "url and from (TOCSIN_SMTP_URL, TOCSIN_EMAIL_FROM for [email.smtp])",
    reports_by_id: false,
    inbound: false,
    holds_inbound: false,
    rehearsal: false,
    warnings: crate::registry::no_warnings,
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<SmtpConfig>(value)?.validate()?;
    Ok(Arc::new(SmtpEmail::new(config)?))
}
