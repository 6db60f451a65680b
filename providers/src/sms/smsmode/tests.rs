//! The smsmode client against a tiny local HTTP server: the exact request, and every answer
//! mapped to its retry class (sms-providers.md §1.2.2).

use std::{
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
use serde_json::{Value, json};

use super::*;
use crate::{Message, Outcome, Provider, RetryClass};

const KEY: &str = "AbCdEf0123456789";
const TO: &str = "+33612345678";

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Reply = Arc<dyn Fn() -> Response + Send + Sync>;

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
    let reply: Reply = Arc::new(reply);
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

fn resource(status_value: &str, detail: Option<&str>) -> Value {
    let mut status = json!({"deliveryDate": "2026-11-14T12:00:00", "value": status_value});
    if let Some(detail) = detail {
        status["detail"] = json!(detail);
    }
    json!({
        "messageId": "67c15045-1067-4588-ba3c-737cc5051438",
        "acceptedAt": "2026-11-14T12:00:00",
        "channel": {"channelId": "cbc76dcd", "name": "alertes", "type": "SMS",
                    "flow": "TRANSACTIONAL"},
        "type": "SMS", "direction": "MT",
        "recipient": {"to": "33612345678"}, "from": "VilleDeX",
        "body": {"text": "Crue", "encoding": "GSM7", "messagePartCount": 1, "length": 4},
        "status": status,
        "refClient": "dlv_42",
        "href": "https://rest.smsmode.com/sms/v1/messages/67c15045-1067-4588-ba3c-737cc5051438"
    })
}

fn problem(status: u16, code: &str, title: &str, message: &str, detail: &str) -> Value {
    json!({"title": title, "message": message, "detail": detail,
           "type": format!("https://dev.smsmode.com/commons/errors/{code}"),
           "status": status.to_string(), "errorCode": code})
}

fn client(base_url: &str, tweak: impl FnOnce(&mut SmsmodeConfig)) -> SmsmodeSms {
    let mut config = SmsmodeConfig::new(KEY);
    config.base_url = base_url.to_owned();
    tweak(&mut config);
    SmsmodeSms::new(config.validate().unwrap()).unwrap()
}

async fn send(sms: &SmsmodeSms) -> Outcome {
    let provider: &dyn Provider = sms;
    provider
        .send(Message {
            subject: "",
            reference: "dlv_42",
            to: TO,
            text: "Crue : évitez les quais",
            ..Default::default()
        })
        .await
}

/// Unwraps a failure and checks the reason never leaks the number or the key.
fn failure(outcome: Outcome) -> (RetryClass, String) {
    let Outcome::Failed { class, reason } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(
        !reason.contains("612345678"),
        "reason leaks the number: {reason}"
    );
    assert!(!reason.contains(KEY), "reason leaks the key: {reason}");
    (class, reason)
}

#[tokio::test]
async fn created_sends_the_documented_request_and_returns_the_message_id() {
    let server = fake(Duration::ZERO, || {
        json_reply(201, resource("ENROUTE", None))
    })
    .await;
    let sms = client(&server.base_url, |c| {
        c.sender = Some("VilleDeX".into());
        c.status_callback_url = Some("https://tocsin.example/cb/smsmode/t0k3n/status".into());
    });

    assert_eq!(
        send(&sms).await,
        Outcome::Accepted {
            provider_message_id: Some("67c15045-1067-4588-ba3c-737cc5051438".into())
        }
    );

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms/v1/messages");
    assert_eq!(request.headers["x-api-key"], KEY);
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["accept"], "application/json");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "recipient": {"to": "33612345678"},
            "body": {"text": "Crue : évitez les quais"},
            "refClient": "dlv_42",
            "from": "VilleDeX",
            "callbackUrlStatus": "https://tocsin.example/cb/smsmode/t0k3n/status"
        })
    );
}

