//! `tocsin doctor`: what an on-call engineer checks first, one line per check and, under each
//! failure, its fix. Nothing is sent to anyone: provider hosts are only resolved and connected
//! to. The exit status is 1 when a check fails; warnings do not fail.

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lapin::{
    BasicProperties,
    options::{
        BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable},
};
use secrecy::ExposeSecret;

use crate::{config::Config, reach::Service, store};

/// How long one network check waits.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The most the clocks of this machine and PostgreSQL's may differ: leases, schedules and TOTP
/// codes read both.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(2);
/// Public connections below which the file limit is called too low.
const FEW_CONNECTIONS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// The lines printed so far, and whether one failed.
#[derive(Default)]
struct Report {
    failed: usize,
    checks: usize,
}

impl Report {
    fn line(&mut self, verdict: Verdict, what: &str, said: &str, fix: Option<&str>) {
        self.checks += 1;
        let tag = match verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => {
                self.failed += 1;
                "FAIL"
            }
        };
        println!("{tag}  {what:<22} {said}");
        if let Some(fix) = fix {
            println!("      {:<22} fix: {fix}", "");
        }
    }

    fn ok(&mut self, what: &str, said: &str) {
        self.line(Verdict::Ok, what, said, None);
    }

    fn warn(&mut self, what: &str, said: &str, fix: &str) {
        self.line(Verdict::Warn, what, said, Some(fix));
    }

    fn fail(&mut self, what: &str, said: &str, fix: &str) {
        self.line(Verdict::Fail, what, said, Some(fix));
    }

    fn finish(self) -> anyhow::Result<()> {
        if self.failed > 0 {
            anyhow::bail!("{} of {} checks failed", self.failed, self.checks);
        }
        Ok(())
    }
}

pub async fn run(path: Option<&Path>) -> anyhow::Result<()> {
    let mut report = Report::default();
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            let fix = "correct the field named; `tocsin config check` says when it is right";
            report.fail("configuration", &error.to_string(), fix);
            return report.finish();
        }
    };
    configuration(&config, &mut report);
    let db = postgres(&config, &mut report).await;
    rabbitmq(&config, &mut report).await;
    // Each account built once (an SMTP account reads the system's certificates).
    let accounts: Vec<_> = config
        .accounts
        .iter()
        .map(|a| (a, a.build(&Default::default())))
        .collect();
    providers(&accounts, &mut report).await;
    public_url(&config, &mut report);
    let built = accounts.iter().filter_map(|(_, built)| built.as_ref().ok());
    files(&config, built, &mut report);
    if let Some(db) = db {
        clock(&db, &mut report).await;
        db.close().await;
    }
    report.finish()
}

fn configuration(config: &Config, report: &mut Report) {
    let accounts = config.accounts.len();
    report.ok(
        "configuration",
        &format!("valid; {accounts} provider accounts"),
    );
    if config.api_key_secret.is_none() {
        report.fail(
            "server secret",
            "api_key_secret is not set: `serve` cannot check API keys",
            "set TOCSIN_API_KEY_SECRET (or TOCSIN_API_KEY_SECRET_FILE), 32 random bytes in hex",
        );
    }
    for account in config.accounts.iter().filter(|a| a.kind.rehearsal) {
        report.warn(
            &account.section,
            "a simulator: it reaches no one",
            "route communes to a real provider account",
        );
    }
    for warning in config.accounts.iter().flat_map(|a| a.warnings()) {
        report.warn("provider account", &warning, "see the account's section");
    }
}

