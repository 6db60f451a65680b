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
