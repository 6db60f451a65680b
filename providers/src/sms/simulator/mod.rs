//! A stand-in SMS provider for demos and load tests: accepts everything after a realistic delay
//! and reports delivery receipts in-process. It never fails, so it has no error type.

mod client;
mod config;

pub use client::SimulatorSms;
pub use config::{SimulatorSmsConfig, ValidatedSimulatorSmsConfig};

use std::sync::Arc;

use crate::{
    Channel, ConfigError, Provider,
    registry::{Context, Kind, settings},
};

/// `[sms.simulator]`: always available, with default timings when the section is absent.
pub const KIND: Kind = Kind {
    name: "simulator",
    channel: Channel::Sms,
    check: |value| settings::<SimulatorSmsConfig>(value)?.validate().map(drop),
    build,
    needs: "enabled = true (TOCSIN_SMS_SIMULATOR_ENABLED=true): it reaches no one, for \
            rehearsals, the demo and tests only",
    reports_by_id: false,
    inbound: false,
    holds_inbound: false,
    rehearsal: true,
    warnings: crate::registry::no_warnings,
};

fn build(value: toml::Value, context: &Context) -> Result<Arc<dyn Provider>, ConfigError> {
    let config = settings::<SimulatorSmsConfig>(value)?.validate()?;
    Ok(Arc::new(SimulatorSms::new(
        config,
        context.receipts.clone(),
    )))
}