/// Reachable, the database there, migrated; the pool for the clock check.
async fn postgres(config: &Config, report: &mut Report) -> Option<sqlx::PgPool> {
    const WHAT: &str = "PostgreSQL";
    let url = config.database_url.expose_secret();
    let service = match Service::postgres(url) {
        Ok(service) => service,
        Err(error) => {
            report.fail(
                WHAT,
                &format!("{error:#}"),
                "set database_url to postgres://…",
            );
            return None;
        }
    };
    if let Err(why) = service.probe().await {
        report.fail(WHAT, &service.unreachable(&why), &service.start_command());
        return None;
    }
    let db = match tokio::time::timeout(TIMEOUT, store::connect_existing(url, 1)).await {
        Ok(Ok(db)) => db,
        Ok(Err(store::ConnectError::Missing(name))) => {
            let said = format!("no database {name} at {}", service.address());
            report.fail(WHAT, &said, "tocsin migrate (it creates the database)");
            return None;
        }
        Ok(Err(error)) => {
            let said = format!("{} refused us: {error}", service.address());
            let fix = "check database_url's user, password and database, and pg_hba.conf";
            report.fail(WHAT, &said, fix);
            return None;
        }
        Err(_) => {
            let said = format!(
                "no session at {} within {} s",
                service.address(),
                TIMEOUT.as_secs()
            );
            report.fail(
                WHAT,
                &said,
                "look at PostgreSQL's log: is it starting, or full?",
            );
            return None;
        }
    };
    match store::pending_migrations(&db).await {
        Ok(0) => report.ok(WHAT, &format!("{}: reachable, migrated", service.address())),
        Ok(n) => {
            let said = format!("{}: {n} migrations not applied", service.address());
            report.fail(WHAT, &said, "tocsin migrate");
        }
        Err(error) => report.fail(
            WHAT,
            &format!("cannot read the migrations: {error}"),
            "tocsin migrate",
        ),
    }
    Some(db)
}

/// Reachable, our credentials taken, and on the vhost: a quorum queue declared, a message
/// written to it and read back, the queue deleted.
async fn rabbitmq(config: &Config, report: &mut Report) {
    const WHAT: &str = "RabbitMQ";
    let url = config.amqp_url.expose_secret();
    let service = match Service::rabbitmq(url) {
        Ok(service) => service,
        Err(error) => {
            report.fail(WHAT, &format!("{error:#}"), "set amqp_url to amqp://…");
            return;
        }
    };
    if let Err(why) = service.probe().await {
        report.fail(WHAT, &service.unreachable(&why), &service.start_command());
        return;
    }
    let connection = match tokio::time::timeout(TIMEOUT, crate::broker::connect(url)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => {
            let said = format!("{} refused us: {error}", service.address());
            let fix = "check amqp_url's user, password and vhost (rabbitmqctl list_users, \
                       list_vhosts)";
            report.fail(WHAT, &said, fix);
            return;
        }
        Err(_) => {
            let said = format!(
                "no AMQP session at {} within {} s",
                service.address(),
                TIMEOUT.as_secs()
            );
            report.fail(WHAT, &said, "look at RabbitMQ's log");
            return;
        }
    };
    let queue = format!(
        "{}doctor.{}",
        config.queue_prefix,
        hex::encode(rand::random::<[u8; 6]>())
    );
    match tokio::time::timeout(TIMEOUT, round_trip(&connection, &queue)).await {
        Ok(Ok(())) => report.ok(
            WHAT,
            &format!(
                "{}: quorum queue declared, written, read and deleted",
                service.address()
            ),
        ),
        Ok(Err(error)) => {
            let fix = "grant the user configure, write and read on the vhost (rabbitmqctl \
                       set_permissions -p VHOST USER '.*' '.*' '.*'); quorum queues need \
                       RabbitMQ 3.8 or later";
            report.fail(WHAT, &format!("{}: {error}", service.address()), fix);
        }
        Err(_) => report.fail(
            WHAT,
            "the queue round trip did not end in time",
            "look at RabbitMQ's log",
        ),
    }
    let _ = connection.close(200, "doctor done".into()).await;
}

async fn round_trip(connection: &lapin::Connection, queue: &str) -> Result<(), String> {
    let step = |what: &'static str| move |error: lapin::Error| format!("{what}: {error}");
    let channel = connection.create_channel().await.map_err(step("channel"))?;
    let mut quorum = FieldTable::default();
    quorum.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(queue.into(), durable, quorum)
        .await
        .map_err(step("declaring a quorum queue (configure)"))?;
    let written = async {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                b"doctor",
                BasicProperties::default(),
            )
            .await?
            .await?;
        // A quorum queue has the message once the publish is confirmed.
        channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
    }
    .await;
    let deleted = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await;
    match written {
        Ok(Some(_)) => {}
        Ok(None) => return Err("the message written was not read back".into()),
        Err(error) => return Err(format!("writing and reading (write, read): {error}")),
    }
    deleted.map_err(step("deleting the queue"))?;
    Ok(())
}

/// A configured account and what building it gave.
type Built<'a> = (
    &'a crate::config::AccountConfig,
    Result<tocsin_providers::Account, crate::config::ConfigError>,
);

