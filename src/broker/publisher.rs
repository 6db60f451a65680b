//! Publishing with publisher confirms: a publish counts only once the broker confirmed it.
//!
//! Every publish is bounded in time ([`CONFIRM_TIMEOUT`]): a broker that stops confirming (a
//! memory or disk alarm blocks publishers, a node is partitioned) makes the publish fail, so
//! that a caller holding a PostgreSQL transaction open meanwhile (the sweeper, the relay) rolls
//! it back and tries later instead of holding its locks for as long as the broker is stuck.

use lapin::{
    BasicProperties, Channel, Confirmation, Connection,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable},
};

use std::time::Duration;

use super::{BrokerError, Topology};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("the broker refused a message (nack)")]
    Nacked,
    #[error("no queue is bound to routing key {0:?}")]
    Unroutable(String),
    #[error("the broker did not confirm within {0:?}")]
    Unconfirmed(Duration),
}

/// The longest a publish waits for the broker to take its messages and confirm them.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
    exchange: String,
    topology: Topology,
}

impl Publisher {
    pub async fn open(connection: &Connection, topology: &Topology) -> Result<Self, BrokerError> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Publisher {
            channel,
            exchange: topology.exchange(),
            topology: topology.clone(),
        })
    }

    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes every `(routing key, payload)` message, then waits for all their confirms: one
    /// round trip for the batch, not one per message.
    pub async fn publish_all<K: AsRef<str>, P: AsRef<[u8]>>(
        &self,
        messages: &[(K, P)],
    ) -> Result<(), PublishError> {
        let messages: Vec<(&str, &[u8])> = messages
            .iter()
            .map(|(key, payload)| (key.as_ref(), payload.as_ref()))
            .collect();
        self.publish(&self.exchange, &messages, FieldTable::default(), None)
            .await
    }

    /// Parks messages in the retry tier of `tier`; each comes back to the queue of its routing
    /// key after `wait` (at most the tier's delay).
    pub async fn publish_retry(
        &self,
        tier: Duration,
        wait: Duration,
        messages: &[(&str, &[u8])],
    ) -> Result<(), PublishError> {
        let exchange = self.topology.retry_tier(tier);
        self.publish(&exchange, messages, FieldTable::default(), Some(wait))
            .await
    }

    /// Publishes one message to the dead-letter queue with the reason it could not be handled.
    pub async fn dead_letter(
        &self,
        payload: &[u8],
        queue: &str,
        reason: &str,
    ) -> Result<(), PublishError> {
        let mut headers = FieldTable::default();
        headers.insert(
            "x-tocsin-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert("x-tocsin-queue".into(), AMQPValue::LongString(queue.into()));
        self.publish(
            &self.exchange,
            &[(Topology::dead_key(), payload)],
            headers,
            None,
        )
        .await
    }

    async fn publish(
        &self,
        exchange: &str,
        messages: &[(&str, &[u8])],
        headers: FieldTable,
        expiration: Option<Duration>,
    ) -> Result<(), PublishError> {
        let publishing = self.publish_unbounded(exchange, messages, headers, expiration);
        tokio::time::timeout(CONFIRM_TIMEOUT, publishing)
            .await
            .unwrap_or(Err(PublishError::Unconfirmed(CONFIRM_TIMEOUT)))
    }

    async fn publish_unbounded(
        &self,
        exchange: &str,
        messages: &[(&str, &[u8])],
        headers: FieldTable,
        expiration: Option<Duration>,
    ) -> Result<(), PublishError> {
        let mut confirms = Vec::with_capacity(messages.len());
        for &(key, payload) in messages {
            let mut properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_headers(headers.clone());
            if let Some(expiration) = expiration {
                properties = properties.with_expiration(expiration.as_millis().to_string().into());
            }
            let confirm = self
                .channel
                .basic_publish(
                    exchange.into(),
                    key.into(),
                    // Mandatory: a message no queue takes comes back instead of vanishing.
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    payload,
                    properties,
                )
                .await?;
            confirms.push((key, confirm));
        }
        for (key, confirm) in confirms {
            match confirm.await? {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) => {
                    return Err(PublishError::Unroutable(key.to_string()));
                }
                Confirmation::Nack(_) => return Err(PublishError::Nacked),
                Confirmation::NotRequested => unreachable!("confirms are selected on this channel"),
            }
        }
        Ok(())
    }
}
