//! OVHcloud SMS over its signed REST API: `POST /sms/{serviceName}/jobs`, one receiver per job,
//! `noStopClause` always set (alerts are not commercial), signed with the application secret
//! and consumer key at OVH's clock (reference/sms-providers.md §3).
//!
//! Receipts: OVH calls the account's `callBack` URL (set once on the account with
//! `PUT /sms/{serviceName}`, not per message: `Message::status_callback` is not used) with `id`,
//! `ptt`, `date` and `description` in the query string. [`OvhReceipt`] reads them and
//! `Provider::reports` turns them into a report about OVH's `id`, the one the send returned as
//! `provider_message_id`: receipts match on that id. The job's `tag` (Tocsin's reference) is only
//! a campaign tag in OVH's history.
//!
//! Replies (ALERTE, STOP): OVH documents no push format, so they are fetched from its pull API
//! (`fetch_inbound`: `GET …/incoming`, each read; `remove_inbound` deletes one once the daemon
//! recorded it). Known limit: OVH's own STOP notifications (`stopCallBack`) are not read; OVH
//! blacklists numbers that replied STOP and later jobs to them fail.

mod auth;
mod client;
mod config;
mod error;
mod incoming;
mod receipt;
#[cfg(test)]
mod tests;

pub use client::OvhSms;
pub use config::{OvhConfig, ValidatedOvhConfig};
pub use error::{ErrorBody, OvhError};
pub use receipt::{OvhReceipt, PttStatus, ReceiptError};

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[sms.ovh]` (the default account), or `provider = "ovh"` in a named account.
pub const KIND: Kind = Kind {
    name: "ovh",
    channel: Channel::Sms,
    check: |value| settings::<OvhConfig>(value)?.validate().map(drop),
    build,
    needs: "application_key, application_secret, consumer_key (from OVH's createToken page, \
            granted POST /sms/*/jobs, and GET /sms/*/incoming, GET and DELETE /sms/*/incoming/* for \
            replies) and service_name (sms-xx12345-1)",
    reports_by_id: true,
    inbound: false,
    holds_inbound: true,
    rehearsal: false,
    warnings: crate::registry::no_warnings,
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<OvhConfig>(value)?.validate()?;
    Ok(Arc::new(OvhSms::new(config)?))
}
