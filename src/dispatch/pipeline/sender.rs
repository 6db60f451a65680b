//! Senders: create the deliveries of a planned range (`store::ranges`), claim a batch of
//! deliveries under a lease, hand each to the provider (a bounded number at once), record every
//! outcome as it comes, schedule retries of transient failures, and acknowledge the batch once
//! all of that is durable.

use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    future::Future,
    pin::Pin,
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream::FuturesUnordered};
use tocsin_providers::{Account, Message, Outcome, RetryClass, email::DkimKey};
use tokio_util::sync::CancellationToken;

use crate::dispatch::{
    Dispatcher, Handled, load_alert,
    pipeline::{outcomes::Recorded, settle::settle},
    policy::{limits::AccountLimiter, retry::Retry},
    until_done,
};
use crate::{
    broker::{Job, Publisher, Topology},
    model::{AlertId, Channel, DeliveryId, Lane, speech::Script},
    store::{
        self,
        alerts::Alert,
        deliveries::{Claimed, Fence, Lease},
        leases::BatchLease,
        ranges::TakenRange,
    },
};

/// The provider account a sender consumes for: one queue family per (channel, account).
#[derive(Clone)]
pub struct Carrier(pub Account);

impl Carrier {
    pub fn channel(&self) -> Channel {
        self.0.channel().into()
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    async fn send(
        &self,
        alert: &Alert,
        delivery: &Claimed,
        reference: &str,
        dispatcher: &Dispatcher,
        dkim: Signing<'_>,
    ) -> Outcome {
        let dkim = match dkim {
            Ok(key) => key,
            // Retried like any transient failure: the key may be readable again soon, and an
            // alert that cannot be signed expires rather than going out unsigned.
            Err(unavailable) => {
                return Outcome::failed(
                    RetryClass::Transient { retry_after: None },
                    unavailable.to_string(),
                );
            }
        };
        let public_url = &dispatcher.public_url;
        let token = dispatcher
            .callback_tokens
            .token(alert.tenant_id, alert.callback_token_version);
        let callback =
            |what: &str| crate::dispatch::callback_url(public_url, self.0.kind.name, &token, what);
        // Our reference rides in the URL too, for providers whose reports name only their own
        // id (Twilio signs the whole URL, so it cannot be altered).
        let status_callback = format!("{}?ref={reference}", callback("status"));
        let channel = self.channel();
        // The e-mail's and the notification's link opens the alert's page, where one click
        // confirms it for this recipient.
        let link = matches!(channel, Channel::Push | Channel::Email)
            .then(|| dispatcher.links.acknowledge_url(alert.id, delivery.id));
        let collapse_key = alert.id.0.simple().to_string();
        let unsubscribe = (channel == Channel::Email)
            .then(|| dispatcher.links.unsubscribe_url(delivery.subscriber));
        // A call's script is fetched by the provider once answered, at a URL only it can call.
        let call_url = (channel == Channel::Voice).then(|| callback(&format!("voice/{reference}")));
        let text = text_for(channel, alert, link.as_deref());
        let sender = match channel {
            Channel::Voice => alert.senders.voice_caller_id.as_deref(),
            _ => alert.senders.sms_sender.as_deref(),
        };
        let message = Message {
            reference,
            to: &delivery.address,
            subject: &alert.subject,
            text: text.as_deref().unwrap_or(&alert.body),
            sender,
            from: alert.senders.email_from.as_deref(),
            status_callback: Some(&status_callback),
            validity: (alert.expires_at - Utc::now()).to_std().ok(),
            urgent: alert.lane == Lane::Urgent,
            commune: Some(&alert.tenant_name),
            link: link.as_deref(),
            collapse_key: Some(&collapse_key),
            unsubscribe: unsubscribe.as_deref(),
            dkim,
            call_url: call_url.as_deref(),
        };
        self.0.provider.send(message).await
    }
}

/// What a channel says when it is not the alert's text as written: a call reads the script
/// made for the ear, an e-mail ends with its link to confirm.
fn text_for(channel: Channel, alert: &Alert, link: Option<&str>) -> Option<String> {
    match channel {
        Channel::Voice => Some(Script::new(&alert.tenant_name, &alert.body).spoken()),
        Channel::Email => Some(format!(
            "{}\n\nConfirmez la réception de ce message : {}",
            alert.body,
            link.unwrap_or_default()
        )),
        Channel::Sms | Channel::Push => None,
    }
}

/// How a batch's e-mail is signed: with the commune's key, without (it has none), or not at
/// all because its key is unavailable.
type Signing<'a> = Result<Option<&'a DkimKey>, &'a crate::dispatch::dkim::DkimUnavailable>;

/// Everything one batch needs besides its ids.
pub struct Batch<'a> {
    pub dispatcher: &'a Dispatcher,
    pub carrier: &'a Carrier,
    pub publisher: &'a Publisher,
    pub shutdown: &'a CancellationToken,
}

