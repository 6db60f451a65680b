//! The benchmark: how fast a whole commune is warned, against the limits of this machine
//! measured in the same run. It drives the real daemon (a `tocsin serve` child process) through
//! the real RabbitMQ and PostgreSQL; SMS go to the smsmode stand-in, e-mail to postfix's
//! smtp-sink, Web Push to the push service stand-in, calls to the Twilio stand-in (voice.rs).
//! With `--accounts`, one more alert goes through a pool of rate-limited SMS accounts
//! (pool.rs); with voice, one more calls landlines at a calls-per-second limit (voice.rs).

mod call_receiver;
mod ceiling;
mod config_file;
mod cpu;
mod database;
pub mod figures;
mod measure;
pub mod plot;
pub mod pool;
mod population;
mod processes;
pub mod report;
mod status;
pub mod targets;
pub mod voice;

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::Context;
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::json;
use tocsin_providers::push::crypto::VapidKey;
use tocsin_standins::{push::PushStandin, smsmode::SmsmodeStandin, twilio::TwilioStandin};

use self::{
    config_file::ConfigFile,
    figures::{Machine, PacedRun, PoolAccount, PoolRun, RunFigures, SizeFigures, StatusLatency},
    pool::PoolOptions,
    processes::DaemonProcess,
    voice::PaceOptions,
};
use tocsin::{
    api::KeyHasher,
    config::Config,
    model::{AlertId, Channel},
    store,
};

const STANDIN_KEY: &str = "bench-smsmode-key";
const SUBJECT: &str = "Alerte orange orages";
const TEXT: &str =
    "Mairie de Bras-sur-Meuse : alerte orange orages cet apres-midi. Evitez les deplacements.";
const VAPID_SUBJECT: &str = "mailto:bench@example.org";
/// Connections the daemon's public listener lets the stand-ins' callbacks hold at once.
const CALLBACK_CONNECTIONS: i64 = 4096;
/// The ceilings' measuring time.
const CEILING_TIME: Duration = Duration::from_secs(2);

pub struct Options {
    pub config: Option<PathBuf>,
    pub subscribers: Vec<u64>,
    /// Any of `sms`, `email`, `push` and `voice`.
    pub channels: Vec<Channel>,
    /// Runs per channel and size; `None`: 5 up to 10,000 subscribers, 3 up to 100,000, else 1.
    /// The pool run is run this many times too, once by default.
    pub runs: Option<usize>,
    /// Where the daemon's log goes.
    pub log: PathBuf,
    /// The pool run, when asked for.
    pub pool: Option<PoolOptions>,
    /// The paced run of calls, when voice is measured; run this many times too, once by
    /// default.
    pub pace: Option<PaceOptions>,
}

pub struct Results {
    pub machine: Machine,
    pub sizes: Vec<SizeFigures>,
    pub pool: Vec<PoolRun>,
    pub paced: Vec<PacedRun>,
}

fn default_runs(subscribers: u64) -> usize {
    match subscribers {
        0..=10_000 => 5,
        10_001..=100_000 => 3,
        _ => 1,
    }
}

type Env = Vec<(&'static str, String)>;

/// The configuration the daemon will read: `path`, then `env`, then this process's environment
/// (which the child inherits).
fn load_daemon_config(
    path: Option<&Path>,
    env: &Env,
) -> Result<Config, tocsin::config::ConfigError> {
    Config::load_with(path, |name| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    })
}

/// The stand-ins every run talks to, and how to reach the daemon's providers.
struct Bench {
    db: sqlx::PgPool,
    hasher: KeyHasher,
    sms: SmsmodeStandin,
    push: PushStandin,
    calls: TwilioStandin,
    sink_port: u16,
    env: Env,
    /// The configuration the daemons read: the operator's, with the benchmark's voice account.
    config: toml::Table,
    config_file: ConfigFile,
    log: PathBuf,
}

