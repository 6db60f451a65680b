//! The sweeper: one instance at a time (a PostgreSQL advisory lock) looks for deliveries left
//! behind and puts them back on their way, so that every alert reaches a final state.
//!
//! The rules, applied every `sweep_interval`:
//! 1. `sending` with an ended lease: its owner crashed or stalled. Back to `queued`, announced
//!    again. The attempt stays counted: the provider may have taken the message. Found through
//!    the lease rows of the batches (`store::leases`), not by reading the alerts' deliveries.
//! 2. `retrying`, due for longer than a sweep interval: its retry message was lost or
//!    dead-lettered. Back to `queued`, announced again.
//! 3. `queued`, untouched for `stale_after`, of a planned alert, while its send queue holds no
//!    ready message: its batch was never announced or was dead-lettered by the delivery limit.
//!    Announced again (a row that a sender claims first is skipped by the others).
//! 4. An alert past its deadline: what is still free to send (rule 1's rows included) expires.
//! 5. An alert planned, with nothing left pending: closed.
//! 6. A delivery report kept because its message's id was not known yet, now known: applied
//!    (the report and the id may have crossed each other).
//! 7. An opt-out a provider reported while its commune's subscribers were locked by an import:
//!    applied once the lock is free (`store::pending_opt_outs`).
//! 8. An alert relayed and still not planned, in force, whose fan-out has shown no life for
//!    `stale_after` (no job published, no chunk planned), while its lane's fan-out queue holds
//!    no ready job: its job was lost (the broker lost its data) or dead-lettered. Published
//!    again (`store::outbox::lost_fan_outs`); fan-out plans nothing twice. Every message that
//!    starts work is covered so: a group's alert is one alert per commune, each with its own
//!    job, and schedules and timed alerts start through the outbox like any other alert.
//!
//! Each rule commits on its own: one that fails rolls back alone and the next sweep tries it
//! again, while the others (expiry and closing above all) still apply. A rule's announcements
//! are published (with confirms, bounded in time) before it commits; if publishing fails,
//! nothing of that rule changed.

use std::{collections::BTreeMap, time::Duration};

use lapin::{Connection, options::QueueDeclareOptions, types::FieldTable};
use sqlx::{Acquire, PgConnection, PgPool, Postgres, pool::PoolConnection};
use tokio_util::sync::CancellationToken;

use crate::dispatch::metrics::Metrics;
use crate::{
    broker::{Job, Publisher, Topology},
    model::{AlertId, Channel, DeliveryId, Lane},
    store::{
        sweeps::{self, Moved},
        tallies::Pending,
    },
};

/// Most rows one sweep moves per rule, so that a sweep stays short.
const MAX_PER_RULE: i64 = 50_000;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub lease_ended: u64,
    pub retry_overdue: u64,
    pub stale_queued: u64,
    pub expired: u64,
    pub closed: u64,
    pub early_reports: u64,
    pub pending_opt_outs: u64,
    pub lost_fan_outs: u64,
}

/// What the sweeper works with.
pub struct Sweeper<'a> {
    pub db: &'a PgPool,
    pub topology: &'a Topology,
    /// The routing keys of every queue (fan-out and send), whose ready messages are measured.
    pub queue_keys: Vec<String>,
    pub metrics: &'a Metrics,
    /// How often it sweeps (`sweep_interval`); a retry due for longer is overdue.
    pub every: Duration,
    /// See `Settings::stale_after`.
    pub stale_after: Duration,
    /// Delivery ids per send-batch message.
    pub batch_size: usize,
}

/// Sweeps every `sweep_interval` until `stop`.
pub async fn run(
    sweeper: &Sweeper<'_>,
    connection: &Connection,
    publisher: &Publisher,
    stop: &CancellationToken,
) -> Result<(), String> {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(sweeper.every) => {}
        }
        // A channel per round: a passive declare that fails closes its channel, and the next
        // round must not inherit that.
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| e.to_string())?;
        match sweep(sweeper, &channel, publisher).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(?swept, "swept"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sweep failed; the next one tries again"),
        }
        // Every instance measures the queues, so that each one's /metrics tells the lag.
        if let Err(error) = measure_queues(sweeper, &channel).await {
            tracing::warn!(%error, "could not measure the queues");
        }
        let _ = channel.close(200, "swept".into()).await;
    }
}

