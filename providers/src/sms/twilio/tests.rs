//! The Twilio client against a tiny local HTTP server: the exact request, and every answer
//! mapped to its retry class (sms-providers.md §2.1, §2.2).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::Request,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::*;
use crate::{Message, Outcome, Provider, RetryClass};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";
const KEY_SECRET: &str = "k3y-s3cret-value";
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
const TO: &str = "+33612345678";
const MESSAGE_SID: &str = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    /// The form fields, by name (each sent once).
    fn form(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

struct Fake {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Most requests the server was handling at once.
    peak: Arc<AtomicUsize>,
}

/// Starts a server on 127.0.0.1:0 that records every request and answers with `reply` after
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
                    method: parts.method.to_string(),
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

fn json_reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// The Message resource of the reference's example (§2.1).
fn resource(status: &str) -> Value {
    json!({
        "account_sid": SID,
        "api_version": "2010-04-01",
        "body": "Crue",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": null,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": "VilleDeX",
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "messaging_service_sid": null,
        "sid": MESSAGE_SID,
        "status": status,
        "subresource_uris": {"media": format!(
            "/2010-04-01/Accounts/{SID}/Messages/{MESSAGE_SID}/Media.json")},
        "to": TO,
        "uri": format!("/2010-04-01/Accounts/{SID}/Messages/{MESSAGE_SID}.json"),
    })
}

/// Twilio's REST error body (§2.2).
fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    json_reply(
        status,
        json!({"code": code, "message": message,
               "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
               "status": status}),
    )
}

fn client(base_url: &str, tweak: impl FnOnce(&mut TwilioConfig)) -> TwilioSms {
    let mut config = TwilioConfig::new(SID, TOKEN, "VilleDeX");
    config.base_url = base_url.to_owned();
    tweak(&mut config);
    TwilioSms::new(config.validate().unwrap()).unwrap()
}

fn message() -> Message<'static> {
    Message {
        reference: "dlv_42",
        to: TO,
        text: "Crue : évitez les quais & les berges",
        ..Default::default()
    }
}

async fn send(sms: &TwilioSms) -> Outcome {
    let provider: &dyn Provider = sms;
    provider.send(message()).await
}

/// Unwraps a failure and checks the reason never leaks the number or a secret.
fn failure(outcome: Outcome) -> (RetryClass, String) {
    let Outcome::Failed { class, reason } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    for secret in ["612345678", TOKEN, KEY_SECRET] {
        assert!(!reason.contains(secret), "reason leaks {secret}: {reason}");
    }
    (class, reason)
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[tokio::test]
async fn created_sends_the_documented_request_and_returns_the_sid() {
    let server = fake(Duration::ZERO, || json_reply(201, resource("queued"))).await;
    let sms = client(&server.base_url, |c| {
        c.status_callback_url = Some("https://tocsin.example/cb/twilio/t0k3n/status".into());
    });

    assert_eq!(
        send(&sms).await,
        Outcome::Accepted {
            provider_message_id: Some(MESSAGE_SID.into())
        }
    );

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(request.headers["authorization"], basic(SID, TOKEN).as_str());
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(request.headers["accept"], "application/json");
    let body = std::str::from_utf8(&request.body).unwrap();
    assert!(
        body.starts_with("To=%2B33612345678&From=VilleDeX&Body="),
        "{body}"
    );
    assert_eq!(
        request.form(),
        BTreeMap::from([
            ("To".into(), TO.into()),
            ("From".into(), "VilleDeX".into()),
            ("Body".into(), "Crue : évitez les quais & les berges".into()),
            (
                "StatusCallback".into(),
                "https://tocsin.example/cb/twilio/t0k3n/status".into()
            ),
        ])
    );
}

#[tokio::test]
async fn an_api_key_authenticates_when_given() {
    let server = fake(Duration::ZERO, || json_reply(201, resource("queued"))).await;
    let sms = client(&server.base_url, |c| {
        c.api_key_sid = Some(KEY_SID.into());
        c.api_key_secret = Some(SecretString::from(KEY_SECRET));
    });
    assert!(matches!(send(&sms).await, Outcome::Accepted { .. }));
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].headers["authorization"],
        basic(KEY_SID, KEY_SECRET).as_str()
    );
    // The path still names the account.
    assert_eq!(
        seen[0].path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
}

