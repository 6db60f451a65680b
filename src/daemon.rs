//! The daemon: HTTP API, scheduler, outbox relay, fan-out, senders and receipts, started the same way by
//! `tocsin serve`, the demo and the tests.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use secrecy::ExposeSecret;
use tocsin_providers::Receipt;
use tokio::{net::TcpListener, sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, AppState, KeyHasher},
    broker::{self, Job, Publisher, Topology},
    clock::Clock,
    config::Config,
    dispatch::{
        self, Dispatcher, Handled, OutcomeWriter, Providers,
        pipeline::{
            fanout,
            sender::{Batch, Carrier},
        },
    },
    model::{CallbackTokens, CitizenLinks, Lane, PublicIds, keys::KeyRing},
    scheduler::Scheduler,
    store,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Connect(#[from] store::ConnectError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations are an explicit step (`tocsin migrate`), run once per upgrade before the
    /// instances restart: never by every instance at start, mid rolling restart.
    #[error("the database needs {0} migration(s) this version brings: run `tocsin migrate` first")]
    NotMigrated(usize),
    #[error("keys: {0}")]
    Keys(#[from] store::key_versions::KeyError),
    #[error(
        "api_key_secret (TOCSIN_API_KEY_SECRET) is not set: API keys cannot be checked without it"
    )]
    NoKeySecret,
    #[error("provider account {0}")]
    Provider(String),
    #[error("http: {0}")]
    Http(#[from] std::io::Error),
}

/// Runs until `shutdown` is cancelled, then drains: the HTTP server stops taking requests,
/// consumers stop taking messages, and jobs in hand finish (or are left for redelivery).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    run_with_clock(config, listener, shutdown, Clock::System).await
}

