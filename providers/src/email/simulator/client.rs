//! The simulated e-mail provider itself.

use crate::{BoxFuture, Message, Outcome, Provider, ReceiptSink, simulated::Simulated};

use super::ValidatedSimulatorEmailConfig;

/// Accepts every e-mail after a random delay and, given a sink, reports it delivered later.
#[derive(Debug, Clone)]
pub struct SimulatorEmail {
    inner: Simulated,
}

impl SimulatorEmail {
    /// `receipts`: where `Delivered` receipts go (`None`: no receipts).
    pub fn new(config: ValidatedSimulatorEmailConfig, receipts: Option<ReceiptSink>) -> Self {
        SimulatorEmail {
            inner: Simulated::new(config, receipts),
        }
    }
}

impl Provider for SimulatorEmail {
    fn send<'a>(&'a self, message: Message<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(self.inner.accept(message.reference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReceiptStatus, email::simulator::SimulatorEmailConfig};

    #[tokio::test]
    async fn accepts_and_reports_delivered() {
        let config = SimulatorEmailConfig {
            enabled: true,
            min_delay_ms: 0,
            max_delay_ms: 2,
            receipt_delay_ms: 1,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let email = SimulatorEmail::new(config.validate().unwrap(), Some(tx));
        let provider: &dyn Provider = &email;

        let outcome = provider
            .send(Message {
                reference: "dlv_9",
                to: "jeanne@example.org",
                subject: "Coupure d'eau",
                text: "Demain 8h-12h.",
                ..Default::default()
            })
            .await;
        let Outcome::Accepted {
            provider_message_id: Some(id),
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        let receipt = rx.recv().await.unwrap();
        assert_eq!(receipt.reference, "dlv_9");
        assert_eq!(receipt.provider_message_id.as_deref(), Some(id.as_str()));
        assert_eq!(receipt.status, ReceiptStatus::Delivered);
    }
}
