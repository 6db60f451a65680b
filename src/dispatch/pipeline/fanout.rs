//! Fan-out: plans an alert's deliveries chunk by chunk (never the whole segment in memory) and
//! announces them to the senders. A commune's alert is planned as ranges of subscribers, one
//! per account and send job, whose rows the senders create as they take them (`store::ranges`);
//! a commune's part of a group alert as delivery rows, announced in batches, because an address
//! is claimed for the whole group as its row is created (`store::deliveries::plan_range`).

use std::{collections::BTreeMap, time::Instant};

use futures_util::{StreamExt, stream::FuturesUnordered};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::dispatch::{Handled, Providers, Routing, load_alert, until_done};
use crate::{
    broker::{Job, Publisher, Topology},
    model::{AlertId, Channel, DeliveryId},
    store::{
        self,
        alerts::Alert,
        deliveries::{ChannelRoute, Planned},
        ranges::PlannedRange,
    },
};

/// Subscribers in the first planning chunk of an alert.
const FIRST_CHUNK: i64 = 250;
/// Chunks planned at once.
const CHUNKS_IN_FLIGHT: usize = 2;

/// What fan-out works with: the ledger, where each channel of a commune goes, and the sizes it
/// plans and announces in.
pub struct FanOut<'a> {
    pub db: &'a PgPool,
    pub routing: &'a Routing,
    pub providers: &'a Providers,
    /// Subscribers planned per statement, once past the first chunks.
    pub chunk: i64,
    /// Delivery ids per send-batch message.
    pub batch_size: usize,
}

/// Handles one fan-out job. When an earlier attempt may have planned rows without announcing
/// them, queued rows are announced again (senders skip rows already claimed): the broker says so
/// of a job it `redelivered`, and the alert says so when it has counted recipients already (a
/// chunk was planned), as after the sweeper published again a job the broker lost mid-way.
pub async fn handle(
    fan_out: &FanOut<'_>,
    publisher: &Publisher,
    alert: AlertId,
    redelivered: bool,
    shutdown: &CancellationToken,
) -> Handled {
    let db = fan_out.db;
    let alert = match load_alert(db, alert, shutdown).await {
        Ok(alert) => alert,
        Err(handled) => return handled,
    };
    if alert.planned_at.is_some() {
        // The outbox relay may publish a job twice, and the sweeper publish again a job it
        // thought lost; the first one did the work.
        return Handled::Done;
    }
    let again = redelivered || alert.recipients.is_some();
    let routes: Vec<ChannelRoute> = alert
        .channels
        .iter()
        .map(|&channel| {
            let mut accounts = fan_out.routing.accounts_for(
                fan_out.providers,
                &alert.tenant,
                &alert.senders,
                channel,
            );
            // Push without a VAPID key (a schedule made before the key was removed): no
            // browser could have subscribed here, and nothing could send to one.
            accounts.retain(|(account, _)| {
                let there = fan_out.providers.get(channel, account).is_some();
                if !there {
                    tracing::info!(alert = %alert.id, %channel, %account,
                        "no such account here; left out");
                }
                there
            });
            ChannelRoute { channel, accounts }
        })
        .filter(|route| !route.accounts.is_empty())
        .collect();
    let started = Instant::now();
    // The first chunk is small so that the first messages leave at once; chunks then grow to
    // the configured size, where planning is most efficient. Up to `CHUNKS_IN_FLIGHT` chunks are
    // planned and announced at once, each on its own connection: their subscribers are
    // disjoint, and while one statement waits for its commit or the broker the other plans.
    let mut chunk = FIRST_CHUNK.min(fan_out.chunk);
    let mut next = Some(0);
    let mut in_flight = FuturesUnordered::new();
    let mut announced = 0;
    let mut chunks_done = 0;
    loop {
        // The first chunk goes alone: sizing the next one (a round trip) would hold it back,
        // and nothing is planned until a chunk's future is polled.
        let room = if chunks_done == 0 {
            1
        } else {
            CHUNKS_IN_FLIGHT
        };
        while in_flight.len() < room
            && let Some(after) = next
        {
            let Some(bound) = until_done(shutdown, "sizing a fan-out chunk", || {
                store::deliveries::chunk_bound(db, alert.topic_id, after, chunk)
            })
            .await
            else {
                return Handled::Abandoned;
            };
            let range = (after, bound.unwrap_or(i64::MAX));
            in_flight.push(plan_and_announce(
                fan_out, publisher, &alert, &routes, range, again, shutdown,
            ));
            next = bound;
            chunk = (chunk * 4).min(fan_out.chunk);
        }
        match in_flight.next().await {
            Some(Some(count)) => {
                announced += count;
                chunks_done += 1;
            }
            Some(None) => return Handled::Abandoned,
            None => break,
        }
    }
    // An earlier attempt may have counted part of the subscribers already.
    if again
        && until_done(shutdown, "counting recipients", || async {
            if alert.group_alert_id.is_some() {
                store::alerts::recount_recipients(db, alert.id).await
            } else {
                store::ranges::recount_recipients(db, alert.id, alert.topic_id, &routes).await
            }
        })
        .await
        .is_none()
    {
        return Handled::Abandoned;
    }
    if until_done(shutdown, "marking an alert planned", || {
        store::alerts::mark_planned(db, alert.id)
    })
    .await
    .is_none()
    {
        return Handled::Abandoned;
    }
    tracing::info!(
        alert = %alert.id,
        deliveries = announced,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "alert planned"
    );
    Handled::Done
}

