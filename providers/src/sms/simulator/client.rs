//! The simulated SMS provider itself.

use crate::{BoxFuture, Message, Outcome, Provider, ReceiptSink, simulated::Simulated};

use super::ValidatedSimulatorSmsConfig;

/// Accepts every SMS after a random delay and, given a sink, reports it delivered later.
#[derive(Debug, Clone)]
pub struct SimulatorSms {
    inner: Simulated,
}

impl SimulatorSms {
    /// `receipts`: where `Delivered` receipts go (`None`: no receipts, like a provider without
    /// callbacks configured).
    pub fn new(config: ValidatedSimulatorSmsConfig, receipts: Option<ReceiptSink>) -> Self {
        SimulatorSms {
            inner: Simulated::new(config, receipts),
        }
    }
}

impl Provider for SimulatorSms {
    fn send<'a>(&'a self, message: Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(self.inner.accept(message.reference))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::{ReceiptStatus, sms::simulator::SimulatorSmsConfig};

    #[tokio::test]
    async fn accepts_within_the_configured_delay_and_reports_delivered() {
        let config = SimulatorSmsConfig {
            enabled: true,
            min_delay_ms: 5,
            max_delay_ms: 10,
            receipt_delay_ms: 5,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let sms = SimulatorSms::new(config.validate().unwrap(), Some(tx));
        let provider: &dyn Provider = &sms;

        let started = Instant::now();
        let outcome = provider
            .send(Message {
                reference: "dlv_7",
                to: "+33612345678",
                subject: "",
                text: "Crue",
                ..Default::default()
            })
            .await;
        assert!(started.elapsed() >= Duration::from_millis(5));
        let Outcome::Accepted {
            provider_message_id,
        } = outcome
        else {
            panic!("{outcome:?}");
        };

        let receipt = rx.recv().await.unwrap();
        assert_eq!(receipt.reference, "dlv_7");
        assert_eq!(receipt.provider_message_id, provider_message_id);
        assert_eq!(receipt.status, ReceiptStatus::Delivered);
    }
}
