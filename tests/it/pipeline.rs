use std::time::Duration;

use serde_json::json;

use crate::support::Env;

#[tokio::test]
async fn an_urgent_alert_reaches_every_subscriber_by_sms_and_email() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras-sur-meuse").await;
    mairie.topic("intemperies").await;
    mairie.topic("collecte").await;
    mairie
        .subscriber(
            Some("06 12 34 56 78"),
            Some("anne@example.fr"),
            &["intemperies"],
        )
        .await;
    mairie
        .subscriber(
            Some("+33 7 80 00 00 01"),
            None,
            &["intemperies", "collecte"],
        )
        .await;
    mairie
        .subscriber(None, Some("paul@example.fr"), &["intemperies"])
        .await;
    // Subscribed to another topic only: must not receive this alert.
    mairie
        .subscriber(Some("0699999999"), Some("other@example.fr"), &["collecte"])
        .await;

    let text = "Alerte orange orages cet après-midi : évitez les déplacements.";
    let accepted = mairie
        .post("/v1/alerts", json!({ "topic": "intemperies", "urgent": true, "text": text, "subject": "Alerte orages" }))
        .await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    // Answered before counting: fan-out counts the recipients as it plans.
    assert_eq!(
        accepted.body["recipients"],
        json!(null),
        "{}",
        accepted.body
    );
    let id = accepted.body["id"].as_str().unwrap();
    assert!(id.starts_with("alr_"), "{id}");

    let sms = env.smsmode.wait_for(2, Duration::from_secs(30)).await;
    let mut numbers: Vec<&str> = sms.iter().map(|m| m.to.as_str()).collect();
    numbers.sort();
    assert_eq!(numbers, ["33612345678", "33780000001"]);
    assert!(sms.iter().all(|m| m.text == text));
    assert!(sms.iter().all(|m| {
        m.ref_client
            .as_deref()
            .is_some_and(|r| r.starts_with("dlv_"))
    }));

    let mails = env.smtp.wait_for(2, Duration::from_secs(30)).await;
    let mut rcpts: Vec<&str> = mails
        .iter()
        .flat_map(|m| m.rcpt_tos.iter().map(String::as_str))
        .collect();
    rcpts.sort();
    assert_eq!(rcpts, ["anne@example.fr", "paul@example.fr"]);
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "alertes@mairie-test.fr");
    assert!(
        mail.data.contains("Subject: Alerte orages"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("X-Tocsin-Reference: dlv_"),
        "{}",
        mail.data
    );

    let report = mairie.wait_completed(id).await;
    assert_eq!(report["recipients"], 3, "{report}");
    assert_eq!(
        report["counts"]["sms"],
        json!({ "queued": 0, "retrying": 0, "sent": 2, "delivered": 0, "failed": 0, "expired": 0, "acknowledged": 0 })
    );
    assert_eq!(
        report["counts"]["email"],
        json!({ "queued": 0, "retrying": 0, "sent": 2, "delivered": 0, "failed": 0, "expired": 0, "acknowledged": 0 })
    );
    assert!(report["timings"]["sms"]["first_sent_ms"].as_i64().unwrap() >= 0);

    // Nothing more arrives later: each message was sent once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.smsmode.request_count(), 2);
    assert_eq!(env.smtp.received().len(), 2);
    daemon.stop().await;
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_alert_and_sends_once() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "verdun").await;
    mairie.topic("eau").await;
    mairie.subscriber(Some("0611111111"), None, &["eau"]).await;
    let body = json!({ "topic": "eau", "text": "Eau non potable jusqu'à nouvel ordre.", "channels": ["sms"] });

    let request = |key: &str| {
        reqwest::Client::new()
            .post(format!("{}/v1/alerts", mairie.url))
            .header("Idempotency-Key", key)
            .json(&body)
    };
    let first = mairie.send(request("coupure-2026-11-29")).await;
    let second = mairie.send(request("coupure-2026-11-29")).await;
    assert_eq!(first.status, 202);
    assert_eq!(second.status, 202);
    assert_eq!(first.body["id"], second.body["id"]);
    assert_eq!(second.headers["Idempotent-Replayed"], "true");
    let other = mairie.send(request("another-key")).await;
    assert_ne!(other.body["id"], first.body["id"]);

    mairie
        .wait_completed(first.body["id"].as_str().unwrap())
        .await;
    mairie
        .wait_completed(other.body["id"].as_str().unwrap())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.smsmode.request_count(),
        2,
        "one SMS per alert, two alerts"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn simulated_providers_report_delivery() {
    let env = Env::new().await;
    let config = env.config_with(&[
        ("TOCSIN_SMS_PROVIDER", "simulator"),
        ("TOCSIN_EMAIL_PROVIDER", "simulator"),
        ("TOCSIN_SMS_SIMULATOR_ENABLED", "true"),
        ("TOCSIN_EMAIL_SIMULATOR_ENABLED", "true"),
    ]);
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.tenant(&daemon, "demo").await;
    mairie.topic("intemperies").await;
    for i in 0..20 {
        mairie
            .subscriber(
                Some(&format!("06 00 00 00 {i:02}")),
                Some(&format!("h{i}@example.org")),
                &["intemperies"],
            )
            .await;
    }
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue : évacuez les quais." }),
        )
        .await;
    mairie.wait_completed(&id).await;
    crate::support::eventually(
        "every simulated delivery is receipted",
        Duration::from_secs(10),
        || async {
            let r = mairie.get(&format!("/v1/alerts/{id}")).await.body;
            r["counts"]["sms"]["delivered"] == 20 && r["counts"]["email"]["delivered"] == 20
        },
    )
    .await;
    assert_eq!(
        env.smsmode.request_count(),
        0,
        "the simulator reaches no one"
    );
    assert!(
        env.smtp.received().is_empty(),
        "the simulator reaches no one"
    );
    daemon.stop().await;
}

