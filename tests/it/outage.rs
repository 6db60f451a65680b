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
    let mut config = env.config_with(&[("TOCSIN_DATABASE_URL", &url)]);
    // As in production, a lease outlasts a database restart of a few seconds.
    config.dispatch.lease = Duration::from_secs(30);
    env.smsmode.set_delay(Duration::from_millis(20));
    let daemon = Daemon::start(config).await;

    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let slug = tocsin::model::Slug::parse("bras").unwrap();
    let tenant = tocsin::store::tenants::create(&db, &slug, "Bras")
        .await
        .unwrap();
    let hasher = tocsin::api::KeyHasher::new(env.secret.clone().into());
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
