use std::time::Duration;

use serde_json::{Value, json};
use tocsin::{
    model::Role,
    store::key_versions::{self, Secrets},
};

use crate::{
    cli::{dkim_verifies, ok, tocsin},
    support::{Daemon, Env},
};

/// The path of the tenant's smsmode status callback, as `tenant show` prints it with `secrets`.
fn status_path(env: &Env, secrets: &[(&str, &str)]) -> String {
    let shown = ok(tocsin(env, secrets, &["tenant", "show", "bras", "--json"]));
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let url = shown["callbacks"]["smsmode"]["status"].as_str().unwrap();
    url::Url::parse(url).unwrap().path().to_owned()
}

/// Accepted (400: the body is no report) or refused (403: the token is not one of ours).
async fn callback(daemon: &Daemon, path: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}{path}", daemon.url))
        .json(&json!("not a report"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn key_version(db: &sqlx::PgPool, role: &str) -> Vec<(i32, bool)> {
    sqlx::query_as(
        "SELECT key_version, revoked_at IS NOT NULL FROM api_keys WHERE role = $1
         ORDER BY created_at",
    )
    .bind(role)
    .fetch_all(db)
    .await
    .unwrap()
}

/// An operator whose server secret leaked puts a new one in, keeping the old one as
/// `api_key_secret_previous`, and runs `secrets rotate`: API keys, callback URLs and DKIM keys
/// made under the old one keep working (a key moves to the new version on its first use);
/// `secrets retire` then ends the old versions, revoking the keys nobody used since, and the old
/// secret is removed. A key stored as the releases before key versions stored it (an HMAC under
/// the secret itself) works on upgrade and moves too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_server_secret_is_rolled_in_and_the_old_versions_retired() {
    let env = Env::new().await;
    let (old, new) = (env.secret.clone(), hex::encode(rand::random::<[u8; 16]>()));
    let both = [
        ("TOCSIN_API_KEY_SECRET", new.as_str()),
        ("TOCSIN_API_KEY_SECRET_PREVIOUS", old.as_str()),
    ];
    let db = env.db.pool().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    let idle = mairie.with_key(&env.key("bras", Role::Sender).await);
    // As releases before key versions stored a key: an HMAC under the secret itself, version 0.
    let legacy_key = format!("tsk_{}", hex::encode(rand::random::<[u8; 32]>()));
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, role, key_hash, key_version)
         SELECT gen_random_uuid(), id, 'admin', hmac($1, $2, 'sha256'), 0
         FROM tenants WHERE slug = 'bras'",
    )
    .bind(&legacy_key)
    .bind(&old)
    .execute(&db)
    .await
    .unwrap();
    let legacy = mairie.with_key(&legacy_key);
    assert_eq!(legacy.get("/v1/topics").await.status, 200);
    assert_eq!(idle.get("/v1/topics").await.status, 200);
    mairie.topic("intemperies").await;
    mairie
        .subscriber(None, Some("marie@example.fr"), &["intemperies"])
        .await;
    ok(tocsin(
        &env,
        &[],
        &[
            "tenant",
            "update",
            "bras",
            "--email-from",
            "Mairie de Bras <alertes@bras-sur-meuse.fr>",
            "--dkim-selector",
            "tocsin",
            "--dkim-generate",
        ],
    ));
    let shown: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["tenant", "show", "bras", "--json"],
    )))
    .unwrap();
    let dns = (
        shown["dkim"]["dns_name"].as_str().unwrap().to_owned(),
        shown["dkim"]["dns_value"].as_str().unwrap().to_owned(),
    );
    let old_callback = status_path(&env, &[]);
    assert_eq!(callback(&daemon, &old_callback).await, 400);

    // The rotation: a new version under the new secret, every stored secret sealed under it.
    let rotated = ok(tocsin(&env, &both, &["secrets", "rotate"]));
    assert!(
        rotated.contains("key version 2 is now current"),
        "{rotated}"
    );
    assert!(rotated.contains("3 stored secrets sealed"), "{rotated}");
    let sealed: Vec<(i32,)> = sqlx::query_as(
        "SELECT sealed_version FROM platform_keys
         UNION ALL SELECT dkim_key_version FROM tenants WHERE dkim_key_sealed IS NOT NULL",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(sealed, vec![(2,), (2,), (2,)]);
    // An instance not yet given the new secret goes on serving with what it holds.
    assert_eq!(mairie.get("/v1/topics").await.status, 200);
    daemon.stop().await;

    let daemon = Daemon::start(env.config_with(&both)).await;
    let mairie = mairie.at(&daemon.url);
    assert_eq!(mairie.get("/v1/topics").await.status, 200);
    assert_eq!(
        key_version(&db, "admin").await[0],
        (2, false),
        "the mayor's key moved to version 2 on its first use"
    );
    assert_eq!(
        callback(&daemon, &old_callback).await,
        400,
        "the URL providers hold"
    );
    let new_callback = status_path(&env, &both);
    assert_ne!(new_callback, old_callback);
    assert_eq!(callback(&daemon, &new_callback).await, 400);
    daemon.stop().await;

    // The retirement: what was made under versions 0 and 1 ends; the keys not used since the
    // rotation are revoked, and named.
    let retired = ok(tocsin(&env, &both, &["secrets", "retire"]));
    assert!(retired.contains("key versions [0, 1] retired"), "{retired}");
    assert_eq!(
        retired.matches("was not used since the rotation").count(),
        2,
        "{retired}"
    );
    // The old secret is no longer needed, and no longer opens the database.
    let only_new = [("TOCSIN_API_KEY_SECRET", new.as_str())];
    let daemon = Daemon::start(env.config_with(&only_new)).await;
    let mairie = mairie.at(&daemon.url);
    assert_eq!(mairie.get("/v1/topics").await.status, 200);
    assert_eq!(idle.at(&daemon.url).get("/v1/topics").await.status, 401);
    assert_eq!(legacy.at(&daemon.url).get("/v1/topics").await.status, 401);
    assert_eq!(callback(&daemon, &old_callback).await, 403);
    assert_eq!(callback(&daemon, &new_callback).await, 400);
    let stale = key_versions::open(
        &db,
        Secrets {
            current: old.as_bytes(),
            previous: None,
        },
    )
    .await
    .unwrap_err();
    assert!(stale.to_string().contains("key version 2"), "{stale}");

    // The commune's DKIM key was sealed again, not replaced: mail still verifies against the
    // DNS record published before the rotation.
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["email"], "subject": "Crue",
                       "text": "La Meuse déborde." }),
        )
        .await;
    mairie.wait_completed(&id).await;
    let mail = env
        .smtp
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    dkim_verifies(&mail.data, &dns.0, &dns.1).expect("signed with the same key");
    let status: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &only_new,
        &["secrets", "status", "--json"],
    )))
    .unwrap();
    let current = &status.as_array().unwrap()[2];
    assert_eq!(current["secret"], "current");
    assert_eq!(current["api_keys"], 1);
    assert_eq!(current["sealed"], 3);
    daemon.stop().await;
}
