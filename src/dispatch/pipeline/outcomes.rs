//! Senders' outcomes are written as they come rather than once per batch: a crash then resends
//! only what was in flight, not a whole batch's sends.
//!
//! A sender hands each outcome to the writer and, before acknowledging its batch, waits until
//! the writer says they are durable. An outcome arriving while nothing is being written, after
//! a quiet spell, is written at once; those arriving during a write go together in the next
//! one, so that a write's size follows the rate (one row at a time when alerts are rare,
//! hundreds during a commune's storm warning). While outcomes come steadily, those waiting when
//! a write ends wait up to [`LINGER`] for company, unless enough wait already (`gather`, well
//! below what holds up a sender). Once a hundred wait, a second write starts beside the first,
//! on its own connection: rows of different writes are different deliveries, and PostgreSQL
//! commits them side by side. (A fixed 5 ms linger before each write, as before, held every
//! sender's next sends: 4,510 SMS a second instead of 16,474.)
//!
//! One bad row never stops the writer, nor the senders waiting on it. Errors are classified
//! ([`store::is_transient`]): while PostgreSQL is away (or a write lost a race) the write is tried
//! again with backoff, for as long as it takes, since a send already made must be recorded or it
//! is made again. Any other error (bad data, a constraint) would fail for ever: the rows of that
//! write are then written one at a time, and a row still refused is written as failed with the
//! reason (or, in the steps after the outcome, left out), logged once and counted in
//! `tocsin_outcome_write_errors_total`; the others go on.

use std::{future::Future, sync::Arc, time::Duration};

use futures_util::{StreamExt, future::BoxFuture, stream::FuturesUnordered};
use sqlx::PgPool;
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::dispatch::metrics::Metrics;
use crate::{
    model::{DeliveryId, DeliveryStatus},
    store::{self, DbError, deliveries::Transition},
};

/// Most outcomes in one write.
const MAX_WRITE: usize = 1000;
/// Most writes under way at once.
const WRITES_IN_FLIGHT: usize = 2;
/// Outcomes waiting that make it worth starting a write beside one already under way (each
/// statement has a fixed cost; fewer waiting wait for the write under way to end).
const WORTH_A_WRITE: usize = 100;
/// Longest an outcome waits for company while outcomes come steadily (the last write ended
/// less than this ago): each write costs PostgreSQL about half a millisecond whatever its size,
/// and e-mail, whose outcomes come back evenly over a few sessions, was written 20 at a time.
const LINGER: Duration = Duration::from_millis(2);
/// Longest pause between two tries while the database is away.
const MAX_PAUSE: Duration = Duration::from_secs(5);

type Pending = (Transition, oneshot::Sender<()>);

/// One step's write of some rows.
type WriteRows<T> = for<'a> fn(&'a PgPool, &'a [T]) -> BoxFuture<'a, Result<u64, DbError>>;

#[derive(Clone)]
pub struct OutcomeWriter {
    inbox: mpsc::Sender<Pending>,
}

/// Resolves once the outcome is in PostgreSQL.
pub struct Recorded(oneshot::Receiver<()>);

/// Awaiting a `Recorded` is awaiting [`Recorded::durable`]: senders keep them in a
/// `FuturesUnordered` to count the outcomes not yet written.
impl std::future::Future for Recorded {
    type Output = bool;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<bool> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| r.is_ok())
    }
}

impl Recorded {
    /// True when written (or, for a row PostgreSQL refuses whatever the wait, settled as well as
    /// it can be: see the module's doc); false only if the writer stopped first (the process is
    /// going down, and the delivery will be claimed again when its lease ends).
    pub async fn durable(self) -> bool {
        self.0.await.is_ok()
    }
}

impl OutcomeWriter {
    /// Starts the writer; it runs until every handle is dropped and what they sent is written.
    /// Each outcome carries the claim it answers ([`store::deliveries::Fence`]). Outcomes wait
    /// for company (at most [`LINGER`]) only while fewer than `gather` wait: set it well below
    /// what holds up the senders (`sends_per_batch` unwritten in one batch, a few batches at
    /// once), so that waiting for company never keeps a sender waiting too.
    pub fn start(
        db: PgPool,
        metrics: Arc<Metrics>,
        gather: usize,
    ) -> (OutcomeWriter, tokio::task::JoinHandle<()>) {
        let (inbox, receiver) = mpsc::channel(4 * MAX_WRITE);
        let task = tokio::spawn(run(db, metrics, gather, receiver));
        (OutcomeWriter { inbox }, task)
    }

    pub async fn record(&self, transition: Transition) -> Recorded {
        let (done, recorded) = oneshot::channel();
        // A closed writer drops `done`, and `durable` says so.
        let _ = self.inbox.send((transition, done)).await;
        Recorded(recorded)
    }
}

async fn run(db: PgPool, metrics: Arc<Metrics>, gather: usize, mut inbox: mpsc::Receiver<Pending>) {
    let mut waiting: Vec<Pending> = Vec::new();
    let mut writes = FuturesUnordered::new();
    let mut open = true;
    // When the last write ended, and so when those waiting stop waiting for company.
    let mut last_ended = Instant::now();
    loop {
        let lingering = open && waiting.len() < gather && Instant::now() < last_ended + LINGER;
        while writes.len() < WRITES_IN_FLIGHT
            && (waiting.len() >= WORTH_A_WRITE
                || (writes.is_empty() && !waiting.is_empty() && !lingering))
        {
            let taken: Vec<Pending> = waiting.drain(..waiting.len().min(MAX_WRITE)).collect();
            writes.push(write_and_tell(&db, &metrics, taken));
        }
        if !open && waiting.is_empty() && writes.is_empty() {
            return;
        }
        let linger_over = tokio::time::sleep_until(last_ended + LINGER);
        tokio::select! {
            next = inbox.recv(), if open => match next {
                Some(pending) => {
                    waiting.push(pending);
                    while let Ok(pending) = inbox.try_recv() {
                        waiting.push(pending);
                    }
                }
                None => open = false,
            },
            _ = writes.next(), if !writes.is_empty() => last_ended = Instant::now(),
            () = linger_over, if writes.is_empty() && !waiting.is_empty() && lingering => {}
        }
    }
}