pub async fn handle(batch: &Batch<'_>, alert: AlertId, ids: &[DeliveryId]) -> Handled {
    match load_alert(&batch.dispatcher.db, alert, batch.shutdown).await {
        Ok(alert) => handle_rows(batch, &alert, ids).await,
        Err(handled) => handled,
    }
}

/// Sends the given rows of `alert`, or expires them past its deadline.
async fn handle_rows(batch: &Batch<'_>, alert: &Alert, ids: &[DeliveryId]) -> Handled {
    let Batch {
        dispatcher,
        shutdown,
        ..
    } = *batch;
    let db = &dispatcher.db;
    if Utc::now() >= alert.expires_at {
        // A storm warning that arrives the next day does harm: what is left of it expires.
        return match until_done(shutdown, "expiring deliveries", || {
            store::deliveries::expire_free(db, ids)
        })
        .await
        {
            Some(_) => Handled::Done,
            None => Handled::Abandoned,
        };
    }
    let lease = lease_of(dispatcher);
    let Some(batch_lease) = until_done(shutdown, "opening the batch's lease", || {
        store::leases::open(db, ids, lease)
    })
    .await
    else {
        return Handled::Abandoned;
    };
    send_leased(batch, alert, (lease, batch_lease), ids, Vec::new()).await
}

/// Creates the deliveries of a planned range of the alert's subscribers, already claimed under
/// the batch's lease, then sends them. A range taken before (its job published twice, or
/// redelivered after its sender stopped) is sent as any batch of its rows: the claims skip
/// those another sender holds or finished. Past the alert's deadline, its rows are created to
/// expire.
pub async fn handle_range(batch: &Batch<'_>, alert: AlertId, range: i64) -> Handled {
    let Batch {
        dispatcher,
        shutdown,
        ..
    } = *batch;
    let db = &dispatcher.db;
    let alert = match load_alert(db, alert, shutdown).await {
        Ok(alert) => alert,
        Err(handled) => return handled,
    };
    let lease = (Utc::now() < alert.expires_at).then(|| lease_of(dispatcher));
    let Some(taken) = until_done(shutdown, "taking a range", || {
        store::ranges::take(db, alert.id, range, lease)
    })
    .await
    else {
        return Handled::Abandoned;
    };
    match (taken, lease) {
        (TakenRange::Claimed(batch_lease, claimed), Some(lease)) => {
            send_leased(batch, &alert, (lease, batch_lease), &[], claimed).await
        }
        // Every subscriber of the range left before it was taken.
        (TakenRange::Rows(ids), _) if ids.is_empty() => Handled::Done,
        (TakenRange::Rows(ids), _) => handle_rows(batch, &alert, &ids).await,
        (TakenRange::Claimed(..), None) => unreachable!("rows are claimed only under a lease"),
    }
}

fn lease_of(dispatcher: &Dispatcher) -> Lease {
    Lease {
        owner: dispatcher.instance,
        length: dispatcher.settings.lease,
    }
}

