//! The Web Push client against a tiny local push service: the exact request (headers, VAPID,
//! encryption), and every answer mapped to its retry class (web-push.md §2).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::Request,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::{SecretKey, elliptic_curve::Generate};
use serde_json::{Value, json};

use super::*;
use crate::{
    Message, Outcome, Provider, RetryClass,
    push::crypto::{VapidKey, decrypt, verify_vapid},
};

const SUBJECT: &str = "mailto:alertes@bras.fr";
/// The secret part of the endpoint: it must never appear in a reason.
const TOKEN: &str = "dQw4w9WgXcQAPA91bHun4MxP5eg";

/// One request as the fake push service saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

struct Fake {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    peak: Arc<AtomicUsize>,
}

/// A push service on 127.0.0.1:0 that records every request and answers `reply()` after
/// `delay`.
async fn fake(delay: Duration, reply: impl Fn() -> Response + Send + Sync + 'static) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let peak = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(AtomicUsize::new(0));
    let reply = Arc::new(reply);
    let app = Router::new().fallback({
        let (seen, peak) = (seen.clone(), peak.clone());
        move |request: Request| {
            let (seen, peak, current, reply) =
                (seen.clone(), peak.clone(), current.clone(), reply.clone());
            async move {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                seen.lock().unwrap().push(Seen {
                    path: parts.uri.path().to_owned(),
                    headers: parts.headers,
                    body,
                });
                tokio::time::sleep(delay).await;
                current.fetch_sub(1, Ordering::SeqCst);
                reply()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake {
        base_url,
        seen,
        peak,
    }
}

fn created() -> Response {
    (StatusCode::CREATED, [("location", "/message/m-1")], "").into_response()
}

fn status(code: u16, headers: &'static [(&'static str, &'static str)]) -> Response {
    let mut response = (StatusCode::from_u16(code).unwrap(), "").into_response();
    for (name, value) in headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    response
}

/// A browser: its ECDH key pair and auth secret, and the subscription JSON it gives.
struct Browser {
    secret: SecretKey,
    p256dh: [u8; 65],
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let secret = SecretKey::generate();
        let p256dh = secret
            .public_key()
            .to_sec1_bytes()
            .as_ref()
            .try_into()
            .unwrap();
        Browser {
            secret,
            p256dh,
            auth: <[u8; 16]>::generate(),
        }
    }

    fn subscription(&self, endpoint: &str) -> String {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.p256dh),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
        })
        .to_string()
    }

    fn open(&self, body: &[u8]) -> Value {
        let plain = decrypt(
            &self.secret.to_bytes().into(),
            &self.p256dh,
            &self.auth,
            body,
        );
        serde_json::from_slice(&plain.unwrap()).unwrap()
    }
}

/// A sender whose pushes may reach the fake services on loopback.
fn sender(key: &VapidKey, f: impl FnOnce(&mut WebPushConfig)) -> WebPush {
    let mut config = WebPushConfig::new(private(key), SUBJECT);
    config.allow_loopback = true;
    f(&mut config);
    WebPush::new(config.validate().unwrap()).unwrap()
}

/// The private key as configuration holds it.
fn private(key: &VapidKey) -> String {
    use secrecy::ExposeSecret;
    key.private_key_base64url().expose_secret().to_owned()
}

