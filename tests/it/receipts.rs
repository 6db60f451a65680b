//! Delivery reports: each provider's callback, in its own format, moves deliveries to
//! delivered, failed or expired; forged callbacks change nothing.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Env, eventually};

const PUBLIC_URL: &str = "https://alertes.example.fr";

/// The path (and query) of a callback URL under [`PUBLIC_URL`], to call the daemon with.
fn path_of(url: &str) -> &str {
    url.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{url} is not under {PUBLIC_URL}"))
}

#[tokio::test]
async fn smsmode_reports_move_deliveries_and_forged_ones_change_nothing() {
    let env = Env::new().await;
    let daemon =
        crate::support::Daemon::start(env.config_with(&[("TOCSIN_PUBLIC_URL", PUBLIC_URL)])).await;
    let mairie = env.commune(&daemon.url, 3).await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
        .await;
    mairie.wait_completed(&id).await;
    let mut sent = env.smsmode.received();
    sent.sort_by(|a, b| a.to.cmp(&b.to));
    let callback = sent[0].callback_url_status.clone().expect("a callback URL");
    let token = callback
        .strip_prefix(&format!("{PUBLIC_URL}/cb/smsmode/"))
        .and_then(|rest| rest.split('/').next())
        .expect("the tenant's token in the path")
        .to_string();
    assert!(token.len() >= 32, "an unguessable token: {token}");
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let (http, url) = (http.clone(), format!("{}{path}", daemon.url));
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let status = r.status();
            (status, r.text().await.unwrap())
        }
    };
    let status_path =
        |i: usize| path_of(sent[i].callback_url_status.as_deref().unwrap()).to_string();

    let delivered = sent[0].status_callback("DELIVERED", None);
    assert_eq!(
        post(status_path(0), delivered.clone()).await.0,
        StatusCode::OK
    );
    let refused = sent[1].status_callback("UNDELIVERABLE", Some("INVALID_PHONE_NUMBER"));
    assert_eq!(post(status_path(1), refused).await.0, StatusCode::OK);
    let odd = sent[2].status_callback("READ", None);
    assert_eq!(post(status_path(2), odd).await.0, StatusCode::OK);
    let counts = |mairie: crate::support::Client, id: String| async move {
        mairie.get(&format!("/v1/alerts/{id}")).await.body["counts"]["sms"].clone()
    };
    eventually("the reports are recorded", Duration::from_secs(5), || {
        let (mairie, id) = (mairie.clone(), id.clone());
        async move {
            let c = counts(mairie, id).await;
            c["delivered"] == 1 && c["failed"] == 1
        }
    })
    .await;
    let c = counts(mairie.clone(), id.clone()).await;
    assert_eq!(
        c["sent"], 1,
        "an unknown status is never read as delivered: {c}"
    );
    let report = mairie.get(&format!("/v1/alerts/{id}")).await.body;
    let sms_timings = &report["timings"]["sms"];
    let p90 = sms_timings["delivered_90_ms"]
        .as_i64()
        .expect("by when 90 % were delivered");
    assert!(
        p90 >= sms_timings["first_sent_ms"].as_i64().unwrap(),
        "{report}"
    );
    let failed = mairie
        .get(&format!("/v1/alerts/{id}/deliveries?status=failed"))
        .await
        .body;
    assert_eq!(
        failed["deliveries"][0]["error"], "smsmode UNDELIVERABLE INVALID_PHONE_NUMBER",
        "{failed}"
    );

    // The same report again, a report of the other outcome after it, a report about a message
    // nobody sent: 200, and nothing changes.
    assert_eq!(
        post(status_path(0), delivered.clone()).await.0,
        StatusCode::OK
    );
    let late = sent[0].status_callback("UNDELIVERABLE", None);
    assert_eq!(post(status_path(0), late).await.0, StatusCode::OK);
    let mut stranger = delivered.clone();
    stranger["refClient"] = json!("dlv_0123456789abcdef0123456789abcdef");
    assert_eq!(post(status_path(0), stranger).await.0, StatusCode::OK);
    // Forged: a wrong token, another tenant's token cannot touch this tenant's deliveries.
    let forged = status_path(2).replace(&token, &"0".repeat(token.len()));
    let delivered_2 = sent[2].status_callback("DELIVERED", None);
    assert_eq!(
        post(forged, delivered_2.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    env.tenant(&daemon, "voisine").await;
    let other_token = env.callback_token("voisine").await;
    let crossed = status_path(2).replace(&token, &other_token);
    assert_eq!(post(crossed, delivered_2).await.0, StatusCode::OK);
    let (status, body) = post(status_path(2), json!("not a report")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let c = counts(mairie.clone(), id.clone()).await;
    assert_eq!(
        (
            c["delivered"].clone(),
            c["failed"].clone(),
            c["sent"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{c}"
    );
    daemon.stop().await;
}

/// Reports arriving together are written together (one pass for all waiting requests), each
/// commune's still touching only its own deliveries: 200 receipts from the commune's token and,
/// at the same moment, 200 others naming the same messages from another commune's token.
#[tokio::test]
async fn reports_arriving_together_are_all_recorded_and_each_commune_s_touch_only_its_own() {
    const N: usize = 200;
    let env = Env::new().await;
    let daemon =
        crate::support::Daemon::start(env.config_with(&[("TOCSIN_PUBLIC_URL", PUBLIC_URL)])).await;
    let mairie = env.commune(&daemon.url, N).await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
        .await;
    mairie.wait_completed(&id).await;
    let sent = env.smsmode.received();
    assert_eq!(sent.len(), N);
    let token = env.callback_token("bras").await;
    env.tenant(&daemon, "voisine").await;
    let other_token = env.callback_token("voisine").await;

    let http = reqwest::Client::new();
    let mut posts = Vec::new();
    for sms in &sent {
        let own = path_of(sms.callback_url_status.as_deref().unwrap()).to_string();
        let crossed = own.replace(&token, &other_token);
        for (path, body) in [
            (own, sms.status_callback("DELIVERED", None)),
            (crossed, sms.status_callback("UNDELIVERABLE", None)),
        ] {
            let (http, url) = (http.clone(), format!("{}{path}", daemon.url));
            posts.push(async move { http.post(url).json(&body).send().await.unwrap().status() });
        }
    }
    // As many at once as one client address may hold connections to the public listener.
    let answers: Vec<StatusCode> = futures_util::stream::iter(posts)
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    let counts = mairie.get(&format!("/v1/alerts/{id}")).await.body["counts"]["sms"].clone();
    assert_eq!(
        (counts["delivered"].clone(), counts["failed"].clone()),
        (json!(N), json!(0)),
        "every report of the commune, none of its neighbour's: {counts}"
    );
    daemon.stop().await;
}

const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-auth-token-of-the-commune";

/// A commune on its own Twilio account: its SMS go out with its sender and our callback URL,
/// its signed reports are recorded, unsigned or forged ones refused; an opted-out number fails
/// for good.
#[tokio::test]
async fn twilio_sends_and_its_signed_reports_are_recorded() {
    use tocsin_standins::twilio::{TwilioStandin, post_signed};
    let env = Env::new().await;
    let twilio = TwilioStandin::start(TWILIO_SID, TWILIO_TOKEN);
    let config = env.config_with_file(&format!(
        r#"
        public_url = "{PUBLIC_URL}"
        [routing.tenants.bras]
        sms = "bras-twilio"
        [sms.accounts.bras-twilio]
        provider = "twilio"
        account_sid = "{TWILIO_SID}"
        auth_token = "{TWILIO_TOKEN}"
        from = "MAIRIEBRAS"
        base_url = "{}"
        "#,
        twilio.base_url()
    ));
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.commune(&daemon.url, 3).await;
    twilio.fail_recipient("+33600000002", 400, 21610, None);
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue : évitez les quais" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 2, "{report}");
    assert_eq!(report["counts"]["sms"]["failed"], 1, "{report}");
    let failed = mairie
        .get(&format!("/v1/alerts/{id}/deliveries?status=failed"))
        .await
        .body;
    let reason = failed["deliveries"][0]["error"].as_str().unwrap();
    assert!(
        reason.contains("21610") && reason.contains("opted out"),
        "{reason}"
    );
    assert_eq!(
        failed["deliveries"][0]["attempts"], 1,
        "never retried: {failed}"
    );

    let mut sent = twilio.received();
    sent.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].to, "+33600000000");
    assert_eq!(sent[0].from.as_deref(), Some("MAIRIEBRAS"));
    assert_eq!(sent[0].body, "Crue : évitez les quais");
    let callback = sent[0].status_callback.clone().expect("a status callback");
    assert!(
        callback.starts_with(&format!("{PUBLIC_URL}/cb/twilio/")) && callback.contains("?ref=dlv_"),
        "{callback}"
    );
    let validity = sent[0].validity_period.expect("a validity period");
    assert!(
        (21_000..=21_600).contains(&validity),
        "what is left of 6 h: {validity}"
    );

    let local = |public: &str| format!("{}{}", daemon.url, path_of(public));
    let delivered = sent[0].status_callback_params("delivered", None);
    let post = |public: String, token: &'static str, params: Vec<(String, String)>| {
        let url = local(&public);
        async move { post_signed(&public, &url, token, &params).await.unwrap() }
    };
    // Forged: signed with another token, or over another URL; then a real one.
    assert_eq!(
        post(callback.clone(), "not-the-token", delivered.clone()).await,
        403
    );
    let other_ref = callback.replace("?ref=dlv_", "?ref=dlv_0");
    assert_eq!(
        post_signed(&callback, &local(&other_ref), TWILIO_TOKEN, &delivered)
            .await
            .unwrap(),
        403,
        "a reference changed after signing"
    );
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&delivered)
        .finish();
    let unsigned = reqwest::Client::new()
        .post(local(&callback))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post(callback.clone(), TWILIO_TOKEN, delivered.clone()).await,
        200
    );
    let undelivered = sent[1].status_callback_params("undelivered", Some(30005));
    let callback_1 = sent[1].status_callback.clone().unwrap();
    assert_eq!(post(callback_1, TWILIO_TOKEN, undelivered).await, 200);
    let c = mairie.get(&format!("/v1/alerts/{id}")).await.body["counts"]["sms"].clone();
    assert_eq!(
        (c["delivered"].clone(), c["failed"].clone()),
        (json!(1), json!(2)),
        "{c}"
    );

    // The number Twilio said opted out (21610) is not texted again by this commune, nor the one
    // a later report said opted out.
    let stop = sent[0].status_callback_params("failed", Some(21610));
    let callback_0 = sent[0].status_callback.clone().unwrap();
    assert_eq!(post(callback_0, TWILIO_TOKEN, stop).await, 200);
    twilio.reset();
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Fin d'alerte" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    let to: Vec<String> = twilio.received().into_iter().map(|m| m.to).collect();
    assert_eq!(to, ["+33600000001"]);
    daemon.stop().await;
}