#[tokio::test]
async fn a_messaging_service_replaces_from_and_a_path_prefix_is_kept() {
    let server = fake(Duration::ZERO, || json_reply(201, resource("accepted"))).await;
    let sms = client(&format!("{}/twilio/", server.base_url), |c| {
        c.from = None;
        c.messaging_service_sid = Some(SERVICE.into());
        c.validity_period_s = Some(3600);
    });
    assert!(matches!(send(&sms).await, Outcome::Accepted { .. }));
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].path,
        format!("/twilio/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(
        seen[0].form(),
        BTreeMap::from([
            ("To".into(), TO.into()),
            ("MessagingServiceSid".into(), SERVICE.into()),
            ("Body".into(), "Crue : évitez les quais & les berges".into()),
            ("ValidityPeriod".into(), "3600".into()),
        ])
    );
}

#[tokio::test]
async fn a_commune_s_sender_callback_and_validity_replace_the_account_s() {
    let server = fake(Duration::ZERO, || json_reply(201, resource("queued"))).await;
    let sms = client(&server.base_url, |c| {
        c.from = None;
        c.messaging_service_sid = Some(SERVICE.into());
        c.status_callback_url = Some("https://tocsin.example/cb/platform".into());
        c.validity_period_s = Some(36_000);
    });
    let provider: &dyn Provider = &sms;
    let outcome = provider
        .send(Message {
            sender: Some("MAIRIEBRAS"),
            status_callback: Some("https://tocsin.example/cb/twilio/bras-token/status"),
            validity: Some(Duration::from_millis(599_900)),
            ..message()
        })
        .await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let form = server.seen.lock().unwrap()[0].form();
    assert_eq!(form["From"], "MAIRIEBRAS");
    assert!(!form.contains_key("MessagingServiceSid"), "{form:?}");
    assert_eq!(
        form["StatusCallback"],
        "https://tocsin.example/cb/twilio/bras-token/status"
    );
    assert_eq!(form["ValidityPeriod"], "599");
}

#[tokio::test]
async fn validity_is_clamped_to_twilio_s_bounds() {
    for (validity, sent) in [
        (Duration::from_millis(10), "1"),
        (Duration::from_secs(86_400), "36000"),
    ] {
        let server = fake(Duration::ZERO, || json_reply(201, resource("queued"))).await;
        let sms = client(&server.base_url, |_| {});
        let outcome = sms
            .send(Message {
                validity: Some(validity),
                ..message()
            })
            .await;
        assert!(matches!(outcome, Outcome::Accepted { .. }));
        assert_eq!(
            server.seen.lock().unwrap()[0].form()["ValidityPeriod"],
            sent
        );
    }
}

#[tokio::test]
async fn created_without_a_readable_body_is_still_accepted() {
    let server = fake(Duration::ZERO, || {
        (StatusCode::CREATED, "ok").into_response()
    })
    .await;
    let sms = client(&server.base_url, |_| {});
    assert_eq!(
        send(&sms).await,
        Outcome::Accepted {
            provider_message_id: None
        }
    );
}