/// [`run`], with the time of schedules and timed alerts read on `clock`.
pub async fn run_with_clock(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    clock: Clock,
) -> Result<(), StartError> {
    let secrets = config.server_secrets().ok_or(StartError::NoKeySecret)?;
    // A database migrated, on a connection of its own; then the key ring and the platform's
    // keys, sealed under it, which every session of the pool needs (the opt-out key).
    let (ring, ids_key, opt_out_key) = {
        let bootstrap = store::connect_existing(config.database_url.expose_secret(), 1).await?;
        let pending = store::pending_migrations(&bootstrap).await?;
        if pending > 0 {
            return Err(StartError::NotMigrated(pending));
        }
        let ring = store::key_versions::open(&bootstrap, secrets).await?;
        let ids_key = store::platform::public_ids_key(&bootstrap, &ring).await?;
        let opt_out_key = store::platform::opt_out_key(&bootstrap, &ring).await?;
        bootstrap.close().await;
        (ring, ids_key, opt_out_key)
    };
    let db = store::connect_with_opt_out_key(
        config.database_url.expose_secret(),
        config.database_max_connections,
        &opt_out_key,
    )
    .await?;
    let ids = PublicIds::new(&ids_key);
    let links = CitizenLinks::new(ring.clone(), ids.clone(), &config.public_url);
    let dkim = Arc::new(dispatch::dkim::DkimKeys::new(ring.clone()));
    let callback_tokens = CallbackTokens::new(ring.clone());
    let keys = KeyHasher::new(ring.clone());
    let metrics = Arc::new(dispatch::metrics::Metrics::default());
    let public_caps = Arc::new(dispatch::policy::public_caps::PublicCaps::new(
        db.clone(),
        ring.clone(),
        config.public_limits.clone(),
        metrics.clone(),
    ));
    let (receipt_sink, receipt_inbox) = tokio::sync::mpsc::channel::<Receipt>(10_000);
    let providers = build_providers(&config, receipt_sink)?;
    let instance = uuid::Uuid::now_v7();
    // Half of what the senders of one queue may leave unwritten at once.
    let gather =
        config.dispatch.sends_per_batch * usize::from(config.dispatch.sender_concurrency) / 2;
    let (outcomes, outcome_writer) = OutcomeWriter::start(db.clone(), metrics.clone(), gather);
    let dispatcher = Arc::new(Dispatcher {
        db: db.clone(),
        topology: Topology::new(config.queue_prefix.clone())
            .with_retry_tiers(&config.dispatch.retry.delays),
        providers,
        routing: config.routing.clone(),
        settings: config.dispatch.clone(),
        ids: ids.clone(),
        instance,
        outcomes,
        metrics,
        public_caps: public_caps.clone(),
        clock: clock.clone(),
        public_url: config.public_url.clone(),
        health: dispatch::policy::health::Health::new(config.failover.clone()),
        links: links.clone(),
        callback_tokens: callback_tokens.clone(),
        dkim: dkim.clone(),
        limits: dispatch::policy::limits::Limits::new(
            &db,
            &config.limits,
            &limited_accounts(&config),
        ),
    });
    let grace = config.dispatch.shutdown_grace;
    let relay_wake = Arc::new(Notify::new());

    let mut tasks = JoinSet::new();
    tasks.spawn(dispatch::pipeline::receipts::run(
        db.clone(),
        ids.clone(),
        receipt_inbox,
        shutdown.clone(),
    ));
    {
        let scheduler = Scheduler {
            db: db.clone(),
            relay: relay_wake.clone(),
            clock: clock.clone(),
            settings: config.scheduler.clone(),
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move { scheduler.run(&shutdown).await });
    }
    tasks.spawn(dispatch::upkeep::folding::run(db.clone(), shutdown.clone()));
    tasks.spawn(follow_key_versions(
        db.clone(),
        config.clone(),
        ring,
        shutdown.clone(),
    ));
    tasks.spawn(dispatch::upkeep::retention::run(
        db.clone(),
        config.retention.clone(),
        shutdown.clone(),
    ));
    {
        let (dispatcher, shutdown) = (dispatcher.clone(), shutdown.clone());
        tasks.spawn(async move {
            let every = dispatcher.settings.inbound_poll;
            dispatch::citizens::inbound_poll::run(&dispatcher.inbound_poll(), every, &shutdown)
                .await
        });
    }
    {
        let (dispatcher, shutdown) = (dispatcher.clone(), shutdown.clone());
        tasks.spawn(async move {
            let d = &dispatcher;
            dispatch::upkeep::budget_warnings::run(&d.db, &d.routing, &d.providers, &shutdown).await
        });
    }
    let broker_up = Arc::new(AtomicBool::new(false));
    tasks.spawn(supervise_broker(
        config.amqp_url.expose_secret().to_string(),
        dispatcher.clone(),
        relay_wake.clone(),
        broker_up.clone(),
        shutdown.clone(),
    ));
    let (reports, report_writer) = dispatch::pipeline::receipts::ReportWriter::start(
        db.clone(),
        ids.clone(),
        config.recall,
        shutdown.clone(),
    );
    tasks.spawn(async move {
        let _ = report_writer.await;
    });
    // The API's state, whole, before the server starts: the same keys, links and limits as the
    // rest of the daemon.
    let state = AppState {
        db: db.clone(),
        keys,
        relay: relay_wake,
        ids,
        imports: api::ImportGate::new(),
        broker_up,
        metrics: dispatcher.metrics.clone(),
        clock,
        providers: dispatcher.providers.clone(),
        public_url: config.public_url.clone(),
        routing: config.routing.clone(),
        pricing: Arc::new(config.pricing.clone()),
        limits: Arc::new(config.limits.clone()),
        links,
        callback_tokens,
        vapid_public_key: config.push.as_ref().map(|p| p.vapid_public_key.clone()),
        push_egress: config
            .push
            .as_ref()
            .map(|push| push.egress.clone())
            .unwrap_or_default(),
        dkim,
        public_caps,
        trusted_proxies: Arc::new(config.http.trusted_proxies.clone()),
        sessions: api::console::SESSION_LIFETIME,
        recall: config.recall,
        reports,
        oidc: config.oidc.clone().map(|oidc| {
            Arc::new(api::console::oidc::OidcClient::new(
                oidc,
                &config.public_url,
            ))
        }),
    };
    let app = api::router(state);
    let public_limits = connection_limits(&config, &dispatcher.providers);
    tracing::info!(
        addr = %listener.local_addr()?,
        max_connections = public_limits.max_connections,
        "tocsin is up"
    );
    // Listening (connections wait in the backlog until the first accept): ready for systemd.
    crate::systemd::notify("READY=1");
    let metrics = dispatcher.metrics.clone();
    let refused = move |listener: &'static str| {
        let metrics = metrics.clone();
        move |why: api::serve::Refusal| metrics.connection_refused(listener, why.as_str())
    };
    if let Some(addr) = config.http.api_addr {
        let api_listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = %api_listener.local_addr()?, "the API's own listener is up");
        let limits = api::serve::ServeLimits {
            max_connections: config.http.api_max_connections,
            ..public_limits.clone()
        };
        let (app, refused, shutdown) = (app.clone(), refused("api"), shutdown.clone());
        tasks.spawn(async move {
            if let Err(error) =
                api::serve::serve(api_listener, app, limits, refused, shutdown).await
            {
                tracing::error!(%error, "the API listener stopped");
            }
        });
    }
    let http = api::serve::serve(
        listener,
        app,
        public_limits,
        refused("public"),
        shutdown.clone(),
    );
    let result = http.await;
    crate::systemd::notify("STOPPING=1");
    shutdown.cancel();
    // Sends already started finish and are recorded, within the grace period; what is left then
    // comes back to another instance when its lease ends.
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            ?grace,
            "shutdown grace period over; leaving the rest to the leases"
        );
        tasks.abort_all();
    }
    drop(dispatcher);
    let _ = tokio::time::timeout(grace, outcome_writer).await;
    db.close().await;
    result.map_err(StartError::Http)
}

