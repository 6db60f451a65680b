use serde_json::json;

use crate::support::{Daemon, Env};

#[tokio::test]
async fn an_alert_accepted_while_the_broker_is_unreachable_is_sent_once_it_is_back() {
    let env = Env::new().await;
    // Nothing listens on port 1: this instance cannot reach RabbitMQ at all.
    let cut_off = env.config_with(&[("TOCSIN_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")]);
    let daemon = Daemon::start(cut_off).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(
            Some("0612345678"),
            Some("anne@example.fr"),
            &["intemperies"],
        )
        .await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let pending = mairie.get(&format!("/v1/alerts/{id}")).await;
    assert_eq!(pending.body["status"], "pending", "{}", pending.body);
    assert_eq!(env.smsmode.request_count(), 0);
    daemon.stop().await;

    // The alert waited in the outbox; an instance that reaches the broker sends it.
    let daemon = env.start().await;
    let mairie = mairie.at(&daemon.url);
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    assert_eq!(report["counts"]["email"]["sent"], 1, "{report}");
    daemon.stop().await;
}

/// PostgreSQL restarted in the middle of an alert: meanwhile the process lives (`/healthz`),
/// `/readyz` and the API say the database is away (503 with Retry-After); once it is back the
/// alert goes on, and every recipient gets it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_alert_loses_nothing() {
    use std::{collections::HashMap, time::Duration};

    use crate::support::{Client, PrivatePostgres, eventually};

    let env = Env::new().await;
    let postgres = PrivatePostgres::start();
    let url = postgres.url("tocsin");
    tocsin::store::ensure_database(&url).await.unwrap();
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    tocsin::store::migrate(&db).await.unwrap();
    let mut config = env.config_with(&[("TOCSIN_DATABASE_URL", &url)]);
    // As in production, a lease outlasts a database restart of a few seconds.
    config.dispatch.lease = Duration::from_secs(30);
    env.smsmode.set_delay(Duration::from_millis(20));
    let daemon = Daemon::start(config).await;

    let slug = tocsin::model::Slug::parse("bras").unwrap();
    let tenant = tocsin::store::tenants::create(&db, &slug, "Bras")
        .await
        .unwrap();
    let secrets = tocsin::store::key_versions::Secrets {
        current: env.secret.as_bytes(),
        previous: None,
    };
    let ring = tocsin::store::key_versions::open(&db, secrets)
        .await
        .unwrap();
    let hasher = tocsin::api::KeyHasher::new(ring);
    let (key, hash) = hasher.generate();
    tocsin::store::tenants::create_key(&db, tenant, tocsin::model::Role::Admin, &hash)
        .await
        .unwrap();
    db.close().await;
    let mairie = Client::new(&daemon.url, &key);
    mairie.topic("intemperies").await;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..300).map(|i| format!("06{i:08},,intemperies\n")))
        .collect();
    mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue" }),
        )
        .await;
    eventually("sending has begun", Duration::from_secs(20), || async {
        env.smsmode.request_count() >= 30
    })
    .await;

    postgres.stop();
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", daemon.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = http
        .get(format!("{}/readyz", daemon.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "down", "{ready}");
    // What alerting reads: not ready, and the outbox's age unknown rather than 0.
    let metrics = crate::support::metrics(&daemon.url).await;
    for line in ["tocsin_ready 0", "tocsin_outbox_age_seconds NaN"] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in:
{metrics}"
        );
    }
    let refused = mairie
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "text": "Encore" }),
        )
        .await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "unavailable");
    assert!(refused.headers.contains_key("retry-after"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    postgres.start_again();

    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 300, "{report}");
    let mut received: HashMap<String, usize> = HashMap::new();
    for sms in env.smsmode.received() {
        *received.entry(sms.to).or_default() += 1;
    }
    assert_eq!(received.len(), 300);
    let twice = received.values().filter(|&&n| n > 1).count();
    assert_eq!(twice, 0, "sent twice across a database restart");
    let ready = http
        .get(format!("{}/readyz", daemon.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    daemon.stop().await;
}

/// A broker that stops answering (a memory alarm blocks publishers, a partition) while the
/// relay publishes an alert: the relay gives up after its confirm timeout and rolls back, so no
/// database transaction of the daemon stays open with the outbox rows locked for as long as the
/// broker is stuck; once the broker answers again, the alert goes out, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_broker_never_holds_a_database_transaction_open() {
    use std::time::{Duration, Instant};

    use crate::support::{PausedLink, eventually};

    let env = Env::new().await;
    let link = PausedLink::to("127.0.0.1:5672").await;
    let through_link = format!("amqp://guest:guest@127.0.0.1:{}/%2f", link.port);
    let daemon = Daemon::start(env.config_with(&[("TOCSIN_AMQP_URL", &through_link)])).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for i in 0..5 {
        mairie
            .subscriber(Some(&format!("06123456{i:02}")), None, &["intemperies"])
            .await;
    }
    let http = reqwest::Client::new();
    eventually(
        "the daemon reaches the broker",
        Duration::from_secs(20),
        || {
            let request = http.get(format!("{}/readyz", daemon.url)).send();
            async move { request.await.is_ok_and(|r| r.status() == 200) }
        },
    )
    .await;

    link.pause();
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue" }),
        )
        .await;
    // Watch the daemon's sessions for well past the confirm timeout (10 s).
    let db = env.db.pool().await;
    let (watched, mut longest) = (Instant::now(), 0f64);
    while watched.elapsed() < Duration::from_secs(25) {
        let (age,): (f64,) = sqlx::query_as(
            "SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8
             FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND xact_start IS NOT NULL",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        longest = longest.max(age);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(env.smsmode.request_count(), 0, "the broker was stuck");
    assert!(
        longest < 15.0,
        "a transaction stayed open {longest:.1} s while the broker was stuck"
    );

    link.resume();
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(90))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], 5, "{report}");
    assert_eq!(env.smsmode.request_count(), 5, "each recipient once");
    daemon.stop().await;
}
