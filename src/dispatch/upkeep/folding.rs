//! Folds the delivery tallies every second (`store::tallies::fold`): reading an alert's counts
//! sums the rows its senders appended since the last fold, a few thousand a second while a
//! million send, so the status of a large alert stays fast only if they are folded often. Every
//! instance folds; two folds at once take disjoint rows and both sums stay right.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store;

const EVERY: Duration = Duration::from_secs(1);

pub async fn run(db: PgPool, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        if let Err(error) = store::tallies::fold(&db).await {
            tracing::warn!(%error, "could not fold the delivery tallies; trying again");
        }
    }
}
