use serde_json::{Value, json};
use tocsin::model::Role;

use crate::{
    cli::{ok, tocsin},
    support::{Client, Env},
};

/// Every action of an operator or a key is in the audit log, chained: a commune reads its own
/// entries (and no other's), with the request id its answers carried and no personal data; the
/// daemon cannot change or remove an entry; an entry changed behind its back is named by
/// `audit verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_is_logged_chained_and_a_changed_entry_is_named() {
    let env = Env::new().await;
    let daemon = env.start().await;
    for commune in ["bras", "charny"] {
        ok(tocsin(
            &env,
            &[],
            &["tenant", "create", commune, "--name", commune],
        ));
    }
    let key = ok(tocsin(
        &env,
        &[],
        &["key", "create", "--tenant", "bras", "--role", "admin"],
    ));
    let mairie = Client::new(&daemon.url, key.trim());
    let charny = Client::new(&daemon.url, &env.key("charny", Role::Admin).await);
    mairie.topic("intemperies").await;
    charny.topic("intemperies").await;
    mairie
        .subscriber(
            Some("0612345678"),
            Some("anne@example.fr"),
            &["intemperies"],
        )
        .await;
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let sent = mairie
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "text": "Coupure d'eau", "scheduled_at": later }),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let id = sent.body["id"].as_str().unwrap();
    let request_id = sent.headers["x-request-id"].to_str().unwrap().to_owned();
    let cancelled = mairie
        .post(&format!("/v1/alerts/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let imported = mairie
        .post_raw(
            "/v1/subscribers/import",
            "text/csv",
            "phone,email,topics\n0698765432,,intemperies\nnot a number,,intemperies\n",
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    // A key revoked at the command line is the commune's entry; a rotation of the platform's
    // secrets is the platform's, not the commune's.
    let db = env.db.pool().await;
    ok(tocsin(
        &env,
        &[],
        &["key", "create", "--tenant", "bras", "--role", "reader"],
    ));
    let (spare,): (uuid::Uuid,) =
        sqlx::query_as("SELECT id FROM api_keys WHERE role = 'reader' AND revoked_at IS NULL")
            .fetch_one(&db)
            .await
            .unwrap();
    let spare = tocsin::model::ApiKeyId(spare).to_string();
    ok(tocsin(&env, &[], &["key", "revoke", &spare]));
    ok(tocsin(&env, &[], &["secrets", "rotate"]));

    let page = mairie.get("/v1/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let entries = page.body["entries"].as_array().unwrap().clone();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.created",
            "key.created",
            "topic.created",
            "subscriber.added",
            "alert.created",
            "alert.cancelled",
            "subscribers.imported",
            "key.created",
            "key.revoked",
        ],
        "{}",
        page.body
    );
    let created = &entries[4];
    assert_eq!(created["object"], id);
    assert_eq!(created["request_id"], request_id.as_str());
    assert!(created["actor"].as_str().unwrap().starts_with("key:key_"));
    assert_eq!(entries[6]["details"]["created"], 1);
    assert_eq!(entries[6]["details"]["refused"], 1);
    let text = page.body.to_string();
    for personal in ["612345678", "698765432", "anne@", "Coupure"] {
        assert!(
            !text.contains(personal),
            "{personal} in the audit log: {text}"
        );
    }
    assert_eq!(entries[8]["object"], spare.as_str());
    let everything = ok(tocsin(&env, &[], &["audit", "list", "--json"]));
    assert!(everything.contains("secrets.rotated"), "{everything}");
    // A commune reads its own entries only.
    let theirs = charny.get("/v1/audit").await.body.to_string();
    assert!(
        !theirs.contains(id) && !theirs.contains("\"bras\""),
        "{theirs}"
    );

    let verified = ok(tocsin(&env, &[], &["audit", "verify"]));
    assert!(verified.contains("the audit chain holds"), "{verified}");

    // The daemon's own sessions cannot change or remove an entry.
    for statement in [
        "UPDATE audit_log SET object = 'x' WHERE seq = 5",
        "DELETE FROM audit_log WHERE seq = 5",
        "TRUNCATE audit_log",
    ] {
        let refused = sqlx::query(statement).execute(&db).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }

    // Changed behind its back (its owner lifting the trigger): `audit verify` names it.
    let seq = entries[4]["seq"].as_i64().unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
         UPDATE audit_log SET details = details || '{{\"urgent\": true}}' WHERE seq = {seq};
         ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;"
    )))
    .execute(&db)
    .await
    .unwrap();
    let broken = tocsin(&env, &[], &["audit", "verify"]);
    assert!(!broken.status.success());
    let said = String::from_utf8_lossy(&broken.stderr);
    assert!(said.contains(&format!("broken at entry {seq}")), "{said}");
    let listed: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["audit", "list", "--tenant", "bras", "--json"],
    )))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 9);
    daemon.stop().await;
}

