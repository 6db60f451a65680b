//! The citizen's side, without a browser: the commune's page and its forms (which work without
//! JavaScript), e-mail double opt-in, the one-click unsubscribe of every alert e-mail, and what
//! Tocsin forgets of a citizen who leaves (RGPD).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Client, Daemon, Env, PageVisitor, ReceivedMail, eventually};

const PUBLIC_URL: &str = "https://alertes.example.fr";

async fn start(env: &Env) -> Daemon {
    let config = env.config_with_file(&format!(
        r#"
        public_url = "{PUBLIC_URL}"
        [retention]
        delivery_address_days = 90
        sweep_interval_ms = 200
        "#
    ));
    Daemon::start(config).await
}

/// The daemon's URL for a link under [`PUBLIC_URL`].
fn local(daemon: &Daemon, link: &str) -> String {
    let path = link
        .strip_prefix(PUBLIC_URL)
        .expect("a link under the public URL");
    format!("{}{path}", daemon.url)
}

fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// Posts a form: one of a commune's page (`{base}/c/{tenant}/…`) as a browser that opened the
/// page; any other (the one-click unsubscribe) as a mail client does, with nothing else.
async fn post_form(url: &str, body: &str) -> (StatusCode, String) {
    if let Some(at) = url.find("/c/") {
        let (base, path) = url.split_at(at);
        let tenant = path.split('/').nth(2).unwrap();
        return PageVisitor::open(base, tenant).await.post(path, body).await;
    }
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn mail_to(env: &Env, to: &str, n: usize) -> Vec<ReceivedMail> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mails: Vec<ReceivedMail> = env
            .smtp
            .received()
            .into_iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
            .collect();
        if mails.len() >= n {
            return mails;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} mails to {to}: {mails:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every text value of every table of the database that contains `needle` (case ignored), as
/// `table.column`.
async fn found_anywhere(env: &Env, needle: &str) -> Vec<String> {
    let db = env.db.pool().await;
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public'
           AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let mut found = Vec::new();
    for (table, column) in columns {
        let (hits,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{table}\" WHERE \"{column}\"::text ILIKE '%' || $1 || '%'"
        )))
        .bind(needle)
        .fetch_one(&db)
        .await
        .unwrap();
        if hits > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

#[tokio::test]
async fn a_citizen_joins_by_e_mail_from_the_page_leaves_in_one_click_and_is_forgotten() {
    let env = Env::new().await;
    let daemon = start(&env).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;

    // The page, in French, with its forms.
    let page = reqwest::get(format!("{}/c/bras", daemon.url))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("lang=\"fr\""));
    assert!(html.contains("action=\"/c/bras/email\""), "{html}");
    let missing = reqwest::get(format!("{}/c/nowhere", daemon.url))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page introuvable"));

    // Subscribing by e-mail: nothing until the link is followed and confirmed.
    let (status, html) = post_form(
        &format!("{}/c/bras/email", daemon.url),
        "email=marie%40example.fr&topics=intemperies",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Si cette adresse est valide"), "{html}");
    let confirmation = &mail_to(&env, "marie@example.fr", 1).await[0];
    let link = link_in(
        &confirmation.text,
        &format!("{PUBLIC_URL}/c/bras/email/confirm?token="),
    );
    let opened = reqwest::get(local(&daemon, &link)).await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    let button = opened.text().await.unwrap();
    assert!(button.contains("Confirmer mon inscription"), "{button}");
    assert!(
        found_anywhere(&env, "marie@example.fr").await.is_empty(),
        "not before confirming"
    );
    let token = link.split("token=").nth(1).unwrap();
    let (status, html) = post_form(
        &format!("{}/c/bras/email/confirm", daemon.url),
        &format!("token={token}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Inscription confirmée"), "{html}");
    // The link shows the address to no one who reads the URL, and serves once.
    assert!(!link.contains("marie"), "{link}");
    for again in [
        post_form(
            &format!("{}/c/bras/email/confirm", daemon.url),
            &format!("token={token}"),
        )
        .await,
        {
            let opened = reqwest::get(local(&daemon, &link)).await.unwrap();
            (opened.status(), opened.text().await.unwrap())
        },
    ] {
        assert_eq!(again.0, StatusCode::GONE, "{}", again.1);
        assert!(again.1.contains("déjà servi"), "{}", again.1);
    }
    let db = env.db.pool().await;
    let (method,): (String,) =
        sqlx::query_as("SELECT method FROM consents WHERE channel = 'email'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(method, "email_link");

    // An alert e-mail carries the one-click unsubscribe headers and a link in its text.
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["email"], "subject": "Orages",
                       "text": "Vigilance orange orages cette nuit." }),
        )
        .await;
    mairie.wait_completed(&id).await;
    let alert_mail = mail_to(&env, "marie@example.fr", 2).await.pop().unwrap();
    let header = alert_mail
        .headers
        .get("List-Unsubscribe")
        .expect("List-Unsubscribe");
    let unsubscribe = header.trim_matches(|c| c == '<' || c == '>').to_string();
    assert!(
        unsubscribe.starts_with(&format!("{PUBLIC_URL}/u/")),
        "{header}"
    );
    assert_eq!(
        alert_mail
            .headers
            .get("List-Unsubscribe-Post")
            .map(String::as_str),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        alert_mail.text.contains(&unsubscribe),
        "{}",
        alert_mail.text
    );

    // A link scanner's GET unsubscribes nobody; the one-click POST does, without cookies.
    let scanned = reqwest::get(local(&daemon, &unsubscribe)).await.unwrap();
    assert_eq!(scanned.status(), StatusCode::OK);
    assert!(scanned.text().await.unwrap().contains("Me désinscrire"));
    let (subscribers,): (i64,) = sqlx::query_as("SELECT count(*) FROM subscribers")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(subscribers, 1);
    let (status, html) =
        post_form(&local(&daemon, &unsubscribe), "List-Unsubscribe=One-Click").await;
    assert_eq!(status, StatusCode::OK, "{html}");

    // Forgotten everywhere, past deliveries included once the sweep has run.
    eventually(
        "the address erased everywhere",
        Duration::from_secs(10),
        || async { found_anywhere(&env, "marie@example.fr").await.is_empty() },
    )
    .await;
    let (erased,): (i64,) = sqlx::query_as("SELECT count(*) FROM deliveries WHERE address IS NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        erased, 1,
        "the delivery stays for the report, without its address"
    );

    // The commune's lists cannot bring her back; her own new consent can.
    let added = mairie
        .post(
            "/v1/subscribers",
            json!({ "email": "marie@example.fr", "topics": ["intemperies"] }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CONFLICT, "{:?}", added.body);
    assert_eq!(added.body["error"]["field"], "email");
    let imported = mairie
        .post_raw(
            "/v1/subscribers/import",
            "text/csv",
            "phone,email,topics\n,marie@example.fr,intemperies\n,paul@example.fr,intemperies\n",
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{:?}", imported.body);
    assert_eq!(imported.body["opted_out"], 1, "{:?}", imported.body);
    assert_eq!(imported.body["created"], 1, "{:?}", imported.body);
    assert!(found_anywhere(&env, "marie@example.fr").await.is_empty());

    // Leaving asks nothing that tells whether an address is known.
    let visitor = PageVisitor::open(&daemon.url, "bras").await;
    let (_, known) = visitor
        .post("/c/bras/leave", "email=paul%40example.fr")
        .await;
    let (_, unknown) = visitor
        .post("/c/bras/leave", "email=nobody%40example.fr")
        .await;
    assert!(known.contains("Si cette adresse est inscrite"), "{known}");
    assert_eq!(strip_values(&known), strip_values(&unknown));
    daemon.stop().await;
}

/// A page without what the citizen typed, to compare two answers.
fn strip_values(html: &str) -> String {
    html.replace("paul@example.fr", "")
        .replace("nobody@example.fr", "")
}

#[tokio::test]
async fn the_retention_period_erases_delivery_addresses_and_a_removed_subscriber_leaves_nothing() {
    let env = Env::new().await;
    let daemon = start(&env).await;
    let mairie: Client = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(
            Some("+33612345678"),
            Some("jean@example.fr"),
            &["intemperies"],
        )
        .await;
    mairie
        .subscriber(Some("+33698765432"), None, &["intemperies"])
        .await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
        .await;
    mairie.wait_completed(&id).await;
    let db = env.db.pool().await;

    // 91 days later, the deliveries of this alert lose their addresses; the subscribers stay.
    sqlx::query("UPDATE deliveries SET updated_at = now() - interval '91 days'")
        .execute(&db)
        .await
        .unwrap();
    eventually("old deliveries erased", Duration::from_secs(10), || async {
        let (left,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM deliveries WHERE address IS NOT NULL")
                .fetch_one(&db)
                .await
                .unwrap();
        left == 0
    })
    .await;
    let report = mairie.get(&format!("/v1/alerts/{id}")).await;
    assert_eq!(report.body["counts"]["sms"]["sent"], 2, "{:?}", report.body);
    assert_eq!(
        found_anywhere(&env, "98765432").await,
        ["subscribers.phone", "consents.address"]
    );

    // Removed by the commune: no number or address of theirs anywhere.
    let list = mairie.get("/v1/subscribers").await;
    let jean = list.body["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "jean@example.fr")
        .expect("jean")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Right of access: their data, consents and messages, as JSON.
    let export = mairie.get(&format!("/v1/subscribers/{jean}/export")).await;
    assert_eq!(export.status, StatusCode::OK, "{:?}", export.body);
    assert_eq!(export.body["subscriber"]["email"], "jean@example.fr");
    assert_eq!(
        export.body["consents"][0]["method"], "commune",
        "{:?}",
        export.body
    );
    assert_eq!(
        export.body["deliveries"].as_array().unwrap().len(),
        2,
        "{:?}",
        export.body
    );
    let removed = mairie.delete(&format!("/v1/subscribers/{jean}")).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{:?}", removed.body);
    for trace in ["jean@example.fr", "12345678"] {
        assert!(found_anywhere(&env, trace).await.is_empty(), "{trace}");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn the_page_subscribes_a_phone_without_javascript_once_its_code_comes_back() {
    let env = Env::new().await;
    let daemon = start(&env).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    let form = |path: &str| format!("{}/c/bras/{path}", daemon.url);

    // A number that is not a mobile: the page says so, in French, on the field.
    let (status, html) = post_form(&form("phone"), "phone=123&topics=intemperies").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(
        html.contains("n’est pas un numéro de téléphone mobile valide"),
        "{html}"
    );

    let (status, html) = post_form(&form("phone"), "phone=06+12+34+56+78&topics=intemperies").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("action=\"/c/bras/phone/confirm\""), "{html}");
    let sms = env
        .smsmode
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!(sms.to, "33612345678");
    let code = sms
        .text
        .split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap_or_else(|| panic!("a 6-digit code in {:?}", sms.text))
        .to_string();

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, html) = post_form(
        &form("phone/confirm"),
        &format!("phone=06+12+34+56+78&code={wrong}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("Ce code n’est pas le bon"), "{html}");
    let (status, html) = post_form(
        &form("phone/confirm"),
        &format!("phone=06+12+34+56+78&code={code}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Votre numéro est inscrit"), "{html}");
    let list = mairie.get("/v1/subscribers").await;
    assert_eq!(list.body["subscribers"][0]["phone"], "+33612345678");
    assert_eq!(
        list.body["subscribers"][0]["topics"],
        json!(["intemperies"])
    );
    // The code is the commune's cost: counted in its usage, apart from alerts.
    let month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%Y-%m");
    let usage = mairie.get(&format!("/v1/usage?month={month}")).await;
    assert_eq!(
        usage.body["total"]["service"]["sms"],
        json!({ "sent": 1, "failed": 0, "segments": 1 }),
        "{}",
        usage.body
    );
    daemon.stop().await;
}

/// The opt-out list keeps keyed hashes of numbers and addresses; a copy of the database must
/// not hold the key, or every French mobile number could be tried against them in minutes. The
/// platform's keys are sealed under the server's secret at start-up; a session without the key
/// cannot hash; a daemon with another secret refuses to start rather than read wrong keys.
#[tokio::test]
async fn the_database_alone_holds_no_key_to_the_opt_out_list() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(Some("0612345678"), None, &["intemperies"])
        .await;
    // The citizen texts STOP: the number goes on the opt-out list as a keyed hash.
    let token = env.callback_token("bras").await;
    let stop = reqwest::Client::new()
        .post(format!("{}/cb/smsmode/{token}/inbound", daemon.url))
        .json(
            &json!({"messageId": "mo-1", "type": "SMS", "direction": "MO",
                      "from": "33612345678", "recipient": {"to": "36034"},
                      "body": {"text": "STOP"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), StatusCode::OK);
    let db = env.db.pool().await;
    // Its reply is counted as the commune's (with no number and no text).
    env.smsmode.wait_for(1, Duration::from_secs(10)).await;
    crate::support::eventually("the reply counted", Duration::from_secs(10), || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM service_messages WHERE kind = 'reply' AND accepted",
            )
            .fetch_one(&db)
            .await
            .unwrap()
                == 1
        }
    })
    .await;
    let (clear, hashes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM platform_keys WHERE key IS NOT NULL),
                (SELECT count(*) FROM opt_outs)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(clear, 0, "a platform key in clear");
    assert_eq!(hashes, 1, "the removed number is on the opt-out list");
    let tried = sqlx::query("SELECT address_hash('+33612345678')")
        .execute(&db)
        .await;
    assert!(tried.is_err(), "a session without the key hashed a number");
    // The opt-out holds: the commune cannot add the number back.
    let again = mairie
        .post(
            "/v1/subscribers",
            json!({ "phone": "06 12 34 56 78", "topics": ["intemperies"] }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    daemon.stop().await;

    let other_secret = hex::encode(rand::random::<[u8; 32]>());
    let refused = tocsin::daemon::run(
        env.config_with(&[("TOCSIN_API_KEY_SECRET", &other_secret)]),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("derives from another secret"), "{refused}");
}