pub async fn run(options: Options) -> anyhow::Result<Results> {
    // Providers are the benchmark's; only the rest of the configuration is the operator's.
    let config =
        Config::load_simulated(options.config.as_deref()).context("invalid configuration")?;
    let database_url = database::url(config.database_url.expose_secret())?;
    store::recreate_database(&database_url).await?;
    let db = store::connect(&database_url, 4).await?;
    store::migrate(&db).await?;

    let sms = SmsmodeStandin::start_counting(STANDIN_KEY);
    let push = PushStandin::start_counting().await;
    let calls = TwilioStandin::start_counting(voice::ACCOUNT_SID, voice::AUTH_TOKEN);
    calls.set_ring_time(voice::RING_TIME);
    let (_sink, sink_port) = processes::start_smtp_sink().await?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let secrets = store::key_versions::Secrets {
        current: secret.as_bytes(),
        previous: None,
    };
    let hasher = KeyHasher::new(store::key_versions::open(&db, secrets).await?);
    let vapid = VapidKey::generate()?.private_key_base64url();
    let env: Env = vec![
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
        ("TOCSIN_SMSMODE_URL", sms.base_url()),
        ("TOCSIN_SMTP_URL", format!("smtp://127.0.0.1:{sink_port}")),
        (
            "TOCSIN_EMAIL_FROM",
            "Mairie de Bras-sur-Meuse <alertes@bench.example.org>".into(),
        ),
        (
            "TOCSIN_VAPID_PRIVATE_KEY",
            vapid.expose_secret().to_string(),
        ),
        ("TOCSIN_VAPID_SUBJECT", VAPID_SUBJECT.into()),
        // The push stand-in listens on this machine.
        ("TOCSIN_PUSH_ALLOW_LOOPBACK", "true".into()),
        ("TOCSIN_LOG", "warn".into()),
    ];
    let operator = config_file::operator_table(options.config.as_deref())?;
    let mut config = voice::config_table(operator, &calls.base_url())?;
    // The stand-ins call back from 127.0.0.1 alone, where a provider's callbacks come from many
    // addresses: the public listener's per-client cap would turn the callees away.
    config_file::table(&mut config, "http")?.insert(
        "max_connections_per_client".into(),
        toml::Value::Integer(CALLBACK_CONNECTIONS),
    );
    let config_file = ConfigFile::write(&config)?;
    let daemon_config = load_daemon_config(Some(&config_file.path), &env)
        .context("invalid configuration for the daemon")?;
    let machine = Machine::here(Connections {
        http: account_connections(&daemon_config, "sms.smsmode")?.unwrap_or(32),
        smtp: account_connections(&daemon_config, "email.smtp")?.unwrap_or(8),
        push: account_connections(&daemon_config, "push")?.unwrap_or(64),
        calls: account_connections(&daemon_config, "voice.twilio")?.unwrap_or(32),
    });
    let bench = Bench {
        db,
        hasher,
        sms,
        push,
        calls,
        sink_port,
        env,
        config,
        config_file,
        log: options.log.clone(),
    };

    let mut routes_configs = vec![daemon_config.clone()];
    let mut pool_runs = Vec::new();
    if let Some(pool) = options.pool {
        // First, so that a configuration the daemon refuses stops the benchmark before the long
        // runs rather than after them.
        let standins: Vec<SmsmodeStandin> = (0..pool.accounts)
            .map(|i| {
                let standin = SmsmodeStandin::start_counting(&PoolOptions::api_key(i));
                standin.limit_per_second(pool.standin_limit());
                standin
            })
            .collect();
        let urls: Vec<String> = standins.iter().map(SmsmodeStandin::base_url).collect();
        let file = ConfigFile::write(&pool::config_table(bench.config.clone(), &pool, &urls)?)?;
        let mut env = bench.env.clone();
        // The environment wins over the file: routing must name the pool here too.
        env.retain(|(k, _)| *k != "TOCSIN_SMS_PROVIDER");
        env.push(("TOCSIN_SMS_PROVIDER", pool::POOL.into()));
        let pool_config = load_daemon_config(Some(&file.path), &env).context(
            "the daemon refuses the pool's configuration (--accounts): [sms.pools] is needed",
        )?;
        routes_configs.push(pool_config);
        let runs = options.runs.unwrap_or(1);
        pool_runs = run_pool(&bench, &pool, &standins, &file.path, &env, runs).await?;
    }
    let mut paced = Vec::new();
    if let Some(pace) = options.pace {
        let runs = options.runs.unwrap_or(1);
        paced = voice::run_paced(&bench, &pace, runs).await?;
    }

    let mut sizes = Vec::new();
    for &subscribers in &options.subscribers {
        let runs = options.runs.unwrap_or_else(|| default_runs(subscribers));
        let size = run_size(&bench, &options, &machine, subscribers, runs).await?;
        sizes.push(size);
    }
    bench.db.close().await;
    // Leave the broker as it was: the benchmark's queues are its own.
    let topology = tocsin::broker::Topology::new(daemon_config.queue_prefix.clone())
        .with_retry_tiers(&daemon_config.dispatch.retry.delays);
    let mut keys: Vec<String> = routes_configs
        .iter()
        .flat_map(|c| topology.keys(c.account_routes()))
        .collect();
    keys.sort();
    keys.dedup();
    tocsin::broker::remove_topology(daemon_config.amqp_url.expose_secret(), &topology, &keys).await;
    Ok(Results {
        machine,
        sizes,
        pool: pool_runs,
        paced,
    })
}