/// Sends a batch under its lease: `claimed` are its rows claimed already, `ids` those still to
/// claim.
async fn send_leased(
    batch: &Batch<'_>,
    alert: &Alert,
    (lease, batch_lease): (Lease, BatchLease),
    ids: &[DeliveryId],
    claimed: Vec<Claimed>,
) -> Handled {
    let db = &batch.dispatcher.db;
    let shutdown = batch.shutdown;
    let renewing = CancellationToken::new();
    let lease_lost = CancellationToken::new();
    let stopped = CancellationToken::new();
    let leased = claimed.iter().map(|d| d.id).chain(ids.iter().copied());
    tokio::spawn(renew_lease(
        db.clone(),
        batch_lease,
        leased.collect(),
        lease,
        renewing.clone(),
        lease_lost.clone(),
    ));
    tokio::spawn(watch_for_stop(
        db.clone(),
        (alert.id, alert.expires_at),
        renewing.clone(),
        stopped.clone(),
    ));
    let _stop_renewing = renewing.drop_guard();

    let Some(Sent {
        mut unwritten,
        writer_gone,
        retries,
        unstarted,
        passed_over,
    }) = send_all(batch, alert, ids, claimed, lease, [&lease_lost, &stopped]).await
    else {
        return Handled::Abandoned;
    };
    if writer_gone {
        return Handled::Abandoned;
    }
    while let Some(written) = unwritten.next().await {
        if !written {
            // The writer is gone (the process is ending): the rows come back with their lease.
            return Handled::Abandoned;
        }
    }
    if !passed_over.is_empty() {
        // Retrying deliveries whose message came back before they are due wait again. Asked
        // only of the rows no claim took, which a first attempt never is: the common batch
        // goes without the question.
        let Some(early) = until_done(shutdown, "reading retry times", || {
            store::deliveries::not_yet_due(db, &passed_over)
        })
        .await
        else {
            return Handled::Abandoned;
        };
        if !early.is_empty() && !wait_again(batch, alert, early).await {
            return Handled::Abandoned;
        }
    }
    if !schedule_retries(batch, alert, retries).await {
        return Handled::Abandoned;
    }
    if !unstarted.is_empty() && !hand_back(batch, alert, &unstarted).await {
        return Handled::Abandoned;
    }
    if let Err(error) = store::leases::close(db, batch_lease).await {
        // Harmless: the row's lease ends unrenewed, and the sweeper removes it then.
        tracing::warn!(%error, "could not remove a batch's lease");
    }
    Handled::Done
}

/// Fewest deliveries claimed in one statement (more when `sends_per_batch` is larger): a whole
/// batch of the default size. A statement costs PostgreSQL about half a millisecond whatever
/// its size, then about 4 µs a row (pgbench, batched UPDATEs of 10 to 500 rows of 200,000:
/// 0.61 ms for 10, 0.78 for 50, 1.32 for 200, 2.43 for 500). Those claimed but not started
/// when an instance crashes wait for their lease to end.
const CLAIM_WINDOW: usize = 256;

/// What sending a batch left: outcomes on their way to the database, retries to schedule once
/// they are there, and deliveries not started because of shutdown.
struct Sent {
    /// Outcomes handed to the writer and not yet written. A crash resends what was sent but
    /// not written, so a batch holds at most `sends_per_batch` of them: no send starts while
    /// the writer is that far behind.
    unwritten: FuturesUnordered<Recorded>,
    /// The writer stopped before writing one (the process is ending).
    writer_gone: bool,
    retries: Vec<(DeliveryId, Retry)>,
    unstarted: Vec<DeliveryId>,
    /// Deliveries no claim took: sent by someone else, erased, or retrying and not yet due.
    passed_over: Vec<DeliveryId>,
}

