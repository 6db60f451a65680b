//! Vonage Voice API (reference/voice.md): a call is `POST /v1/calls` with its NCCO inline (a
//! `talk` the callee may interrupt, then an `input` of one key posted to Tocsin), authenticated
//! by a JWT signed with the application's private key (RS256). Vonage posts the call's events
//! and the key pressed as JSON, each signed with a JWT under the account's signature secret
//! (HS256) holding the SHA-256 of the body.
//!
//! Chosen as the second voice provider over smsmode's text-to-speech message because it takes
//! a key press: acknowledgement, and calling again until heard, need one.

mod client;
mod config;
mod events;

pub use client::VonageVoice;
pub use config::VonageConfig;

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[voice.vonage]`, or `provider = "vonage"` in a named voice account.
pub const KIND: Kind = Kind {
    name: "vonage",
    channel: Channel::Voice,
    check: |value| settings::<VonageConfig>(value)?.validate().map(drop),
    build,
    needs: "application_id; private_key (PEM) or private_key_file; signature_secret (Vonage \
            signs what it sends with it); caller_id (not 06/07, 01–05 only if verified)",
    reports_by_id: false,
    inbound: false,
    holds_inbound: false,
    rehearsal: false,
    warnings: |value| {
        settings::<VonageConfig>(value.clone())
            .map(|config| {
                crate::voice::caller_id_warnings(&config.caller_id, config.caller_id_verified)
            })
            .unwrap_or_default()
    },
};

fn build(value: toml::Value, _: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<VonageConfig>(value)?.validate()?;
    Ok(Arc::new(VonageVoice::new(config)?))
}
