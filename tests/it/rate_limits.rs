use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use tocsin::{dispatch::limits::AccountLimit, model::Role, store};

use crate::support::{Client, Env, eventually};

/// A `tocsin serve` process of this test's environment, with extra configuration.
fn serve(env: &Env, config: &std::path::Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .envs(env.vars())
        .env("TOCSIN_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

/// Arrivals in every 10-second window that fits between the first and the last one.
fn ten_second_windows(arrivals: &[Instant]) -> Vec<usize> {
    let window = Duration::from_secs(10);
    let last = *arrivals.last().unwrap();
    arrivals
        .iter()
        .take_while(|&&start| start + window <= last)
        .map(|&start| {
            arrivals
                .iter()
                .filter(|&&t| t >= start && t < start + window)
                .count()
        })
        .collect()
}

/// Three instances sending one large alert stay within the account's rate (±5 % over 10-second
/// windows at the stand-in), and all three send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_together_keep_to_the_accounts_rate() {
    const RATE: usize = 40;
    let env = Env::new().await;
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[dispatch]\nbatch_size = 25\n{}\n[limits.smsmode]\nper_second = {RATE}.0\n",
            crate::support::dispatch_toml()
        ),
    )
    .unwrap();
    let instances: Vec<(Child, String)> = (0..3).map(|_| serve(&env, config.path())).collect();
    for (_, url) in &instances {
        eventually("an instance is up", Duration::from_secs(30), || async {
            reqwest::get(format!("{url}/healthz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }
    let db = env.db.pool().await;
    let slug = tocsin::model::Slug::parse("bras").unwrap();
    store::tenants::create(&db, &slug, "Bras").await.unwrap();
    let mairie = Client::new(&instances[0].1, &env.key("bras", Role::Admin).await);
    mairie.topic("intemperies").await;
    let recipients = 22 * RATE;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..recipients).map(|i| format!("06{i:08},,intemperies\n")))
        .collect();
    mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Alerte crue" }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], recipients, "{report}");

    let mut arrivals: Vec<Instant> = env.smsmode.received().iter().map(|s| s.at).collect();
    arrivals.sort();
    let windows = ten_second_windows(&arrivals);
    assert!(!windows.is_empty(), "the alert took less than 10 s");
    let (low, high) = (RATE * 10 * 95 / 100, RATE * 10 * 105 / 100);
    let (min, max) = (
        *windows.iter().min().unwrap(),
        *windows.iter().max().unwrap(),
    );
    eprintln!(
        "{} windows of 10 s: {min} to {max} SMS (limit {})",
        windows.len(),
        RATE * 10
    );
    assert!(
        min >= low && max <= high,
        "10-second windows held {min} to {max} SMS; the rate allows {low} to {high}"
    );
    let (owners,): (i64,) = sqlx::query_as("SELECT count(DISTINCT owner) FROM deliveries")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(owners, 3, "every instance sent its share");
    for (mut child, _) in instances {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A routine campaign already going out gives way to an urgent alert on the same account, and
/// resumes after it.
#[tokio::test]
async fn a_routine_campaign_gives_way_to_an_urgent_alert() {
    let env = Env::new().await;
    let mut config = env.config();
    config.limits.insert(
        "smsmode".into(),
        AccountLimit {
            per_second: Some(30.0),
            concurrency: 8,
        },
    );
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("collecte").await;
    mairie.topic("intemperies").await;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..150).map(|i| format!("06{i:08},,collecte\n")))
        .chain((0..30).map(|i| format!("07{i:08},,intemperies\n")))
        .collect();
    mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    let routine = mairie
        .alert(json!({ "topic": "collecte", "channels": ["sms"], "text": "Collecte lundi" }))
        .await;
    eventually(
        "the campaign is going out",
        Duration::from_secs(20),
        || async { env.smsmode.received().len() >= 30 },
    )
    .await;
    let urgent = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue : évacuez" }),
        )
        .await;
    mairie.wait_completed(&urgent).await;
    mairie.wait_completed(&routine).await;

    let received = env.smsmode.received();
    let urgent_at: Vec<Instant> = received
        .iter()
        .filter(|s| s.text.starts_with("Crue"))
        .map(|s| s.at)
        .collect();
    let (first, last) = (
        *urgent_at.iter().min().unwrap(),
        *urgent_at.iter().max().unwrap(),
    );
    let routine_meanwhile = received
        .iter()
        .filter(|s| s.text.starts_with("Collecte") && s.at > first && s.at < last)
        .count();
    let routine_after = received
        .iter()
        .filter(|s| s.text.starts_with("Collecte") && s.at > last)
        .count();
    eprintln!(
        "urgent: 30 SMS in {:?}; routine meanwhile {routine_meanwhile}, after {routine_after}",
        last - first
    );
    assert!(
        routine_meanwhile <= 3,
        "{routine_meanwhile} routine SMS went out while the urgent alert was sending"
    );
    assert!(routine_after > 0, "the campaign did not resume");
    daemon.stop().await;
}
