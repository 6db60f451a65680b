//! Web Push end to end: a browser subscribes through `/c/{tenant}/push`, alerts reach it
//! encrypted to RFC 8291 and signed with VAPID (the stand-in push service checks both and
//! decrypts with the browser's private key), and a subscription its push service says is gone is
//! forgotten.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tocsin_providers::push::crypto::VapidKey;
use tocsin_standins::push::{Answer, BrowserSubscription, PushStandin};

use crate::support::{Client, Daemon, Env, eventually};

struct Setup {
    env: Env,
    daemon: Daemon,
    mairie: Client,
    service: PushStandin,
    vapid_public: String,
}

async fn setup() -> Setup {
    let env = Env::new().await;
    let service = PushStandin::start().await;
    let vapid = VapidKey::generate().unwrap();
    let private = secrecy::ExposeSecret::expose_secret(&vapid.private_key_base64url()).to_string();
    let config = env.config_with(&[
        ("TOCSIN_VAPID_PRIVATE_KEY", &private),
        ("TOCSIN_VAPID_SUBJECT", "mailto:alertes@bras.fr"),
    ]);
    let daemon = Daemon::start(config).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie.topic("collecte").await;
    Setup {
        env,
        daemon,
        mairie,
        service,
        vapid_public: vapid.public_key_base64url(),
    }
}