/// The session that holds the sweeper's lock. Dropped without [`SweeperLock::release`] (the
/// task aborted mid-sweep), its connection is closed rather than returned to the pool, so that
/// the lock never stays with an idle pooled connection.
struct SweeperLock(Option<PoolConnection<Postgres>>);

impl SweeperLock {
    fn session(&mut self) -> &mut PgConnection {
        self.0.as_mut().expect("held until released")
    }

    async fn release(mut self) {
        let Some(mut session) = self.0.take() else {
            return;
        };
        if sweeps::unlock(&mut session).await.is_err() {
            let _ = sqlx::Connection::close(session.detach()).await;
        }
    }
}

impl Drop for SweeperLock {
    fn drop(&mut self) {
        if let Some(session) = self.0.take() {
            // Closing the socket ends the session, and its lock with it.
            drop(session.detach());
        }
    }
}

/// One sweep; does nothing when another instance holds the sweeper's lock. Each rule runs in a
/// transaction of its own: one that fails (a lock timeout, a broker that does not confirm) is
/// logged and rolled back alone, and the others (expiry and closing above all) still apply.
pub async fn sweep(
    sweeper: &Sweeper<'_>,
    channel: &lapin::Channel,
    publisher: &Publisher,
) -> Result<Swept, String> {
    let text = |e: sqlx::Error| e.to_string();
    let mut lock = SweeperLock(Some(sweeper.db.acquire().await.map_err(text)?));
    if !sweeps::try_lock(lock.session()).await.map_err(text)? {
        // Nothing to unlock; the session goes back to the pool as it came.
        let _ = lock.0.take();
        return Ok(Swept::default());
    }
    let swept = sweep_rules(sweeper, lock.session(), channel, publisher).await;
    lock.release().await;
    swept
}

/// Counts what a rule moved, or logs why it failed (the next sweep tries it again).
fn counted(rule: &str, moved: Result<u64, String>) -> u64 {
    moved.unwrap_or_else(|error| {
        tracing::warn!(rule, %error, "a sweeper rule failed; the next sweep tries it again");
        0
    })
}

async fn sweep_rules(
    sweeper: &Sweeper<'_>,
    session: &mut PgConnection,
    channel: &lapin::Channel,
    publisher: &Publisher,
) -> Result<Swept, String> {
    let text = |e: sqlx::Error| e.to_string();
    let mut swept = Swept::default();
    // Deliveries have no index on their status (it would cost every status change an index
    // write): the tallies tell which open alerts have rows in which state, and only those
    // alerts' rows are read, through the (alert, subscriber, channel) key.
    let pending = crate::store::tallies::pending_of_open_alerts(&mut *session)
        .await
        .map_err(text)?;
    let alerts_where = |wanted: fn(&Pending) -> bool| -> Vec<uuid::Uuid> {
        let mut ids: Vec<uuid::Uuid> = pending
            .iter()
            .filter(|p| wanted(p))
            .map(|p| p.alert.0)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };

    // Rule 4: what is still free to send of an alert past its deadline expires.
    let expired = sweeps::expire(session, &alerts_where(|_| true)).await;
    swept.expired = counted("expiry", expired.map_err(text));
    swept.lease_ended = counted(
        "ended leases",
        lease_ended(sweeper, session, publisher).await,
    );
    let retrying = alerts_where(|p| p.retrying > 0);
    swept.retry_overdue = counted(
        "overdue retries",
        retry_overdue(sweeper, session, publisher, &retrying).await,
    );
    swept.stale_queued = counted(
        "stale queued",
        stale_queued(sweeper, session, channel, publisher, &pending).await,
    );
    swept.lost_fan_outs = counted(
        "lost fan-out jobs",
        lost_fan_outs(sweeper, session, channel, publisher).await,
    );
    // Rule 5: alerts planned (or expired) with nothing left pending are closed. What the other
    // rules changed is in the tallies already (their triggers ran as they committed).
    swept.closed = counted(
        "closing",
        sweeps::close_finished(session).await.map_err(text),
    );
    swept.early_reports = counted(
        "early reports",
        crate::store::deliveries::apply_early_reports(sweeper.db)
            .await
            .map_err(text),
    );
    swept.pending_opt_outs = counted(
        "pending opt-outs",
        crate::store::pending_opt_outs::apply_free(sweeper.db)
            .await
            .map_err(text),
    );
    Ok(swept)
}

