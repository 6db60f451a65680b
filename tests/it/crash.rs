use std::{
    collections::HashSet,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::json;

use crate::support::{Env, eventually};

/// In-flight bound of the crashed instance below: `sender_concurrency` × `sends_per_batch` on
/// the one busy queue (urgent SMS), since outcomes are recorded as they come.
const BATCH: usize = 10;
const CONCURRENCY: usize = 1;
const SENDS_PER_BATCH: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_send_loses_nothing_and_resends_at_most_what_was_in_flight() {
    let env = Env::new().await;
    // A slow provider, so that the crash lands in the middle of a batch.
    env.smsmode.set_delay(Duration::from_millis(300));
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[dispatch]\nbatch_size = {BATCH}\nsender_concurrency = {CONCURRENCY}\n\
             sends_per_batch = {SENDS_PER_BATCH}\n{}",
            crate::support::dispatch_toml()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut doomed = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["--config", config.path().to_str().unwrap(), "serve"])
        .envs(env.vars())
        .env("TOCSIN_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    eventually(
        "the first instance is up",
        Duration::from_secs(30),
        || async {
            reqwest::get(format!("{url}/healthz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;

    let db = env.db.pool().await;
    let slug = tocsin::model::Slug::parse("bras").unwrap();
    tocsin::store::tenants::create(&db, &slug, "Bras")
        .await
        .unwrap();
    let mairie =
        crate::support::Client::new(&url, &env.key("bras", tocsin::model::Role::Admin).await);
    mairie.topic("intemperies").await;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..40).map(|i| format!("06 20 00 00 {i:02},,intemperies\n")))
        .collect();
    assert_eq!(
        mairie
            .post_raw("/v1/subscribers/import", "text/csv", csv)
            .await
            .body["imported"],
        40
    );
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;

    // Kill it (SIGKILL: no shutdown at all) once it is well into its second batch.
    eventually(
        "the first instance is sending",
        Duration::from_secs(30),
        || async { env.smsmode.request_count() >= BATCH + 3 },
    )
    .await;
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let before_crash = env.smsmode.request_count();

    env.smsmode.set_delay(Duration::ZERO);
    let daemon = env.start().await;
    let report = mairie.at(&daemon.url).wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 40, "{report}");

    let received = env.smsmode.received();
    let numbers: HashSet<&str> = received.iter().map(|s| s.to.as_str()).collect();
    assert_eq!(numbers.len(), 40, "every subscriber got the alert");
    let duplicates = received.len() - 40;
    let in_flight = SENDS_PER_BATCH * CONCURRENCY;
    assert!(
        duplicates <= in_flight,
        "{duplicates} SMS sent twice; at most {in_flight} were in flight ({before_crash} requests \
         before the crash)"
    );
    let (retried,): (i64,) = sqlx::query_as("SELECT count(*) FROM deliveries WHERE attempts > 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        retried as usize <= in_flight,
        "{retried} deliveries claimed twice"
    );
    daemon.stop().await;
}

/// A `tocsin serve` process with the tests' short retry tiers and leases, and more attempts, so
/// that a tenth of provider calls failing never exhausts a delivery's retries.
fn instance(
    env: &Env,
    config: &std::path::Path,
    extra: &[(&str, &str)],
) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .envs(env.vars())
        .envs(extra.iter().copied())
        .env("TOCSIN_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn up(url: &str) {
    eventually("an instance is up", Duration::from_secs(30), || async {
        reqwest::get(format!("{url}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
}

/// A commune of `n` subscribers and its admin client, created through `url`.
async fn commune(env: &Env, url: &str, n: usize) -> crate::support::Client {
    let db = env.db.pool().await;
    let slug = tocsin::model::Slug::parse("bras").unwrap();
    tocsin::store::tenants::create(&db, &slug, "Bras")
        .await
        .unwrap();
    let mairie =
        crate::support::Client::new(url, &env.key("bras", tocsin::model::Role::Admin).await);
    mairie.topic("intemperies").await;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..n).map(|i| format!("06{i:08},,intemperies\n")))
        .collect();
    let report = mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    assert_eq!(report.body["created"], n, "{}", report.body);
    mairie
}

/// Every recipient reached, and how many got it more than once.
fn duplicates_among(env: &Env, n: usize) -> usize {
    let mut received: std::collections::HashMap<String, usize> = Default::default();
    for sms in env.smsmode.received() {
        *received.entry(sms.to).or_default() += 1;
    }
    assert_eq!(received.len(), n, "every recipient reached");
    received.values().map(|&k| k - 1).sum()
}

fn test_config(extra: &str) -> tempfile::NamedTempFile {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[dispatch]\nmax_attempts = 12\n{}{extra}",
            crate::support::dispatch_toml()
        ),
    )
    .unwrap();
    config
}

/// The promise at scale: two instances share a 20,000-recipient alert while a tenth of provider
/// calls fail transiently; each is killed (SIGKILL) once and replaced. Every recipient gets the
/// alert, and the duplicates stay within what was in flight at the two kills
/// (`sender_concurrency` × `sends_per_batch` each), under 2 % of the alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_kills_during_a_large_alert_with_failing_provider_calls_lose_nothing() {
    const RECIPIENTS: usize = 20_000;
    let in_flight_per_kill = tocsin::dispatch::Settings::default().sender_concurrency as usize
        * tocsin::dispatch::Settings::default().sends_per_batch;
    let env = Env::new().await;
    env.smsmode.fail_one_in(10);
    let config = test_config("");
    let (mut a, url_a) = instance(&env, config.path(), &[]);
    let (mut b, url_b) = instance(&env, config.path(), &[]);
    up(&url_a).await;
    up(&url_b).await;
    let mairie = commune(&env, &url_a, RECIPIENTS).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Alerte crue : évacuez les quais." }),
        )
        .await;

    eventually("a quarter is sent", Duration::from_secs(120), || async {
        env.smsmode.received().len() >= RECIPIENTS / 4
    })
    .await;
    a.kill().unwrap();
    a.wait().unwrap();
    let (mut a2, url_a2) = instance(&env, config.path(), &[]);
    eventually(
        "more than half is sent",
        Duration::from_secs(120),
        || async { env.smsmode.received().len() >= RECIPIENTS * 3 / 5 },
    )
    .await;
    b.kill().unwrap();
    b.wait().unwrap();
    let (mut b2, _) = instance(&env, config.path(), &[]);
    up(&url_a2).await;

    let report = mairie
        .at(&url_a2)
        .wait_completed_within(&id, Duration::from_secs(240))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    let duplicates = duplicates_among(&env, RECIPIENTS);
    eprintln!(
        "{RECIPIENTS} recipients, two kills, 1 call in 10 failing: {duplicates} duplicates \
         (bound {})",
        2 * in_flight_per_kill
    );
    assert!(
        duplicates <= 2 * in_flight_per_kill && duplicates * 50 <= RECIPIENTS,
        "{duplicates} sent twice; at most {} were in flight at the two kills",
        2 * in_flight_per_kill
    );
    for child in [&mut a2, &mut b2] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The broker goes away for several seconds in the middle of a 20,000-recipient alert (its
/// connections closed, new ones refused, in a virtual host of the test's own) while a tenth of
/// provider calls fail: both live instances reconnect with backoff and finish, and nobody gets
/// the alert twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_during_a_large_alert_loses_and_doubles_nothing() {
    const RECIPIENTS: usize = 20_000;
    let env = Env::new().await;
    let vhost = crate::support::Vhost::create();
    let amqp = vhost.amqp_url();
    let vars = [("TOCSIN_AMQP_URL", amqp.as_str())];
    env.smsmode.fail_one_in(10);
    let config = test_config("");
    let (mut a, url_a) = instance(&env, config.path(), &vars);
    let (mut b, url_b) = instance(&env, config.path(), &vars);
    up(&url_a).await;
    up(&url_b).await;
    let mairie = commune(&env, &url_a, RECIPIENTS).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Alerte crue : évacuez les quais." }),
        )
        .await;
    eventually("a third is sent", Duration::from_secs(120), || async {
        env.smsmode.received().len() >= RECIPIENTS / 3
    })
    .await;
    vhost.cut_off();
    let during = env.smsmode.received().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = reqwest::get(format!("{url_b}/readyz")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    vhost.open();
    assert_eq!(ready.status(), 503, "readyz while the broker is away");

    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(240))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    let duplicates = duplicates_among(&env, RECIPIENTS);
    eprintln!("{RECIPIENTS} recipients, broker away 5 s at {during} sent: {duplicates} duplicates");
    assert_eq!(
        duplicates, 0,
        "sent twice by live instances across a broker outage"
    );
    for child in [&mut a, &mut b] {
        let _ = child.kill();
        let _ = child.wait();
    }
}
