//! The OVH client against a tiny local HTTP server: the exact signed request, OVH's clock, and
//! every answer mapped to its retry class (sms-providers.md §3); citizens' SMS fetched from it,
//! read and deleted by signed calls (§3.5).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicUsize, Ordering},
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
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::*;
use crate::{Inbound, Message, Outcome, Provider, RetryClass};

const AK: &str = "EXAMPLEappKey000";
const AS: &str = "EXAMPLEappSecret0000000000000000";
const CK: &str = "EXAMPLEconsumerKey00000000000000";
const SERVICE: &str = "sms-ab12345-1";
const TO: &str = "+33612345678";

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Reply = Arc<dyn Fn(usize, &Seen) -> Response + Send + Sync>;

struct Fake {
    /// `http://127.0.0.1:<port>/1.0`.
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// OVH's clock minus ours, in seconds.
    offset: Arc<AtomicI64>,
    /// Most job requests the server was handling at once.
    peak: Arc<AtomicUsize>,
}

impl Fake {
    fn jobs(&self) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.method == "POST")
            .cloned()
            .collect()
    }

    fn time_requests(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.path == "/1.0/auth/time").count()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Starts a server on 127.0.0.1:0 that answers `GET /1.0/auth/time` with its clock (ours plus
/// `offset`) and every other request with `reply(n)` after `delay`, `n` counting the job
/// requests from 0. It records every request.
async fn fake(
    delay: Duration,
    offset: i64,
    reply: impl Fn(usize) -> Response + Send + Sync + 'static,
) -> Fake {
    serve(delay, offset, move |n, _| reply(n)).await
}

/// Like [`fake`], with the request (method, path, headers, body) given to `reply` too.
async fn serve(
    delay: Duration,
    offset: i64,
    reply: impl Fn(usize, &Seen) -> Response + Send + Sync + 'static,
) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let offset = Arc::new(AtomicI64::new(offset));
    let peak = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(AtomicUsize::new(0));
    let jobs = Arc::new(AtomicUsize::new(0));
    let reply: Reply = Arc::new(reply);
    let app = Router::new().fallback({
        let (seen, offset, peak) = (seen.clone(), offset.clone(), peak.clone());
        move |request: Request| {
            let (seen, offset, peak, current, jobs, reply) = (
                seen.clone(),
                offset.clone(),
                peak.clone(),
                current.clone(),
                jobs.clone(),
                reply.clone(),
            );
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let path = parts.uri.path().to_owned();
                let request = Seen {
                    method: parts.method.to_string(),
                    path: path.clone(),
                    headers: parts.headers,
                    body,
                };
                seen.lock().unwrap().push(request.clone());
                if path == "/1.0/auth/time" {
                    return (unix_now() + offset.load(Ordering::SeqCst))
                        .to_string()
                        .into_response();
                }
                let n = jobs.fetch_add(1, Ordering::SeqCst);
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                current.fetch_sub(1, Ordering::SeqCst);
                reply(n, &request)
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/1.0", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake {
        base_url,
        seen,
        offset,
        peak,
    }
}

fn json_reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn report(id: u64) -> Response {
    json_reply(
        200,
        json!({"totalCreditsRemoved": 1, "invalidReceivers": [], "ids": [id],
               "validReceivers": [TO]}),
    )
}

fn client(base_url: &str, tweak: impl FnOnce(&mut OvhConfig)) -> OvhSms {
    let mut config = OvhConfig::new(AK, AS, CK, SERVICE);
    config.base_url = base_url.to_owned();
    tweak(&mut config);
    OvhSms::new(config.validate().unwrap()).unwrap()
}

async fn send_text(sms: &OvhSms, text: &str) -> Outcome {
    let provider: &dyn Provider = sms;
    provider
        .send(Message {
            reference: "dlv_42",
            to: TO,
            text,
            ..Default::default()
        })
        .await
}

async fn send(sms: &OvhSms) -> Outcome {
    send_text(sms, "Alerte crue : évacuez la zone basse.").await
}

/// Unwraps a failure and checks the reason never leaks the number or a credential.
fn failure(outcome: Outcome) -> (RetryClass, String) {
    let Outcome::Failed { class, reason } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(
        !reason.contains("612345678"),
        "reason leaks the number: {reason}"
    );
    for secret in [AK, AS, CK] {
        assert!(
            !reason.contains(secret),
            "reason leaks a credential: {reason}"
        );
    }
    (class, reason)
}

/// The signature recomputed from scratch: `$1$` + SHA-1 of the `+`-joined parts (§3.1).
fn expected_signature(url: &str, body: &[u8], timestamp: &str) -> String {
    signature_of("POST", url, body, timestamp)
}

fn signature_of(method: &str, url: &str, body: &[u8], timestamp: &str) -> String {
    let mut signed = format!("{AS}+{CK}+{method}+{url}+").into_bytes();
    signed.extend_from_slice(body);
    signed.extend_from_slice(format!("+{timestamp}").as_bytes());
    format!("$1${}", hex::encode(Sha1::digest(&signed)))
}

#[tokio::test]
async fn accepted_jobs_are_signed_at_ovh_s_time_and_return_the_id() {
    // OVH's clock is an hour ahead of ours: the timestamp must be OVH's.
    let server = fake(Duration::ZERO, 3600, |_| report(26929925)).await;
    let sms = client(&server.base_url, |c| c.sender = Some("VilleDeX".into()));

    assert_eq!(
        send(&sms).await,
        Outcome::Accepted {
            provider_message_id: Some("26929925".into())
        }
    );

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/1.0/auth/time")
    );
    let job = &seen[1];
    assert_eq!(job.method, "POST");
    assert_eq!(job.path, format!("/1.0/sms/{SERVICE}/jobs"));
    assert_eq!(job.headers["x-ovh-application"], AK);
    assert_eq!(job.headers["x-ovh-consumer"], CK);
    assert_eq!(job.headers["content-type"], "application/json");
    let timestamp = job.headers["x-ovh-timestamp"].to_str().unwrap();
    let skew = timestamp.parse::<i64>().unwrap() - (unix_now() + 3600);
    assert!(skew.abs() <= 2, "timestamp {timestamp} is not OVH's time");
    let url = format!("{}/sms/{SERVICE}/jobs", server.base_url);
    assert_eq!(
        job.headers["x-ovh-signature"],
        expected_signature(&url, &job.body, timestamp).as_str()
    );

    let body: Value = serde_json::from_slice(&job.body).unwrap();
    assert_eq!(
        body,
        json!({
            "message": "Alerte crue : évacuez la zone basse.",
            "receivers": [TO],
            "sender": "VilleDeX",
            "noStopClause": true,
            "priority": "high",
            "charset": "UTF-8",
            "coding": "7bit",
            "class": "phoneDisplay",
            "tag": "dlv_42"
        })
    );
}

#[tokio::test]
async fn ovh_s_clock_is_read_once_for_many_sends() {
    let server = fake(Duration::ZERO, 0, |n| report(100 + n as u64)).await;
    let sms = client(&server.base_url, |_| {});
    for n in 0..3 {
        assert_eq!(
            send(&sms).await,
            Outcome::Accepted {
                provider_message_id: Some((100 + n).to_string())
            }
        );
    }
    assert_eq!(server.time_requests(), 1);
    assert_eq!(server.jobs().len(), 3);
}

#[tokio::test]
async fn ovh_s_clock_is_read_again_once_the_offset_is_old() {
    let server = fake(Duration::ZERO, 0, |_| report(1)).await;
    let mut config = OvhConfig::new(AK, AS, CK, SERVICE);
    config.base_url = server.base_url.clone();
    let sms = OvhSms::with_clock_refresh(config.validate().unwrap(), Duration::ZERO).unwrap();
    send(&sms).await;
    server.offset.store(-7200, Ordering::SeqCst);
    send(&sms).await;
    assert_eq!(server.time_requests(), 2);
    let jobs = server.jobs();
    let timestamp: i64 = jobs[1].headers["x-ovh-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((timestamp - (unix_now() - 7200)).abs() <= 2);
}

#[tokio::test]
async fn non_gsm_text_is_sent_as_8bit() {
    let server = fake(Duration::ZERO, 0, |_| report(1)).await;
    let sms = client(&server.base_url, |_| {});
    send_text(&sms, "Crue : hôpital fermé, l’accès est coupé").await;
    send_text(&sms, "Crue : 5€ {x}").await;
    let codings: Vec<Value> = server
        .jobs()
        .iter()
        .map(|j| serde_json::from_slice::<Value>(&j.body).unwrap()["coding"].clone())
        .collect();
    assert_eq!(codings, [json!("8bit"), json!("7bit")]);
}

#[tokio::test]
async fn the_short_code_validity_and_a_commune_s_sender() {
    let server = fake(Duration::ZERO, 0, |_| report(1)).await;
    let sms = client(&server.base_url, |c| {
        c.sender_for_response = true;
        c.validity_period_minutes = Some(240);
    });
    send(&sms).await;
    let provider: &dyn Provider = &sms;
    provider
        .send(Message {
            reference: "dlv_43",
            to: TO,
            text: "Crue",
            sender: Some("MAIRIEBRAS"),
            validity: Some(Duration::from_secs(90 * 60 + 1)),
            ..Default::default()
        })
        .await;
    let bodies: Vec<Value> = server
        .jobs()
        .iter()
        .map(|j| serde_json::from_slice(&j.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["senderForResponse"], true);
    assert_eq!(bodies[0].get("sender"), None);
    assert_eq!(bodies[0]["validityPeriod"], 240);
    // A commune's sender replaces the short code; the alert's life replaces the default.
    assert_eq!(bodies[1]["sender"], "MAIRIEBRAS");
    assert_eq!(bodies[1].get("senderForResponse"), None);
    assert_eq!(bodies[1]["validityPeriod"], 91);
    assert_eq!(bodies[1]["tag"], "dlv_43");
    assert_eq!(bodies[1]["noStopClause"], true);
}

#[tokio::test]
async fn without_any_sender_or_validity_those_fields_are_left_out() {
    let server = fake(Duration::ZERO, 0, |_| report(1)).await;
    send(&client(&server.base_url, |_| {})).await;
    let body: Value = serde_json::from_slice(&server.jobs()[0].body).unwrap();
    for absent in ["sender", "senderForResponse", "validityPeriod"] {
        assert_eq!(body.get(absent), None, "{absent}");
    }
}

#[tokio::test]
async fn an_invalid_receiver_is_permanent_and_masked() {
    let server = fake(Duration::ZERO, 0, |_| {
        json_reply(
            200,
            json!({"totalCreditsRemoved": 0, "invalidReceivers": [TO], "ids": [],
                   "validReceivers": []}),
        )
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert_eq!(
        reason,
        "OVH refused the number (listed in invalidReceivers)"
    );
}

#[tokio::test]
async fn a_2xx_without_a_readable_report_is_still_accepted() {
    let server = fake(Duration::ZERO, 0, |_| {
        (StatusCode::OK, "ok").into_response()
    })
    .await;
    assert_eq!(
        send(&client(&server.base_url, |_| {})).await,
        Outcome::Accepted {
            provider_message_id: None
        }
    );
}

#[tokio::test]
async fn a_401_reads_the_clock_again_and_retries_once() {
    let server = fake(Duration::ZERO, 0, |n| match n {
        0 => json_reply(401, json!({"message": "You must login first"})),
        _ => report(7),
    })
    .await;
    assert_eq!(
        send(&client(&server.base_url, |_| {})).await,
        Outcome::Accepted {
            provider_message_id: Some("7".into())
        }
    );
    assert_eq!(server.jobs().len(), 2);
    assert_eq!(server.time_requests(), 2);
}

#[tokio::test]
async fn a_skewed_timestamp_400_reads_the_clock_again_and_retries_once() {
    let server = fake(Duration::ZERO, 0, |n| match n {
        0 => json_reply(
            400,
            json!({"message": "Query out of time", "httpCode": "400 Bad Request",
                   "errorCode": "QUERY_TIME_OUT"}),
        ),
        _ => report(8),
    })
    .await;
    let outcome = send(&client(&server.base_url, |_| {})).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    assert_eq!(server.jobs().len(), 2);
}

#[tokio::test]
async fn a_401_after_the_resync_is_permanent() {
    let server = fake(Duration::ZERO, 0, |_| {
        json_reply(401, json!({"message": "You must login first"}))
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert!(reason.contains("check application_key"), "{reason}");
    assert_eq!(server.jobs().len(), 2, "one retry, not more");
}

#[tokio::test]
async fn a_bad_signature_after_the_resync_is_permanent() {
    let server = fake(Duration::ZERO, 0, |_| {
        json_reply(
            400,
            json!({"errorCode": "INVALID_SIGNATURE", "httpCode": "400 Bad Request",
                   "message": "Invalid signature"}),
        )
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert!(
        reason.starts_with("OVH HTTP 400 INVALID_SIGNATURE: Invalid signature: OVH still refused"),
        "{reason}"
    );
    assert_eq!(server.jobs().len(), 2);
}

#[tokio::test]
async fn client_errors_are_permanent_without_a_retry() {
    for (status, body, says) in [
        (
            400,
            json!({"message": "Invalid receiver +33612345678"}),
            "Invalid receiver <number>",
        ),
        (
            403,
            json!({"errorCode": "NOT_GRANTED_CALL", "message": "This call has not been granted"}),
            "OVH HTTP 403 NOT_GRANTED_CALL: This call has not been granted",
        ),
        (
            404,
            json!({"message": "This service does not exist"}),
            "check service_name",
        ),
        (409, json!({"message": "Conflict"}), "conflict"),
        (
            460,
            json!({"message": "Service expired"}),
            "expired or is suspended",
        ),
    ] {
        let server = fake(Duration::ZERO, 0, move |_| json_reply(status, body.clone())).await;
        let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
        assert_eq!(class, RetryClass::Permanent, "{status}");
        assert!(reason.contains(says), "{status}: {reason}");
        assert_eq!(server.jobs().len(), 1, "{status}");
    }
}

#[tokio::test]
async fn too_many_requests_is_rate_limited_with_retry_after() {
    let server = fake(Duration::ZERO, 0, |_| {
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
    assert_eq!(reason, "OVH HTTP 429: slow down: too many requests");
}

#[tokio::test]
async fn server_errors_are_transient_and_uncertain_except_503() {
    let server = fake(Duration::ZERO, 0, |_| {
        json_reply(500, json!({"message": "Internal server error"}))
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Uncertain);
    assert!(
        reason.ends_with("uncertain (may have been sent)"),
        "{reason}"
    );

    let server = fake(Duration::ZERO, 0, |_| {
        json_reply(503, json!({"message": "Service unavailable"}))
    })
    .await;
    let (class, reason) = failure(send(&client(&server.base_url, |_| {})).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert_eq!(reason, "OVH HTTP 503: Service unavailable");
}

#[tokio::test]
async fn a_timeout_after_the_write_is_uncertain() {
    let server = fake(Duration::from_secs(5), 0, |_| report(1)).await;
    let sms = client(&server.base_url, |c| c.timeout_ms = 200);
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Uncertain);
    assert_eq!(
        reason,
        "OVH did not answer in time: uncertain (may have been sent)"
    );
    assert_eq!(server.jobs().len(), 1, "the request did reach the server");
}

fn free_port() -> u16 {
    // Bind then drop: the port is free and nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_ovh_is_transient_and_not_sent() {
    let sms = client(&format!("http://127.0.0.1:{}/1.0", free_port()), |_| {});
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    // The clock is read first; it fails the same way, before anything is signed or sent.
    assert!(
        reason.starts_with("cannot read OVH's clock (GET /auth/time), not sent: "),
        "{reason}"
    );
    assert!(!reason.contains("uncertain"), "{reason}");
}

#[tokio::test]
async fn connection_refused_on_the_job_is_transient_and_not_sent() {
    // OVH's clock answers; the host of the jobs refuses connections.
    let server = fake(Duration::ZERO, 0, |_| report(1)).await;
    let mut config = OvhConfig::new(AK, AS, CK, SERVICE);
    config.base_url = server.base_url.clone();
    let mut config = config.validate().unwrap();
    config.jobs_url = format!("http://127.0.0.1:{}/1.0/sms/{SERVICE}/jobs", free_port())
        .parse()
        .unwrap();
    let sms = OvhSms::new(config).unwrap();
    let (class, reason) = failure(send(&sms).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("OVH unreachable, not sent: "),
        "{reason}"
    );
}

#[tokio::test]
async fn bad_numbers_fail_before_any_request() {
    let server = fake(Duration::ZERO, 0, |_| report(1)).await;
    let sms = client(&server.base_url, |_| {});
    for to in ["06 12 34 56 78", "33612345678"] {
        let provider: &dyn Provider = &sms;
        let outcome = provider
            .send(Message {
                reference: "dlv_1",
                to,
                text: "x",
                ..Default::default()
            })
            .await;
        let (class, reason) = failure(outcome);
        assert_eq!(class, RetryClass::Permanent);
        assert!(!reason.contains("06 12"), "{reason}");
    }
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn requests_in_flight_never_exceed_max_connections() {
    let server = fake(Duration::from_millis(50), 0, |_| report(1)).await;
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
    assert_eq!(server.jobs().len(), 8);
    assert_eq!(server.peak.load(Ordering::SeqCst), 2);
    assert_eq!(server.time_requests(), 1, "a burst reads the clock once");
}

#[test]
fn debug_never_shows_a_credential() {
    let sms = client("http://127.0.0.1:9/1.0", |_| {});
    let debug = format!("{sms:?}");
    for secret in [AK, AS, CK] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("[REDACTED]"));
}

#[test]
fn the_kind_is_registered_as_ovh_sms() {
    let kind = crate::registry::kind(crate::Channel::Sms, "ovh").expect("ovh is in KINDS");
    let settings: toml::Value = toml::from_str(&format!(
        "application_key = \"{AK}\"\napplication_secret = \"{AS}\"\n\
         consumer_key = \"{CK}\"\nservice_name = \"{SERVICE}\"\n"
    ))
    .unwrap();
    assert_eq!((kind.check)(settings.clone()), Ok(()));
    let provider = (kind.build)(settings, &Default::default()).unwrap();
    assert_eq!(provider.connections(), Some(32));
    let bad: toml::Value = toml::from_str("service_name = \"sms-ab12345-1\"").unwrap();
    assert!((kind.check)(bad).is_err());
}

// Citizens' SMS, fetched (§3.5).

const OTHER: &str = "+33698765432";

/// OVH's answer to `GET …/incoming/{id}`.
fn incoming(id: u64, sender: &str, message: &str) -> Value {
    json!({"creationDatetime": "2026-03-27T10:15:00+01:00", "credits": 1, "id": id,
           "message": message, "sender": sender, "tag": ""})
}

/// The SMS an OVH account holds, served as OVH does: `GET …/incoming` lists their ids (newest
/// first, to check that the oldest is taken first), `GET …/incoming/{id}` gives one,
/// `DELETE …/incoming/{id}` removes it, 404 for an id it does not hold. `scripted` answers
/// instead when it returns a response.
fn inbox(
    held: Vec<Value>,
    scripted: impl Fn(&Seen) -> Option<Response> + Send + Sync + 'static,
) -> impl Fn(usize, &Seen) -> Response + Send + Sync + 'static {
    let held: Mutex<BTreeMap<u64, Value>> = Mutex::new(
        held.into_iter()
            .map(|sms| (sms["id"].as_u64().unwrap(), sms))
            .collect(),
    );
    move |_, request| {
        if let Some(response) = scripted(request) {
            return response;
        }
        let list = format!("/1.0/sms/{SERVICE}/incoming");
        let mut held = held.lock().unwrap();
        if request.path == list && request.method == "GET" {
            return json_reply(200, json!(held.keys().rev().collect::<Vec<_>>()));
        }
        let id = request
            .path
            .strip_prefix(&format!("{list}/"))
            .and_then(|id| id.parse::<u64>().ok());
        let missing = json_reply(404, json!({"message": "This SMS does not exist"}));
        match (request.method.as_str(), id) {
            ("GET", Some(id)) => held
                .get(&id)
                .map_or(missing, |sms| json_reply(200, sms.clone())),
            ("DELETE", Some(id)) => match held.remove(&id) {
                Some(_) => json_reply(200, Value::Null),
                None => missing,
            },
            _ => json_reply(400, json!({"message": "unexpected call"})),
        }
    }
}

fn never(_: &Seen) -> Option<Response> {
    None
}

/// What a fetch read, without the ids: nothing is removed at OVH.
async fn fetch(sms: &OvhSms) -> Result<Vec<Inbound>, String> {
    let provider: &dyn Provider = sms;
    let held = provider.fetch_inbound().await?;
    Ok(held.into_iter().map(|h| h.sms).collect())
}

/// Fetches, then removes every SMS read, as the daemon does once it recorded them.
async fn fetch_and_remove(sms: &OvhSms) -> Result<Vec<Inbound>, String> {
    let provider: &dyn Provider = sms;
    let held = provider.fetch_inbound().await?;
    for h in &held {
        provider.remove_inbound(&h.id).await?;
    }
    Ok(held.into_iter().map(|h| h.sms).collect())
}

/// The calls made after the clock, as `METHOD path`.
fn calls(server: &Fake) -> Vec<String> {
    let seen = server.seen.lock().unwrap();
    seen.iter()
        .filter(|s| s.path != "/1.0/auth/time")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

/// Unwraps a failed fetch and checks its reason never leaks a number or a credential.
fn fetch_failure(result: Result<Vec<Inbound>, String>) -> String {
    let reason = result.expect_err("the fetch must fail");
    for leak in ["612345678", "698765432", AK, AS, CK] {
        assert!(!reason.contains(leak), "reason leaks {leak}: {reason}");
    }
    reason
}

#[tokio::test]
async fn incoming_sms_are_listed_read_then_deleted_once_removed_by_signed_calls() {
    // OVH's clock is an hour ahead of ours: every timestamp must be OVH's.
    let server = serve(
        Duration::ZERO,
        3600,
        inbox(
            vec![
                incoming(102, "0033698765432", "STOP"),
                incoming(101, TO, "ALERTE reçue, merci"),
            ],
            never,
        ),
    )
    .await;
    let sms = client(&server.base_url, |_| {});

    assert_eq!(
        fetch_and_remove(&sms).await,
        Ok(vec![
            Inbound {
                from: TO.into(),
                text: "ALERTE reçue, merci".into()
            },
            Inbound {
                from: OTHER.into(),
                text: "STOP".into()
            },
        ])
    );
    let incoming = format!("/1.0/sms/{SERVICE}/incoming");
    assert_eq!(
        calls(&server),
        [
            format!("GET {incoming}"),
            format!("GET {incoming}/101"),
            format!("GET {incoming}/102"),
            format!("DELETE {incoming}/101"),
            format!("DELETE {incoming}/102"),
        ]
    );
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/1.0/auth/time");
    for call in &seen[1..] {
        assert_eq!(call.headers["x-ovh-application"], AK);
        assert_eq!(call.headers["x-ovh-consumer"], CK);
        assert!(call.body.is_empty(), "{call:?}");
        assert_eq!(call.headers.get("content-type"), None);
        let timestamp = call.headers["x-ovh-timestamp"].to_str().unwrap();
        let skew = timestamp.parse::<i64>().unwrap() - (unix_now() + 3600);
        assert!(skew.abs() <= 2, "timestamp {timestamp} is not OVH's time");
        // Signed over the full URL (`…/1.0` prefix included) and an empty body.
        let url = format!("{}{}", server.base_url.trim_end_matches("/1.0"), call.path);
        assert_eq!(
            call.headers["x-ovh-signature"],
            signature_of(&call.method, &url, b"", timestamp).as_str(),
            "{} {}",
            call.method,
            call.path
        );
    }
    drop(seen);

    // Both were deleted: the next fetch finds none, with the same clock.
    assert_eq!(fetch(&sms).await, Ok(vec![]));
    assert_eq!(calls(&server).len(), 6);
    assert_eq!(server.time_requests(), 1);
}

#[tokio::test]
async fn an_sms_whose_sender_is_no_number_is_deleted_not_passed_on() {
    let server = serve(
        Duration::ZERO,
        0,
        inbox(
            vec![
                incoming(1, "VILLEDEX", "pub"),
                incoming(2, "0612345678", "national"),
                incoming(3, "+33612345678", "OUI"),
            ],
            never,
        ),
    )
    .await;
    let sms = client(&server.base_url, |_| {});
    assert_eq!(
        fetch(&sms).await,
        Ok(vec![Inbound {
            from: TO.into(),
            text: "OUI".into()
        }])
    );
    let deleted = || {
        calls(&server)
            .into_iter()
            .filter(|c| c.starts_with("DELETE"))
            .count()
    };
    // The two that reach no one at once; the citizen's once it is recorded.
    assert_eq!(deleted(), 2);
    assert_eq!(fetch_and_remove(&sms).await.map(|s| s.len()), Ok(1));
    assert_eq!(deleted(), 3);
}

#[tokio::test]
async fn a_refused_list_is_an_error_without_secrets_or_numbers() {
    let server = serve(
        Duration::ZERO,
        0,
        inbox(vec![incoming(1, TO, "x")], |_| {
            Some(json_reply(
                403,
                json!({"errorCode": "NOT_GRANTED_CALL",
                       "message": "This call has not been granted for 0033612345678"}),
            ))
        }),
    )
    .await;
    let reason = fetch_failure(fetch(&client(&server.base_url, |_| {})).await);
    assert!(
        reason.starts_with("GET /sms/{serviceName}/incoming: OVH HTTP 403 NOT_GRANTED_CALL"),
        "{reason}"
    );
    assert!(reason.contains("DELETE /sms/*/incoming/*"), "{reason}");
    assert_eq!(calls(&server).len(), 1);

    let server = fake(Duration::ZERO, 0, |_| {
        json_reply(500, json!({"message": "Internal server error"}))
    })
    .await;
    let reason = fetch_failure(fetch(&client(&server.base_url, |_| {})).await);
    assert_eq!(
        reason,
        "GET /sms/{serviceName}/incoming: OVH HTTP 500: Internal server error"
    );

    let server = fake(Duration::ZERO, 0, |_| json_reply(200, json!({"ids": [1]}))).await;
    let reason = fetch_failure(fetch(&client(&server.base_url, |_| {})).await);
    assert!(reason.contains("not a list of numeric ids"), "{reason}");
}

#[tokio::test]
async fn a_failed_read_is_an_error_and_deletes_nothing() {
    let server = serve(
        Duration::ZERO,
        0,
        inbox(vec![incoming(1, TO, "x")], |request| {
            (request.method == "GET" && request.path.ends_with("/incoming/1"))
                .then(|| json_reply(503, json!({"message": "Service unavailable"})))
        }),
    )
    .await;
    let reason = fetch_failure(fetch(&client(&server.base_url, |_| {})).await);
    assert_eq!(
        reason,
        "GET /sms/{serviceName}/incoming/{id}: OVH HTTP 503: Service unavailable"
    );
    assert!(calls(&server).iter().all(|c| !c.starts_with("DELETE")));
}

#[tokio::test]
async fn a_refused_removal_is_an_error_and_the_sms_stays_at_ovh() {
    let server = serve(
        Duration::ZERO,
        0,
        inbox(vec![incoming(1, TO, "x")], |request| {
            (request.method == "DELETE").then(|| {
                json_reply(
                    403,
                    json!({"errorCode": "NOT_GRANTED_CALL",
                           "message": "This call has not been granted"}),
                )
            })
        }),
    )
    .await;
    let sms = client(&server.base_url, |_| {});
    let reason = fetch_failure(fetch_and_remove(&sms).await);
    assert!(
        reason.starts_with("DELETE /sms/{serviceName}/incoming/{id}: OVH HTTP 403"),
        "{reason}"
    );
    let incoming = format!("/1.0/sms/{SERVICE}/incoming");
    assert_eq!(
        calls(&server),
        [
            format!("GET {incoming}"),
            format!("GET {incoming}/1"),
            format!("DELETE {incoming}/1"),
        ]
    );
    // Still there: the next fetch reads it again.
    assert_eq!(fetch(&sms).await.map(|s| s.len()), Ok(1));
}

#[tokio::test]
async fn once_an_sms_was_read_a_later_failure_returns_it_and_deletes_nothing() {
    let server = serve(
        Duration::ZERO,
        0,
        inbox(
            vec![incoming(1, TO, "premier"), incoming(2, OTHER, "second")],
            |request| {
                request
                    .path
                    .ends_with("/incoming/2")
                    .then(|| json_reply(500, json!({"message": "Internal server error"})))
            },
        ),
    )
    .await;
    let sms = client(&server.base_url, |_| {});
    assert_eq!(
        fetch(&sms).await,
        Ok(vec![Inbound {
            from: TO.into(),
            text: "premier".into()
        }])
    );
    let incoming = format!("/1.0/sms/{SERVICE}/incoming");
    assert_eq!(
        calls(&server),
        [
            format!("GET {incoming}"),
            format!("GET {incoming}/1"),
            format!("GET {incoming}/2"),
        ]
    );
}

/// Regression: the SMS was deleted at OVH as soon as it was read, and a database hiccup before
/// it was recorded lost it (a STOP above all). A fetch now deletes nothing the daemon has not
/// recorded: whatever happens before the removal, the next fetch reads it again.
#[tokio::test]
async fn an_sms_not_removed_is_read_again_by_the_next_fetch() {
    let server = serve(
        Duration::ZERO,
        0,
        inbox(vec![incoming(1, TO, "STOP")], never),
    )
    .await;
    let sms = client(&server.base_url, |_| {});
    let stop = Inbound {
        from: TO.into(),
        text: "STOP".into(),
    };
    assert_eq!(fetch(&sms).await, Ok(vec![stop.clone()]));
    assert_eq!(fetch(&sms).await, Ok(vec![stop.clone()]));
    assert_eq!(fetch_and_remove(&sms).await, Ok(vec![stop]));
    assert_eq!(fetch(&sms).await, Ok(vec![]));
    // Removing one that is gone already (another instance removed it) is no error.
    let provider: &dyn Provider = &sms;
    assert_eq!(provider.remove_inbound("1").await, Ok(()));
}

#[tokio::test]
async fn a_401_on_a_fetch_reads_the_clock_again_and_retries_once() {
    let refused = Arc::new(AtomicUsize::new(0));
    let server = serve(
        Duration::ZERO,
        0,
        inbox(vec![incoming(1, TO, "OUI")], {
            let refused = refused.clone();
            move |_| {
                (refused.fetch_add(1, Ordering::SeqCst) == 0)
                    .then(|| json_reply(401, json!({"message": "You must login first"})))
            }
        }),
    )
    .await;
    let result = fetch(&client(&server.base_url, |_| {})).await;
    assert_eq!(result.map(|sms| sms.len()), Ok(1));
    assert_eq!(server.time_requests(), 2);
    assert_eq!(
        calls(&server).len(),
        3,
        "the list asked twice, then one read"
    );
}

#[tokio::test]
async fn an_unreachable_ovh_is_a_fetch_error() {
    let sms = client(&format!("http://127.0.0.1:{}/1.0", free_port()), |_| {});
    let reason = fetch_failure(fetch(&sms).await);
    assert!(
        reason.starts_with(
            "GET /sms/{serviceName}/incoming: cannot read OVH's clock (GET /auth/time): "
        ),
        "{reason}"
    );
}