/// Every run of every channel for one size of commune, with one daemon.
async fn run_size(
    bench: &Bench,
    options: &Options,
    machine: &Machine,
    subscribers: u64,
    runs: usize,
) -> anyhow::Result<SizeFigures> {
    eprintln!("{subscribers} subscribers: creating the commune…");
    let slug = format!("bench-{subscribers}");
    let commune = population::create(&bench.db, &slug, subscribers, &bench.push.base_url()).await?;
    let key = population::admin_key(&bench.db, &bench.hasher, &commune).await?;
    let daemon =
        DaemonProcess::start(Some(&bench.config_file.path), &bench.env, &bench.log).await?;
    for &channel in &options.channels {
        warm_up(bench, &daemon.url, &key, channel).await?;
    }
    let body_len = ceiling::push_body_len(&commune.name, SUBJECT, TEXT, &daemon.url);
    let shape = ceiling::PushShape::new(&bench.push.base_url(), VAPID_SUBJECT, body_len)?;
    let mut figures = Vec::new();
    for run in 1..=runs {
        for &channel in &options.channels {
            let ceiling = match channel {
                Channel::Sms => {
                    let (url, n) = (bench.sms.base_url(), machine.http_connections);
                    ceiling::http_rate(&url, STANDIN_KEY, n, CEILING_TIME).await?
                }
                Channel::Email => {
                    ceiling::smtp_rate(bench.sink_port, machine.smtp_sessions, 20_000)?
                }
                Channel::Push => {
                    let (url, n) = (bench.push.base_url(), machine.push_connections);
                    ceiling::push_rate(&url, &shape, n, CEILING_TIME).await?
                }
                Channel::Voice => {
                    let connections = machine.call_connections;
                    voice::ceiling(&bench.calls, connections, &commune.name).await?
                }
            };
            bench.sms.reset();
            bench.push.reset();
            bench.calls.reset_calls();
            let first = || match channel {
                Channel::Sms => bench.sms.first_accepted_at(),
                Channel::Push => bench.push.first_accepted_at(),
                Channel::Voice => bench.calls.call_times().into_iter().min(),
                Channel::Email => None,
            };
            let alert = Alert {
                daemon: &daemon,
                key: &key,
                channel,
                subscribers,
                timeout: Duration::from_secs(60 + subscribers / 200),
                calls: (channel == Channel::Voice).then_some(&bench.calls),
            };
            let mut f = run_alert(&bench.db, &alert, first).await?;
            f.ceiling_rate = ceiling;
            forget_deliveries(&bench.db).await?;
            let confirmed = match channel {
                Channel::Voice => format!(
                    ", {} confirmed, the last call over after {:.1} s",
                    f.acknowledged,
                    f.last_update_ms / 1000.0
                ),
                _ => String::new(),
            };
            eprintln!(
                "  run {run}/{runs} {:<5}: {:>8.0}/s end to end ({:.0} % of {:.0}/s), first after {:.1} ms, fan-out {:.0} ms, all after {:.2} s, status {:.1} ms (p95 {:.1}, {} calls), CPU per 1000: PostgreSQL {:.1} ms, daemon {:.1} ms{confirmed}",
                channel.as_str(),
                f.rate_overall,
                100.0 * f.rate_overall / ceiling,
                ceiling,
                f.first_delivery_ms,
                f.fanout_ms,
                f.p100_ms / 1000.0,
                f.status.median_ms,
                f.status.p95_ms,
                f.status.calls,
                f.pg_cpu_ms_per_1000,
                f.daemon_cpu_ms_per_1000,
            );
            figures.push(f);
        }
    }
    let peak = daemon.peak_rss_bytes()?;
    daemon.stop()?;
    Ok(SizeFigures {
        subscribers,
        daemon_peak_rss_bytes: peak,
        runs: figures,
    })
}

