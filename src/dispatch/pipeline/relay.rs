//! The outbox relay: publishes what intake committed, deleting each row only once the broker
//! confirmed it. A broker outage delays alerts; it never loses them. Several instances relay
//! side by side (rows are locked with SKIP LOCKED); a crash between confirm and delete publishes
//! a row twice, which fan-out tolerates.

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::dispatch::DispatchError;
use crate::{broker::Publisher, clock::Clock, store};

const BATCH: i64 = 200;

/// Publishes the outbox whenever intake wakes it, and every `poll` anyway (for rows written by
/// other instances, and timed alerts whose hour on `clock` came). Returns on shutdown, or with
/// the error that broke the broker connection.
pub async fn run(
    db: &PgPool,
    publisher: &Publisher,
    clock: &Clock,
    wake: &Notify,
    poll: std::time::Duration,
    shutdown: &CancellationToken,
) -> Result<(), DispatchError> {
    loop {
        loop {
            match publish_batch(db, publisher, clock).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(DispatchError::Db(error)) => {
                    tracing::warn!(%error, "outbox relay cannot reach the database");
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn publish_batch(
    db: &PgPool,
    publisher: &Publisher,
    clock: &Clock,
) -> Result<usize, DispatchError> {
    let mut tx = db.begin().await?;
    let pending = store::outbox::lock_batch(&mut tx, clock.now(), BATCH).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let messages: Vec<(&str, &[u8])> = pending
        .iter()
        .map(|p| (p.routing_key.as_str(), p.payload.as_slice()))
        .collect();
    publisher.publish_all(&messages).await?;
    let ids: Vec<i64> = pending.iter().map(|p| p.id).collect();
    store::outbox::remove(&mut tx, &ids).await?;
    tx.commit().await?;
    tracing::debug!(count = ids.len(), "outbox relayed");
    Ok(ids.len())
}