/// Rule 1: `sending` under an ended lease, found through the batches' lease rows.
async fn lease_ended(
    sweeper: &Sweeper<'_>,
    session: &mut PgConnection,
    publisher: &Publisher,
) -> Result<u64, String> {
    let text = |e: sqlx::Error| e.to_string();
    let mut tx = session.begin().await.map_err(text)?;
    let moved = sweeps::requeue_ended_leases(&mut tx, MAX_PER_RULE)
        .await
        .map_err(text)?;
    crate::store::leases::remove_spent(&mut *tx)
        .await
        .map_err(text)?;
    announce_then_commit(sweeper.batch_size, publisher, tx, moved).await
}

/// Rule 2: `retrying`, due for longer than a sweep interval.
async fn retry_overdue(
    sweeper: &Sweeper<'_>,
    session: &mut PgConnection,
    publisher: &Publisher,
    alerts: &[uuid::Uuid],
) -> Result<u64, String> {
    let text = |e: sqlx::Error| e.to_string();
    let mut tx = session.begin().await.map_err(text)?;
    let overdue = millis(sweeper.every);
    let moved = sweeps::requeue_overdue_retries(&mut tx, alerts, overdue, MAX_PER_RULE)
        .await
        .map_err(text)?;
    announce_then_commit(sweeper.batch_size, publisher, tx, moved).await
}

/// Announces what a rule moved (with confirms, bounded in time), then commits the rule: if
/// publishing fails, the transaction rolls back and nothing changed.
async fn announce_then_commit(
    batch_size: usize,
    publisher: &Publisher,
    tx: sqlx::Transaction<'_, Postgres>,
    moved: Vec<Moved>,
) -> Result<u64, String> {
    let count = moved.len() as u64;
    announce(batch_size, publisher, moved.into_iter()).await?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(count)
}

/// Ready messages of every work queue and of the dead-letter queue, into the metrics.
async fn measure_queues(sweeper: &Sweeper<'_>, channel: &lapin::Channel) -> Result<(), String> {
    for key in sweeper
        .queue_keys
        .iter()
        .map(String::as_str)
        .chain([Topology::dead_key()])
    {
        let ready = ready_messages(channel, &sweeper.topology.queue(key)).await?;
        if key == Topology::dead_key() {
            sweeper.metrics.dead_letters.set(i64::from(ready));
        } else {
            sweeper
                .metrics
                .queue_ready
                .with_label_values(&[key])
                .set(i64::from(ready));
        }
    }
    Ok(())
}

/// Rule 3: queued rows untouched for `stale_after` of planned alerts, and ranges announced that
/// long ago and still untaken, on routes whose send queue is empty.
async fn stale_queued(
    sweeper: &Sweeper<'_>,
    session: &mut PgConnection,
    channel: &lapin::Channel,
    publisher: &Publisher,
    pending: &[Pending],
) -> Result<u64, String> {
    let text = |e: sqlx::Error| e.to_string();
    let mut tx = session.begin().await.map_err(text)?;
    let stale_after = millis(sweeper.stale_after);
    let mut by_route: BTreeMap<(Channel, &str, Lane), Vec<uuid::Uuid>> = BTreeMap::new();
    for p in pending.iter().filter(|p| p.queued > 0 && p.planned) {
        by_route
            .entry((p.channel, &p.provider, p.lane))
            .or_default()
            .push(p.alert.0);
    }
    let mut rows = Vec::new();
    let mut ranges = Vec::new();
    for ((route_channel, provider, lane), alerts) in by_route {
        let queue = sweeper
            .topology
            .queue(&Topology::send_key(route_channel, provider, lane));
        if ready_messages(channel, &queue).await? > 0 {
            // Its messages are still coming: these rows are a backlog, not strays.
            continue;
        }
        let route = (route_channel.as_str(), provider, lane.as_str());
        let moved = sweeps::touch_stale_queued(&mut tx, route, &alerts, stale_after, MAX_PER_RULE)
            .await
            .map_err(text)?;
        rows.extend(moved);
        let key = Topology::send_key(route_channel, provider, lane);
        let untaken = sweeps::touch_stale_ranges(
            &mut tx,
            (route.0, provider),
            &alerts,
            stale_after,
            MAX_PER_RULE,
        )
        .await
        .map_err(text)?;
        ranges.extend(untaken.into_iter().map(|(range, alert)| {
            let job = Job::SendRangeV1 {
                alert: AlertId(alert),
                channel: route_channel,
                range,
            };
            (key.clone(), job.encode())
        }));
    }
    if !ranges.is_empty() {
        tracing::warn!(
            ranges = ranges.len(),
            "ranges left untaken; their send jobs published again"
        );
        publisher
            .publish_all(&ranges)
            .await
            .map_err(|e| e.to_string())?;
    }
    let republished = ranges.len() as u64;
    Ok(announce_then_commit(sweeper.batch_size, publisher, tx, rows).await? + republished)
}

