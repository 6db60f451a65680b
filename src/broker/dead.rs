//! The dead-letter queue, for operators: what is in it and why, and putting it back.
//!
//! Two kinds of messages land there: jobs Tocsin could not read (with `x-tocsin-reason` and
//! `x-tocsin-queue`, set when it parked them), and jobs the broker dead-lettered after
//! `x-delivery-limit` redeliveries (with the broker's `x-first-death-queue` and
//! `x-first-death-reason`).

use lapin::{
    Connection,
    options::{BasicAckOptions, BasicGetOptions},
    types::{AMQPValue, FieldTable},
};

use super::{BrokerError, Publisher, Topology, publisher::PublishError};

/// One dead message, as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadMessage {
    /// The queue it died in.
    pub queue: String,
    /// Why: Tocsin's reason, or the broker's (`delivery_limit`, `rejected`…).
    pub reason: String,
    /// The job, as text.
    pub job: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

fn text(headers: &FieldTable, name: &str) -> Option<String> {
    match headers.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn describe(headers: Option<&FieldTable>, payload: &[u8]) -> DeadMessage {
    let empty = FieldTable::default();
    let headers = headers.unwrap_or(&empty);
    DeadMessage {
        queue: text(headers, "x-tocsin-queue")
            .or_else(|| text(headers, "x-first-death-queue"))
            .unwrap_or_default(),
        reason: text(headers, "x-tocsin-reason")
            .or_else(|| text(headers, "x-first-death-reason"))
            .unwrap_or_else(|| "unknown".into()),
        job: String::from_utf8_lossy(payload).into_owned(),
    }
}

/// The oldest dead message not yet taken on this channel, unacknowledged.
async fn next_dead(
    channel: &lapin::Channel,
    queue: &str,
) -> Result<Option<super::Delivery>, BrokerError> {
    let message = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await?;
    Ok(message.map(|m| m.delivery))
}

/// Up to `limit` dead messages, oldest first, left in the queue: they are taken without
/// acknowledgement and go back when the channel closes.
pub async fn list(
    connection: &Connection,
    topology: &Topology,
    limit: usize,
) -> Result<Vec<DeadMessage>, DeadError> {
    let channel = connection.create_channel().await?;
    let queue = topology.queue(Topology::dead_key());
    let mut listed = Vec::new();
    while listed.len() < limit {
        let Some(delivery) = next_dead(&channel, &queue).await? else {
            break;
        };
        listed.push(describe(
            delivery.properties.headers().as_ref(),
            &delivery.data,
        ));
    }
    channel.close(200, "listed".into()).await?;
    Ok(listed)
}

/// Puts up to `limit` dead messages back into the queue they died in, each acknowledged only
/// once its copy is confirmed; returns how many. One whose queue is unknown stays.
pub async fn replay(
    connection: &Connection,
    topology: &Topology,
    limit: usize,
) -> Result<usize, DeadError> {
    let publisher = Publisher::open(connection, topology).await?;
    let channel = connection.create_channel().await?;
    let queue = topology.queue(Topology::dead_key());
    let own_queues = topology.queue("");
    let mut replayed = 0;
    let mut kept = 0;
    while replayed + kept < limit {
        let Some(delivery) = next_dead(&channel, &queue).await? else {
            break;
        };
        let dead = describe(delivery.properties.headers().as_ref(), &delivery.data);
        let Some(key) = dead.queue.strip_prefix(own_queues.as_str()) else {
            // Not one of ours to route: left for the operator (it returns when we close).
            kept += 1;
            continue;
        };
        publisher.publish_all(&[(key, &delivery.data)]).await?;
        delivery.acker.ack(BasicAckOptions::default()).await?;
        replayed += 1;
    }
    channel.close(200, "replayed".into()).await?;
    Ok(replayed)
}
