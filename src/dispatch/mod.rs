//! Dispatch: from an accepted alert to recorded outcomes. Intake writes the alert and its outbox
//! row; the relay publishes the outbox; fan-out plans delivery rows and announces them in
//! batches; senders claim, send and record; receipts close the loop.

pub mod fanout;
pub mod intake;
pub mod providers;
pub mod receipts;
pub mod relay;
pub mod routing;
pub mod sender;
mod worker;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

pub use providers::Providers;
pub use routing::Routing;
pub use worker::{Handled, run_consumer, until_done};

use crate::broker::Topology;

/// Tuning of the pipeline; see config/tocsin.example.toml for each value's meaning.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Delivery ids per send-batch message.
    pub batch_size: usize,
    /// Subscribers planned per fan-out statement.
    pub fanout_chunk: i64,
    /// Messages one consumer works on at once (and its prefetch).
    pub sender_concurrency: u16,
    /// Messages of one send batch in flight to a provider at once.
    pub sends_per_batch: usize,
    /// How often the relay looks at the outbox when nothing woke it.
    pub outbox_poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: 250,
            fanout_chunk: 50_000,
            sender_concurrency: 4,
            sends_per_batch: 32,
            outbox_poll: Duration::from_millis(500),
        }
    }
}

/// What every dispatch task needs.
pub struct Dispatcher {
    pub db: PgPool,
    pub topology: Topology,
    pub providers: Providers,
    pub routing: Routing,
    pub settings: Settings,
    /// The public form of delivery ids, given to providers as our reference.
    pub ids: crate::model::PublicIds,
}

pub type SharedDispatcher = Arc<Dispatcher>;

/// Why a job could not be completed now. Database and broker errors are infrastructure trouble:
/// the job is kept and tried again; it is never dropped.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Publish(#[from] crate::broker::publisher::PublishError),
}

/// Loads the alert a job names. `Err` tells what to do with the job instead: abandon it on
/// shutdown, or dead-letter it when the alert does not exist.
async fn load_alert(
    db: &PgPool,
    id: crate::model::AlertId,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Result<crate::store::alerts::Alert, Handled> {
    match until_done(shutdown, "loading an alert", || {
        crate::store::alerts::get_for_dispatch(db, id)
    })
    .await
    {
        None => Err(Handled::Abandoned),
        Some(None) => Err(Handled::Dead(format!("alert {id} does not exist"))),
        Some(Some(alert)) => Ok(alert),
    }
}
