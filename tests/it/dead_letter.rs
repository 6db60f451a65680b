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
