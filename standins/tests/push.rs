//! The push service stand-in: its protocol checked with hand-built requests (VAPID, RFC 8030
//! headers, size, encryption), then Tocsin's Web Push adapter against it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tocsin_providers::{
    Message, Outcome, Provider, RetryClass,
    push::{
        crypto::{VapidKey, encrypt, parse_auth, parse_p256dh},
        webpush::{WebPush, WebPushConfig},
    },
};
use tocsin_standins::push::{Answer, BrowserSubscription, PushStandin};

const SUBJECT: &str = "mailto:alertes@bras.fr";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A push to `subscription` built by hand, every part replaceable.
struct Push {
    endpoint: String,
    authorization: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Push {
    /// A valid push of a small payload, signed by `key` for the stand-in's origin.
    fn new(standin: &PushStandin, subscription: &BrowserSubscription, key: &VapidKey) -> Self {
        Push::of(standin, subscription, key, br#"{"text":"Crue"}"#)
    }

    /// A valid push of `payload`.
    fn of(
        standin: &PushStandin,
        subscription: &BrowserSubscription,
        key: &VapidKey,
        payload: &[u8],
    ) -> Self {
        let p256dh = parse_p256dh(subscription.p256dh()).unwrap();
        let auth = parse_auth(subscription.auth()).unwrap();
        Push {
            endpoint: subscription.endpoint().to_owned(),
            authorization: Some(signed(key, &standin.base_url(), now() + 3600, now())),
            headers: vec![
                ("ttl", "60".into()),
                ("content-encoding", "aes128gcm".into()),
                ("urgency", "high".into()),
            ],
            body: encrypt(&p256dh, &auth, payload, 4096).unwrap(),
        }
    }

    fn header(mut self, name: &'static str, value: Option<&str>) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            self.headers.push((name, value.to_owned()));
        }
        self
    }

    /// Sends it; the status and the answer's body.
    async fn send(self) -> (u16, String) {
        let mut request = reqwest::Client::new().post(&self.endpoint).body(self.body);
        if let Some(authorization) = self.authorization {
            request = request.header("authorization", authorization);
        }
        for (name, value) in self.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

/// `vapid t=…, k=…` for `aud`, signed as if the clock read `now`.
fn signed(key: &VapidKey, aud: &str, exp: u64, now: u64) -> String {
    let endpoint = url::Url::parse(&format!("{aud}/push/x")).unwrap();
    key.vapid_header(&endpoint, SUBJECT, exp, now).unwrap()
}

#[tokio::test]
async fn a_subscription_is_what_json_stringify_gives() {
    let standin = PushStandin::start().await;
    let subscription = standin.subscribe();
    assert_eq!(
        subscription.endpoint(),
        format!("{}/push/{}", standin.base_url(), subscription.id())
    );
    let json = subscription.json();
    assert_eq!(
        json,
        format!(
            "{{\"endpoint\":\"{}\",\"expirationTime\":null,\"keys\":{{\"p256dh\":\"{}\",\
             \"auth\":\"{}\"}}}}",
            subscription.endpoint(),
            subscription.p256dh(),
            subscription.auth()
        )
    );
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["expirationTime"], Value::Null);
    assert_eq!(parse_p256dh(subscription.p256dh()).unwrap()[0], 0x04);
    assert_eq!(parse_auth(subscription.auth()).unwrap().len(), 16);
    let other = standin.subscribe();
    assert_ne!(other.id(), subscription.id());
    assert_ne!(other.p256dh(), subscription.p256dh());
}

#[tokio::test]
async fn a_valid_push_is_created_decrypted_and_recorded() {
    let standin = PushStandin::start().await;
    let subscription = standin.subscribe();
    let key = VapidKey::generate().unwrap();
    let payload = json!({"subject": "Crue", "text": "Évacuez les quais"}).to_string();
    let push = Push::of(&standin, &subscription, &key, payload.as_bytes());
    let (status, body) = push.header("topic", Some("alr_01J9")).send().await;
    assert_eq!(status, 201, "{body}");

    let received = standin.received(&subscription);
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.subscription_id, subscription.id());
    assert_eq!(message.ttl, 60);
    assert_eq!(message.urgency.as_deref(), Some("high"));
    assert_eq!(message.topic.as_deref(), Some("alr_01J9"));
    assert_eq!(message.raw, payload);
    assert_eq!(
        message.payload.as_ref().unwrap()["text"],
        "Évacuez les quais"
    );
    assert_eq!(message.vapid_subject.as_deref(), Some(SUBJECT));
    assert_eq!(message.vapid_key, key.public_key_base64url());
    assert_eq!(standin.received_all(), received);
    assert_eq!(standin.rejected_count(), 0);
    assert!(standin.received(&standin.subscribe()).is_empty());
}

#[tokio::test]
async fn pushes_without_valid_vapid_are_refused() {
    let standin = PushStandin::start().await;
    let subscription = standin.subscribe();
    let key = VapidKey::generate().unwrap();
    let origin = standin.base_url();
    let other = VapidKey::generate().unwrap();

    let mut cases = Vec::new();
    let mut push = Push::new(&standin, &subscription, &key);
    push.authorization = None;
    cases.push(("no Authorization", push, 401));
    let mut push = Push::new(&standin, &subscription, &key);
    push.authorization = Some(format!(
        "WebPush {}",
        signed(&key, &origin, now() + 60, now())
    ));
    cases.push(("another scheme", push, 401));
    let mut push = Push::new(&standin, &subscription, &key);
    push.authorization = Some(signed(&key, "https://push.example.net", now() + 60, now()));
    cases.push(("wrong aud", push, 403));
    let mut push = Push::new(&standin, &subscription, &key);
    let long_ago = now() - 2 * 86_400;
    push.authorization = Some(signed(&key, &origin, long_ago + 3600, long_ago));
    cases.push(("expired", push, 403));
    let mut push = Push::new(&standin, &subscription, &key);
    let tomorrow = now() + 86_400;
    push.authorization = Some(signed(&key, &origin, tomorrow + 3600, tomorrow));
    cases.push(("exp more than 24 h ahead", push, 403));
    let mut push = Push::new(&standin, &subscription, &key);
    let token = signed(&key, &origin, now() + 60, now());
    let (t, _) = token.split_once(", k=").unwrap();
    push.authorization = Some(format!("{t}, k={}", other.public_key_base64url()));
    cases.push(("signed by another key than k", push, 403));

    for (case, push, expected) in cases {
        let (status, body) = push.send().await;
        assert_eq!(status, expected, "{case}: {body}");
        assert!(!body.is_empty(), "{case}: the body says why");
    }
    assert!(standin.received_all().is_empty());
    assert_eq!(standin.rejected_count(), 6);
    assert!(
        standin.rejections()[2].reason.contains("aud"),
        "{:?}",
        standin.rejections()
    );

    // A subscription made with an applicationServerKey takes that key only.
    let restricted = standin.subscribe_with_key(&key.public_key_base64url());
    let (status, body) = Push::new(&standin, &restricted, &other).send().await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("applicationServerKey"), "{body}");
    assert_eq!(Push::new(&standin, &restricted, &key).send().await.0, 201);
}