/// Rule 8: alerts whose fan-out job was lost, on lanes whose fan-out queue holds no ready job.
/// A ready job there means fan-out is behind: the lost alert's job may be among those waiting,
/// and publishing it again would only lengthen the queue; the next sweep looks again.
async fn lost_fan_outs(
    sweeper: &Sweeper<'_>,
    session: &mut PgConnection,
    channel: &lapin::Channel,
    publisher: &Publisher,
) -> Result<u64, String> {
    let text = |e: sqlx::Error| e.to_string();
    let mut lanes = Vec::new();
    for lane in Lane::ALL {
        let queue = sweeper.topology.queue(&Topology::fan_out_key(lane));
        if ready_messages(channel, &queue).await? == 0 {
            lanes.push(lane);
        }
    }
    if lanes.is_empty() {
        return Ok(0);
    }
    let mut tx = session.begin().await.map_err(text)?;
    let stale_after = millis(sweeper.stale_after);
    let lost = crate::store::outbox::lost_fan_outs(&mut tx, &lanes, stale_after, MAX_PER_RULE)
        .await
        .map_err(text)?;
    if lost.is_empty() {
        return Ok(0);
    }
    let messages: Vec<(String, Vec<u8>)> = lost
        .iter()
        .map(|&(alert, lane)| {
            tracing::warn!(%alert, %lane, "an alert's fan-out job was lost; published again");
            (
                Topology::fan_out_key(lane),
                Job::FanOutV1 { alert }.encode(),
            )
        })
        .collect();
    publisher
        .publish_all(&messages)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(text)?;
    Ok(lost.len() as u64)
}

async fn ready_messages(channel: &lapin::Channel, queue: &str) -> Result<u32, String> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map(|q| q.message_count())
        .map_err(|e| format!("{queue}: {e}"))
}

/// Publishes the rows as send batches, by alert and route.
async fn announce(
    batch_size: usize,
    publisher: &Publisher,
    rows: impl Iterator<Item = Moved>,
) -> Result<(), String> {
    let mut by_batch: BTreeMap<(uuid::Uuid, Channel, String, Lane), Vec<DeliveryId>> =
        BTreeMap::new();
    for (id, alert, channel, provider, lane) in rows {
        let (Ok(channel), Ok(lane)) = (channel.parse(), lane.parse()) else {
            continue;
        };
        by_batch
            .entry((alert, channel, provider, lane))
            .or_default()
            .push(DeliveryId(id));
    }
    let mut messages = Vec::new();
    for ((alert, channel, provider, lane), ids) in by_batch {
        let key = Topology::send_key(channel, &provider, lane);
        for chunk in ids.chunks(batch_size.max(1)) {
            let job = Job::SendBatchV1 {
                alert: AlertId(alert),
                channel,
                deliveries: chunk.to_vec(),
            };
            messages.push((key.clone(), job.encode()));
        }
    }
    publisher
        .publish_all(&messages)
        .await
        .map_err(|e| e.to_string())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
