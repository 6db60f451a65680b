//! Senders' outcomes are written as they come, a few milliseconds of them at a time, rather than
//! once per batch: a crash then resends only what was in flight, not a whole batch's sends.
//!
//! A sender hands each outcome to the writer and, before acknowledging its batch, waits until
//! the writer says they are durable.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::until_done;
use crate::{
    model::DeliveryId,
    store::{self, deliveries::Transition},
};

/// Longest an outcome waits for others to share its write.
const LINGER: Duration = Duration::from_millis(5);
/// Most outcomes in one write.
const MAX_WRITE: usize = 500;

type Pending = (Transition, oneshot::Sender<()>);

#[derive(Clone)]
pub struct OutcomeWriter {
    inbox: mpsc::Sender<Pending>,
}

/// Resolves once the outcome is in PostgreSQL.
pub struct Recorded(oneshot::Receiver<()>);

impl Recorded {
    /// True when written; false only if the writer stopped first (the process is going down, and
    /// the delivery will be claimed again when its lease ends).
    pub async fn durable(self) -> bool {
        self.0.await.is_ok()
    }
}

impl OutcomeWriter {
    /// Starts the writer; it runs until every handle is dropped and what they sent is written.
    /// Outcomes are those of deliveries `owner` claimed.
    pub fn start(db: PgPool, owner: Uuid) -> (OutcomeWriter, tokio::task::JoinHandle<()>) {
        let (inbox, receiver) = mpsc::channel(4 * MAX_WRITE);
        let task = tokio::spawn(run(db, owner, receiver));
        (OutcomeWriter { inbox }, task)
    }

    pub async fn record(&self, transition: Transition) -> Recorded {
        let (done, recorded) = oneshot::channel();
        // A closed writer drops `done`, and `durable` says so.
        let _ = self.inbox.send((transition, done)).await;
        Recorded(recorded)
    }
}

async fn run(db: PgPool, owner: Uuid, mut inbox: mpsc::Receiver<Pending>) {
    // Once sent, an outcome must be written even during shutdown, or a restart would send it
    // again: writes are retried until they succeed.
    let never = CancellationToken::new();
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_WRITE);
    while let Some(first) = inbox.recv().await {
        batch.push(first);
        let deadline = tokio::time::sleep(LINGER);
        tokio::pin!(deadline);
        while batch.len() < MAX_WRITE {
            tokio::select! {
                _ = &mut deadline => break,
                next = inbox.recv() => match next { Some(p) => batch.push(p), None => break },
            }
        }
        let transitions: Vec<Transition> = batch.iter().map(|(t, _)| t.clone()).collect();
        until_done(&never, "recording outcomes", || {
            store::deliveries::record_outcomes(&db, owner, &transitions)
        })
        .await;
        let ids: Vec<(&str, &str, DeliveryId)> = transitions
            .iter()
            .filter_map(|t| Some((t.remember_id_for?, t.provider_message_id.as_deref()?, t.id)))
            .collect();
        until_done(&never, "remembering provider ids", || {
            store::deliveries::remember_provider_ids(&db, &ids)
        })
        .await;
        let opted_out: Vec<DeliveryId> = transitions
            .iter()
            .filter(|t| t.opted_out)
            .map(|t| t.id)
            .collect();
        until_done(&never, "recording opt-outs", || {
            store::deliveries::opt_out_recipients(&db, &opted_out)
        })
        .await;
        let gone: Vec<DeliveryId> = transitions
            .iter()
            .filter(|t| t.gone)
            .map(|t| t.id)
            .collect();
        until_done(&never, "forgetting gone push subscriptions", || {
            store::push::forget_gone(&db, &gone)
        })
        .await;
        for (_, done) in batch.drain(..) {
            let _ = done.send(());
        }
    }
}
