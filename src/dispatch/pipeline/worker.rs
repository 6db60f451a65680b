//! The consumer loop shared by fan-out and senders: take a message when a slot is free, handle
//! it in its own task, acknowledge it only once the handler says its effects are durable.

use std::{future::Future, sync::Arc};

use futures_util::StreamExt;
use lapin::{
    Connection,
    options::{BasicAckOptions, BasicCancelOptions},
};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::broker::{self, BrokerError, Publisher};

/// What became of one message.
pub enum Handled {
    /// Its effects are durable: acknowledge it.
    Done,
    /// It can never be handled (unreadable, unknown version): park it in the dead-letter queue
    /// with the reason, then acknowledge it.
    Dead(String),
    /// Shutting down mid-way: leave it unacknowledged, so the broker hands it out again.
    Abandoned,
}

/// Runs `attempt` until it succeeds, backing off on errors (the database or broker is away), or
/// until shutdown, which gives `None`. Every step of a job is safe to repeat.
pub async fn until_done<T, E, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut attempt: F,
) -> Option<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(error) => tracing::warn!(%error, retry_in = ?pause, "{what} failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    }
}

/// Consumes `queue` until `shutdown` or a broker error, running at most `concurrency` handlers at
/// once. Handlers retry infrastructure errors themselves; a message whose handler did not finish
/// (shutdown, crash) is not acknowledged, so the broker gives it to another consumer.
pub async fn run_consumer<H, F>(
    connection: &Connection,
    publisher: &Publisher,
    queue: &str,
    concurrency: u16,
    shutdown: &CancellationToken,
    handler: H,
) -> Result<(), BrokerError>
where
    H: Fn(Vec<u8>, bool) -> F + Send + Sync + 'static,
    F: Future<Output = Handled> + Send + 'static,
{
    let (channel, mut consumer) = broker::consume(connection, queue, concurrency).await?;
    let slots = Arc::new(Semaphore::new(usize::from(concurrency)));
    let tasks = TaskTracker::new();
    let handler = Arc::new(handler);
    let result = loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            next = consumer.next() => match next {
                Some(Ok(delivery)) => delivery,
                Some(Err(error)) => break Err(error),
                None => break Ok(()),
            },
        };
        let handler = handler.clone();
        let publisher = publisher.clone();
        let queue = queue.to_string();
        tasks.spawn(async move {
            let _slot = slot;
            let outcome = handler(delivery.data.clone(), delivery.redelivered).await;
            if let Handled::Abandoned = outcome {
                return;
            }
            if let Handled::Dead(reason) = &outcome {
                tracing::warn!(queue, reason, "job moved to the dead-letter queue");
                if let Err(error) = publisher.dead_letter(&delivery.data, &queue, reason).await {
                    // Not acknowledged: it comes back and is judged again.
                    tracing::error!(queue, %error, "could not dead-letter a job");
                    return;
                }
            }
            if let Err(error) = delivery.acker.ack(BasicAckOptions::default()).await {
                tracing::warn!(queue, %error, "ack failed; the job will be redelivered");
            }
        });
    };
    let tag = consumer.tag();
    let _ = channel
        .basic_cancel(tag, BasicCancelOptions::default())
        .await;
    tasks.close();
    tasks.wait().await;
    let _ = channel.close(200, "consumer stopped".into()).await;
    result
}
