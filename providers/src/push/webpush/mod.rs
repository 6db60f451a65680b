//! Web Push to browsers (RFC 8030): each message is POSTed to the endpoint of the citizen's
//! `PushSubscription`, encrypted for it (RFC 8291 `aes128gcm`) and signed with the account's
//! VAPID key (RFC 8292), one token per push service reused for hours (web-push.md §6).
//!
//! Known limits: no delivery receipts (RFC 8030's `Prefer: respond-async` is rarely honoured);
//! a 2xx only means the push service took the message. A 403 from a single subscription
//! (usually a key mismatch) is reported as permanent, not as gone. `Retry-After` dates are read
//! in the IMF-fixdate form only.

mod client;
mod config;
mod error;
mod request;
mod subscription;
#[cfg(test)]
mod tests;
mod vapid;

pub use client::WebPush;
pub use config::{ValidatedWebPushConfig, WebPushConfig, default_allowed_hosts};
pub use error::WebPushError;

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `provider = "webpush"` on the push channel.
pub const KIND: Kind = Kind {
    name: "webpush",
    channel: Channel::Push,
    check: |value| settings::<WebPushConfig>(value)?.validate().map(drop),
    build,
    needs: "vapid_private_key (TOCSIN_VAPID_PRIVATE_KEY: the base64url P-256 private key that \
            `tocsin vapid generate` prints) and vapid_subject (TOCSIN_VAPID_SUBJECT: a mailto: or \
            https: contact, e.g. mailto:alertes@ville.fr)",
    reports_by_id: false,
    inbound: false,
    holds_inbound: false,
    rehearsal: false,
    warnings: crate::registry::no_warnings,
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<WebPushConfig>(value)?.validate()?;
    Ok(Arc::new(WebPush::new(config)?))
}
