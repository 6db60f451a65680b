//! The behaviour both simulators share (SMS and e-mail): accept after a random delay, then report
//! a delivery receipt a little later, as a real provider's callback would.

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

use crate::{ConfigError, Outcome, Receipt, ReceiptSink, ReceiptStatus};

/// `[sms.simulator]` and `[email.simulator]`: how slow a simulated provider is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// The simulator reaches no one: it can be routed to only when this is true (the demo,
    /// tests, rehearsals). Default false.
    #[serde(default)]
    pub enabled: bool,
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

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            enabled: false,
            min_delay_ms: default_min_delay_ms(),
            max_delay_ms: default_max_delay_ms(),
            receipt_delay_ms: default_receipt_delay_ms(),
        }
    }
}

/// A [`SimulatorConfig`] whose delays are known to be ordered.
#[derive(Debug, Clone)]
pub struct ValidatedSimulatorConfig {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) receipt_delay: Duration,
}

impl SimulatorConfig {
    pub fn validate(self) -> Result<ValidatedSimulatorConfig, ConfigError> {
        let (min_delay, max_delay) = validate_delays(self.min_delay_ms, self.max_delay_ms)?;
        Ok(ValidatedSimulatorConfig {
            min_delay,
            max_delay,
            receipt_delay: Duration::from_millis(self.receipt_delay_ms),
        })
    }
}

impl Simulated {
    pub(crate) fn new(config: ValidatedSimulatorConfig, receipts: Option<ReceiptSink>) -> Self {
        Simulated {
            min_delay: config.min_delay,
            max_delay: config.max_delay,
            receipt_delay: config.receipt_delay,
            receipts,
        }
    }
}

/// Timing of a simulated provider, already validated (`min_delay <= max_delay`).
#[derive(Debug, Clone)]
pub(crate) struct Simulated {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) receipt_delay: Duration,
    pub(crate) receipts: Option<ReceiptSink>,
}

impl Simulated {
    /// Waits like a provider's API call would, then accepts; schedules a `Delivered` receipt if
    /// a sink was given.
    pub(crate) async fn accept(&self, reference: &str) -> Outcome {
        // The thread-local RNG is not `Send`: draw everything before the first await.
        let (delay, id) = {
            let mut rng = rand::rng();
            let delay = rng.random_range(self.min_delay..=self.max_delay);
            (delay, format!("sim-{:032x}", rng.random::<u128>()))
        };
        tokio::time::sleep(delay).await;

        if let Some(sink) = &self.receipts {
            let sink = sink.clone();
            let receipt = Receipt {
                reference: reference.to_owned(),
                provider_message_id: Some(id.clone()),
                status: ReceiptStatus::Delivered,
            };
            let receipt_delay = self.receipt_delay;
            // Detached on purpose: a real provider reports receipts whatever the sender does
            // next. A closed sink (Tocsin shutting down) just drops the receipt, as a missed
            // callback would.
            tokio::spawn(async move {
                tokio::time::sleep(receipt_delay).await;
                let _ = sink.send(receipt).await;
            });
        }

        Outcome::Accepted {
            provider_message_id: Some(id),
        }
    }
}

/// Checks the delay bounds shared by both simulators' configs.
pub(crate) fn validate_delays(
    min_delay_ms: u64,
    max_delay_ms: u64,
) -> Result<(Duration, Duration), crate::ConfigError> {
    if min_delay_ms > max_delay_ms {
        return Err(crate::ConfigError::new(
            "min_delay_ms",
            format!("must not exceed max_delay_ms ({min_delay_ms} > {max_delay_ms})"),
        ));
    }
    Ok((
        Duration::from_millis(min_delay_ms),
        Duration::from_millis(max_delay_ms),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simulated(receipts: Option<ReceiptSink>) -> Simulated {
        Simulated {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            receipt_delay: Duration::from_millis(10),
            receipts,
        }
    }

    #[tokio::test]
    async fn accepts_with_a_sim_id_and_reports_delivered() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let outcome = simulated(Some(tx)).accept("dlv_1").await;
        let Outcome::Accepted {
            provider_message_id: Some(id),
        } = outcome
        else {
            panic!("expected Accepted with an id, got {outcome:?}");
        };
        assert!(id.starts_with("sim-") && id.len() == 36, "{id}");

        let receipt = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .expect("receipt in time")
            .expect("sink open");
        assert_eq!(
            receipt,
            Receipt {
                reference: "dlv_1".into(),
                provider_message_id: Some(id),
                status: ReceiptStatus::Delivered,
            }
        );
    }

    #[tokio::test]
    async fn ids_differ() {
        let sim = simulated(None);
        assert_ne!(sim.accept("a").await, sim.accept("a").await);
    }

    #[test]
    fn delays_must_be_ordered() {
        assert_eq!(validate_delays(200, 100).unwrap_err().field, "min_delay_ms");
        assert!(validate_delays(100, 100).is_ok());
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn empty_section_takes_the_defaults() {
        let config: SimulatorConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, SimulatorConfig::default());
        let valid = config.validate().unwrap();
        assert_eq!(valid.min_delay, Duration::from_millis(20));
        assert_eq!(valid.max_delay, Duration::from_millis(120));
        assert_eq!(valid.receipt_delay, Duration::from_millis(300));
    }

    #[test]
    fn min_above_max_names_the_field() {
        let config = SimulatorConfig {
            min_delay_ms: 500,
            ..SimulatorConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().field, "min_delay_ms");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(serde_json::from_str::<SimulatorConfig>(r#"{"fail_rate":1}"#).is_err());
    }
}
