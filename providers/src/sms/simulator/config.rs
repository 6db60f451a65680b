//! Configuration of the SMS simulator.

use std::time::Duration;

use serde::Deserialize;

use crate::{ConfigError, simulated::validate_delays};

/// `[sms.simulator]`: how slow the simulated provider is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSmsConfig {
    /// Shortest simulated API call, in milliseconds. Default 20.
    #[serde(default = "default_min_delay_ms")]
    pub min_delay_ms: u64,
    /// Longest simulated API call, in milliseconds; each send waits a uniformly random time in
    /// `[min_delay_ms, max_delay_ms]`. Default 120.
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

impl Default for SimulatorSmsConfig {
    fn default() -> Self {
        SimulatorSmsConfig {
            min_delay_ms: default_min_delay_ms(),
            max_delay_ms: default_max_delay_ms(),
            receipt_delay_ms: default_receipt_delay_ms(),
        }
    }
}

/// A [`SimulatorSmsConfig`] whose delays are known to be ordered.
#[derive(Debug, Clone)]
pub struct ValidatedSimulatorSmsConfig {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) receipt_delay: Duration,
}

impl SimulatorSmsConfig {
    pub fn validate(self) -> Result<ValidatedSimulatorSmsConfig, ConfigError> {
        let (min_delay, max_delay) = validate_delays(self.min_delay_ms, self.max_delay_ms)?;
        Ok(ValidatedSimulatorSmsConfig {
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
        let config: SimulatorSmsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, SimulatorSmsConfig::default());
        let valid = config.validate().unwrap();
        assert_eq!(valid.min_delay, Duration::from_millis(20));
        assert_eq!(valid.max_delay, Duration::from_millis(120));
        assert_eq!(valid.receipt_delay, Duration::from_millis(300));
    }

    #[test]
    fn min_above_max_names_the_field() {
        let config = SimulatorSmsConfig {
            min_delay_ms: 500,
            ..SimulatorSmsConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().field, "min_delay_ms");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(serde_json::from_str::<SimulatorSmsConfig>(r#"{"fail_rate":1}"#).is_err());
    }
}
