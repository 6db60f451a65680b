//! Configuration of the e-mail simulator.

use std::time::Duration;

use serde::Deserialize;

use crate::{ConfigError, simulated::validate_delays};

/// `[email.simulator]`: how slow the simulated provider is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorEmailConfig {
    /// Shortest simulated SMTP transaction, in milliseconds. Default 20.
    #[serde(default = "default_min_delay_ms")]
    pub min_delay_ms: u64,
    /// Longest simulated SMTP transaction, in milliseconds; each send waits a uniformly random
    /// time in `[min_delay_ms, max_delay_ms]`. Default 120.
    #[serde(default = "default_max_delay_ms")]
    pub max_delay_ms: u64,
    /// Time from acceptance to the `Delivered` receipt, in milliseconds. Default 300.
    #[serde(default = "default_receipt_delay_ms")]
    pub receipt_delay_ms: u64,
}

pub const fn default_min_delay_ms() -> u64 {
    20
}

pub const fn default_max_delay_ms() -> u64 {
    120
}

pub const fn default_receipt_delay_ms() -> u64 {
    300
}

impl Default for SimulatorEmailConfig {
    fn default() -> Self {
        SimulatorEmailConfig {
            min_delay_ms: default_min_delay_ms(),
            max_delay_ms: default_max_delay_ms(),
            receipt_delay_ms: default_receipt_delay_ms(),
        }
    }
}

/// A [`SimulatorEmailConfig`] whose delays are known to be ordered.
#[derive(Debug, Clone)]
pub struct ValidatedSimulatorEmailConfig {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) receipt_delay: Duration,
}

impl SimulatorEmailConfig {
    pub fn validate(self) -> Result<ValidatedSimulatorEmailConfig, ConfigError> {
        let (min_delay, max_delay) = validate_delays(self.min_delay_ms, self.max_delay_ms)?;
        Ok(ValidatedSimulatorEmailConfig {
            min_delay,
            max_delay,
            receipt_delay: Duration::from_millis(self.receipt_delay_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_section_takes_the_defaults() {
        let config: SimulatorEmailConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, SimulatorEmailConfig::default());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn min_above_max_names_the_field() {
        let config = SimulatorEmailConfig {
            min_delay_ms: 121,
            ..SimulatorEmailConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().field, "min_delay_ms");
    }
}
