//! The benchmark: how fast a whole commune is warned, against the limits of this machine
//! measured in the same run. It drives the real daemon (a `tocsin serve` child process) through
//! the real RabbitMQ and PostgreSQL; SMS go to the smsmode stand-in, e-mail to postfix's
//! smtp-sink.

mod ceiling;
pub mod figures;
mod measure;
pub mod plot;
mod population;
mod processes;
pub mod report;
pub mod targets;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tocsin_standins::smsmode::SmsmodeStandin;

use self::{
    figures::{Machine, RunFigures, SizeFigures},
    processes::DaemonProcess,
};
use crate::{
    api::KeyHasher,
    config::Config,
    model::{AlertId, Channel},
    store,
};

const STANDIN_KEY: &str = "bench-smsmode-key";
const TEXT: &str =
    "Mairie de Bras-sur-Meuse : alerte orange orages cet apres-midi. Evitez les deplacements.";

pub struct Options {
    pub config: Option<PathBuf>,
    pub subscribers: Vec<u64>,
    /// `sms`, `email` or both.
    pub channels: Vec<Channel>,
    /// Runs per channel and size; `None`: 5 up to 10,000 subscribers, 3 up to 100,000, else 1.
    pub runs: Option<usize>,
    /// Where the daemon's log goes.
    pub log: PathBuf,
}

pub struct Results {
    pub machine: Machine,
    pub sizes: Vec<SizeFigures>,
}

fn default_runs(subscribers: u64) -> usize {
    match subscribers {
        0..=10_000 => 5,
        10_001..=100_000 => 3,
        _ => 1,
    }
}

pub async fn run(options: Options) -> anyhow::Result<Results> {
    // Providers are the benchmark's; only the rest of the configuration is the operator's.
    let config =
        Config::load_simulated(options.config.as_deref()).context("invalid configuration")?;
    let database_url = store::sibling_database_url(config.database_url.expose_secret(), "bench")
        .context("database_url is not a URL")?;
    store::recreate_database(&database_url).await?;
    let db = store::connect(&database_url, 4).await?;
    store::migrate(&db).await?;

    let standin = SmsmodeStandin::start_counting(STANDIN_KEY);
    let (_sink, sink_port) = processes::start_smtp_sink().await?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let hasher = KeyHasher::new(SecretString::from(secret.clone()));
    let env = vec![
        ("TOCSIN_DATABASE_URL", database_url.clone()),
        (
            "TOCSIN_AMQP_URL",
            config.amqp_url.expose_secret().to_string(),
        ),
        (
            "TOCSIN_QUEUE_PREFIX",
            format!("{}bench.", config.queue_prefix),
        ),
        ("TOCSIN_API_KEY_SECRET", secret),
        ("TOCSIN_SMS_PROVIDER", "smsmode".into()),
        ("TOCSIN_EMAIL_PROVIDER", "smtp".into()),
        ("TOCSIN_SMSMODE_API_KEY", STANDIN_KEY.into()),
        ("TOCSIN_SMSMODE_URL", standin.base_url()),
        ("TOCSIN_SMTP_URL", format!("smtp://127.0.0.1:{sink_port}")),
        (
            "TOCSIN_EMAIL_FROM",
            "Mairie de Bras-sur-Meuse <alertes@bench.example.org>".into(),
        ),
        ("TOCSIN_LOG", "warn".into()),
    ];
    let daemon_config = Config::load_with(options.config.as_deref(), |name| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    })
    .context("invalid configuration for the daemon")?;
    let connections = account_connections(&daemon_config, "sms.smsmode")?.unwrap_or(32);
    let sessions = account_connections(&daemon_config, "email.smtp")?.unwrap_or(8);
    let machine = machine(connections, sessions);

    let mut sizes = Vec::new();
    for &subscribers in &options.subscribers {
        eprintln!("{subscribers} subscribers: creating the commune…");
        let commune = population::create(&db, subscribers).await?;
        let key = population::admin_key(&db, &hasher, &commune).await?;
        let daemon = DaemonProcess::start(options.config.as_deref(), &env, &options.log).await?;
        let runs = options.runs.unwrap_or_else(|| default_runs(subscribers));
        let mut figures = Vec::new();
        for run in 1..=runs {
            for &channel in &options.channels {
                let ceiling = match channel {
                    Channel::Sms => {
                        ceiling::http_rate(
                            &standin.base_url(),
                            STANDIN_KEY,
                            connections,
                            Duration::from_secs(2),
                        )
                        .await?
                    }
                    Channel::Email => ceiling::smtp_rate(sink_port, sessions, 20_000)?,
                    Channel::Push => anyhow::bail!("push is not benchmarked yet"),
                };
                let mut f =
                    run_alert(&db, &daemon.url, &key, &standin, channel, subscribers).await?;
                f.ceiling_rate = ceiling;
                eprintln!(
                    "  run {run}/{runs} {:<5}: {:>8.0}/s end to end ({:.0} % of {:.0}/s), first after {:.1} ms, fan-out {:.0} ms, all after {:.2} s",
                    channel.as_str(),
                    f.rate_overall,
                    100.0 * f.rate_overall / ceiling,
                    ceiling,
                    f.first_delivery_ms,
                    f.fanout_ms,
                    f.p100_ms / 1000.0
                );
                figures.push(f);
            }
        }
        let peak = daemon.peak_rss_bytes()?;
        daemon.stop()?;
        sizes.push(SizeFigures {
            subscribers,
            daemon_peak_rss_bytes: peak,
            runs: figures,
        });
    }
    db.close().await;
    // Leave the broker as it was: the benchmark's queues are its own.
    let topology = crate::broker::Topology::new(daemon_config.queue_prefix.clone())
        .with_retry_tiers(&daemon_config.dispatch.retry.delays);
    let keys = topology.keys(daemon_config.account_routes());
    crate::broker::remove_topology(daemon_config.amqp_url.expose_secret(), &topology, &keys).await;
    Ok(Results { machine, sizes })
}