/// Sends at most `sends_per_batch` at once. Deliveries are claimed a window at a time, ahead of
/// need and while earlier sends are still in flight, so that a slot never waits for a claim and
/// a crash strands under a lease only what was in flight or just claimed; the rest of the batch
/// stays free for whoever gets the message next. Each outcome goes to the writer as soon as it
/// comes. At shutdown, or once the lease could not be renewed (`lease_lost`: past its end
/// another sender may take the rows), no new send starts; those in flight finish and are
/// recorded, and what was claimed but not started is released. Once the alert is `stopped`,
/// what has not started counts as expired. `None` when shutdown came while the database was
/// away.
async fn send_all(
    batch: &Batch<'_>,
    alert: &Alert,
    ids: &[DeliveryId],
    claimed: Vec<Claimed>,
    lease: Lease,
    [lease_lost, stopped]: [&CancellationToken; 2],
) -> Option<Sent> {
    let Batch {
        dispatcher,
        carrier,
        shutdown,
        ..
    } = *batch;
    let db = &dispatcher.db;
    let limit = dispatcher.settings.sends_per_batch.max(1);
    let diverted = secondary_for(dispatcher, carrier, alert);
    let carrier = diverted.as_ref().unwrap_or(carrier);
    let limiter = dispatcher.limits.of(carrier.name());
    // The commune's e-mail is signed for its own domain when it has a key.
    let dkim = match carrier.channel() {
        Channel::Email => dispatcher.dkim.of(db, alert.tenant_id).await,
        _ => Ok(None),
    };
    let stops = Stops {
        release: [shutdown, lease_lost],
        alert_stopped: stopped,
    };
    let mut waiting: VecDeque<DeliveryId> = ids.iter().copied().collect();
    let mut ready: VecDeque<Claimed> = claimed.into();
    let mut in_flight = FuturesUnordered::new();
    let mut claiming: Option<PendingClaim<'_>> = None;
    let mut sent = Sent {
        unwritten: FuturesUnordered::new(),
        writer_gone: false,
        retries: Vec::new(),
        unstarted: Vec::new(),
        passed_over: Vec::new(),
    };
    loop {
        let stopping = shutdown.is_cancelled() || lease_lost.is_cancelled() || sent.writer_gone;
        // In flight and sent-but-unwritten are each held to `limit`: what a crash can send
        // twice stays bounded even when the writer falls behind.
        while in_flight.len() < limit && sent.unwritten.len() < limit && !stopping {
            let Some(delivery) = ready.pop_front() else {
                break;
            };
            in_flight.push(send_one(
                dispatcher,
                carrier,
                &limiter,
                alert,
                dkim.as_ref().map(Option::as_deref),
                delivery,
                stops,
            ));
        }
        if claiming.is_none() && ready.len() < limit && !waiting.is_empty() && !stopping {
            if stops.past_deadline(alert) {
                let left: Vec<DeliveryId> = waiting.drain(..).collect();
                until_done(shutdown, "expiring deliveries", || {
                    store::deliveries::expire_free(db, &left)
                })
                .await?;
            } else {
                let window = limit.max(CLAIM_WINDOW).min(waiting.len());
                let chunk: Vec<DeliveryId> = waiting.drain(..window).collect();
                claiming = Some(Box::pin(async move {
                    let claimed = until_done(shutdown, "claiming deliveries", || {
                        store::deliveries::claim(db, &chunk, lease)
                    })
                    .await?;
                    let taken: HashSet<DeliveryId> = claimed.iter().map(|d| d.id).collect();
                    let passed_over = chunk.into_iter().filter(|id| !taken.contains(id));
                    Some((claimed, passed_over.collect()))
                }));
            }
        }
        tokio::select! {
            done = in_flight.next(), if !in_flight.is_empty() => {
                let (delivery, sending) = done.expect("not empty");
                let outcome = match sending {
                    Sending::Answered(outcome) => Some(outcome),
                    Sending::PastDeadline => None,
                    // Released with the others not started.
                    Sending::NotStarted => {
                        ready.push_back(delivery);
                        continue;
                    }
                };
                let fence = Fence::of(&delivery, &lease);
                sent.record(dispatcher, carrier, alert, &delivery, fence, outcome).await;
            }
            claimed = async { claiming.as_mut().expect("checked").await }, if claiming.is_some() => {
                claiming = None;
                let (claimed, passed_over) = claimed?;
                ready.extend(claimed);
                sent.passed_over.extend(passed_over);
            }
            written = sent.unwritten.next(), if !sent.unwritten.is_empty() => {
                if written == Some(false) {
                    sent.writer_gone = true;
                }
            }
            else => break,
        }
    }
    if !ready.is_empty() {
        // Claimed but not started: free again at once rather than after the lease.
        let held: Vec<DeliveryId> = ready.iter().map(|d| d.id).collect();
        let never = CancellationToken::new();
        let released = until_done(&never, "releasing deliveries", || {
            store::deliveries::release(db, &held, lease.owner)
        })
        .await?;
        sent.unstarted.extend(released);
    }
    sent.unstarted.extend(waiting);
    Some(sent)
}

/// The tenant's secondary SMS account, when the batch's account is failing and this batch is
/// not one that probes it: new sends go there until the primary recovers (see `health`).
fn secondary_for(dispatcher: &Dispatcher, carrier: &Carrier, alert: &Alert) -> Option<Carrier> {
    let secondary = alert.senders.sms_secondary.as_deref()?;
    if carrier.channel() != Channel::Sms || secondary == carrier.name() {
        return None;
    }
    let account = dispatcher.providers.get(Channel::Sms, secondary)?;
    dispatcher
        .health
        .divert(carrier.name())
        .then(|| Carrier(account.clone()))
}

/// A claim under way beside the sends in flight.
/// Gives the rows claimed, and those of the window it did not take.
type PendingClaim<'a> =
    Pin<Box<dyn Future<Output = Option<(Vec<Claimed>, Vec<DeliveryId>)>> + Send + 'a>>;