/// The text of a PDF, as `pdftotext` (poppler, an independent reader) reads it.
pub(crate) fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// After a flood, the mayor proves whom the alert reached: `tocsin alert proof` writes a PDF in
/// French whose figures are the ledger's, with the alert's texts and audit entries, and a CSV of
/// every recipient, masked; both stay the same once retention has erased the addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proof_of_an_alert_holds_the_ledger_s_figures_and_outlives_retention() {
    use std::time::Duration;

    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for i in 1..=3 {
        mairie
            .subscriber(Some(&format!("061234567{i}")), None, &["intemperies"])
            .await;
    }
    mairie
        .subscriber(None, Some("anne@example.fr"), &["intemperies"])
        .await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true,
                       "text": "Crue de la Meuse : évitez les berges." }))
        .await;
    let report = mairie.wait_completed(&id).await;
    let dir = tempfile::tempdir().unwrap();
    let prove = |name: &str| {
        let (pdf, csv) = (
            dir.path().join(format!("{name}.pdf")),
            dir.path().join(format!("{name}.csv")),
        );
        ok(tocsin(
            &env,
            &[],
            &[
                "alert",
                "proof",
                &id,
                "--pdf",
                pdf.to_str().unwrap(),
                "--csv",
                csv.to_str().unwrap(),
            ],
        ));
        (pdf_text(&pdf), std::fs::read_to_string(&csv).unwrap())
    };
    let (text, csv) = prove("before");
    let sms = &report["counts"]["sms"];
    let expected = format!(
        "SMS : 3 prévus, {} envoyés, {} remis, 0 en échec, 0 expirés, 0 en attente",
        sms["sent"], sms["delivered"]
    );
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for wanted in [
        "Preuve d’alerte — bras",
        &format!("Alerte {id} (alerte urgente), thème « intemperies »"),
        "SMS (1 segment(s), GSM-7) : Crue de la Meuse : évitez les berges.",
        "Courriel, objet : Alerte : Crue de la Meuse : évitez les berges.",
        "Personnes destinataires : 4",
        &expected,
        "Courriels : 1 prévus",
        "100 % en",
        "alert.created",
        "Chaîne d’audit au moment de cette preuve",
    ] {
        assert!(
            flat.contains(wanted),
            "{wanted:?} not in the proof:\n{text}"
        );
    }
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(csv.contains(",sms,+33 6 ** ** ** 71,"), "{csv}");
    assert!(csv.contains(",email,a•••@example.fr,"), "{csv}");
    assert!(!csv.contains("612345671") && !text.contains("612345671"));

    // Retention erases every address: the proof is the same.
    let db = env.db.pool().await;
    tocsin::store::erasure::sweep(&db, Duration::ZERO)
        .await
        .unwrap();
    let (after, csv_after) = prove("after");
    assert_eq!(csv_after, csv, "the recipients changed with retention");
    let body = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.contains("Document produit le"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&after), body(&text));
    daemon.stop().await;
}