async fn join(
    daemon: &Daemon,
    browser: &BrowserSubscription,
    topics: Value,
) -> (StatusCode, Value) {
    let subscription: Value = serde_json::from_str(&browser.json()).unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/c/bras/push", daemon.url))
        .json(&json!({ "subscription": subscription, "topics": topics }))
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn push_subscribers(env: &Env) -> i64 {
    let db = env.db.pool().await;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM subscribers WHERE push IS NOT NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_browser_gets_alerts_encrypted_and_signed_and_a_gone_subscription_is_forgotten() {
    let Setup {
        env,
        daemon,
        mairie,
        service,
        vapid_public,
    } = setup().await;
    let kept = service.subscribe_with_key(&vapid_public);
    let dropped = service.subscribe_with_key(&vapid_public);
    assert_eq!(
        join(&daemon, &kept, json!(["intemperies"])).await.0,
        StatusCode::CREATED
    );
    let (status, body) = join(&daemon, &dropped, json!(["intemperies", "collecte"])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["topics"], json!(["intemperies", "collecte"]));
    // The same browser again (a reload): one subscriber still.
    assert_eq!(
        join(&daemon, &kept, json!(["intemperies"])).await.0,
        StatusCode::CREATED
    );
    assert_eq!(push_subscribers(&env).await, 2);
    let listed = mairie.get("/v1/subscribers").await;
    assert_eq!(
        listed.body["subscribers"][0]["push_service"], "127.0.0.1",
        "{}",
        listed.body
    );

    // The push service has forgotten the second browser.
    service.forget(&dropped);
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["push"],
                       "subject": "Vigilance orange", "text": "Orages violents cette nuit",
                       "expires_in": 7200 }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["push"]["sent"], 1, "{report}");
    assert_eq!(report["counts"]["push"]["failed"], 1, "{report}");

    let got = service.received(&kept);
    assert_eq!(got.len(), 1, "{got:?}");
    let message = &got[0];
    assert_eq!(message.urgency.as_deref(), Some("high"));
    assert!(
        (7000..=7200).contains(&message.ttl),
        "TTL until the alert expires: {}",
        message.ttl
    );
    let topic = message.topic.clone().expect("a Topic header");
    assert_eq!(topic.len(), 32, "{topic}");
    let payload = message.payload.clone().expect("a JSON payload");
    assert_eq!(payload["commune"], "bras", "{payload}");
    assert_eq!(payload["subject"], "Vigilance orange");
    assert_eq!(payload["text"], "Orages violents cette nuit");
    assert!(
        payload["url"].as_str().unwrap().contains("/a/"),
        "{payload}"
    );
    assert_eq!(
        message.vapid_subject.as_deref(),
        Some("mailto:alertes@bras.fr")
    );
    assert_eq!(message.vapid_key, vapid_public);

    // 410: forgotten, and never written to again.
    eventually(
        "the gone subscription forgotten",
        Duration::from_secs(10),
        || async { push_subscribers(&env).await == 1 },
    )
    .await;
    let before = service.request_count();
    let id = mairie
        .alert(json!({ "topic": "intemperies", "channels": ["push"], "text": "Route coupée" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["push"]["sent"], 1, "{report}");
    assert_eq!(service.request_count(), before + 1);
    let routine = service.received(&kept);
    assert_eq!(routine.last().unwrap().urgency.as_deref(), Some("normal"));

    // Whoever learns a browser's endpoint cannot take its subscription over nor end it: both
    // need the subscription's auth secret, which only the browser holds.
    let stranger = service.subscribe_with_key(&vapid_public);
    let mut taken: Value = serde_json::from_str(&stranger.json()).unwrap();
    taken["endpoint"] = json!(kept.endpoint());
    let response = reqwest::Client::new()
        .post(format!("{}/c/bras/push", daemon.url))
        .json(&json!({ "subscription": taken, "topics": ["collecte"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let leave = |auth: String| {
        let url = format!("{}/c/bras/push", daemon.url);
        let endpoint = kept.endpoint().to_owned();
        async move {
            reqwest::Client::new()
                .delete(url)
                .json(&json!({ "endpoint": endpoint, "auth": auth }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        leave(stranger.auth().to_owned()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(push_subscribers(&env).await, 1, "left without the secret");

    // Leaving from the page, with the secret: the browser is forgotten.
    assert_eq!(leave(kept.auth().to_owned()).await, StatusCode::NO_CONTENT);
    assert_eq!(push_subscribers(&env).await, 0);
    daemon.stop().await;
}

#[tokio::test]
async fn push_services_that_slow_down_or_fail_are_retried_and_bad_subscriptions_refused() {
    let Setup {
        env,
        daemon,
        mairie,
        service,
        vapid_public,
    } = setup().await;
    let slow = service.subscribe_with_key(&vapid_public);
    let flaky = service.subscribe_with_key(&vapid_public);
    let too_big = service.subscribe_with_key(&vapid_public);
    for browser in [&slow, &flaky, &too_big] {
        assert_eq!(
            join(&daemon, browser, json!(["intemperies"])).await.0,
            StatusCode::CREATED
        );
    }
    service.answer_next(&slow, [Answer::status(429).retry_after("1")]);
    service.answer_next(&flaky, [Answer::status(503)]);
    service.answer(&too_big, Answer::status(413));
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["push"],
                       "text": "Crue de la Meuse" }),
        )
        .await;
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(60))
        .await;
    assert_eq!(report["counts"]["push"]["sent"], 2, "{report}");
    assert_eq!(report["counts"]["push"]["failed"], 1, "{report}");
    assert_eq!(service.received(&slow).len(), 1);
    assert_eq!(service.received(&flaky).len(), 1);
    // 413 is permanent but says nothing of the subscription: it stays.
    assert_eq!(push_subscribers(&env).await, 3);

    // Subscriptions a browser could not have made are refused, naming the field.
    let good: Value = serde_json::from_str(&slow.json()).unwrap();
    let cases = [
        (
            "subscription.endpoint",
            json!({"endpoint": "http://push.example.com/x", "keys": good["keys"]}),
        ),
        (
            "subscription.keys.p256dh",
            json!({"endpoint": good["endpoint"], "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}),
        ),
        (
            "subscription.keys.auth",
            json!({"endpoint": good["endpoint"], "keys": {"p256dh": good["keys"]["p256dh"], "auth": "c2hvcnQ"}}),
        ),
    ];
    for (field, subscription) in cases {
        let response = reqwest::Client::new()
            .post(format!("{}/c/bras/push", daemon.url))
            .json(&json!({ "subscription": subscription }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    // An alert by name on push where nothing is configured is refused: see the other daemon.
    let plain = Daemon::start(env.config()).await;
    let other = mairie.at(&plain.url);
    let refused = other
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "channels": ["push"], "text": "x" }),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.body["error"]["field"], "channels");
    plain.stop().await;
    daemon.stop().await;
}
