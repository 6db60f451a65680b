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