/// How often a running daemon looks for a rotation or a retirement of key versions.
const KEY_VERSIONS_POLL: Duration = Duration::from_secs(30);

/// Keeps the ring as the database says: after `tocsin secrets rotate`, new links, callback URLs
/// and key hashes are made with the new version, and after `tocsin secrets retire` the old ones
/// stop opening, within [`KEY_VERSIONS_POLL`].
async fn follow_key_versions(
    db: sqlx::PgPool,
    config: Config,
    ring: KeyRing,
    shutdown: CancellationToken,
) {
    let secrets = config.server_secrets().expect("checked at start");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(KEY_VERSIONS_POLL) => {}
        }
        match store::key_versions::read(&db, secrets).await {
            Ok(read) => {
                if read.live() != ring.live() || read.current() != ring.current() {
                    tracing::info!(
                        current = read.current(),
                        live = ?read.live(),
                        "key versions changed"
                    );
                }
                ring.replace(&read);
            }
            // Keep the ring held: an instance configured without the new secret goes on making
            // what opens under the old version, until that version is retired.
            Err(error) => tracing::error!(%error, "key versions not read"),
        }
    }
}

/// The most connections the public listener holds when `[http] max_connections` is not set,
/// whatever room the file limit leaves.
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// How the public listener bounds its clients: `[http]`, with `max_connections` sized from
/// the file limit when not set, so that a flood of connections cannot take the files that
/// PostgreSQL, RabbitMQ, the providers and the API listener need.
/// Every account that may carry messages: those routing names (pools opened) and those
/// configured (a voice account, a commune's own account), each held to its `[limits.NAME]`.
fn limited_accounts(config: &Config) -> Vec<&str> {
    let mut names: Vec<&str> = config
        .routing
        .routes()
        .into_iter()
        .map(|(_, name)| name)
        .chain(config.accounts.iter().map(|a| a.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The files the daemon keeps for all but the public listener: PostgreSQL, the connections of
/// `accounts` (32 for one that does not bound its own), the broker, the resolver, log files and
/// the SMTP server of the citizen pages, and the API's own listener.
pub fn outbound_files<'a>(
    config: &Config,
    accounts: impl IntoIterator<Item = &'a tocsin_providers::Account>,
) -> usize {
    let provider_connections: usize = accounts
        .into_iter()
        .map(|a| a.provider.connections().unwrap_or(32))
        .sum();
    let api = config
        .http
        .api_addr
        .map_or(0, |_| config.http.api_max_connections);
    config.database_max_connections as usize + provider_connections + 64 + api
}

fn connection_limits(config: &Config, providers: &Providers) -> api::serve::ServeLimits {
    // Systemd and most shells give 1,024 files by default and allow far more: take what is
    // allowed.
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024) as usize;
    let room = files
        .saturating_sub(outbound_files(config, providers.accounts()))
        .max(16);
    let max_connections = match config.http.max_connections {
        Some(set) if set > room => {
            tracing::warn!(
                max_connections = set,
                files,
                room,
                "[http] max_connections is more than the file limit leaves room for: raise the \
                 limit (LimitNOFILE) or lower it"
            );
            set
        }
        Some(set) => set,
        // A host whose hard limit is a million files would otherwise hold a million idle
        // connections' buffers: memory runs out before files do.
        None => room.min(DEFAULT_MAX_CONNECTIONS),
    };
    api::serve::ServeLimits {
        header_timeout: config.http.header_timeout,
        body_timeout: config.http.body_timeout,
        max_connections,
        max_per_client: config.http.max_connections_per_client,
        trusted_proxies: Arc::new(config.http.trusted_proxies.clone()),
    }
}

/// Builds every configured account; the simulators report receipts in-process.
fn build_providers(
    config: &Config,
    receipts: tokio::sync::mpsc::Sender<Receipt>,
) -> Result<Providers, StartError> {
    let context = tocsin_providers::registry::Context {
        receipts: Some(receipts),
    };
    let mut providers = Providers::default();
    for account in &config.accounts {
        let built = account
            .build(&context)
            .map_err(|e| StartError::Provider(e.to_string()))?;
        providers.add(built);
    }
    Ok(providers)
}

/// Keeps a broker connection with its relay and consumers alive: when the connection breaks,
/// everything on it stops, and it is rebuilt after a pause. Unacknowledged jobs return to their
/// queues; the outbox keeps what was not published.
async fn supervise_broker(
    url: String,
    dispatcher: Arc<Dispatcher>,
    relay_wake: Arc<Notify>,
    up: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let mut pause = Duration::from_millis(200);
    // Said once, plainly, until the broker answers; then each loss once.
    let mut said = false;
    while !shutdown.is_cancelled() {
        let outcome = run_on_broker(&url, &dispatcher, &relay_wake, &up, &shutdown).await;
        let was_up = up.swap(false, Ordering::SeqCst);
        if was_up {
            said = false;
        }
        match outcome {
            Ok(()) => pause = Duration::from_millis(200),
            Err(error) if said => tracing::debug!(%error, retry_in = ?pause, "broker still away"),
            Err(error) if was_up => {
                said = true;
                tracing::warn!(%error, "broker connection lost; reconnecting every 10 s at most");
            }
            Err(error) => {
                said = true;
                let told = crate::reach::Service::rabbitmq(&url)
                    .map(|broker| broker.unreachable(&error.to_string()))
                    .unwrap_or_else(|_| format!("the broker does not answer ({error})"));
                tracing::warn!("waiting for the broker: {told}; retrying every 10 s at most");
                crate::systemd::notify(&format!("STATUS=waiting for the broker: {told}"));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

async fn run_on_broker(
    url: &str,
    dispatcher: &Arc<Dispatcher>,
    relay_wake: &Arc<Notify>,
    up: &AtomicBool,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let connection = broker::connect(url).await.map_err(|e| e.to_string())?;
    let topology = &dispatcher.topology;
    let keys = topology.keys(dispatcher.providers.routes());
    let setup = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    topology
        .declare(&setup, &keys)
        .await
        .map_err(|e| e.to_string())?;
    let _ = setup.close(200, "declared".into()).await;
    let publisher = Publisher::open(&connection, topology)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("connected to the broker");

    // Everything on this connection stops together: on shutdown, or when one part fails.
    let stop = shutdown.child_token();
    let mut parts: JoinSet<Result<(), String>> = JoinSet::new();
    {
        let (d, publisher, wake, stop) = (
            dispatcher.clone(),
            publisher.clone(),
            relay_wake.clone(),
            stop.clone(),
        );
        parts.spawn(async move {
            let poll = d.settings.outbox_poll;
            dispatch::pipeline::relay::run(&d.db, &publisher, &d.clock, &wake, poll, &stop)
                .await
                .map_err(|e| e.to_string())
        });
    }
    let connection = Arc::new(connection);
    {
        let (d, c, p, s) = (
            dispatcher.clone(),
            connection.clone(),
            publisher.clone(),
            stop.clone(),
        );
        parts.spawn(async move { dispatch::upkeep::sweeper::run(&d.sweeper(), &c, &p, &s).await });
    }
    for lane in Lane::ALL {
        let queue = topology.queue(&Topology::fan_out_key(lane));
        let (d, p, s) = (dispatcher.clone(), publisher.clone(), stop.clone());
        let handler = move |payload: Vec<u8>, redelivered: bool| {
            let (d, p, s) = (d.clone(), p.clone(), s.clone());
            async move {
                match Job::decode(&payload) {
                    Ok(Job::FanOutV1 { alert }) => {
                        fanout::handle(&d.fan_out(), &p, alert, redelivered, &s).await
                    }
                    Ok(other) => Handled::Dead(format!("a fan-out queue got {other:?}")),
                    Err(reason) => Handled::Dead(reason),
                }
            }
        };
        spawn_consumer(
            &mut parts,
            &connection,
            &publisher,
            queue,
            2,
            &stop,
            handler,
        );
    }
    for (channel, provider) in dispatcher.providers.routes() {
        let Some(account) = dispatcher.providers.get(channel, provider) else {
            continue;
        };
        let carrier = Carrier(account.clone());
        for lane in Lane::ALL {
            let queue = topology.queue(&Topology::send_key(channel, provider, lane));
            let (d, c, p, s) = (
                dispatcher.clone(),
                carrier.clone(),
                publisher.clone(),
                stop.clone(),
            );
            // A redelivered batch is handled like any other: the leases, not the broker's
            // redelivered flag, say which of its rows are free.
            let handler = move |payload: Vec<u8>, _redelivered: bool| {
                let (d, c, p, s) = (d.clone(), c.clone(), p.clone(), s.clone());
                async move {
                    let batch = Batch {
                        dispatcher: &d,
                        carrier: &c,
                        publisher: &p,
                        shutdown: &s,
                    };
                    match Job::decode(&payload) {
                        Ok(Job::SendBatchV1 {
                            alert,
                            channel,
                            deliveries,
                        }) if channel == c.channel() => {
                            dispatch::pipeline::sender::handle(&batch, alert, &deliveries).await
                        }
                        Ok(Job::SendRangeV1 {
                            alert,
                            channel,
                            range,
                        }) if channel == c.channel() => {
                            dispatch::pipeline::sender::handle_range(&batch, alert, range).await
                        }
                        Ok(other) => Handled::Dead(format!(
                            "a {} send queue got {other:?}",
                            c.channel().as_str()
                        )),
                        Err(reason) => Handled::Dead(reason),
                    }
                }
            };
            let concurrency = dispatcher.settings.sender_concurrency;
            spawn_consumer(
                &mut parts,
                &connection,
                &publisher,
                queue,
                concurrency,
                &stop,
                handler,
            );
        }
    }

    // Connected, topology declared, relay, sweeper and every consumer started.
    up.store(true, Ordering::SeqCst);
    crate::systemd::notify("STATUS=serving");
    let first = parts.join_next().await;
    stop.cancel();
    while parts.join_next().await.is_some() {}
    let _ = connection.close(200, "bye".into()).await;
    match first {
        Some(Ok(Err(error))) => Err(error),
        Some(Err(panic)) => Err(format!("a broker task panicked: {panic}")),
        _ if shutdown.is_cancelled() => Ok(()),
        _ => Err("a consumer stopped".into()),
    }
}

fn spawn_consumer<H, F>(
    parts: &mut JoinSet<Result<(), String>>,
    connection: &Arc<lapin::Connection>,
    publisher: &Publisher,
    queue: String,
    concurrency: u16,
    stop: &CancellationToken,
    handler: H,
) where
    H: Fn(Vec<u8>, bool) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = Handled> + Send + 'static,
{
    let (connection, publisher, stop) = (connection.clone(), publisher.clone(), stop.clone());
    parts.spawn(async move {
        dispatch::run_consumer(&connection, &publisher, &queue, concurrency, &stop, handler)
            .await
            .map_err(|e| format!("{queue}: {e}"))
    });
}
