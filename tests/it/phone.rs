//! Subscribing and leaving by SMS: ALERTE and STOP texted to the commune's number, with the
//! consent recorded and the opt-out honoured whatever the commune's lists say later.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, Env};

/// The tenant's callback token, as `tocsin tenant show --json` derives it.
async fn token_of(env: &Env, slug: &str) -> String {
    env.callback_token(slug).await
}

/// What smsmode POSTs when a citizen replies (§1.2.4): a message resource with `direction: MO`.
fn smsmode_reply(from_digits: &str, text: &str) -> Value {
    json!({"messageId": format!("mo-{from_digits}"), "type": "SMS", "direction": "MO",
           "from": from_digits, "recipient": {"to": "36034"}, "body": {"text": text}})
}

async fn text_in(url: &str, from_digits: &str, text: &str) -> StatusCode {
    reqwest::Client::new()
        .post(url)
        .json(&smsmode_reply(from_digits, text))
        .send()
        .await
        .unwrap()
        .status()
}

/// The replies the stand-in carried to one number so far.
async fn replies_to(env: &Env, to: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let texts: Vec<String> = env
            .smsmode
            .received()
            .into_iter()
            .filter(|m| {
                m.to == to
                    && m.ref_client
                        .as_deref()
                        .is_some_and(|r| r.starts_with("rep_"))
            })
            .map(|m| m.text)
            .collect();
        if texts.len() >= n {
            return texts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} replies to {to}: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends an urgent alert on `topic` and returns the numbers it texted.
async fn alert_reaches(env: &Env, mairie: &Client, topic: &str) -> Vec<String> {
    let before = env.smsmode.received().len();
    let id = mairie
        .alert(json!({ "topic": topic, "urgent": true, "text": "Crue", "channels": ["sms"] }))
        .await;
    mairie.wait_completed(&id).await;
    let mut to: Vec<String> = env.smsmode.received()[before..]
        .iter()
        .filter(|m| m.text == "Crue")
        .map(|m| m.to.clone())
        .collect();
    to.sort();
    to
}

#[tokio::test]
async fn citizens_join_and_leave_by_sms_and_a_stop_holds_against_the_commune_s_lists() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie.topic("collecte").await;
    let url = format!(
        "{}/cb/smsmode/{}/inbound",
        daemon.url,
        token_of(&env, "bras").await
    );

    // ALERTE: every default topic; ALERTE COLLECTE: that one; anything else: help.
    assert_eq!(
        text_in(&url, "33611111111", "  Alerte ").await,
        StatusCode::OK
    );
    assert_eq!(
        text_in(&url, "33622222222", "ALERTE Collecte").await,
        StatusCode::OK
    );
    assert_eq!(
        text_in(&url, "33633333333", "Bonjour, c'est pour la fête").await,
        StatusCode::OK
    );
    assert_eq!(
        text_in(&url, "33644444444", "alerte météo").await,
        StatusCode::OK
    );
    let first = replies_to(&env, "33611111111", 1).await;
    assert!(
        first[0].contains("vous recevrez les alertes par SMS (collecte, intemperies)"),
        "{first:?}"
    );
    assert!(first[0].contains("répondez STOP"), "{first:?}");
    assert!(replies_to(&env, "33622222222", 1).await[0].contains("(collecte)"));
    assert!(replies_to(&env, "33633333333", 1).await[0].contains("répondez ALERTE"));
    assert!(replies_to(&env, "33644444444", 1).await[0].contains("thème inconnu"));

    let subscribers = mairie.get("/v1/subscribers").await.body;
    let topics_of = |phone: &str| -> Vec<Value> {
        subscribers["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["phone"] == phone)
            .map(|s| s["topics"].as_array().unwrap().clone())
            .unwrap_or_default()
    };
    assert_eq!(
        topics_of("+33611111111"),
        [json!("collecte"), json!("intemperies")]
    );
    assert_eq!(topics_of("+33622222222"), [json!("collecte")]);
    assert!(
        topics_of("+33633333333").is_empty(),
        "help subscribes nobody"
    );
    let db = env.db.pool().await;
    let consent: (String, Vec<String>, String) = sqlx::query_as(
        "SELECT method, topics, evidence FROM consents WHERE address = '+33611111111'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        consent,
        (
            "sms_keyword".into(),
            vec!["collecte".into(), "intemperies".into()],
            "  Alerte ".into()
        )
    );
    assert_eq!(
        alert_reaches(&env, &mairie, "intemperies").await,
        ["33611111111"]
    );

    // ARRÊT: gone, and the commune's lists cannot bring the number back.
    assert_eq!(text_in(&url, "33611111111", "Arrêt").await, StatusCode::OK);
    assert!(replies_to(&env, "33611111111", 2).await[1].contains("vous ne recevrez plus"));
    assert!(topics_of_now(&mairie, "+33611111111").await.is_empty());
    let added = mairie
        .post(
            "/v1/subscribers",
            json!({ "phone": "06 11 11 11 11", "topics": ["intemperies"] }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CONFLICT, "{}", added.body);
    assert_eq!(added.body["error"]["field"], "phone");
    let import = mairie
        .post_raw(
            "/v1/subscribers/import",
            "text/csv",
            "phone,email,topics\n0611111111,,intemperies;collecte\n",
        )
        .await;
    assert_eq!(import.status, StatusCode::OK, "{}", import.body);
    assert_eq!(import.body["opted_out"], 1, "{}", import.body);
    assert!(
        alert_reaches(&env, &mairie, "intemperies").await.is_empty(),
        "never texted after STOP"
    );
    assert_eq!(
        alert_reaches(&env, &mairie, "collecte").await,
        ["33622222222"]
    );

    // Until the citizen asks again, by SMS.
    assert_eq!(text_in(&url, "33611111111", "ALERTE").await, StatusCode::OK);
    replies_to(&env, "33611111111", 3).await;
    assert_eq!(
        alert_reaches(&env, &mairie, "intemperies").await,
        ["33611111111"]
    );

    // A wrong token is refused and changes nothing.
    let forged = url.replace("/cb/smsmode/", "/cb/smsmode/x");
    assert_eq!(
        text_in(&forged, "33622222222", "STOP").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        topics_of_now(&mairie, "+33622222222").await,
        [json!("collecte")]
    );
    daemon.stop().await;
}

async fn topics_of_now(mairie: &Client, phone: &str) -> Vec<Value> {
    let subscribers = mairie.get("/v1/subscribers").await.body;
    subscribers["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phone"] == phone)
        .map(|s| s["topics"].as_array().unwrap().clone())
        .unwrap_or_default()
}

/// Twilio passes a reply on signed, and takes our answer back as TwiML.
#[tokio::test]
async fn twilio_replies_are_signed_and_answered_in_twiml() {
    use tocsin_standins::twilio::{TwilioStandin, post_signed};
    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "twilio-auth-token";
    const PUBLIC_URL: &str = "https://alertes.example.fr";
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    let config = env.config_with_file(&format!(
        r#"
        public_url = "{PUBLIC_URL}"
        [sms.accounts.bras-twilio]
        provider = "twilio"
        account_sid = "{SID}"
        auth_token = "{TOKEN}"
        from = "+33700000001"
        base_url = "{}"
        "#,
        twilio.base_url()
    ));
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    let path = format!("/cb/twilio/{}/inbound", token_of(&env, "bras").await);
    let params: Vec<(String, String)> = [
        ("AccountSid", SID),
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("From", "+33655555555"),
        ("To", "+33700000001"),
        ("Body", "alerte"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let public = format!("{PUBLIC_URL}{path}");
    let local = format!("{}{path}", daemon.url);
    assert_eq!(
        post_signed(&public, &local, "forged", &params)
            .await
            .unwrap(),
        403
    );
    assert!(topics_of_now(&mairie, "+33655555555").await.is_empty());

    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let answer = reqwest::Client::new()
        .post(&local)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "X-Twilio-Signature",
            tocsin_standins::twilio::sign(TOKEN, &public, &params),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let twiml = answer.text().await.unwrap();
    assert!(
        twiml.starts_with("<?xml") && twiml.contains("<Message>bras : vous recevrez les alertes"),
        "{twiml}"
    );
    assert_eq!(
        topics_of_now(&mairie, "+33655555555").await,
        [json!("intemperies")]
    );
    assert_eq!(
        twilio.request_count(),
        0,
        "the reply went back in the answer"
    );
    daemon.stop().await;
}

/// The dry run tells a mayor whom an alert reaches, what its SMS weigh and cost, before sending
/// anything; the GSM-7 rewrite shows what it saves; a text over the commune's maximum is refused
/// with its count.
#[tokio::test]
async fn a_dry_run_tells_the_segments_and_the_cost_and_sends_nothing() {
    let env = Env::new().await;
    let config = env.config_with_file("[pricing.smsmode]\nper_segment = 0.045\n");
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.commune(&daemon.url, 4).await;
    mairie
        .subscriber(None, Some("anne@example.fr"), &["intemperies"])
        .await;
    let url = format!(
        "{}/cb/smsmode/{}/inbound",
        daemon.url,
        token_of(&env, "bras").await
    );
    assert_eq!(text_in(&url, "33600000003", "STOP").await, StatusCode::OK);
    replies_to(&env, "33600000003", 1).await;
    env.smsmode.reset();

    let text = "Alerte orange : tempête et crues, fermeture de l\u{2019}école à 11\u{a0}h";
    let dry = |gsm7: bool, text: &str| {
        let (mairie, text) = (mairie.clone(), text.to_string());
        async move {
            mairie
                .post(
                    "/v1/alerts?dry_run=true",
                    json!({ "topic": "intemperies", "text": text, "urgent": true, "gsm7": gsm7 }),
                )
                .await
        }
    };
    let plain = dry(false, text).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    let sms = &plain.body["channels"]["sms"];
    assert_eq!(plain.body["dry_run"], true);
    assert_eq!(
        sms["recipients"], 3,
        "the number that said STOP is not counted: {sms}"
    );
    assert_eq!(sms["account"], "smsmode");
    assert_eq!(sms["encoding"], "ucs2");
    assert_eq!(sms["segments"], 1);
    assert_eq!(sms["ucs2_characters"], json!(["ê", "\u{2019}", "\u{a0}"]));
    assert_eq!(sms["total_segments"], 3);
    assert_eq!(sms["cost"], json!({ "amount": 0.14, "currency": "EUR" }));
    assert_eq!(plain.body["channels"]["email"]["recipients"], 1);

    let rewritten = dry(true, text).await.body;
    assert_eq!(rewritten["channels"]["sms"]["encoding"], "gsm7");
    assert_eq!(
        rewritten["text"],
        "Alerte orange : tempete et crues, fermeture de l'école à 11 h"
    );

    // Eight GSM-7 segments: over the commune's six.
    let long = "Crue de la Meuse. ".repeat(60);
    let refused = dry(false, &long).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "text");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("takes 8 segments") && message.contains("at most 6"),
        "{message}"
    );
    let sent_too = mairie
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "text": long }),
        )
        .await;
    assert_eq!(
        sent_too.status,
        StatusCode::BAD_REQUEST,
        "the real send is refused alike"
    );

    let db = env.db.pool().await;
    let (alerts,): (i64,) = sqlx::query_as("SELECT count(*) FROM alerts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(alerts, 0, "a dry run creates nothing");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(env.smsmode.received().is_empty(), "a dry run sends nothing");
    daemon.stop().await;
}