/// Plans the deliveries of the subscribers in `(after, upto]` and announces them; how many were
/// announced, or `None` at shutdown.
async fn plan_and_announce(
    fan_out: &FanOut<'_>,
    publisher: &Publisher,
    alert: &Alert,
    routes: &[ChannelRoute],
    (after, upto): (i64, i64),
    again: bool,
    shutdown: &CancellationToken,
) -> Option<usize> {
    let (jobs, announced) = if alert.group_alert_id.is_some() {
        let planned = until_done(shutdown, "planning deliveries", || {
            plan(fan_out.db, alert, routes, after, upto, again)
        })
        .await?;
        let batches = batches(alert, planned, fan_out.batch_size);
        let announced = batches.iter().map(|(_, job)| job_len(job)).sum();
        (batches, announced)
    } else {
        let ranges = until_done(shutdown, "planning ranges", || {
            plan_ranges(fan_out, alert, routes, (after, upto), again)
        })
        .await?;
        let announced = ranges.iter().map(|r| r.expected as usize).sum();
        (range_jobs(alert, ranges), announced)
    };
    let messages: Vec<(String, Vec<u8>)> = jobs
        .into_iter()
        .map(|(key, job)| (key, job.encode()))
        .collect();
    until_done(shutdown, "announcing deliveries", || {
        publisher.publish_all(&messages)
    })
    .await?;
    Some(announced)
}

async fn plan(
    db: &PgPool,
    alert: &Alert,
    routes: &[ChannelRoute],
    after: i64,
    upto: i64,
    again: bool,
) -> Result<Vec<Planned>, sqlx::Error> {
    let created = store::deliveries::plan_range(
        db,
        alert.id,
        alert.topic_id,
        (after, upto),
        routes,
        alert.group_alert_id,
        again,
    )
    .await?;
    if again {
        store::deliveries::queued_in_range(db, alert.id, after, upto).await
    } else {
        Ok(created)
    }
}

/// Plans the ranges of the subscribers in `(after, upto]`, each of about a send batch per
/// account; when an earlier attempt may have planned some, gives every range not yet taken.
async fn plan_ranges(
    fan_out: &FanOut<'_>,
    alert: &Alert,
    routes: &[ChannelRoute],
    bounds: (i64, i64),
    again: bool,
) -> Result<Vec<PlannedRange>, sqlx::Error> {
    // A range holds about one send batch for each account of the widest pool.
    let accounts = routes.iter().map(|r| r.accounts.len()).max().unwrap_or(1);
    let span = (fan_out.batch_size.max(1) * accounts.max(1)) as i64;
    let db = fan_out.db;
    let created =
        store::ranges::plan_ranges(db, alert.id, alert.topic_id, bounds, routes, span).await?;
    if again {
        store::ranges::untaken_in(db, alert.id, bounds).await
    } else {
        Ok(created)
    }
}

/// One send job per range, to the queue of its account.
fn range_jobs(alert: &Alert, ranges: Vec<PlannedRange>) -> Vec<(String, Job)> {
    ranges
        .into_iter()
        .map(|range| {
            (
                Topology::send_key(range.channel, &range.provider, alert.lane),
                Job::SendRangeV1 {
                    alert: alert.id,
                    channel: range.channel,
                    range: range.id,
                },
            )
        })
        .collect()
}

/// Groups planned rows by queue and cuts them into send batches, ids in ascending order.
fn batches(alert: &Alert, planned: Vec<Planned>, size: usize) -> Vec<(String, Job)> {
    let mut by_queue: BTreeMap<(Channel, String), Vec<DeliveryId>> = BTreeMap::new();
    for row in planned {
        by_queue
            .entry((row.channel, row.provider))
            .or_default()
            .push(row.id);
    }
    let mut jobs = Vec::new();
    for ((channel, provider), mut ids) in by_queue {
        ids.sort_unstable_by_key(|id| id.0);
        let key = Topology::send_key(channel, &provider, alert.lane);
        for chunk in ids.chunks(size.max(1)) {
            jobs.push((
                key.clone(),
                Job::SendBatchV1 {
                    alert: alert.id,
                    channel,
                    deliveries: chunk.to_vec(),
                },
            ));
        }
    }
    jobs
}

fn job_len(job: &Job) -> usize {
    match job {
        Job::SendBatchV1 { deliveries, .. } => deliveries.len(),
        Job::FanOutV1 { .. } | Job::SendRangeV1 { .. } => 0,
    }
}
