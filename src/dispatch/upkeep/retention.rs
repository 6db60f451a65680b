//! The retention sweep (RGPD): every `sweep_interval`, past deliveries lose the address of
//! subscribers who left and of anything older than the retention period, and the public
//! routes' expired codes and counters go (see `store::erasure::sweep`). Every instance sweeps;
//! the statements are idempotent, so two at once only repeat each other's work.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store;

/// `[retention]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a delivery keeps its phone number or address.
    pub delivery_addresses: Duration,
    pub sweep_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            delivery_addresses: Duration::from_secs(90 * 24 * 3600),
            sweep_interval: Duration::from_secs(3600),
        }
    }
}

pub async fn run(db: PgPool, settings: Settings, shutdown: CancellationToken) {
    loop {
        match store::erasure::sweep(&db, settings.delivery_addresses).await {
            Ok(swept) if swept.left + swept.aged > 0 => tracing::info!(
                left = swept.left,
                aged = swept.aged,
                "delivery addresses erased"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "retention sweep failed; trying next time"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(settings.sweep_interval) => {}
        }
    }
}
