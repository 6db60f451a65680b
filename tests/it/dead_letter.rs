use std::time::Duration;

use lapin::{
    BasicProperties,
    options::{BasicGetOptions, BasicPublishOptions},
};
use serde_json::json;
use tocsin::broker::{self, Topology};

use crate::support::{AMQP_URL, Env, eventually};

#[tokio::test]
async fn an_unreadable_job_is_dead_lettered_with_its_reason_and_the_daemon_goes_on() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(Some("0612345678"), None, &["intemperies"])
        .await;

    let topology = Topology::new(env.prefix.clone());
    let connection = broker::connect(AMQP_URL).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    for (key, payload) in [
        ("send.sms.smsmode.urgent", &b"not json at all"[..]),
        (
            "alerts.bulk",
            &br#"{"type":"fan_out.v9","alert":"alr_x"}"#[..],
        ),
    ] {
        channel
            .basic_publish(
                topology.exchange().into(),
                key.into(),
                BasicPublishOptions::default(),
                payload,
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    eventually(
        "both jobs reach the dead-letter queue",
        Duration::from_secs(20),
        || async { env.queue_depth("dead").await == 2 },
    )
    .await;
    let dead = channel
        .basic_get(
            topology.queue("dead").into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("a dead letter");
    let headers = dead.delivery.properties.headers().clone().unwrap();
    let reason = match headers.inner().get("x-tocsin-reason") {
        Some(lapin::types::AMQPValue::LongString(s)) => {
            String::from_utf8_lossy(s.as_bytes()).to_string()
        }
        other => panic!("no reason header: {other:?}"),
    };
    assert!(reason.contains("unreadable job"), "{reason}");

    // The daemon still works.
    let id = mairie
        .alert(json!({ "topic": "intemperies", "text": "Toujours là" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1);
    daemon.stop().await;
}

/// `tocsin dead list` shows what died where and why; `tocsin dead replay` puts a batch that the
/// broker dead-lettered (delivery limit) back into its queue, and its deliveries go out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_messages_are_listed_with_their_reason_and_replayed() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(Some("0612345678"), None, &["intemperies"])
        .await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue" }),
        )
        .await;
    mairie.wait_completed(&id).await;
    assert_eq!(env.smsmode.received().len(), 1);

    // As if its batch had been dead-lettered by the delivery limit before it was sent.
    let db = env.db.pool().await;
    let (delivery,): (i64,) =
        sqlx::query_as("UPDATE deliveries SET status = 'queued', attempts = 0 RETURNING id")
            .fetch_one(&db)
            .await
            .unwrap();
    sqlx::query("UPDATE alerts SET closed_at = NULL")
        .execute(&db)
        .await
        .unwrap();
    let topology = Topology::new(env.prefix.clone());
    let job = format!(
        r#"{{"type":"send_batch.v1","alert":"{id}","channel":"sms","deliveries":["dlv_{delivery}"]}}"#
    );
    let mut headers = lapin::types::FieldTable::default();
    headers.insert(
        "x-first-death-queue".into(),
        lapin::types::AMQPValue::LongString(topology.queue("send.sms.smsmode.urgent").into()),
    );
    headers.insert(
        "x-first-death-reason".into(),
        lapin::types::AMQPValue::LongString("delivery_limit".into()),
    );
    let connection = broker::connect(AMQP_URL).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .basic_publish(
            topology.exchange().into(),
            "dead".into(),
            BasicPublishOptions::default(),
            job.as_bytes(),
            BasicProperties::default().with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    eventually("the batch is dead", Duration::from_secs(10), || async {
        env.queue_depth("dead").await == 1
    })
    .await;

    let tocsin = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(args)
            .env_clear()
            .envs(env.vars())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let listed: serde_json::Value =
        serde_json::from_str(&tocsin(&["dead", "list", "--json"])).unwrap();
    let messages = listed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{listed}");
    assert_eq!(messages[0]["reason"], "delivery_limit");
    assert_eq!(
        messages[0]["queue"],
        topology.queue("send.sms.smsmode.urgent")
    );
    assert_eq!(
        env.queue_depth("dead").await,
        1,
        "listing leaves them there"
    );

    tocsin(&["dead", "replay"]);
    env.smsmode.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(env.queue_depth("dead").await, 0);
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    daemon.stop().await;
}