fn alert<'a>(to: &'a str) -> Message<'a> {
    Message {
        reference: "dlv_01J9",
        to,
        subject: "Crue de la Loire",
        text: "Évacuez les quais avant 18 h.",
        validity: Some(Duration::from_millis(600_900)),
        urgent: true,
        commune: Some("Bras"),
        link: Some("https://alertes.bras.fr/a/alr_01J9"),
        collapse_key: Some("alr_01J9"),
        ..Message::default()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_push_is_encrypted_signed_and_headed_as_rfc_8030_asks() {
    let fake = fake(Duration::ZERO, created).await;
    let key = VapidKey::generate().unwrap();
    let push = sender(&key, |_| {});
    let browser = Browser::new();
    let to = browser.subscription(&format!("{}/push/{TOKEN}", fake.base_url));

    let outcome = push.send(alert(&to)).await;
    assert_eq!(
        outcome,
        Outcome::Accepted {
            provider_message_id: Some("/message/m-1".into())
        }
    );

    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.path, format!("/push/{TOKEN}"));
    assert_eq!(seen.header("content-encoding"), Some("aes128gcm"));
    assert_eq!(
        seen.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(seen.header("ttl"), Some("600"), "rounded down");
    assert_eq!(seen.header("urgency"), Some("high"));
    assert_eq!(seen.header("topic"), Some("alr_01J9"));

    let authorization = seen.header("authorization").unwrap();
    let claims = verify_vapid(authorization, &fake.base_url, unix_now()).unwrap();
    assert_eq!(claims.aud, fake.base_url);
    assert_eq!(claims.sub.as_deref(), Some(SUBJECT));
    let hours = (claims.exp - unix_now()) as f64 / 3600.0;
    assert!((11.9..=12.0).contains(&hours), "{hours}");
    assert_eq!(
        URL_SAFE_NO_PAD.encode(claims.public_key),
        key.public_key_base64url()
    );
    assert_eq!(push.public_key(), key.public_key_base64url());

    assert!(seen.body.len() <= 4096);
    assert_eq!(
        browser.open(&seen.body),
        json!({"commune": "Bras", "subject": "Crue de la Loire",
               "text": "Évacuez les quais avant 18 h.",
               "url": "https://alertes.bras.fr/a/alr_01J9", "urgent": true, "tag": "alr_01J9"})
    );
}

#[tokio::test]
async fn routine_news_is_normal_without_a_bad_topic_and_lives_as_long_as_given() {
    let fake = fake(Duration::ZERO, created).await;
    let push = sender(&VapidKey::generate().unwrap(), |_| {});
    let browser = Browser::new();
    let to = browser.subscription(&format!("{}/push/{TOKEN}", fake.base_url));
    let news = Message {
        urgent: false,
        collapse_key: Some("alerte crue n°42"),
        validity: None,
        ..alert(&to)
    };
    assert!(matches!(push.send(news).await, Outcome::Accepted { .. }));
    let long = Message {
        validity: Some(Duration::from_secs(90 * 24 * 3600)),
        ..alert(&to)
    };
    assert!(matches!(push.send(long).await, Outcome::Accepted { .. }));

    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].header("urgency"), Some("normal"));
    assert_eq!(seen[0].header("topic"), None);
    assert_eq!(seen[0].header("ttl"), Some("0"));
    assert_eq!(browser.open(&seen[0].body)["tag"], "alerte crue n°42");
    assert_eq!(seen[1].header("ttl"), Some("2419200"));
}

#[tokio::test]
async fn every_message_is_encrypted_afresh_but_the_token_is_reused() {
    let fake = fake(Duration::ZERO, created).await;
    let push = sender(&VapidKey::generate().unwrap(), |_| {});
    let (one, two) = (Browser::new(), Browser::new());
    let to_one = one.subscription(&format!("{}/push/one", fake.base_url));
    let to_two = two.subscription(&format!("{}/push/two", fake.base_url));
    for to in [&to_one, &to_one, &to_two] {
        assert!(matches!(
            push.send(alert(to)).await,
            Outcome::Accepted { .. }
        ));
    }
    let seen = fake.seen.lock().unwrap().clone();
    assert_ne!(seen[0].body, seen[1].body, "fresh salt and ephemeral key");
    assert_eq!(one.open(&seen[0].body), one.open(&seen[1].body));
    assert_eq!(
        two.open(&seen[2].body)["text"],
        "Évacuez les quais avant 18 h."
    );
    let auth: Vec<_> = seen.iter().map(|s| s.header("authorization")).collect();
    assert!(auth.iter().all(|a| *a == auth[0]), "one token per origin");
}

/// What a push service's answer becomes, and that the reason keeps the endpoint's secret out.
async fn outcome_of(reply: fn() -> Response) -> Outcome {
    let fake = fake(Duration::ZERO, reply).await;
    let push = sender(&VapidKey::generate().unwrap(), |_| {});
    let to = Browser::new().subscription(&format!("{}/push/{TOKEN}", fake.base_url));
    let outcome = push.send(alert(&to)).await;
    if let Outcome::Failed { reason, .. } = &outcome {
        assert!(!reason.contains(TOKEN), "{reason}");
        assert!(!reason.contains("/push/"), "{reason}");
        assert!(reason.contains("push service 127.0.0.1"), "{reason}");
    }
    outcome
}