/// Writes `batch` and tells each sender waiting on it.
async fn write_and_tell(db: &PgPool, metrics: &Metrics, batch: Vec<Pending>) {
    let (transitions, waiters): (Vec<Transition>, Vec<_>) = batch.into_iter().unzip();
    write(db, metrics, &transitions).await;
    for done in waiters {
        let _ = done.send(());
    }
}

/// Writes one batch of outcomes and what follows from them.
async fn write(db: &PgPool, metrics: &Metrics, transitions: &[Transition]) {
    let refused = write_rows(db, "recording outcomes", transitions, |db, rows| {
        Box::pin(store::deliveries::record_outcomes(db, rows))
    })
    .await;
    for (transition, error) in refused {
        record_unwritable(db, metrics, transition, &error).await;
    }

    let ids: Vec<(&str, &str, DeliveryId)> = transitions
        .iter()
        .filter_map(|t| Some((t.remember_id_for?, t.provider_message_id.as_deref()?, t.id)))
        .collect();
    let refused = write_rows(db, "remembering provider ids", &ids, |db, rows| {
        Box::pin(store::deliveries::remember_provider_ids(db, rows))
    })
    .await;
    for ((_, _, id), error) in refused {
        // Its reports are kept as early reports, and dropped after a day.
        left_out(metrics, "provider_id", *id, &error);
    }

    let opted_out: Vec<DeliveryId> = transitions
        .iter()
        .filter(|t| t.opted_out)
        .map(|t| t.id)
        .collect();
    let refused = write_rows(db, "recording opt-outs", &opted_out, |db, rows| {
        Box::pin(store::deliveries::opt_out_recipients(db, rows))
    })
    .await;
    for (id, error) in refused {
        left_out(metrics, "opt_out", *id, &error);
    }

    let gone: Vec<DeliveryId> = transitions
        .iter()
        .filter(|t| t.gone)
        .map(|t| t.id)
        .collect();
    let refused = write_rows(
        db,
        "forgetting gone push subscriptions",
        &gone,
        |db, rows| Box::pin(store::push::forget_gone(db, rows)),
    )
    .await;
    for (id, error) in refused {
        left_out(metrics, "push_gone", *id, &error);
    }
}

/// Writes `rows` with `write`, trying again while the error is transient. When the write is
/// refused for another reason, each row is written alone; returns the rows still refused, with
/// their error.
pub(super) async fn write_rows<'r, T: Sync>(
    db: &PgPool,
    what: &str,
    rows: &'r [T],
    write: WriteRows<T>,
) -> Vec<(&'r T, DbError)> {
    if rows.is_empty() {
        return Vec::new();
    }
    let error = match until_not_transient(what, || write(db, rows)).await {
        Ok(_) => return Vec::new(),
        Err(error) => error,
    };
    if let [row] = rows {
        return vec![(row, error)];
    }
    tracing::warn!(error = %store::describe(&error), rows = rows.len(),
        "{what} refused; writing the rows one at a time");
    let mut refused = Vec::new();
    for row in rows.chunks(1) {
        if let Err(error) = until_not_transient(what, || write(db, row)).await {
            refused.push((&row[0], error));
        }
    }
    refused
}

/// Runs `attempt` until it succeeds or fails with an error that waiting will not cure.
async fn until_not_transient<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let mut pause = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if store::is_transient(&error) => {
                tracing::warn!(%error, retry_in = ?pause, "{what} failed");
            }
            Err(error) => return Err(error),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// An outcome PostgreSQL refuses as it is: the delivery is written as failed with the reason,
/// without the provider's values. If even that is refused, the row is left `sending`: its lease
/// ends and the sweeper puts it back on its way (it may then be sent again).
async fn record_unwritable(db: &PgPool, metrics: &Metrics, outcome: &Transition, error: &DbError) {
    metrics
        .outcome_write_errors
        .with_label_values(&["outcome"])
        .inc();
    let reason = format!(
        "its outcome ({}) could not be recorded: {}",
        outcome.status.as_str(),
        store::describe(error)
    );
    tracing::error!(delivery = outcome.id.0, %reason, "an outcome was refused; recorded as failed");
    let failed = Transition {
        error: Some(reason),
        answered_at: outcome.answered_at,
        fence: outcome.fence,
        ..Transition::to(outcome.id, DeliveryStatus::Failed)
    };
    if let Err(error) = until_not_transient("recording a failed outcome", || {
        store::deliveries::record_outcomes(db, std::slice::from_ref(&failed))
    })
    .await
    {
        tracing::error!(delivery = outcome.id.0, error = %store::describe(&error),
            "not even its failure could be recorded; the row comes back when its lease ends");
    }
}

/// A row a step after the outcome could not write: left out, logged once and counted.
fn left_out(metrics: &Metrics, step: &str, id: DeliveryId, error: &DbError) {
    metrics
        .outcome_write_errors
        .with_label_values(&[step])
        .inc();
    tracing::error!(delivery = id.0, step, error = %store::describe(error), "a row was refused and left out");
}