impl Sent {
    /// Settles one send's outcome, counts it, and hands it to the writer.
    async fn record(
        &mut self,
        dispatcher: &Dispatcher,
        carrier: &Carrier,
        alert: &Alert,
        delivery: &Claimed,
        fence: Fence,
        outcome: Option<Outcome>,
    ) {
        if let Some(outcome) = &outcome {
            let class = match outcome {
                Outcome::Failed { class, .. } => Some(*class),
                Outcome::Accepted { .. } => None,
            };
            let failing = matches!(
                class,
                Some(RetryClass::Transient { .. } | RetryClass::Uncertain)
            );
            dispatcher.health.record(carrier.name(), failing);
            if class == Some(RetryClass::Uncertain) {
                dispatcher
                    .metrics
                    .uncertain_sends
                    .with_label_values(&[carrier.channel().as_str(), carrier.name()])
                    .inc();
            }
        }
        let (transition, retry) = settle(
            &dispatcher.settings.retry,
            carrier,
            alert,
            delivery,
            fence,
            outcome,
        );
        let labels = [carrier.channel().as_str(), carrier.name()];
        dispatcher
            .metrics
            .deliveries
            .with_label_values(&[labels[0], labels[1], transition.status.as_str()])
            .inc();
        if let Some(retry) = retry {
            dispatcher.metrics.retries.with_label_values(&labels).inc();
            self.retries.push((delivery.id, retry));
        }
        self.unwritten
            .push(dispatcher.outcomes.record(transition).await);
    }
}

/// What became of one send.
enum Sending {
    Answered(Outcome),
    /// The alert's deadline passed before the send could start.
    PastDeadline,
    /// Shutdown came, or the batch's lease was lost, while it waited for its slot or token.
    NotStarted,
}

/// What keeps a send not yet started from starting, besides the alert's deadline.
#[derive(Clone, Copy)]
struct Stops<'a> {
    /// Shutdown came, or the batch's lease was lost: the send is released for another sender.
    release: [&'a CancellationToken; 2],
    /// The alert was stopped ([`watch_for_stop`]): the send counts as past its deadline.
    alert_stopped: &'a CancellationToken,
}

impl Stops<'_> {
    /// The alert's deadline has passed, or the alert was stopped since the batch loaded it.
    fn past_deadline(&self, alert: &Alert) -> bool {
        Utc::now() >= alert.expires_at || self.alert_stopped.is_cancelled()
    }
}

/// One send: a connection slot and a token of the account's rate first, then the provider,
/// unless meanwhile the alert's deadline passed or one of the `stops` came.
async fn send_one<'a>(
    dispatcher: &'a Dispatcher,
    carrier: &'a Carrier,
    limiter: &'a AccountLimiter,
    alert: &'a Alert,
    dkim: Signing<'a>,
    delivery: Claimed,
    stops: Stops<'a>,
) -> (Claimed, Sending) {
    let _slot = limiter.slot(alert.lane).await;
    let waited = limiter.token(alert.lane).await;
    let metrics = &dispatcher.metrics;
    if !waited.is_zero() {
        metrics
            .rate_waits
            .with_label_values(&[carrier.name()])
            .inc();
        metrics
            .rate_wait_seconds
            .with_label_values(&[carrier.name()])
            .inc_by(waited.as_secs_f64());
    }
    // Checked at the last moment: a retry may come back, or a token arrive, after the deadline;
    // and a send that waited for its slot past a lost lease could go twice.
    if stops.past_deadline(alert) {
        return (delivery, Sending::PastDeadline);
    }
    if stops.release.iter().any(|stop| stop.is_cancelled()) {
        return (delivery, Sending::NotStarted);
    }
    let reference = dispatcher.ids.delivery(delivery.id);
    let gauge = metrics
        .in_flight
        .with_label_values(&[carrier.channel().as_str(), carrier.name()]);
    gauge.inc();
    let outcome = carrier
        .send(alert, &delivery, &reference, dispatcher, dkim)
        .await;
    gauge.dec();
    (delivery, Sending::Answered(outcome))
}