fn class_of(outcome: &Outcome) -> RetryClass {
    match outcome {
        Outcome::Failed { class, .. } => *class,
        Outcome::Accepted { .. } => panic!("accepted"),
    }
}

fn reason_of(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed { reason, .. } => reason,
        Outcome::Accepted { .. } => panic!("accepted"),
    }
}

#[tokio::test]
async fn any_2xx_is_accepted_with_or_without_a_location() {
    let accepted = outcome_of(|| status(202, &[])).await;
    assert_eq!(
        accepted,
        Outcome::Accepted {
            provider_message_id: None
        }
    );
}

#[tokio::test]
async fn a_404_or_410_means_the_subscription_is_gone() {
    for outcome in [
        outcome_of(|| status(404, &[])).await,
        outcome_of(|| status(410, &[])).await,
    ] {
        assert_eq!(class_of(&outcome), RetryClass::Gone);
    }
}

#[tokio::test]
async fn refusals_are_permanent_and_name_their_status() {
    let forbidden = outcome_of(|| {
        (
            StatusCode::FORBIDDEN,
            format!("{{\"reason\":\"BadJwtToken\",\"endpoint\":\"/push/{TOKEN}\"}}"),
        )
            .into_response()
    })
    .await;
    assert_eq!(class_of(&forbidden), RetryClass::Permanent);
    let reason = reason_of(&forbidden);
    assert!(reason.contains("403 Forbidden"), "{reason}");
    assert!(reason.contains("not the one this subscription was made with"));
    // The body is not ours to store or show: only the status and its meaning are.
    assert!(!reason.contains("BadJwtToken"), "{reason}");

    for (outcome, code) in [
        (outcome_of(|| status(400, &[])).await, "400"),
        (outcome_of(|| status(401, &[])).await, "401"),
        (outcome_of(|| status(413, &[])).await, "413"),
    ] {
        assert_eq!(class_of(&outcome), RetryClass::Permanent, "{code}");
        assert!(reason_of(&outcome).contains(code), "{outcome:?}");
    }
}

#[tokio::test]
async fn rate_limits_honour_retry_after_in_seconds_or_as_a_date() {
    let seconds = outcome_of(|| status(429, &[("retry-after", "7")])).await;
    assert_eq!(
        class_of(&seconds),
        RetryClass::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    let past = outcome_of(|| status(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]));
    assert_eq!(
        class_of(&past.await),
        RetryClass::RateLimited {
            retry_after: Some(Duration::ZERO)
        }
    );
    let bare = outcome_of(|| status(429, &[])).await;
    assert_eq!(
        class_of(&bare),
        RetryClass::RateLimited { retry_after: None }
    );
}

