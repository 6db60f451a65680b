use serde_json::json;

use crate::support::Env;

#[tokio::test]
async fn bad_alerts_are_refused_with_the_field_at_fault() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;

    let cases = [
        (json!({ "topic": "inconnu", "text": "Bonjour" }), "topic"),
        (json!({ "topic": "intemperies", "text": "   " }), "text"),
        (
            json!({ "topic": "intemperies", "text": "ê".repeat(671), "channels": ["sms"] }),
            "text",
        ),
        (
            json!({ "topic": "intemperies", "text": "Bonjour", "channels": ["fax"] }),
            "channels",
        ),
        (
            json!({ "topic": "intemperies", "text": "Bonjour", "channels": [] }),
            "channels",
        ),
        (json!({ "topic": "intemperies" }), "text"),
        (json!({ "topic": "intemperies", "text": 42 }), "text"),
        (
            json!({ "topic": "intemperies", "text": "Bonjour", "urgent": "yes" }),
            "urgent",
        ),
    ];
    for (body, field) in cases {
        let a = mairie.post("/v1/alerts", body.clone()).await;
        assert_eq!(a.status, 400, "{body} → {}", a.body);
        assert_eq!(a.body["error"]["field"], field, "{body} → {}", a.body);
        assert!(!a.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let broken = mairie
        .post_raw("/v1/alerts", "application/json", "{\"topic\": ")
        .await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert_eq!(broken.body["error"]["code"], "invalid_field");
    assert_eq!(broken.body["error"]["field"], "body");

    // The long text is refused for SMS, but fine for e-mail alone.
    let email_only = mairie
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "text": "ê".repeat(671), "channels": ["email"] }),
        )
        .await;
    assert_eq!(email_only.status, 202, "{}", email_only.body);

    // Nothing was recorded for the refused alerts: only the e-mail one exists.
    let db = env.db.pool().await;
    let (alerts,): (i64,) = sqlx::query_as("SELECT count(*) FROM alerts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(alerts, 1);
    daemon.stop().await;
}

#[tokio::test]
async fn bad_subscribers_are_refused_with_the_field_at_fault() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    let cases = [
        (
            json!({ "phone": "12345", "topics": ["intemperies"] }),
            "phone",
        ),
        (
            json!({ "phone": "06 12 34 56 7a", "topics": ["intemperies"] }),
            "phone",
        ),
        (
            json!({ "email": "not-an-address", "topics": ["intemperies"] }),
            "email",
        ),
        (
            json!({ "phone": "0612345678", "topics": ["nope"] }),
            "topics",
        ),
        (json!({ "phone": "0612345678", "topics": [] }), "topics"),
        (json!({ "topics": ["intemperies"] }), "phone"),
    ];
    for (body, field) in cases {
        let a = mairie.post("/v1/subscribers", body.clone()).await;
        assert_eq!(a.status, 400, "{body} → {}", a.body);
        assert_eq!(a.body["error"]["field"], field, "{body} → {}", a.body);
    }
    // Every French form lands as the same E.164 number: one subscriber, not four.
    for phone in [
        "06 12 34 56 78",
        "0612345678",
        "+33 6 12 34 56 78",
        "0033 6 12 34 56 78",
    ] {
        let s = mairie.subscriber(Some(phone), None, &["intemperies"]).await;
        assert_eq!(s["phone"], "+33612345678");
    }
    let list = mairie.get("/v1/subscribers").await;
    assert_eq!(list.body["subscribers"].as_array().unwrap().len(), 1);
    daemon.stop().await;
}

#[tokio::test]
async fn a_csv_import_keeps_every_good_row_and_reports_every_bad_one() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie.topic("collecte").await;
    let csv = "phone,email,topics\n\
               06 12 34 56 78,anne@example.fr,intemperies;collecte\n\
               not a phone,,intemperies\n\
               ,paul@example.fr,intemperies\n\
               0781111111,broken@,intemperies\n\
               0782222222,,inconnu\n\
               ,,intemperies\n\
               +33 7 83 33 33 33,,collecte\n";
    let first = mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["imported"], 3, "{}", first.body);
    assert_eq!(first.body["created"], 3);
    let lines: Vec<u64> = first.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 5, 6, 7], "{}", first.body);
    let fields: Vec<&str> = first.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(fields[0], "phone");
    assert_eq!(fields[1], "email");
    assert_eq!(fields[2], "topics");

    let again = mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    assert_eq!(again.body["created"], 0, "{}", again.body);
    assert_eq!(again.body["updated"], 0, "{}", again.body);
    assert_eq!(again.body["unchanged"], 3, "{}", again.body);
    let list = mairie.get("/v1/subscribers").await;
    let subscribers = list.body["subscribers"].as_array().unwrap();
    assert_eq!(subscribers.len(), 3);
    assert_eq!(subscribers[0]["topics"], json!(["collecte", "intemperies"]));

    let header = mairie
        .post_raw(
            "/v1/subscribers/import",
            "text/csv",
            "telephone,mail\n0612345678,a@b.fr\n",
        )
        .await;
    assert_eq!(header.body["imported"], 0);
    assert_eq!(header.body["errors"][0]["line"], 1, "{}", header.body);
    daemon.stop().await;
}

#[tokio::test]
async fn a_large_register_is_read_whole_while_json_bodies_stay_small() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    // 3 MB of rows, every one of them bad: all read and reported, none imported.
    let rows = 60_000;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..rows).map(|i| format!("not-a-phone-{i:08},,intemperies;{:>20}\n", "")))
        .collect();
    assert!(csv.len() > 2 * 1024 * 1024);
    let report = mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["errors"].as_array().unwrap().len(), rows);

    let huge = json!({ "topic": "intemperies", "text": "x".repeat(2 * 1024 * 1024) });
    assert_eq!(mairie.post("/v1/alerts", huge).await.status, 413);
    daemon.stop().await;
}
