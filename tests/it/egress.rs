//! The egress boundary, as an outsider would try it: a push endpoint pointing at this machine,
//! written every way the URL standard reads as loopback, is refused when a browser subscribes;
//! one that got into the database anyway is refused again when the daemon connects. The other
//! refused ranges (private, link-local, …) are tested on the checking functions themselves
//! (`tocsin_providers::egress`), never by connecting to them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tocsin::{
    model::{TenantId, TopicId},
    store,
};
use tocsin_providers::push::crypto::VapidKey;
use tocsin_standins::push::PushStandin;

use crate::support::{Daemon, Env};

async fn start_daemon(env: &Env, allow_loopback: &str) -> (Daemon, String) {
    let vapid = VapidKey::generate().unwrap();
    let private = secrecy::ExposeSecret::expose_secret(&vapid.private_key_base64url()).to_string();
    let daemon = Daemon::start(env.config_with(&[
        ("TOCSIN_VAPID_PRIVATE_KEY", &private),
        ("TOCSIN_VAPID_SUBJECT", "mailto:alertes@bras.fr"),
        ("TOCSIN_PUSH_ALLOW_LOOPBACK", allow_loopback),
    ]))
    .await;
    (daemon, vapid.public_key_base64url())
}

async fn join(daemon: &Daemon, subscription: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/c/bras/push", daemon.url))
        .json(&json!({ "subscription": subscription, "topics": ["intemperies"] }))
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_push_endpoint_on_this_machine_is_refused_at_subscription_and_at_send() {
    let env = Env::new().await;
    let listener = PushStandin::start().await;
    let (daemon, vapid_public) = start_daemon(&env, "false").await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;

    let browser = listener.subscribe_with_key(&vapid_public);
    let endpoint = browser.endpoint().to_owned();
    let port = endpoint
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .expect("the stand-in listens on 127.0.0.1")
        .to_owned();
    let path = endpoint.splitn(4, '/').nth(3).unwrap().to_owned();
    let forms = [
        format!("http://127.0.0.1:{port}/{path}"),
        format!("http://localhost:{port}/{path}"),
        format!("http://[::1]:{port}/{path}"),
        format!("http://127.1:{port}/{path}"),
        format!("http://2130706433:{port}/{path}"),
        format!("http://0x7f000001:{port}/{path}"),
        format!("https://127.0.0.1:{port}/{path}"),
        format!("https://127.0.0.1/{path}"),
        format!("https://0.0.0.0/{path}"),
        format!("https://localhost/{path}"),
        format!("https://[::ffff:127.0.0.1]/{path}"),
        format!("https://push.example.net/{path}"),
    ];
    let subscription: Value = serde_json::from_str(&browser.json()).unwrap();
    for form in &forms {
        let mut given = subscription.clone();
        given["endpoint"] = json!(form);
        let (status, body) = join(&daemon, given).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form}: {body}");
        assert_eq!(
            body["error"]["field"], "subscription.endpoint",
            "{form}: {body}"
        );
        let reason = body["error"]["message"].as_str().unwrap();
        assert!(
            !reason.contains(&path),
            "the reason echoes the endpoint: {reason}"
        );
    }
    let db = env.db.pool().await;
    let (stored,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM subscribers WHERE push IS NOT NULL")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(stored, 0, "no refused endpoint was stored");

    // A subscription that is in the database anyway (made before the policy, or written by
    // hand) is refused where the connection would be made.
    let (tenant, topic): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT t.id, tp.id FROM tenants t JOIN topics tp ON tp.tenant_id = t.id
         WHERE t.slug = 'bras' AND tp.slug = 'intemperies'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    for form in [&forms[0], &forms[1], &forms[2]] {
        let mut stored = subscription.clone();
        stored["endpoint"] = json!(form);
        store::push::subscribe(
            &db,
            TenantId(tenant),
            &stored,
            &[(TopicId(topic), "intemperies".into())],
        )
        .await
        .unwrap()
        .unwrap();
    }
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["push"],
                       "text": "Orages violents cette nuit" }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["push"]["failed"], 3, "{report}");
    let failed = mairie
        .get(&format!("/v1/alerts/{id}/deliveries?status=failed"))
        .await;
    for delivery in failed.body["deliveries"].as_array().unwrap() {
        let error = delivery["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("this machine") || error.contains("loopback"),
            "{delivery}"
        );
    }
    assert_eq!(
        listener.request_count(),
        0,
        "the listener on loopback was reached"
    );
    daemon.stop().await;
    sqlx::query("DELETE FROM subscribers WHERE push IS NOT NULL")
        .execute(&db)
        .await
        .unwrap();

    // `allow_loopback` is the only way to reach it: the same browser, the same listener.
    let (daemon, vapid_public) = start_daemon(&env, "true").await;
    let browser = listener.subscribe_with_key(&vapid_public);
    let (status, body) = join(&daemon, serde_json::from_str(&browser.json()).unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mairie = mairie.at(&daemon.url);
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["push"],
                       "text": "Orages violents cette nuit" }),
        )
        .await;
    mairie.wait_completed(&id).await;
    assert_eq!(listener.received(&browser).len(), 1);
}