/// A number given on the public route gets a code by SMS and is subscribed only once the code
/// comes back; codes expire and tries are bounded per code and client, per number and per
/// client.
#[tokio::test]
async fn a_number_given_publicly_is_subscribed_only_with_the_code_texted_to_it() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie.topic("collecte").await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let (http, url) = (http.clone(), format!("{}{path}", daemon.url));
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let code_for = |to: &str, nth: usize| {
        let texts: Vec<String> = env
            .smsmode
            .received()
            .into_iter()
            .filter(|m| {
                m.to == to
                    && m.ref_client
                        .as_deref()
                        .is_some_and(|r| r.starts_with("cnf_"))
            })
            .map(|m| m.text)
            .collect();
        let text = texts
            .get(nth)
            .cloned()
            .unwrap_or_else(|| panic!("code {nth} to {to}: {texts:?}"));
        assert!(
            text.starts_with("bras : votre code de confirmation est "),
            "{text}"
        );
        text.chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect::<String>()
    };

    let (status, body) = post(
        "/c/bras/subscribe",
        json!({ "phone": "06 77 77 77 77", "topics": ["collecte"] }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "code_sent");
    let code = code_for("33677777777", 0);
    assert!(
        topics_of_now(&mairie, "+33677777777").await.is_empty(),
        "not before the code"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = post(
        "/c/bras/confirm",
        json!({ "phone": "0677777777", "code": wrong }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_wrong"))
    );
    let wrong_answer = body.clone();
    let (status, body) = post(
        "/c/bras/confirm",
        json!({ "phone": "+33677777777", "code": code }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "status": "subscribed", "topics": ["collecte"] })
    );
    assert_eq!(
        topics_of_now(&mairie, "+33677777777").await,
        [json!("collecte")]
    );
    let db = env.db.pool().await;
    let (method,): (String,) =
        sqlx::query_as("SELECT method FROM consents WHERE address = '+33677777777'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(method, "sms_code");
    let (status, body) = post(
        "/c/bras/confirm",
        json!({ "phone": "+33677777777", "code": code }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_wrong")),
        "a code serves once"
    );
    // A used code, or none at all, reads like a wrong one: nothing tells that a number asked.
    assert_eq!(body, wrong_answer);
    let (_, never_asked) = post(
        "/c/bras/confirm",
        json!({ "phone": "06 99 99 99 99", "code": "123456" }),
    )
    .await;
    assert_eq!(never_asked, wrong_answer);

    // Five wrong tries from one client spend the code for that client, even the right one.
    post("/c/bras/subscribe", json!({ "phone": "06 88 88 88 88" })).await;
    let code = code_for("33688888888", 0);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        post(
            "/c/bras/confirm",
            json!({ "phone": "0688888888", "code": wrong }),
        )
        .await;
    }
    let (status, _) = post(
        "/c/bras/confirm",
        json!({ "phone": "0688888888", "code": code }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(topics_of_now(&mairie, "+33688888888").await.is_empty());

    // An expired code is refused; a number gets three codes an hour, no more.
    post("/c/bras/subscribe", json!({ "phone": "06 88 88 88 88" })).await;
    let code = code_for("33688888888", 1);
    sqlx::query("UPDATE phone_confirmations SET expires_at = now() - interval '1 second'")
        .execute(&db)
        .await
        .unwrap();
    let (status, body) = post(
        "/c/bras/confirm",
        json!({ "phone": "0688888888", "code": code }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_wrong"))
    );
    let (status, _) = post("/c/bras/subscribe", json!({ "phone": "06 88 88 88 88" })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = post("/c/bras/subscribe", json!({ "phone": "06 88 88 88 88" })).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("too_many_codes"))
    );

    // Bad input names its field; an unknown commune is not found.
    let (status, body) = post("/c/bras/subscribe", json!({ "phone": "01 23 45" })).await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("phone"))
    );
    let (status, body) = post(
        "/c/bras/subscribe",
        json!({ "phone": "0611111111", "topics": ["meteo"] }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("topics"))
    );
    assert_eq!(
        post("/c/nulle-part/subscribe", json!({ "phone": "0611111111" }))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // One client address cannot go on without end.
    let mut limited = false;
    for _ in 0..40 {
        if post("/c/bras/subscribe", json!({ "phone": "x" })).await.0
            == StatusCode::TOO_MANY_REQUESTS
        {
            limited = true;
            break;
        }
    }
    assert!(limited, "a client is limited to 30 requests an hour");
    daemon.stop().await;
}

/// Numbers are read in the commune's region and must be able to receive SMS: fixed lines and
/// premium numbers are refused with a clear error, foreign mobiles accepted.
#[tokio::test]
async fn numbers_are_read_in_the_commune_s_region_and_only_mobiles_are_taken() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for (number, says) in [
        ("01 42 27 12 34", "a fixed line"),
        ("08 99 12 34 56", "premium-rate"),
    ] {
        let refused = mairie
            .post(
                "/v1/subscribers",
                json!({ "phone": number, "topics": ["intemperies"] }),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(refused.body["error"]["field"], "phone");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(says) && message.contains("cannot receive SMS"),
            "{message}"
        );
    }
    let import = mairie
        .post_raw(
            "/v1/subscribers/import",
            "text/csv",
            "phone,email,topics\n+49 151 23456789,,intemperies\n0262 12 34 56,,intemperies\n",
        )
        .await;
    assert_eq!(import.body["created"], 1, "{}", import.body);
    assert_eq!(import.body["errors"][0]["line"], 3, "{}", import.body);
    assert!(
        topics_of_now(&mairie, "+4915123456789").await.len() == 1,
        "a foreign mobile"
    );
    // What the commune adds itself is trusted, its consent recorded as given to the commune.
    let db = env.db.pool().await;
    let consent: (String, String, Vec<String>, String) = sqlx::query_as(
        "SELECT channel, method, topics, evidence FROM consents WHERE address = '+4915123456789'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        consent,
        (
            "sms".into(),
            "commune".into(),
            vec!["intemperies".into()],
            "imported by the commune".into()
        )
    );

    // A commune of New Caledonia writes its numbers in its own national form.
    let change = tocsin::store::tenants::SettingsChange {
        region: Some(tocsin::model::phone::Region::parse("NC").unwrap()),
        ..Default::default()
    };
    tocsin::store::tenants::update(&db, "bras", &change)
        .await
        .unwrap();
    let added = mairie
        .post(
            "/v1/subscribers",
            json!({ "phone": "75 12 34", "topics": ["intemperies"] }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["phone"], "+687751234");
    daemon.stop().await;
}

/// A commune with a secondary SMS account: while its primary fails (503s), its SMS go through
/// the secondary; once the primary answers again, they come back to it.
#[tokio::test]
async fn sms_fail_over_to_the_secondary_account_and_come_back() {
    let env = Env::new().await;
    let secours = crate::support::SmsmodeStandin::start("secours-key");
    let mut config = env.config_with_file(&format!(
        r#"
        [sms.accounts.secours]
        provider = "smsmode"
        api_key = "secours-key"
        base_url = "{}"
        [failover]
        failure_share = 0.5
        window_s = 2
        min_samples = 4
        probe_one_in = 3
        "#,
        secours.base_url()
    ));
    config.dispatch.batch_size = 4;
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.commune(&daemon.url, 24).await;
    let db = env.db.pool().await;
    let change = tocsin::store::tenants::SettingsChange {
        sms_secondary: Some(Some("secours".into())),
        ..Default::default()
    };
    tocsin::store::tenants::update(&db, "bras", &change)
        .await
        .unwrap();

    env.smsmode.fail_one_in(1);
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(
        report["counts"]["sms"]["sent"], 24,
        "every SMS went out: {report}"
    );
    assert_eq!(env.smsmode.accepted_count(), 0, "the primary took none");
    let mut through_secours: Vec<String> = secours.received().into_iter().map(|m| m.to).collect();
    through_secours.sort();
    through_secours.dedup();
    assert_eq!(through_secours.len(), 24, "all through the secondary");

    // The primary answers again: once its failures are out of the window, a probe finds it well
    // and the commune's SMS come back to it.
    env.smsmode.fail_one_in(0);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for _ in 0..2 {
        let id = mairie
            .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Fin", "channels": ["sms"] }))
            .await;
        mairie.wait_completed(&id).await;
    }
    secours.reset();
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Bis", "channels": ["sms"] }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 24, "{report}");
    assert!(secours.received().is_empty(), "back on the primary");
    daemon.stop().await;
}

/// OVH passes replies on by no callback: the daemon fetches them from OVH's pull API, acts on
/// them for the commune the account serves, answers through the account, and OVH keeps none.
#[tokio::test]
async fn replies_held_by_ovh_are_fetched_and_acted_on() {
    let env = Env::new().await;
    let (ovh, daemon, mairie) = env.commune_on_ovh().await;
    mairie.topic("intemperies").await;

    ovh.receive("+33611223344", "Alerte");
    ovh.receive("0033655667788", "bonjour");
    let replies = ovh.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(ovh.incoming_count(), 0, "read and deleted at OVH");
    let reply_to = |to: &str| {
        replies
            .iter()
            .find(|r| r.receiver == to)
            .map(|r| r.message.clone())
            .unwrap_or_else(|| panic!("no reply to {to}: {replies:?}"))
    };
    assert!(reply_to("+33611223344").contains("vous recevrez les alertes"));
    assert!(reply_to("+33655667788").contains("répondez ALERTE"));
    assert_eq!(
        topics_of_now(&mairie, "+33611223344").await,
        [json!("intemperies")]
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(ovh.received().len(), 2, "each message handled once");
    daemon.stop().await;
}
