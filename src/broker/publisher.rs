//! Publishing with publisher confirms: a publish counts only once the broker confirmed it.

use lapin::{
    BasicProperties, Channel, Confirmation, Connection,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable},
};

use super::{BrokerError, Topology};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("the broker refused a message (nack)")]
    Nacked,
    #[error("no queue is bound to routing key {0:?}")]
    Unroutable(String),
}

#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
    exchange: String,
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
        })
    }

    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes every message, then waits for all their confirms: one round trip for the batch,
    /// not one per message.
    pub async fn publish_all(&self, messages: &[(&str, &[u8])]) -> Result<(), PublishError> {
        self.publish_with_headers(messages, FieldTable::default())
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
        self.publish_with_headers(&[(Topology::dead_key(), payload)], headers)
            .await
    }

    async fn publish_with_headers(
        &self,
        messages: &[(&str, &[u8])],
        headers: FieldTable,
    ) -> Result<(), PublishError> {
        let mut confirms = Vec::with_capacity(messages.len());
        for &(key, payload) in messages {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_headers(headers.clone());
            let confirm = self
                .channel
                .basic_publish(
                    self.exchange.as_str().into(),
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
