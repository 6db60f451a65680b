//! Exchange and queue names, and their declaration. Every name carries the configured prefix, so
//! that several deployments (or parallel tests) can share one broker.

use lapin::{
    Channel, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::{AMQPValue, FieldTable},
};

use std::time::Duration;

use super::BrokerError;
use crate::model::{Channel as MessageChannel, Lane};

/// A message redelivered this many times (its consumer crashed or failed on it each time) is
/// dead-lettered instead of being tried forever.
const DELIVERY_LIMIT: i64 = 10;
const DEAD_KEY: &str = "dead";

async fn declare_exchange(
    channel: &Channel,
    name: &str,
    kind: ExchangeKind,
) -> Result<(), BrokerError> {
    channel
        .exchange_declare(
            name.into(),
            kind,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
}

/// A durable queue with `args`, bound to `exchange` with `key`.
async fn declare_queue(
    channel: &Channel,
    name: &str,
    args: FieldTable,
    exchange: &str,
    key: &str,
) -> Result<(), BrokerError> {
    channel
        .queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await?;
    channel
        .queue_bind(
            name.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// The arguments of a durable, replicated quorum queue; more are added per kind of queue.
fn quorum() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args
}

#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    /// The retry tiers' delays: one fanout exchange and one TTL queue each.
    retry_tiers: Vec<Duration>,
}

impl Topology {
    pub fn new(prefix: impl Into<String>) -> Self {
        Topology {
            prefix: prefix.into(),
            retry_tiers: Vec::new(),
        }
    }

    /// With retry tiers of these delays (dispatch.retry_delays_ms).
    pub fn with_retry_tiers(mut self, delays: &[Duration]) -> Self {
        self.retry_tiers = delays.to_vec();
        self.retry_tiers.sort();
        self.retry_tiers.dedup();
        self
    }

    /// The exchange, and queue, of the retry tier of `delay`. Named after the delay: a queue's
    /// arguments are fixed when declared (RabbitMQ refuses another TTL with 406), so another
    /// delay is another queue.
    pub fn retry_tier(&self, delay: Duration) -> String {
        format!("{}tocsin.retry.{}ms", self.prefix, delay.as_millis())
    }

    /// The direct exchange all work goes through.
    pub fn exchange(&self) -> String {
        format!("{}tocsin", self.prefix)
    }

    pub fn fan_out_key(lane: Lane) -> String {
        format!("alerts.{}", lane.as_str())
    }

    pub fn send_key(channel: MessageChannel, provider: &str, lane: Lane) -> String {
        format!("send.{}.{provider}.{}", channel.as_str(), lane.as_str())
    }

    pub fn dead_key() -> &'static str {
        DEAD_KEY
    }

    /// The queue bound to a routing key.
    pub fn queue(&self, key: &str) -> String {
        format!("{}tocsin.{key}", self.prefix)
    }

    /// Every routing key the daemon needs, for the given (channel, provider) pairs.
    pub fn keys<'a>(
        &self,
        routes: impl IntoIterator<Item = (MessageChannel, &'a str)>,
    ) -> Vec<String> {
        let mut keys: Vec<String> = Lane::ALL
            .iter()
            .map(|&lane| Self::fan_out_key(lane))
            .collect();
        for (channel, provider) in routes {
            keys.extend(
                Lane::ALL
                    .iter()
                    .map(|&lane| Self::send_key(channel, provider, lane)),
            );
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Declares the exchange, the dead-letter queue and one durable quorum queue per key.
    /// Declaring is idempotent, so every instance does it at start-up.
    pub async fn declare(&self, channel: &Channel, keys: &[String]) -> Result<(), BrokerError> {
        declare_exchange(channel, &self.exchange(), ExchangeKind::Direct).await?;
        self.declare_bound(channel, DEAD_KEY, quorum()).await?;
        for &tier in &self.retry_tiers {
            self.declare_retry_tier(channel, tier).await?;
        }
        for key in keys {
            let mut args = quorum();
            args.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(DELIVERY_LIMIT),
            );
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(self.exchange().into()),
            );
            args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(DEAD_KEY.into()),
            );
            self.declare_bound(channel, key, args).await?;
        }
        Ok(())
    }

    async fn declare_bound(
        &self,
        channel: &Channel,
        key: &str,
        args: FieldTable,
    ) -> Result<(), BrokerError> {
        declare_queue(channel, &self.queue(key), args, &self.exchange(), key).await
    }

    /// A retry tier: messages published to its fanout exchange wait in its queue for the
    /// delay (or their own shorter expiration, for jitter), then dead-letter back to the work
    /// exchange with the routing key they were published with, that is to their send queue.
    /// At-least-once dead-lettering (with reject-publish overflow, which RabbitMQ requires for
    /// it) so that none is lost on the way back: quorum queues dead-letter at most once otherwise.
    async fn declare_retry_tier(
        &self,
        channel: &Channel,
        delay: Duration,
    ) -> Result<(), BrokerError> {
        let name = self.retry_tier(delay);
        declare_exchange(channel, &name, ExchangeKind::Fanout).await?;
        let mut args = quorum();
        let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.exchange().into()),
        );
        args.insert(
            "x-dead-letter-strategy".into(),
            AMQPValue::LongString("at-least-once".into()),
        );
        args.insert(
            "x-overflow".into(),
            AMQPValue::LongString("reject-publish".into()),
        );
        declare_queue(channel, &name, args, &name, "").await
    }

    /// Deletes the queues and the exchanges: for tests and demos that used their own prefix.
    pub async fn delete(&self, channel: &Channel, keys: &[String]) -> Result<(), BrokerError> {
        for key in keys.iter().map(String::as_str).chain([DEAD_KEY]) {
            channel
                .queue_delete(self.queue(key).into(), QueueDeleteOptions::default())
                .await?;
        }
        for &tier in &self.retry_tiers {
            let name = self.retry_tier(tier);
            channel
                .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                .await?;
            channel
                .exchange_delete(name.as_str().into(), Default::default())
                .await?;
        }
        channel
            .exchange_delete(self.exchange().into(), Default::default())
            .await
    }
}
