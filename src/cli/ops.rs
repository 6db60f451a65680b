//! Operator commands: they talk to PostgreSQL directly and need the configuration.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, store};

#[derive(Subcommand)]
pub enum DeadCommand {
    /// Show the messages in the dead-letter queue, with the queue they died in and why; they
    /// stay in it.
    List {
        /// Show at most this many, oldest first.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON document, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Put dead messages back into the queue they died in (after fixing what killed them).
    Replay {
        /// Replay at most this many, oldest first.
        #[arg(long, default_value_t = usize::MAX)]
        limit: usize,
    },
}

#[derive(Subcommand)]
pub enum VapidCommand {
    /// Make a VAPID key pair: set the private key as TOCSIN_VAPID_PRIVATE_KEY (with
    /// TOCSIN_VAPID_SUBJECT); browsers subscribe with the public one.
    Generate {
        /// One JSON document, for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration without starting anything.
    Check,
}

pub(super) fn load(path: Option<&Path>) -> anyhow::Result<Config> {
    Config::load(path).context("invalid configuration")
}

/// The configured database, which must exist and be migrated: only `migrate` creates and
/// migrates it.
pub(super) async fn database(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    let pool = store::connect_existing(config.database_url.expose_secret(), 2).await?;
    let pending = store::pending_migrations(&pool).await?;
    anyhow::ensure!(
        pending == 0,
        crate::daemon::StartError::NotMigrated(pending)
    );
    Ok(pool)
}

pub async fn migrate(path: Option<&Path>) -> anyhow::Result<()> {
    let config = load(path)?;
    store::ensure_database(config.database_url.expose_secret())
        .await
        .context("cannot reach or create the database")?;
    let pool = store::connect_existing(config.database_url.expose_secret(), 2).await?;
    let pending = store::pending_migrations(&pool).await?;
    store::migrate(&pool)
        .await
        .context("cannot migrate the database")?;
    match pending {
        0 => eprintln!("database is up to date"),
        n => eprintln!("database migrated: {n} migration(s) applied"),
    }
    Ok(())
}

pub async fn serve(path: Option<&Path>) -> anyhow::Result<()> {
    let config = load(path)?;
    // Without its database the daemon cannot start: said plainly, with the command to run.
    let database = crate::reach::Service::postgres(config.database_url.expose_secret())?;
    if let Err(why) = database.probe().await {
        anyhow::bail!("{}", database.unreachable(&why));
    }
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.http_addr))?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        on_signal.cancel();
    });
    crate::run(config, listener, shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub fn config(path: Option<&Path>, command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Check = command;
    let config = load(path)?;
    let routes: Vec<String> = config
        .routing
        .routes()
        .iter()
        .map(|(c, p)| format!("{}→{p}", c.as_str()))
        .collect();
    println!("configuration is valid");
    println!("  http_addr: {}", config.http_addr);
    println!("  routes: {}", routes.join(", "));
    if let Some(push) = &config.push {
        println!("  Web Push: VAPID public key {}", push.vapid_public_key);
        if push.egress.allows_loopback() {
            println!(
                "  warning: [push] allow_loopback is on: browsers may subscribe with endpoints \
                 on this machine; for tests, the demo and the benchmark only"
            );
        }
    }
    for account in config.accounts.iter().filter(|a| a.kind.rehearsal) {
        println!(
            "  warning: {} is enabled: it reaches no one, and any commune routed to it believes \
             it warned its citizens; for rehearsals, the demo and tests only",
            account.section
        );
    }
    for warning in config.accounts.iter().flat_map(|a| a.warnings()) {
        println!("  warning: {warning}");
    }
    if config.api_key_secret.is_none() {
        println!("  warning: api_key_secret is not set; `serve` and `key create` need it");
    }
    Ok(())
}

pub fn vapid(command: VapidCommand) -> anyhow::Result<()> {
    let VapidCommand::Generate { json } = command;
    let key = tocsin_providers::push::crypto::VapidKey::generate()?;
    let private = key.private_key_base64url();
    let (public, private) = (key.public_key_base64url(), private.expose_secret());
    if json {
        let shown = serde_json::json!({ "public_key": public, "private_key": private });
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        println!(
            "Public key:\n{public}\n\nPrivate key (TOCSIN_VAPID_PRIVATE_KEY, keep it secret):\n{private}"
        );
    }
    Ok(())
}

pub async fn dead(path: Option<&Path>, command: DeadCommand) -> anyhow::Result<()> {
    let config = load(path)?;
    let connection = crate::broker::connect(config.amqp_url.expose_secret())
        .await
        .context("cannot reach the broker")?;
    let topology = crate::broker::Topology::new(config.queue_prefix.clone());
    match command {
        DeadCommand::List { limit, json } => {
            let dead = crate::broker::dead::list(&connection, &topology, limit).await?;
            if json {
                println!("{}", serde_json::json!({ "messages": dead }));
            } else {
                for message in &dead {
                    println!("{}  {}  {}", message.queue, message.reason, message.job);
                }
                eprintln!("{} dead messages listed", dead.len());
            }
        }
        DeadCommand::Replay { limit } => {
            let replayed = crate::broker::dead::replay(&connection, &topology, limit).await?;
            eprintln!("{replayed} messages put back into their queues");
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}

/// Exits with success when this machine's instance answers `/readyz` with 200: the health check
/// of container platforms, whose minimal image has no curl.
pub async fn healthcheck(path: Option<&Path>, url: Option<String>) -> anyhow::Result<()> {
    let url = match url {
        Some(url) => url,
        None => {
            let mut addr = load(path)?.http_addr;
            // Listening on every address: asked on loopback.
            if addr.ip().is_unspecified() {
                addr.set_ip(match addr {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            format!("http://{addr}/readyz")
        }
    };
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("{url}: no answer"))?;
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "{url}: {status}: {}",
        response.text().await.unwrap_or_default().trim()
    );
    println!("{url}: {status}");
    Ok(())
}