#[tokio::test]
async fn bad_headers_bodies_and_sizes_are_refused() {
    let standin = PushStandin::start().await;
    let subscription = standin.subscribe();
    let key = VapidKey::generate().unwrap();
    let push = || Push::new(&standin, &subscription, &key);

    let (status, body) = push().header("ttl", None).send().await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("TTL"), "{body}");
    assert_eq!(push().header("ttl", Some("-1")).send().await.0, 400);
    assert_eq!(push().header("urgency", Some("urgent")).send().await.0, 400);
    assert_eq!(
        push().header("topic", Some("alerte crue")).send().await.0,
        400
    );
    assert_eq!(
        push().header("topic", Some(&"x".repeat(33))).send().await.0,
        400
    );
    assert_eq!(
        push()
            .header("content-encoding", Some("aesgcm"))
            .send()
            .await
            .0,
        415
    );
    assert_eq!(push().header("content-encoding", None).send().await.0, 415);

    let mut tampered = push();
    let last = tampered.body.len() - 1;
    tampered.body[last] ^= 1;
    let (status, body) = tampered.send().await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("decryption failed"), "{body}");

    // Encrypted for another browser: the stand-in cannot open it.
    let stranger = standin.subscribe();
    let mut misdirected = push();
    misdirected.body = Push::new(&standin, &stranger, &key).body;
    assert_eq!(misdirected.send().await.0, 400);

    let mut huge = push();
    huge.body.resize(4097, 0);
    assert_eq!(huge.send().await.0, 413);

    // The largest payload RFC 8291 allows makes exactly 4096 octets, and is taken.
    let largest = Push::of(&standin, &subscription, &key, &[b'x'; 3993]);
    assert_eq!(largest.body.len(), 4096);
    assert_eq!(largest.send().await.0, 201);

    // A push without payload only wakes the service worker.
    let mut tickle = push().header("content-encoding", None);
    tickle.body.clear();
    assert_eq!(tickle.send().await.0, 201);
    let received = standin.received(&subscription);
    assert_eq!(received.last().unwrap().raw, "");
    assert_eq!(received.len(), 2);
}