#[tokio::test]
async fn without_sender_or_callback_those_fields_are_left_out() {
    let server = fake(Duration::ZERO, || {
        json_reply(200, resource("SCHEDULED", None))
    })
    .await;
    let sms = client(&format!("{}/", server.base_url), |_| {});
    assert!(matches!(
        send(&sms).await,
        Outcome::Accepted {
            provider_message_id: Some(_)
        }
    ));
    let body: Value = serde_json::from_slice(&server.seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(
        body,
        json!({"recipient": {"to": "33612345678"}, "body": {"text": "Crue : évitez les quais"},
               "refClient": "dlv_42"})
    );
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
async fn undeliverable_in_a_2xx_is_permanent() {
    for detail in ["INVALID_PHONE_NUMBER", "BLACKLISTED"] {
        let server = fake(Duration::ZERO, move || {
            json_reply(201, resource("UNDELIVERABLE", Some(detail)))
        })
        .await;
        let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
        let expected = if detail == "BLACKLISTED" {
            RetryClass::OptedOut
        } else {
            RetryClass::Permanent
        };
        assert_eq!(class, expected);
        assert_eq!(
            reason,
            format!("smsmode refused the message: status UNDELIVERABLE ({detail})")
        );
    }
}

#[tokio::test]
async fn bad_request_is_permanent_with_the_problem_in_the_reason() {
    let server = fake(Duration::ZERO, || {
        json_reply(
            400,
            problem(
                400,
                "400.001",
                "Bad Request",
                "Invalid recipient 33612345678",
                "Bad format",
            ),
        )
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert_eq!(
        reason,
        "smsmode 400.001: Bad Request: Invalid recipient <number> (Bad format)"
    );
}

#[tokio::test]
async fn other_client_errors_are_permanent() {
    for status in [404, 405, 406, 415] {
        let server = fake(Duration::ZERO, move || {
            StatusCode::from_u16(status).unwrap().into_response()
        })
        .await;
        let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
        assert_eq!(class, RetryClass::Permanent, "{status}");
        assert_eq!(reason, format!("smsmode HTTP {status}: (no error details)"));
    }
}

#[tokio::test]
async fn refused_key_is_permanent_and_says_so() {
    for status in [401, 403] {
        let server = fake(Duration::ZERO, move || {
            json_reply(
                status,
                problem(status, &format!("{status}.000"), "Unauthorized", "", ""),
            )
        })
        .await;
        let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
        assert_eq!(class, RetryClass::Permanent);
        assert!(reason.contains("smsmode refused the API key"), "{reason}");
        assert!(
            reason.starts_with(&format!("smsmode {status}.000: Unauthorized")),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn too_many_requests_is_rate_limited_with_retry_after() {
    let server = fake(Duration::ZERO, || {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "7")],
            "slow down",
        )
            .into_response()
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(
        class,
        RetryClass::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(reason, "smsmode HTTP 429: slow down");

    let server = fake(Duration::ZERO, || {
        StatusCode::TOO_MANY_REQUESTS.into_response()
    })
    .await;
    let (class, _) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::RateLimited { retry_after: None });
}

#[tokio::test]
async fn service_unavailable_is_transient_and_not_sent() {
    let server = fake(Duration::ZERO, || {
        json_reply(
            503,
            problem(503, "503.000", "Service Unavailable", "maintenance", ""),
        )
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert_eq!(reason, "smsmode 503.000: Service Unavailable: maintenance");
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
            format!("smsmode HTTP {status}: <html>oops</html>: uncertain (may have been sent)")
        );
    }
}

#[tokio::test]
async fn a_timeout_after_the_write_is_uncertain() {
    let server = fake(Duration::from_secs(5), || {
        json_reply(201, resource("ENROUTE", None))
    })
    .await;
    let sms = client(&server.base_url, |c| c.timeout_ms = 200);
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Uncertain);
    assert_eq!(
        reason,
        "smsmode did not answer in time: uncertain (may have been sent)"
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
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("smsmode unreachable, not sent: "),
        "{reason}"
    );
    assert!(!reason.contains("uncertain"), "{reason}");
}

#[tokio::test]
async fn bad_numbers_fail_before_any_request() {
    let server = fake(Duration::ZERO, || {
        json_reply(201, resource("ENROUTE", None))
    })
    .await;
    let sms = client(&server.base_url, |_| {});
    let outcome = sms
        .send(Message {
            subject: "",
            reference: "dlv_1",
            to: "06 12 34 56 78",
            text: "x",
            ..Default::default()
        })
        .await;
    let (class, reason) = failure(outcome);
    assert_eq!(class, RetryClass::Permanent);
    assert!(!reason.contains("06 12"), "{reason}");
    let long_reference = "r".repeat(141);
    let outcome = sms
        .send(Message {
            subject: "",
            reference: &long_reference,
            to: TO,
            text: "x",
            ..Default::default()
        })
        .await;
    assert_eq!(failure(outcome).0, RetryClass::Permanent);
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn requests_in_flight_never_exceed_max_connections() {
    let server = fake(Duration::from_millis(50), || {
        json_reply(201, resource("ENROUTE", None))
    })
    .await;
    let sms = Arc::new(client(&server.base_url, |c| c.max_connections = 2));
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
fn debug_never_shows_the_key() {
    let sms = client("http://127.0.0.1:9", |_| {});
    let debug = format!("{sms:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("[REDACTED]"));
}

#[tokio::test]
async fn a_commune_s_sender_and_callback_replace_the_account_s() {
    let server = fake(Duration::ZERO, || {
        json_reply(201, resource("ENROUTE", None))
    })
    .await;
    let sms = client(&server.base_url, |c| {
        c.sender = Some("PLATEFORME".into());
        c.status_callback_url = Some("https://tocsin.example/cb/platform".into());
    });
    let provider: &dyn Provider = &sms;
    let outcome = provider
        .send(Message {
            reference: "dlv_42",
            to: TO,
            text: "Crue",
            sender: Some("MAIRIEBRAS"),
            status_callback: Some("https://tocsin.example/cb/smsmode/bras-token/status"),
            ..Default::default()
        })
        .await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let seen = server.seen.lock().unwrap().clone();
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["from"], "MAIRIEBRAS");
    assert_eq!(
        body["callbackUrlStatus"],
        "https://tocsin.example/cb/smsmode/bras-token/status"
    );
}