/// A commune with its own account of the same provider: its SMS go through it, with its key and
/// sender, and the other communes' through the platform's shared account.
#[tokio::test]
async fn a_commune_s_own_account_carries_its_sms() {
    let env = Env::new().await;
    let own = crate::support::SmsmodeStandin::start("bras-own-key");
    let config = env.config_with_file(&format!(
        r#"
        [routing.tenants.bras]
        sms = "bras"
        [sms.accounts.bras]
        provider = "smsmode"
        api_key = "bras-own-key"
        base_url = "{}"
        sender = "MAIRIEBRAS"
        "#,
        own.base_url()
    ));
    let daemon = crate::support::Daemon::start(config).await;
    let mut mairies = Vec::new();
    for (slug, phone) in [("bras", "06 11 11 11 11"), ("verdun", "06 22 22 22 22")] {
        let mairie = env.tenant(&daemon, slug).await;
        mairie.topic("intemperies").await;
        mairie.subscriber(Some(phone), None, &["intemperies"]).await;
        let id = mairie
            .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
            .await;
        let report = mairie.wait_completed(&id).await;
        assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
        mairies.push(mairie);
    }
    let through_own = own.received();
    assert_eq!(through_own.len(), 1);
    assert_eq!(through_own[0].to, "33611111111");
    assert_eq!(through_own[0].from.as_deref(), Some("MAIRIEBRAS"));
    let shared = env.smsmode.received();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].to, "33622222222");

    // Verdun moves to that account with a sender of its own, and signs its e-mails: the next
    // alert goes out that way, without a restart.
    let db = env.db.pool().await;
    let change = tocsin::store::tenants::SettingsChange {
        sms_account: Some(Some("bras".into())),
        sms_sender: Some(Some("VERDUN55".into())),
        email_from: Some(Some("Mairie de Verdun <alertes@verdun.fr>".into())),
        ..Default::default()
    };
    assert!(
        tocsin::store::tenants::update(&db, "verdun", &change)
            .await
            .unwrap()
    );
    let verdun = &mairies[1];
    verdun
        .subscriber(None, Some("jeanne@example.org"), &["intemperies"])
        .await;
    let id = verdun
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
        .await;
    let report = verdun.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    let through_own = own.received();
    assert_eq!(through_own.len(), 2);
    assert_eq!(through_own[1].to, "33622222222");
    assert_eq!(through_own[1].from.as_deref(), Some("VERDUN55"));
    assert_eq!(
        env.smsmode.received().len(),
        1,
        "nothing more through the shared account"
    );
    let mails = env.smtp.wait_for(1, Duration::from_secs(10)).await;
    assert!(
        mails[0]
            .data
            .contains("From: \"Mairie de Verdun\" <alertes@verdun.fr>"),
        "{}",
        mails[0].data
    );
    daemon.stop().await;
}

/// A pool of SMS accounts carries one alert together, each account taking a share in proportion
/// to its rate limit; single messages (the dry run's price) use the pool's first account.
#[tokio::test]
async fn a_pool_of_accounts_shares_an_alert_by_their_rates() {
    let env = Env::new().await;
    let slow = crate::support::SmsmodeStandin::start("pool-slow-key");
    let fast = crate::support::SmsmodeStandin::start("pool-fast-key");
    let config = env.config_with_file(&format!(
        r#"
        [routing.tenants.bras]
        sms = "meuse"
        [sms.pools.meuse]
        accounts = ["meuse-1", "meuse-2"]
        [sms.accounts.meuse-1]
        provider = "smsmode"
        api_key = "pool-slow-key"
        base_url = "{}"
        [sms.accounts.meuse-2]
        provider = "smsmode"
        api_key = "pool-fast-key"
        base_url = "{}"
        [limits.meuse-1]
        per_second = 20.0
        [limits.meuse-2]
        per_second = 40.0
        "#,
        slow.base_url(),
        fast.base_url()
    ));
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.commune(&daemon.url, 30).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 30, "{report}");
    assert_eq!(report["recipients"], 30, "{report}");
    assert_eq!((slow.received().len(), fast.received().len()), (10, 20));
    let mut numbers: Vec<String> = slow
        .received()
        .into_iter()
        .chain(fast.received())
        .map(|m| m.to)
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 30, "each citizen once");
    assert_eq!(
        env.smsmode.request_count(),
        0,
        "nothing through the default"
    );
    daemon.stop().await;
}

/// A drill with the commune's real subscribers: every message says EXERCICE first, and the
/// report says it was one.
#[tokio::test]
async fn an_exercise_says_so_in_every_message() {
    let env = Env::new().await;
    let daemon = env.start().await;
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
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "exercise": true,
                       "text": "Crue de la Meuse : évacuez le quai." }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["exercise"], true, "{report}");
    let sms = env.smsmode.received();
    assert_eq!(sms.len(), 1);
    assert_eq!(
        sms[0].text,
        "EXERCICE – Crue de la Meuse : évacuez le quai."
    );
    let mail = env
        .smtp
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    assert!(mail.text.starts_with("EXERCICE – Crue"), "{}", mail.text);
    assert!(
        mail.headers["Subject"].starts_with("EXERCICE – Alerte"),
        "{:?}",
        mail.headers.get("Subject")
    );
    daemon.stop().await;
}
