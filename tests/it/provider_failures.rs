use serde_json::json;

use crate::support::Env;

#[tokio::test]
async fn refusals_by_the_sms_provider_and_the_smtp_server_are_recorded_with_their_reason() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(Some("0612345678"), Some("ok@example.fr"), &["intemperies"])
        .await;
    mairie
        .subscriber(
            Some("0780000000"),
            Some("refuse@example.fr"),
            &["intemperies"],
        )
        .await;
    env.smsmode.fail_recipient("33780000000", 400);

    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Orages" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(
        report["counts"]["sms"],
        json!({ "queued": 0, "retrying": 0, "sent": 1, "delivered": 0, "failed": 1, "expired": 0, "acknowledged": 0 })
    );
    assert_eq!(
        report["counts"]["email"],
        json!({ "queued": 0, "retrying": 0, "sent": 1, "delivered": 0, "failed": 1, "expired": 0, "acknowledged": 0 })
    );

    let db = env.db.pool().await;
    let errors: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, error FROM deliveries WHERE status = 'failed' ORDER BY channel",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(errors.len(), 2);
    let (email, sms) = (&errors[0].1, &errors[1].1);
    assert!(
        email.starts_with("permanent") && email.contains("550"),
        "{email}"
    );
    assert!(sms.starts_with("permanent") && sms.contains("400"), "{sms}");
    // Reasons are for operators' logs: no personal data in them.
    assert!(
        !sms.contains("700000000") && !email.contains("refuse@"),
        "{sms} / {email}"
    );
    assert_eq!(env.smtp.received().len(), 1);
    daemon.stop().await;
}