/// Each account's host resolves and accepts a connection; nothing is sent.
async fn providers(accounts: &[Built<'_>], report: &mut Report) {
    for (account, built) in accounts {
        let what = format!("provider {}", account.name);
        let endpoint = match built {
            Ok(built) => built.provider.endpoint(),
            Err(error) => {
                report.fail(&what, &error.to_string(), "correct the account's section");
                continue;
            }
        };
        let Some(endpoint) = endpoint else {
            continue;
        };
        let (Some(host), Some(port)) = (endpoint.host_str(), endpoint.port_or_known_default())
        else {
            continue;
        };
        let host = host.trim_matches(['[', ']']);
        let addresses =
            match tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, port))).await {
                Ok(Ok(found)) => found.collect::<Vec<_>>(),
                Ok(Err(error)) => {
                    let fix = "check the account's base_url, and this machine's DNS (resolv.conf)";
                    report.fail(&what, &format!("{host} does not resolve: {error}"), fix);
                    continue;
                }
                Err(_) => {
                    report.fail(
                        &what,
                        &format!("{host}: no DNS answer in time"),
                        "check this machine's DNS",
                    );
                    continue;
                }
            };
        let connected =
            tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(&addresses[..])).await;
        match connected {
            Ok(Ok(_)) => report.ok(&what, &format!("{host}:{port} resolves and answers")),
            Ok(Err(error)) => {
                let fix = "check the firewall's way out to it, and the account's base_url";
                report.fail(
                    &what,
                    &format!("cannot connect to {host}:{port}: {error}"),
                    fix,
                );
            }
            Err(_) => {
                let fix = "check the firewall's way out to it (a drop, not a refusal)";
                report.fail(
                    &what,
                    &format!("{host}:{port}: no answer within {} s", TIMEOUT.as_secs()),
                    fix,
                );
            }
        }
    }
}

/// In https: citizens' links, the console's cookies and one-click unsubscribe (RFC 8058) need
/// it; a loopback address is only for trying it on this machine.
fn public_url(config: &Config, report: &mut Report) {
    const WHAT: &str = "public URL";
    let url = &config.public_url;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    let fix = "set public_url to the https address citizens and providers reach";
    match (url.scheme(), loopback) {
        ("https", _) => report.ok(WHAT, url.as_str()),
        (_, true) => report.warn(WHAT, &format!("{url}: this machine only, in http"), fix),
        _ => report.fail(
            WHAT,
            &format!("{url} is not https: one-click unsubscribe and the console need it"),
            fix,
        ),
    }
}

/// The hard file limit (the daemon raises its own to it) against the connections it keeps for
/// PostgreSQL, the providers and the API listener, leaving room for the public listener.
fn files<'a>(
    config: &Config,
    accounts: impl Iterator<Item = &'a tocsin_providers::Account>,
    report: &mut Report,
) {
    const WHAT: &str = "file limit";
    let Ok((_, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) else {
        return;
    };
    let outbound = crate::daemon::outbound_files(config, accounts);
    let room = (hard as usize).saturating_sub(outbound);
    let fix = "raise LimitNOFILE in the unit (65536), or the shell's ulimit -n";
    match config.http.max_connections {
        Some(set) if set > room => report.fail(
            WHAT,
            &format!("{hard}: [http] max_connections = {set}, but only {room} files are left after {outbound} for the rest"),
            fix,
        ),
        _ if room < FEW_CONNECTIONS => report.warn(
            WHAT,
            &format!("{hard}: room for {room} public connections only"),
            fix,
        ),
        _ => report.ok(WHAT, &format!("{hard}: room for {room} public connections")),
    }
}

/// This machine's clock against PostgreSQL's.
async fn clock(db: &sqlx::PgPool, report: &mut Report) {
    const WHAT: &str = "clock";
    let before = SystemTime::now();
    let theirs: Result<f64, _> =
        sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
            .fetch_one(db)
            .await;
    let after = SystemTime::now();
    let Ok(theirs) = theirs else {
        return;
    };
    let seconds = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    let ours = (seconds(before) + seconds(after)) / 2.0;
    let skew = theirs - ours;
    let fix = "keep both clocks synchronised (systemd-timesyncd or chrony)";
    if skew.abs() > MAX_CLOCK_SKEW.as_secs_f64() {
        report.fail(
            WHAT,
            &format!("{skew:+.1} s from PostgreSQL's: leases, schedules and TOTP codes read both"),
            fix,
        );
    } else {
        report.ok(WHAT, &format!("{skew:+.3} s from PostgreSQL's"));
    }
}