/// One alert on one channel, from the API call to the last outcome recorded.
async fn run_alert(
    db: &sqlx::PgPool,
    url: &str,
    key: &str,
    standin: &SmsmodeStandin,
    channel: Channel,
    subscribers: u64,
) -> anyhow::Result<RunFigures> {
    standin.reset();
    let http = reqwest::Client::new();
    let called_at = Utc::now();
    let response = http
        .post(format!("{url}/v1/alerts"))
        .bearer_auth(key)
        .json(&json!({ "topic": population::TOPIC, "urgent": true, "text": TEXT, "channels": [channel] }))
        .send()
        .await?;
    let body: serde_json::Value = response.json().await?;
    let id: AlertId = body["id"].as_str().context("no alert id")?.parse()?;
    // Generous: a whole commune at a few hundred a second, at worst.
    let timeout = Duration::from_secs(60 + subscribers / 200);
    measure::wait_until_done(db, id, timeout).await?;
    let first_ms = match channel {
        Channel::Sms => standin.first_accepted_at().map(|t| {
            (chrono::DateTime::<Utc>::from(t) - called_at)
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0
        }),
        Channel::Email | Channel::Push => None,
    };
    let mut figures = measure::figures(db, id, called_at, first_ms).await?;
    figures.channel = channel.as_str();
    figures.subscribers = subscribers;
    // Each run starts from an empty table, as a commune's next alert would not, but it keeps
    // runs comparable.
    sqlx::query("TRUNCATE deliveries").execute(db).await?;
    Ok(figures)
}

/// How many connections the daemon's account configured at `section` opens at most, so that the
/// ceiling is measured with as many.
fn account_connections(config: &Config, section: &str) -> anyhow::Result<Option<usize>> {
    let Some(account) = config.accounts.iter().find(|a| a.section == section) else {
        return Ok(None);
    };
    let built = account.build(&Default::default())?;
    Ok(built.provider.connections())
}

fn machine(http_connections: usize, smtp_sessions: usize) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|o| {
            o.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes,
        cpu,
        os,
        http_connections,
        smtp_sessions,
    }
}