/// The pool run: a commune of its own, a daemon configured with the pool, `runs` alerts.
async fn run_pool(
    bench: &Bench,
    pool: &PoolOptions,
    standins: &[SmsmodeStandin],
    config: &Path,
    env: &Env,
    runs: usize,
) -> anyhow::Result<Vec<PoolRun>> {
    let subscribers = pool.subscribers();
    eprintln!(
        "pool of {} accounts at {}/s each: creating a commune of {subscribers}…",
        pool.accounts, pool.per_second
    );
    let commune =
        population::create(&bench.db, "bench-pool", subscribers, &bench.push.base_url()).await?;
    let key = population::admin_key(&bench.db, &bench.hasher, &commune).await?;
    let daemon = DaemonProcess::start(Some(config), env, &bench.log).await?;
    warm_up(bench, &daemon.url, &key, Channel::Sms).await?;
    let mut figures = Vec::new();
    for run in 1..=runs {
        standins.iter().for_each(SmsmodeStandin::reset);
        let first = || standins.iter().filter_map(|s| s.first_accepted_at()).min();
        let alert = Alert {
            daemon: &daemon,
            key: &key,
            channel: Channel::Sms,
            subscribers,
            // Refusals go to the retry tiers (5 s, then 30 s): room for a few.
            timeout: Duration::from_secs_f64(60.0 + 10.0 * pool::POOL_SECONDS),
            calls: None,
        };
        let f = run_alert(&bench.db, &alert, first).await?;
        forget_deliveries(&bench.db).await?;
        let accounts: Vec<PoolAccount> = standins
            .iter()
            .enumerate()
            .map(|(i, s)| PoolAccount {
                name: PoolOptions::account_name(i),
                accepted: s.accepted_count() as u64,
                rate_limited: s.rate_limited_count() as u64,
            })
            .collect();
        let accepted: u64 = accounts.iter().map(|a| a.accepted).sum();
        let last = standins.iter().filter_map(|s| s.last_accepted_at()).max();
        let span = match (first(), last) {
            (Some(first), Some(last)) => last.duration_since(first).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let rate_first_to_last = if span.is_zero() {
            f64::NAN
        } else {
            accepted as f64 / span.as_secs_f64()
        };
        let run_figures = PoolRun {
            subscribers,
            per_second: pool.per_second,
            accounts,
            deliveries: f.deliveries,
            failed: f.failed,
            first_delivery_ms: f.first_delivery_ms,
            p100_ms: f.p100_ms,
            rate_steady: f.rate_steady,
            rate_first_to_last,
            status: f.status,
            daemon_peak_rss_bytes: 0,
        };
        eprintln!(
            "  pool run {run}/{runs}: {:>6.0}/s steady ({:.1} % of {:.0}/s), {:.0}/s first to last, accepted {}, 429s {}, status {:.1} ms (p95 {:.1})",
            run_figures.rate_steady,
            100.0 * run_figures.rate_steady / run_figures.limit(),
            run_figures.limit(),
            run_figures.rate_first_to_last,
            join(run_figures.accounts.iter().map(|a| a.accepted)),
            join(run_figures.accounts.iter().map(|a| a.rate_limited)),
            run_figures.status.median_ms,
            run_figures.status.p95_ms,
        );
        figures.push(run_figures);
    }
    let peak = daemon.peak_rss_bytes()?;
    daemon.stop()?;
    for f in &mut figures {
        f.daemon_peak_rss_bytes = peak;
    }
    Ok(figures)
}

fn join(values: impl Iterator<Item = u64>) -> String {
    values
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One alert to send, and where.
struct Alert<'a> {
    daemon: &'a DaemonProcess,
    key: &'a str,
    channel: Channel,
    subscribers: u64,
    timeout: Duration,
    /// For voice: the stand-in whose calls must be over, and their ends recorded, before the
    /// figures are read.
    calls: Option<&'a TwilioStandin>,
}

/// One alert on one channel, from the API call until the API says nothing of it is left to
/// send; `first_accepted` tells when the provider's side took the first message, where the
/// benchmark can see it (the stand-ins, reset by the caller). Its deliveries stay for the
/// caller to read and [`forget_deliveries`].
async fn run_alert(
    db: &sqlx::PgPool,
    alert: &Alert<'_>,
    first_accepted: impl Fn() -> Option<SystemTime>,
) -> anyhow::Result<RunFigures> {
    let Alert {
        daemon,
        key,
        channel,
        subscribers,
        timeout,
        calls,
    } = *alert;
    let http = reqwest::Client::new();
    let (pg_before, daemon_before) = (cpu::postgres(), cpu::process(daemon.pid));
    let called_at = Utc::now();
    let id = post_alert(&http, &daemon.url, key, population::TOPIC, channel).await?;
    let latencies = status::follow(&http, &daemon.url, key, id, channel, timeout).await?;
    if let Some(standin) = calls {
        voice::calls_over(standin, timeout).await?;
        voice::calls_settled(db, id, timeout).await?;
    }
    let (pg_after, daemon_after) = (cpu::postgres(), cpu::process(daemon.pid));
    let first_ms = first_accepted().map(|t| {
        (chrono::DateTime::<Utc>::from(t) - called_at)
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1000.0
    });
    let mut figures = measure::figures(db, id, channel, called_at, first_ms).await?;
    figures.subscribers = subscribers;
    figures.status = StatusLatency::of(latencies);
    let per_thousand =
        |before, after| cpu::per_thousand(before, after, figures.deliveries).unwrap_or(f64::NAN);
    figures.pg_cpu_ms_per_1000 = per_thousand(pg_before, pg_after);
    figures.daemon_cpu_ms_per_1000 = per_thousand(daemon_before, daemon_after);
    Ok(figures)
}

/// Each run starts from an empty table, as a commune's next alert would not, but it keeps runs
/// comparable.
async fn forget_deliveries(db: &sqlx::PgPool) -> anyhow::Result<()> {
    sqlx::query("TRUNCATE deliveries").execute(db).await?;
    Ok(())
}

/// One alert to a few subscribers, not measured: a daemon that has been running has its
/// connections to PostgreSQL, RabbitMQ and the provider open and its statements prepared; the
/// runs measure that daemon, not the first minutes of a new one.
async fn warm_up(bench: &Bench, daemon: &str, key: &str, channel: Channel) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let id = post_alert(&http, daemon, key, population::WARM_UP_TOPIC, channel).await?;
    status::follow(&http, daemon, key, id, channel, Duration::from_secs(60)).await?;
    if channel == Channel::Voice {
        voice::calls_over(&bench.calls, Duration::from_secs(60)).await?;
        voice::calls_settled(&bench.db, id, Duration::from_secs(60)).await?;
    }
    forget_deliveries(&bench.db).await
}

/// An urgent alert to `topic` on one channel, through the API.
async fn post_alert(
    http: &reqwest::Client,
    daemon: &str,
    key: &str,
    topic: &str,
    channel: Channel,
) -> anyhow::Result<AlertId> {
    let response = http
        .post(format!("{daemon}/v1/alerts"))
        .bearer_auth(key)
        .json(&json!({
            "topic": topic, "urgent": true, "subject": SUBJECT, "text": TEXT,
            "channels": [channel],
        }))
        .send()
        .await?;
    let body: serde_json::Value = response.json().await?;
    Ok(body["id"]
        .as_str()
        .with_context(|| format!("no alert id in {body}"))?
        .parse()?)
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

/// The connections each account of the daemon opens at most, which its ceiling is measured
/// with.
struct Connections {
    http: usize,
    smtp: usize,
    push: usize,
    calls: usize,
}

impl Machine {
    fn here(connections: Connections) -> Machine {
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
            http_connections: connections.http,
            smtp_sessions: connections.smtp,
            push_connections: connections.push,
            call_connections: connections.calls,
        }
    }
}