/// Parks the retries in their tiers: one message per tier, carrying the ids that wait there,
/// with the earliest wait among them.
async fn schedule_retries(
    batch: &Batch<'_>,
    alert: &Alert,
    retries: Vec<(DeliveryId, Retry)>,
) -> bool {
    let mut by_tier: BTreeMap<Duration, (Duration, Vec<DeliveryId>)> = BTreeMap::new();
    for (id, retry) in retries {
        let entry = by_tier
            .entry(retry.tier)
            .or_insert((retry.wait, Vec::new()));
        entry.0 = entry.0.min(retry.wait);
        entry.1.push(id);
    }
    for (tier, (wait, ids)) in by_tier {
        if !park(batch, alert, tier, wait, ids).await {
            return false;
        }
    }
    true
}

/// Retrying deliveries that are not due yet wait again, in the tier covering what remains.
async fn wait_again(
    batch: &Batch<'_>,
    alert: &Alert,
    early: Vec<(DeliveryId, DateTime<Utc>)>,
) -> bool {
    let policy = &batch.dispatcher.settings.retry;
    let now = Utc::now();
    let retries = early
        .into_iter()
        .map(|(id, at)| {
            let remaining = (at - now).to_std().unwrap_or_default();
            let tier = policy.tier_covering(remaining);
            let wait = remaining.min(tier);
            (id, Retry { tier, wait, at })
        })
        .collect();
    schedule_retries(batch, alert, retries).await
}

async fn park(
    batch: &Batch<'_>,
    alert: &Alert,
    tier: Duration,
    wait: Duration,
    ids: Vec<DeliveryId>,
) -> bool {
    let key = Topology::send_key(batch.carrier.channel(), batch.carrier.name(), alert.lane);
    let job = Job::SendBatchV1 {
        alert: alert.id,
        channel: batch.carrier.channel(),
        deliveries: ids,
    }
    .encode();
    let messages = [(key.as_str(), job.as_slice())];
    until_done(batch.shutdown, "scheduling retries", || {
        batch.publisher.publish_retry(tier, wait, &messages)
    })
    .await
    .is_some()
}

/// At shutdown or once the lease is lost: the deliveries not started (released, or never
/// claimed) are announced again, so that another sender sends them at once.
async fn hand_back(batch: &Batch<'_>, alert: &Alert, unstarted: &[DeliveryId]) -> bool {
    let key = Topology::send_key(batch.carrier.channel(), batch.carrier.name(), alert.lane);
    let job = Job::SendBatchV1 {
        alert: alert.id,
        channel: batch.carrier.channel(),
        deliveries: unstarted.to_vec(),
    }
    .encode();
    // One try: the broker connection is closing; if it fails, the message is not acknowledged
    // and comes back whole.
    batch
        .publisher
        .publish_all(&[(key.as_str(), job.as_slice())])
        .await
        .is_ok()
}

/// Keeps the batch's lease alive while it is being sent: every third of the lease. When a
/// renewal fails, the lease may end before the batch does and another sender take its rows:
/// `lost` tells the batch to start no more sends (those under way finish, and their outcomes
/// are fenced by their claim).
async fn renew_lease(
    db: sqlx::PgPool,
    batch: BatchLease,
    ids: Vec<DeliveryId>,
    lease: Lease,
    done: CancellationToken,
    lost: CancellationToken,
) {
    let every = lease.length / 3;
    loop {
        tokio::select! {
            _ = done.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(error) = store::leases::renew(&db, batch, &ids, lease).await {
            tracing::warn!(%error, "could not renew a batch's lease; no more sends start in it");
            lost.cancel();
            return;
        }
    }
}

/// How often a batch under way asks whether its alert was stopped. A stop moves the alert's
/// deadline to now; a batch goes on with the copy it loaded, so without asking it would send
/// the whole of itself (up to `batch_size`) after the stop.
const STOP_CHECK: Duration = Duration::from_secs(1);

/// Cancels `stopped` once the alert's deadline has been moved before the one the batch loaded
/// (the alert was stopped), until `done`. Its sends not started then count as expired.
async fn watch_for_stop(
    db: sqlx::PgPool,
    (alert, loaded_deadline): (AlertId, DateTime<Utc>),
    done: CancellationToken,
    stopped: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = done.cancelled() => return,
            _ = tokio::time::sleep(STOP_CHECK) => {}
        }
        match store::alerts::deadline(&db, alert).await {
            Ok(Some(deadline)) if deadline < loaded_deadline => {
                stopped.cancel();
                return;
            }
            Ok(_) => {}
            // Asked again in a second; meanwhile the batch goes on as it would have.
            Err(error) => tracing::debug!(%error, "could not read an alert's deadline"),
        }
    }
}
