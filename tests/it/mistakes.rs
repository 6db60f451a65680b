//! An alert sent by mistake: stopped while it is under way, nothing more of it leaves but what
//! its batches send before they notice, within a second; the report, the audit log and the
//! proof say so.

use std::time::Duration;

use serde_json::json;

use crate::{
    cli::{ok, tocsin},
    support::{Daemon, Env, eventually},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_sent_by_mistake_is_stopped_under_way_and_nothing_more_leaves() {
    let env = Env::new().await;
    let mut config = env.config();
    // Large batches at a slow provider (100 ms an SMS): the alert takes a while, and each of its
    // batches is under way when the stop comes. Each would send the whole of itself were it not
    // asking whether its alert was stopped; what may still leave is what they send in the
    // second before they notice, twice over for a loaded machine.
    config.dispatch.batch_size = 300;
    config.dispatch.sends_per_batch = 4;
    let per_second =
        usize::from(config.dispatch.sender_concurrency) * config.dispatch.sends_per_batch * 10;
    let may_leave = 2 * per_second;
    env.smsmode.set_delay(Duration::from_millis(100));
    let daemon = Daemon::start(config).await;
    let mairie = env.commune(&daemon.url, 600).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Evacuation immediate du quartier de la gare" }),
        )
        .await;
    eventually("sending has begun", Duration::from_secs(30), || async {
        env.smsmode.received().len() >= 20
    })
    .await;

    // The mayor, from the command line.
    let vars = [
        ("TOCSIN_URL", daemon.url.as_str()),
        ("TOCSIN_API_KEY", mairie.key.as_str()),
    ];
    let said = ok(tocsin(&env, &vars, &["stop", &id]));
    let at_stop = env.smsmode.received().len();
    assert!(said.contains("stopped"), "{said}");

    let report = mairie.wait_completed(&id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = env.smsmode.received().len();
    let counts = &report["counts"]["sms"];
    println!("stopped at {at_stop} SMS of 600; {sent} left in all; {counts}");
    assert!(
        sent <= at_stop + may_leave,
        "{sent} sent, {at_stop} at the stop"
    );
    assert_eq!(
        counts["sent"].as_i64().unwrap() + counts["delivered"].as_i64().unwrap(),
        sent as i64
    );
    assert_eq!(
        counts["expired"].as_i64().unwrap(),
        600 - sent as i64,
        "{report}"
    );
    assert!(report["stopped_at"].is_string(), "{report}");

    // Stopping again changes nothing; an alert that is over cannot be stopped; one that has not
    // started is cancelled instead.
    let again = mairie
        .post(&format!("/v1/alerts/{id}/stop"), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    mairie
        .subscriber(Some("06 30 00 00 01"), None, &["intemperies"])
        .await;
    let done = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["sms"], "urgent": true,
                       "text": "RECTIFICATIF : message envoye par erreur" }),
        )
        .await;
    mairie.wait_completed(&done).await;
    let over = mairie
        .post(&format!("/v1/alerts/{done}/stop"), json!({}))
        .await;
    assert_eq!(over.status, 409, "{}", over.body);
    assert_eq!(over.body["error"]["code"], "already_over");
    let in_a_month = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let later = mairie
        .alert(json!({ "topic": "intemperies", "text": "Collecte decalee",
                       "scheduled_at": in_a_month }))
        .await;
    let cancelled = mairie
        .post(&format!("/v1/alerts/{later}/stop"), json!({}))
        .await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);

    let audit = mairie.get("/v1/audit").await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|&&a| a == "alert.stopped").count(),
        1,
        "{actions:?}"
    );
    assert!(actions.contains(&"alert.cancelled"), "{actions:?}");
    daemon.stop().await;
}