#[tokio::test]
async fn a_message_failed_at_creation_is_a_failure() {
    let server = fake(Duration::ZERO, || {
        let mut failed = resource("failed");
        failed["error_code"] = json!(30006);
        json_reply(201, failed)
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert_eq!(
        reason,
        "twilio answered the send with a failed message: twilio ErrorCode 30006 (failed): \
         landline or unreachable carrier"
    );
}

#[tokio::test]
async fn authentication_failed_is_permanent_and_says_what_to_check() {
    let server = fake(Duration::ZERO, || twilio_error(401, 20003, "Authenticate")).await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert!(
        reason.starts_with("twilio error 20003 (HTTP 401): authentication failed"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_invalid_number_is_permanent_and_not_echoed() {
    let server = fake(Duration::ZERO, || {
        twilio_error(
            400,
            21211,
            "The 'To' number +33612345678 is not a valid phone number.",
        )
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert_eq!(
        reason,
        "twilio error 21211 (HTTP 400): invalid To number: The 'To' number +<number> is not a \
         valid phone number."
    );
}

#[tokio::test]
async fn an_opted_out_recipient_is_permanent_and_detectable() {
    let server = fake(Duration::ZERO, || {
        twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
    })
    .await;
    let sms = client(&server.base_url, |_| {});
    let error = sms.submit(message()).await.unwrap_err();
    assert!(error.is_opted_out());
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::OptedOut);
    assert!(reason.contains("opted out (replied STOP)"), "{reason}");
}

#[tokio::test]
async fn too_many_requests_is_rate_limited_with_retry_after_when_given() {
    let server = fake(Duration::ZERO, || {
        let mut response = twilio_error(429, 20429, "Too Many Requests");
        response
            .headers_mut()
            .insert("retry-after", "7".parse().unwrap());
        response
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(
        class,
        RetryClass::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(
        reason.starts_with("twilio error 20429 (HTTP 429)"),
        "{reason}"
    );

    let server = fake(Duration::ZERO, || {
        twilio_error(429, 20429, "Too Many Requests")
    })
    .await;
    let (class, _) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::RateLimited { retry_after: None });
}

#[tokio::test]
async fn service_unavailable_is_transient_and_not_sent() {
    let server = fake(Duration::ZERO, || {
        (StatusCode::SERVICE_UNAVAILABLE, "").into_response()
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert_eq!(reason, "twilio HTTP 503: (no error details)");
}

#[tokio::test]
async fn server_errors_but_503_are_uncertain() {
    for status in [500, 502, 504] {
        let server = fake(Duration::ZERO, move || {
            (StatusCode::from_u16(status).unwrap(), "<html>oops</html>").into_response()
        })
        .await;
        let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
        assert_eq!(class, RetryClass::Uncertain);
        assert_eq!(
            reason,
            format!("twilio HTTP {status}: <html>oops</html>: uncertain (may have been sent)")
        );
    }
}

#[tokio::test]
async fn a_timeout_after_the_write_is_uncertain() {
    let server = fake(Duration::from_secs(5), || {
        json_reply(201, resource("queued"))
    })
    .await;
    let sms = client(&server.base_url, |c| c.timeout_ms = 200);
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Uncertain);
    assert_eq!(
        reason,
        "twilio did not answer in time: uncertain (may have been sent)"
    );
    assert_eq!(
        server.seen.lock().unwrap().len(),
        1,
        "the request did reach the server"
    );
}

#[tokio::test]
async fn connection_refused_is_transient_and_not_sent() {
    // Bind then drop: the port is free and nothing listens on it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sms = client(&format!("http://127.0.0.1:{port}"), |_| {});
    let error = sms.submit(message()).await.unwrap_err();
    assert!(!error.is_uncertain(), "{error:?}");
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("twilio unreachable, not sent: "),
        "{reason}"
    );
    assert!(!reason.contains("uncertain"), "{reason}");
}

#[tokio::test]
async fn bad_numbers_fail_before_any_request() {
    let server = fake(Duration::ZERO, || json_reply(201, resource("queued"))).await;
    let sms = client(&server.base_url, |_| {});
    let outcome = sms
        .send(Message {
            to: "06 12 34 56 78",
            ..message()
        })
        .await;
    let (class, reason) = failure(outcome);
    assert_eq!(class, RetryClass::Permanent);
    assert!(!reason.contains("06 12"), "{reason}");
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn requests_in_flight_never_exceed_max_connections() {
    let server = fake(Duration::from_millis(50), || {
        json_reply(201, resource("queued"))
    })
    .await;
    let sms = Arc::new(client(&server.base_url, |c| c.max_connections = 2));
    assert_eq!(sms.connections(), Some(2));
    let sends: Vec<_> = (0..8)
        .map(|_| {
            let sms = sms.clone();
            tokio::spawn(async move { send(&sms).await })
        })
        .collect();
    for send in sends {
        assert!(matches!(send.await.unwrap(), Outcome::Accepted { .. }));
    }
    assert_eq!(server.seen.lock().unwrap().len(), 8);
    assert_eq!(server.peak.load(Ordering::SeqCst), 2);
}

#[test]
fn debug_never_shows_a_secret() {
    let sms = client("http://127.0.0.1:9", |c| {
        c.api_key_sid = Some(KEY_SID.into());
        c.api_key_secret = Some(SecretString::from(KEY_SECRET));
        c.status_callback_url = Some("https://tocsin.example/cb/twilio/s3cr3t-path".into());
    });
    let debug = format!("{sms:?}");
    for secret in [TOKEN, KEY_SECRET, "s3cr3t-path"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("[REDACTED]"));
}

#[test]
fn the_registry_kind_checks_and_builds_an_account() {
    let settings: toml::Value = toml::from_str(&format!(
        "account_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\nmessaging_service_sid = \"{SERVICE}\""
    ))
    .unwrap();
    assert_eq!(KIND.name, "twilio");
    assert!((KIND.check)(settings.clone()).is_ok());
    let built = (KIND.build)(settings, &crate::registry::Context::default()).unwrap();
    assert_eq!(built.connections(), Some(32));
    let missing: toml::Value = toml::from_str(&format!("account_sid = \"{SID}\"")).unwrap();
    assert!((KIND.check)(missing).is_err());
}
