//! Delivery receipts: what providers later say about messages they accepted, written in
//! batches (a busy alert brings thousands a second).

use std::time::Duration;

use sqlx::PgPool;
use tocsin_providers::{Receipt, ReceiptStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::until_done;
use crate::{
    model::{DeliveryStatus, PublicIds},
    store::{self, deliveries::Transition},
};

const MAX_BATCH: usize = 1000;
const LINGER: Duration = Duration::from_millis(50);

/// Records receipts from `inbox` until it closes or shutdown.
pub async fn run(
    db: PgPool,
    ids: PublicIds,
    mut inbox: mpsc::Receiver<Receipt>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = inbox.recv() => match next { Some(r) => r, None => return },
        };
        batch.push(first);
        let deadline = tokio::time::sleep(LINGER);
        tokio::pin!(deadline);
        while batch.len() < MAX_BATCH {
            tokio::select! {
                _ = &mut deadline => break,
                next = inbox.recv() => match next { Some(r) => batch.push(r), None => break },
            }
        }
        let transitions: Vec<Transition> = batch
            .drain(..)
            .filter_map(|receipt| transition(&ids, receipt))
            .collect();
        until_done(&shutdown, "recording receipts", || {
            store::deliveries::record_receipts(&db, &transitions)
        })
        .await;
    }
}

fn transition(ids: &PublicIds, receipt: Receipt) -> Option<Transition> {
    let Ok(id) = ids.parse_delivery(&receipt.reference) else {
        tracing::warn!(
            reference = receipt.reference,
            "receipt for an unknown reference ignored"
        );
        return None;
    };
    let (status, error) = match receipt.status {
        ReceiptStatus::Delivered => (DeliveryStatus::Delivered, None),
        ReceiptStatus::Failed { reason } => (DeliveryStatus::Failed, Some(reason)),
    };
    Some(Transition {
        provider_message_id: receipt.provider_message_id,
        error,
        ..Transition::to(id, status)
    })
}
