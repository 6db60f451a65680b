use serde_json::json;
use tocsin::model::Role;

use crate::support::{Client, Env};

#[tokio::test]
async fn missing_wrong_and_revoked_keys_are_refused() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;

    let anonymous = reqwest::Client::new()
        .get(format!("{}/v1/topics", daemon.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = mairie.with_key("tsk_0000").get("/v1/topics").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.body["error"]["code"], "unauthorized");

    // A key hashed under another server secret does not open anything either.
    let db = env.db.pool().await;
    let foreign = tocsin::api::KeyHasher::new(tocsin::model::keys::KeyRing::for_secret(
        b"another secret of at least 32 bytes",
    ));
    let (foreign_key, foreign_hash) = foreign.generate();
    let tenant = tocsin::store::tenants::find_by_slug(&db, "bras")
        .await
        .unwrap()
        .unwrap();
    tocsin::store::tenants::create_key(&db, tenant.id, Role::Admin, &foreign_hash)
        .await
        .unwrap();
    assert_eq!(
        mairie.with_key(&foreign_key).get("/v1/topics").await.status,
        401
    );
    let (key_id,): (uuid::Uuid,) =
        sqlx::query_as("SELECT id FROM api_keys ORDER BY created_at LIMIT 1")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(mairie.get("/v1/topics").await.status, 200);
    tocsin::store::tenants::revoke_key(&db, tocsin::model::ApiKeyId(key_id))
        .await
        .unwrap();
    let revoked = mairie.get("/v1/topics").await;
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    daemon.stop().await;
}

#[tokio::test]
async fn a_sender_key_sends_but_does_not_manage() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let admin = env.tenant(&daemon, "bras").await;
    admin.topic("intemperies").await;
    let sender = Client::new(&daemon.url, &env.key("bras", Role::Sender).await);
    let topic = sender.post("/v1/topics", json!({ "slug": "autre" })).await;
    assert_eq!(topic.status, 403, "{}", topic.body);
    let sub = sender
        .post(
            "/v1/subscribers",
            json!({ "phone": "0612345678", "topics": ["intemperies"] }),
        )
        .await;
    assert_eq!(sub.status, 403);
    let id = sender
        .alert(json!({ "topic": "intemperies", "text": "Test" }))
        .await;
    assert_eq!(sender.get(&format!("/v1/alerts/{id}")).await.status, 200);
    daemon.stop().await;
}

/// Every keyed route, for every role: what the role's job needs answers, the rest is 403 before
/// anything is read or done. A route added later fails here until its permission is decided.
#[tokio::test]
async fn each_role_reaches_what_its_job_needs_and_nothing_else() {
    use tocsin::model::Permission::{self, *};

    let env = Env::new().await;
    let daemon = env.start().await;
    let admin = env.tenant(&daemon, "bras").await;
    admin.topic("intemperies").await;
    let subscriber = admin
        .subscriber(Some("0612345678"), None, &["intemperies"])
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let alert = admin
        .alert(json!({ "topic": "intemperies", "text": "Test", "scheduled_at": later }))
        .await;
    let schedule = admin
        .post(
            "/v1/schedules",
            json!({ "topic": "intemperies", "cron": "0 19 * * 1", "text": "Collecte" }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let needs = |method: &str, path: &str| -> Option<Permission> {
        match (method, path) {
            (_, p) if p.starts_with("/v1/subscribers") => Some(ManageSubscribers),
            ("POST", "/v1/alerts" | "/v1/alerts/{id}/cancel" | "/v1/alerts/{id}/stop") => {
                Some(Send)
            }
            ("GET", p) if p.starts_with("/v1/alerts") || p.starts_with("/v1/schedules") => None,
            ("GET", "/v1/topics") => None,
            ("POST", "/v1/topics" | "/v1/schedules") => Some(Administer),
            ("POST" | "DELETE", p) if p.starts_with("/v1/schedules/") => Some(Administer),
            ("GET", "/v1/usage" | "/v1/audit") => Some(Administer),
            (method, path) => panic!("no expectation for {method} {path}: decide its permission"),
        }
    };
    let document: serde_json::Value = reqwest::get(format!("{}/openapi.json", daemon.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let mut wrong = Vec::new();
    for role in [Role::Reader, Role::Drafter, Role::Sender, Role::Admin] {
        let client = admin.with_key(&env.key("bras", role).await);
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if operation.get("security").is_none() {
                    continue;
                }
                let method = method.to_uppercase();
                let allowed = needs(&method, path).is_none_or(|p| role.allows(p));
                let id = if path.starts_with("/v1/alerts") {
                    &alert
                } else if path.starts_with("/v1/subscribers") {
                    &subscriber
                } else {
                    &schedule
                };
                let query = if path == "/v1/usage" {
                    "?month=2026-11"
                } else {
                    ""
                };
                let url = format!("{}{}{query}", daemon.url, path.replace("{id}", id));
                let request = http.request(method.parse().unwrap(), url).json(&json!({}));
                let answer = client.send(request).await;
                if (answer.status == 403) == allowed {
                    wrong.push(format!(
                        "{} {method} {path}: {}",
                        role.as_str(),
                        answer.status
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    daemon.stop().await;
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_data() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let bras = env.tenant(&daemon, "bras").await;
    let verdun = env.tenant(&daemon, "verdun").await;
    bras.topic("intemperies").await;
    let anne = bras
        .subscriber(Some("0612345678"), None, &["intemperies"])
        .await;
    let id = bras
        .alert(json!({ "topic": "intemperies", "text": "Orages" }))
        .await;

    // Verdun cannot read, remove or reach Bras's alert, subscriber or topic, nor learn they exist.
    let alert = verdun.get(&format!("/v1/alerts/{id}")).await;
    assert_eq!(alert.status, 404);
    assert_eq!(alert.body["error"]["message"], "alert not found");
    let removed = verdun
        .delete(&format!("/v1/subscribers/{}", anne["id"].as_str().unwrap()))
        .await;
    assert_eq!(removed.status, 404);
    assert!(
        verdun.get("/v1/subscribers").await.body["subscribers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        verdun.get("/v1/topics").await.body["topics"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let send = verdun
        .post("/v1/alerts", json!({ "topic": "intemperies", "text": "x" }))
        .await;
    assert_eq!(send.status, 400);
    assert_eq!(send.body["error"]["field"], "topic");
    // Verdun may have a topic of the same name, holding only its own subscribers.
    verdun.topic("intemperies").await;
    let theirs = verdun
        .post("/v1/alerts", json!({ "topic": "intemperies", "text": "x" }))
        .await;
    let theirs = verdun
        .wait_completed(theirs.body["id"].as_str().unwrap())
        .await;
    assert_eq!(theirs["recipients"], 0, "{theirs}");
    assert_eq!(bras.get(&format!("/v1/alerts/{id}")).await.status, 200);
    daemon.stop().await;
}
