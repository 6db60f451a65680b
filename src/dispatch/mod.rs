//! Dispatch: from an accepted alert to recorded outcomes. The folders show the flow: `pipeline/`
//! is the send path in the order an alert takes it (intake, relay, fan-out, senders, outcomes,
//! receipts); `policy/` the decisions it asks for (routing, limits, failover, retries, budgets,
//! public caps); `upkeep/` what keeps the ledger whole beside it (the sweeper, folding,
//! retention, budget warnings); `citizens/` the SMS citizens send. Here: the `Dispatcher` the
//! stages share, the provider accounts, metrics, DKIM keys, dry-run estimates and usage.

pub mod citizens;
pub mod dkim;
pub mod estimate;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod providers;
pub mod upkeep;
pub mod usage;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

pub use pipeline::outcomes::OutcomeWriter;
pub use pipeline::worker::{Handled, run_consumer, until_done};
pub use policy::retry::RetryPolicy;
pub use policy::routing::Routing;
pub use providers::Providers;

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
    /// Retry delays (the tiers) and the most attempts.
    pub retry: RetryPolicy,
    /// How long a claimed delivery belongs to its sender.
    pub lease: Duration,
    /// How often the sweeper runs.
    pub sweep_interval: Duration,
    /// A queued delivery this old, with nothing in its queue, was never announced; an alert not
    /// planned whose fan-out has been quiet this long, with nothing in its lane's fan-out queue,
    /// lost its job.
    pub stale_after: Duration,
    /// How long sends already started may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// How often providers that hold citizens' SMS for pickup (OVH) are asked for them.
    pub inbound_poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: 1000,
            fanout_chunk: 50_000,
            sender_concurrency: 4,
            sends_per_batch: 32,
            outbox_poll: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            sweep_interval: Duration::from_secs(30),
            stale_after: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(20),
            inbound_poll: Duration::from_secs(30),
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
    /// This instance, as the owner of the deliveries it claims.
    pub instance: uuid::Uuid,
    /// Records senders' outcomes as they come.
    pub outcomes: OutcomeWriter,
    /// Provider accounts' rates and connection caps.
    pub limits: policy::limits::Limits,
    pub metrics: Arc<metrics::Metrics>,
    /// The time timed alerts wait for (a manual clock in tests).
    pub clock: crate::clock::Clock,
    /// Where providers call back (see [`callback_url`]).
    pub public_url: url::Url,
    /// Provider accounts' health, for failing over to a tenant's secondary account.
    pub health: policy::health::Health,
    /// The alert pages and unsubscribe links messages carry.
    pub links: crate::model::CitizenLinks,
    /// The tokens of the URLs providers call back.
    pub callback_tokens: crate::model::CallbackTokens,
    /// Communes' DKIM keys, which sign their e-mail.
    pub dkim: Arc<dkim::DkimKeys>,
    /// Caps on what the public can make the platform send (codes, e-mails, replies).
    pub public_caps: Arc<policy::public_caps::PublicCaps>,
}

/// What each stage takes of the dispatcher: the few parts it works with, so that a stage's
/// signature says what it touches. The senders are where everything meets (accounts, limits,
/// health, links, keys, outcomes, metrics) and take the whole dispatcher.
impl Dispatcher {
    pub fn fan_out(&self) -> pipeline::fanout::FanOut<'_> {
        pipeline::fanout::FanOut {
            db: &self.db,
            routing: &self.routing,
            providers: &self.providers,
            chunk: self.settings.fanout_chunk,
            batch_size: self.settings.batch_size,
        }
    }

    pub fn sweeper(&self) -> upkeep::sweeper::Sweeper<'_> {
        upkeep::sweeper::Sweeper {
            db: &self.db,
            topology: &self.topology,
            queue_keys: self.topology.keys(self.providers.routes()),
            metrics: &self.metrics,
            every: self.settings.sweep_interval,
            stale_after: self.settings.stale_after,
            batch_size: self.settings.batch_size,
        }
    }

    pub fn inbound_poll(&self) -> citizens::inbound_poll::InboundPoll<'_> {
        citizens::inbound_poll::InboundPoll {
            db: &self.db,
            routing: &self.routing,
            providers: &self.providers,
            public_caps: &self.public_caps,
        }
    }
}

/// Where a tenant's provider calls back: `{public_url}/cb/{provider}/{token}/{what}` (`what` is
/// `status` or `inbound`). Providers that do not sign their callbacks are authenticated by the
/// tenant's secret token in the path.
pub fn callback_url(public_url: &url::Url, provider: &str, token: &str, what: &str) -> String {
    format!(
        "{}/cb/{provider}/{token}/{what}",
        public_url.as_str().trim_end_matches('/')
    )
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