#[tokio::test]
async fn server_errors_are_transient_or_uncertain() {
    let unavailable = outcome_of(|| status(503, &[("retry-after", "30")])).await;
    assert_eq!(
        class_of(&unavailable),
        RetryClass::Transient {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    let broken = outcome_of(|| status(500, &[])).await;
    assert_eq!(class_of(&broken), RetryClass::Uncertain);
}

#[tokio::test]
async fn a_bad_subscription_is_permanent_and_never_sent() {
    let fake = fake(Duration::ZERO, created).await;
    let push = sender(&VapidKey::generate().unwrap(), |_| {});
    let browser = Browser::new();
    for to in [
        "not json".to_owned(),
        browser.subscription(&format!("http://push.example.net/push/{TOKEN}")),
        json!({"endpoint": format!("{}/push/{TOKEN}", fake.base_url), "keys": {}}).to_string(),
    ] {
        let outcome = push.send(alert(&to)).await;
        assert_eq!(class_of(&outcome), RetryClass::Permanent);
        let reason = reason_of(&outcome);
        assert!(
            reason.starts_with("invalid push subscription: "),
            "{reason}"
        );
        assert!(!reason.contains(TOKEN), "{reason}");
    }
    assert!(fake.seen.lock().unwrap().is_empty());
}

/// Without `allow_loopback`, a subscription pointing at this machine is refused for good
/// before anything is sent, whether the endpoint names the address or a name resolving to it.
#[tokio::test]
async fn an_endpoint_on_this_machine_is_refused_without_allow_loopback() {
    let fake = fake(Duration::ZERO, created).await;
    let port = fake.base_url.rsplit(':').next().unwrap().to_owned();
    let browser = Browser::new();
    let strict = sender(&VapidKey::generate().unwrap(), |c| c.allow_loopback = false);
    let lifted = sender(&VapidKey::generate().unwrap(), |c| {
        c.allow_loopback = false;
        c.allowed_hosts = vec!["*".into()];
    });
    for push in [&strict, &lifted] {
        for endpoint in [
            format!("{}/push/{TOKEN}", fake.base_url),
            format!("http://localhost:{port}/push/{TOKEN}"),
            format!("http://[::1]:{port}/push/{TOKEN}"),
            format!("https://localhost/push/{TOKEN}"),
        ] {
            let outcome = push.send(alert(&browser.subscription(&endpoint))).await;
            assert_eq!(class_of(&outcome), RetryClass::Permanent, "{endpoint}");
            assert!(!reason_of(&outcome).contains(TOKEN));
        }
    }
    assert!(fake.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_or_slow_service_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let push = sender(&VapidKey::generate().unwrap(), |c| c.timeout_ms = 300);
    let browser = Browser::new();
    let to = browser.subscription(&format!("http://{closed}/push/{TOKEN}"));
    let refused = push.send(alert(&to)).await;
    assert_eq!(
        class_of(&refused),
        RetryClass::Transient { retry_after: None }
    );
    assert!(reason_of(&refused).contains("unreachable"), "{refused:?}");
    assert!(!reason_of(&refused).contains(TOKEN));

    let slow = fake(Duration::from_secs(5), created).await;
    let to = browser.subscription(&format!("{}/push/{TOKEN}", slow.base_url));
    let timed_out = push.send(alert(&to)).await;
    // Sent, no answer: the service may have taken it.
    assert_eq!(class_of(&timed_out), RetryClass::Uncertain);
    assert!(!reason_of(&timed_out).contains(TOKEN), "{timed_out:?}");
}

#[tokio::test]
async fn requests_in_flight_stay_within_max_connections() {
    let fake = fake(Duration::from_millis(50), created).await;
    let push = Arc::new(sender(&VapidKey::generate().unwrap(), |c| {
        c.max_connections = 3
    }));
    assert_eq!(push.connections(), Some(3));
    let browser = Browser::new();
    let to = browser.subscription(&format!("{}/push/{TOKEN}", fake.base_url));
    let sends: Vec<_> = (0..12)
        .map(|_| {
            let (push, to) = (push.clone(), to.clone());
            tokio::spawn(async move { push.send(alert(&to)).await })
        })
        .collect();
    for send in sends {
        assert!(matches!(send.await.unwrap(), Outcome::Accepted { .. }));
    }
    assert_eq!(fake.seen.lock().unwrap().len(), 12);
    assert!(fake.peak.load(Ordering::SeqCst) <= 3);
}

#[test]
fn the_kind_is_registered_on_the_push_channel() {
    let kind = crate::registry::kind(crate::Channel::Push, "webpush").unwrap();
    assert!(!kind.reports_by_id && !kind.inbound && !kind.holds_inbound);
    assert!(kind.needs.contains("TOCSIN_VAPID_PRIVATE_KEY"));
    assert!(kind.needs.contains("TOCSIN_VAPID_SUBJECT"));
    let key = VapidKey::generate().unwrap();
    let settings: toml::Value = toml::from_str(&format!(
        "vapid_private_key = \"{}\"\nvapid_subject = \"{SUBJECT}\"",
        private(&key)
    ))
    .unwrap();
    assert!((kind.check)(settings.clone()).is_ok());
    assert!((kind.build)(settings, &Default::default()).is_ok());
    let bad: toml::Value =
        toml::from_str("vapid_private_key = \"x\"\nvapid_subject = \"y\"").unwrap();
    assert_eq!((kind.check)(bad).unwrap_err().field, "vapid_private_key");
}