/// A commune on an OVH account: its SMS go out non-commercial (no STOP clause), with high
/// priority and its sender; OVH's reports, which name only OVH's id, find their delivery, even
/// when one arrives before the send's answer was recorded.
#[tokio::test]
async fn ovh_sends_non_commercial_sms_and_its_reports_find_their_delivery() {
    use tocsin_standins::ovh::{OvhStandin, call_receipt_url};
    let env = Env::new().await;
    let (ak, secret, ck, service) = (
        "ovh-app-key",
        "ovh-app-secret",
        "ovh-consumer",
        "sms-ab12345-1",
    );
    let ovh = OvhStandin::start(ak, secret, ck, service);
    let config = env.config_with_file(&format!(
        r#"
        public_url = "{PUBLIC_URL}"
        [routing.tenants.bras]
        sms = "bras-ovh"
        [sms.accounts.bras-ovh]
        provider = "ovh"
        application_key = "{ak}"
        application_secret = "{secret}"
        consumer_key = "{ck}"
        service_name = "{service}"
        sender = "MAIRIEBRAS"
        base_url = "{}"
        "#,
        ovh.base_url()
    ));
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.commune(&daemon.url, 4).await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Alerte orange : tempête et crues, fermeture de l'école à 11 h" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 4, "{report}");
    let mut sent = ovh.received();
    sent.sort_by(|a, b| a.receiver.cmp(&b.receiver));
    assert_eq!(sent[0].receiver, "+33600000000");
    assert!(
        sent[0].no_stop_clause,
        "public-interest alerts are not commercial"
    );
    assert_eq!(sent[0].priority.as_deref(), Some("high"));
    assert_eq!(sent[0].sender.as_deref(), Some("MAIRIEBRAS"));
    assert_eq!(
        sent[0].message,
        "Alerte orange : tempête et crues, fermeture de l'école à 11 h"
    );

    // OVH's callBack is the account's: the tenant's URL, by GET, with OVH's id.
    let token = env.callback_token("bras").await;
    let url = format!("{}/cb/ovh/{token}/status", daemon.url);
    for (sms, ptt) in sent.iter().zip([4, 5, 1, 99]) {
        assert_eq!(
            call_receipt_url(&url, &sms.receipt(ptt)).await.unwrap(),
            200
        );
    }
    let forged = format!("{}/cb/ovh/{}/status", daemon.url, "f".repeat(token.len()));
    assert_eq!(
        call_receipt_url(&forged, &sent[2].receipt(4))
            .await
            .unwrap(),
        403
    );
    let counts = mairie.get(&format!("/v1/alerts/{id}")).await.body["counts"]["sms"].clone();
    assert_eq!(
        (
            counts["delivered"].clone(),
            counts["failed"].clone(),
            counts["sent"].clone()
        ),
        (json!(1), json!(1), json!(2)),
        "pending (1) and unknown (99) change nothing: {counts}"
    );

    // A report faster than the send's answer: kept, then applied once the answer is recorded.
    ovh.reset();
    ovh.set_answer_delay(Duration::from_millis(1500));
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Fin d'alerte" }))
        .await;
    let early = ovh.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        call_receipt_url(&url, &early[0].receipt(4)).await.unwrap(),
        200
    );
    mairie.wait_completed(&id).await;
    eventually(
        "the early report is applied",
        Duration::from_secs(10),
        || {
            let (mairie, id) = (mairie.clone(), id.clone());
            async move {
                let c = mairie.get(&format!("/v1/alerts/{id}")).await.body["counts"]["sms"].clone();
                c["delivered"] == 1
            }
        },
    )
    .await;
    daemon.stop().await;
}