#[tokio::test]
async fn unknown_forgotten_and_scripted_subscriptions_answer_as_told() {
    let standin = PushStandin::start().await;
    let subscription = standin.subscribe();
    let key = VapidKey::generate().unwrap();
    let push = || Push::new(&standin, &subscription, &key);

    let mut unknown = push();
    unknown.endpoint = format!("{}/push/no-such-id", standin.base_url());
    assert_eq!(unknown.send().await.0, 404);
    let mut elsewhere = push();
    elsewhere.endpoint = format!("{}/other", standin.base_url());
    assert_eq!(elsewhere.send().await.0, 404);

    standin.answer_next(
        &subscription,
        [Answer::status(429).retry_after("7"), Answer::status(503)],
    );
    let limited = reqwest::Client::new()
        .post(subscription.endpoint())
        .header("authorization", push().authorization.unwrap())
        .header("ttl", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(push().send().await.0, 503);
    assert_eq!(push().send().await.0, 201);

    standin.answer(&subscription, Answer::status(410));
    assert_eq!(push().send().await.0, 410);
    assert_eq!(push().send().await.0, 410);
    standin.answer(&subscription, Answer::created());
    assert_eq!(push().send().await.0, 201);

    standin.forget(&subscription);
    let (status, body) = push().send().await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(standin.received(&subscription).len(), 2);
    assert_eq!(standin.rejected_count(), 7);
}

fn alert(to: &str) -> Message<'_> {
    Message {
        reference: "dlv_01J9",
        to,
        subject: "Crue de la Loire",
        text: "Évacuez les quais avant 18 h.",
        validity: Some(Duration::from_secs(3600)),
        urgent: true,
        commune: Some("Bras"),
        link: Some("https://alertes.bras.fr/a/alr_01J9"),
        collapse_key: Some("alr_01J9"),
        ..Message::default()
    }
}

fn adapter(key: &VapidKey) -> WebPush {
    let private = key.private_key_base64url().expose_secret().to_owned();
    // The stand-in listens on this machine, which the egress policy refuses by default.
    let mut config = WebPushConfig::new(private, SUBJECT);
    config.allow_loopback = true;
    WebPush::new(config.validate().unwrap()).unwrap()
}

#[tokio::test]
async fn the_web_push_adapter_is_understood_by_the_push_service() {
    let standin = PushStandin::start().await;
    let key = VapidKey::generate().unwrap();
    let subscription = standin.subscribe_with_key(&key.public_key_base64url());
    let push = adapter(&key);

    let outcome = push.send(alert(&subscription.json())).await;
    let Outcome::Accepted {
        provider_message_id: Some(location),
    } = outcome
    else {
        panic!("{outcome:?} {:?}", standin.rejections());
    };
    let received = standin.wait_for(1, Duration::from_secs(5)).await;
    let message = &received[0];
    assert_eq!(
        location,
        format!("{}/message/{}", standin.base_url(), message.message_id)
    );
    assert_eq!(message.ttl, 3600);
    assert_eq!(message.urgency.as_deref(), Some("high"));
    assert_eq!(message.topic.as_deref(), Some("alr_01J9"));
    assert_eq!(message.vapid_subject.as_deref(), Some(SUBJECT));
    assert_eq!(
        message.payload,
        Some(json!({"commune": "Bras", "subject": "Crue de la Loire",
                    "text": "Évacuez les quais avant 18 h.",
                    "url": "https://alertes.bras.fr/a/alr_01J9", "urgent": true,
                    "tag": "alr_01J9"}))
    );
    // The stand-in checked the key: the push decrypted with the browser's keys, signed by `k`.
    assert_eq!(message.vapid_key, key.public_key_base64url());
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&message.vapid_key).unwrap().len(),
        65
    );
}

#[tokio::test]
async fn the_adapter_reads_the_push_service_s_refusals() {
    let standin = PushStandin::start().await;
    let key = VapidKey::generate().unwrap();
    let push = adapter(&key);
    let class = |outcome: Outcome| match outcome {
        Outcome::Failed { class, reason } => {
            assert!(!reason.contains("/push/"), "{reason}");
            class
        }
        accepted => panic!("{accepted:?}"),
    };

    let subscription = standin.subscribe();
    standin.answer_next(&subscription, [Answer::status(429).retry_after("7")]);
    assert_eq!(
        class(push.send(alert(&subscription.json())).await),
        RetryClass::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    // A 500 may come after the service took the message: retried, as uncertain.
    standin.answer_next(&subscription, [Answer::status(500)]);
    assert_eq!(
        class(push.send(alert(&subscription.json())).await),
        RetryClass::Uncertain
    );
    standin.forget(&subscription);
    let to = subscription.json();
    assert_eq!(class(push.send(alert(&to)).await), RetryClass::Gone);

    // Subscribed under another application server's key: 403, permanent.
    let foreign = standin.subscribe_with_key(&VapidKey::generate().unwrap().public_key_base64url());
    let outcome = push.send(alert(&foreign.json())).await;
    let Outcome::Failed {
        class: refused,
        reason,
    } = outcome
    else {
        panic!("accepted");
    };
    assert_eq!(refused, RetryClass::Permanent);
    assert!(reason.contains("403"), "{reason}");
    assert!(!reason.contains(foreign.id()), "{reason}");

    let unknown = subscription.json().replace(subscription.id(), "no-such-id");
    assert_eq!(class(push.send(alert(&unknown)).await), RetryClass::Gone);
    assert!(standin.received_all().is_empty());
}
