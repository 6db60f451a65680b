//! A stand-in for OVHcloud's SMS API, following reference/sms-providers.md §3: the
//! unauthenticated `GET /1.0/auth/time` (its clock, as plain Unix seconds) and the signed
//! `POST /1.0/sms/{serviceName}/jobs`, answering the sending report with fresh numeric ids. It
//! **verifies the signature** the way OVH does, from the application secret and consumer key it
//! was started with, the full URL it was called at, the exact body bytes and the timestamp; it
//! records what it accepted and answers what the test scripts. It also calls a receipt URL the
//! way OVH calls an account's `callBack` ([`call_receipt_url`]).
//!
//! Citizens' SMS to the account (§3.5) are queued by [`OvhStandin::receive`] and served, signed
//! and checked the same way (over an empty body), by `GET /1.0/sms/{serviceName}/incoming`
//! (their ids), `GET /1.0/sms/{serviceName}/incoming/{id}` (one SMS) and
//! `DELETE /1.0/sms/{serviceName}/incoming/{id}`. The list's filters (`sender`, `tag`,
//! `creationDatetime.from/.to`) are not implemented; a GET or DELETE with a body is refused.
//!
//! Error bodies are the ones OVH sends, as seen in public reports (python-ovh, php-ovh issues):
//! `{"message": …}` plus `errorCode` and `httpCode` where OVH gives them. A timestamp more than
//! [`MAX_SKEW_SECONDS`] from its clock gets OVH's `400 QUERY_TIME_OUT "Query out of time"`, a
//! wrong signature `400 INVALID_SIGNATURE "Invalid signature"`.
//!
//! Stricter than OVH on purpose, to catch our mistakes: unknown body fields are refused, jobs
//! must list `receivers` (no CSV documents), and `sender` with `senderForResponse: true` is
//! refused. Looser: any sender is taken as declared on the account.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};

mod incoming;
mod receipt;

pub use receipt::{OvhDlr, call_receipt_url};

use incoming::IncomingSms;

/// How far a request's `X-Ovh-Timestamp` may be from the stand-in's clock. OVH publishes no
/// figure; this one is small enough for tests to exercise a resync.
pub const MAX_SKEW_SECONDS: i64 = 30;

/// Body fields of `POST /sms/{serviceName}/jobs` (§3.2).
const FIELDS: [&str; 14] = [
    "message",
    "receivers",
    "receiversDocumentUrl",
    "receiversSlotId",
    "sender",
    "senderForResponse",
    "noStopClause",
    "priority",
    "coding",
    "charset",
    "class",
    "validityPeriod",
    "differedPeriod",
    "tag",
];

/// Ids handed out by every stand-in of this process, so that two never give the same one.
static NEXT_ID: AtomicU64 = AtomicU64::new(26_929_925);

/// One SMS the stand-in accepted: one receiver of a job, with the id it answered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// The `serviceName` of the URL.
    pub service_name: String,
    /// The receiver, as sent (`+33612345678`).
    pub receiver: String,
    pub message: String,
    /// `sender`, when the job named one.
    pub sender: Option<String>,
    /// `senderForResponse`; `false` when absent.
    pub sender_for_response: bool,
    /// `noStopClause`; `false` when absent (OVH's default: commercial, STOP added).
    pub no_stop_clause: bool,
    pub priority: Option<String>,
    /// `coding` (`7bit` or `8bit`).
    pub coding: Option<String>,
    pub charset: Option<String>,
    pub class: Option<String>,
    /// `validityPeriod`, in minutes.
    pub validity_period: Option<u64>,
    pub tag: Option<String>,
    /// The id answered in `ids` for this receiver, which OVH's receipts carry as `id`.
    pub id: u64,
    /// When the stand-in took it.
    pub at: Instant,
}

impl ReceivedSms {
    /// A delivery report for this SMS with the given `ptt`, as OVH would send it.
    pub fn receipt(&self, ptt: u16) -> OvhDlr {
        OvhDlr::new(self.id, ptt)
    }
}

/// What the stand-in answers instead of accepting a job to one receiver.
#[derive(Debug, Clone)]
enum Scripted {
    /// This status, with this `errorCode` if any, this many more times.
    Fail {
        status: u16,
        error_code: Option<String>,
        left: u32,
    },
    /// List the receiver in `invalidReceivers`.
    Invalid,
}

struct Inner {
    application_key: String,
    application_secret: String,
    consumer_key: String,
    service_name: String,
    base_url: String,
    /// The stand-in's clock minus the machine's, in seconds.
    clock_offset: AtomicI64,
    received: Mutex<Vec<ReceivedSms>>,
    scripted: Mutex<HashMap<String, Scripted>>,
    requests: AtomicUsize,
    time_requests: AtomicUsize,
    /// Citizens' SMS waiting to be fetched, by id.
    incoming: Mutex<BTreeMap<u64, IncomingSms>>,
    incoming_requests: AtomicUsize,
    /// How long a send's answer waits after the SMS is recorded, in milliseconds.
    answer_delay_ms: std::sync::atomic::AtomicU64,
}

/// A running stand-in; the server stops when this is dropped.
pub struct OvhStandin {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for OvhStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl OvhStandin {
    /// Binds 127.0.0.1:0 and serves, in a background task, one SMS account (`service_name`,
    /// e.g. `sms-ab12345-1`) reachable with these credentials. Call it inside a Tokio runtime.
    pub fn start(
        application_key: &str,
        application_secret: &str,
        consumer_key: &str,
        service_name: &str,
    ) -> OvhStandin {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("OvhStandin::start must run inside a Tokio runtime");
        let addr = listener.local_addr().expect("local address");

        let inner = Arc::new(Inner {
            application_key: application_key.to_owned(),
            application_secret: application_secret.to_owned(),
            consumer_key: consumer_key.to_owned(),
            service_name: service_name.to_owned(),
            base_url: format!("http://{addr}/1.0"),
            clock_offset: AtomicI64::new(0),
            received: Mutex::new(Vec::new()),
            scripted: Mutex::new(HashMap::new()),
            requests: AtomicUsize::new(0),
            time_requests: AtomicUsize::new(0),
            incoming: Mutex::new(BTreeMap::new()),
            incoming_requests: AtomicUsize::new(0),
            answer_delay_ms: std::sync::atomic::AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/1.0/auth/time", get(auth_time))
            .route("/1.0/sms/{service_name}/jobs", post(create_job))
            .route(
                "/1.0/sms/{service_name}/incoming",
                get(incoming::list_incoming),
            )
            .route(
                "/1.0/sms/{service_name}/incoming/{id}",
                get(incoming::read_incoming).delete(incoming::delete_incoming),
            )
            .fallback(not_found)
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("OVH stand-in server");
        });
        OvhStandin { inner, server }
    }

    /// `http://127.0.0.1:<port>/1.0`, to use as the adapter's `base_url`.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// Every SMS accepted so far, one per receiver, in arrival order.
    pub fn received(&self) -> Vec<ReceivedSms> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Answers sends this much later than it records them (and their ids): a receipt can then
    /// reach Tocsin before the send's answer does, as with a fast provider.
    pub fn set_answer_delay(&self, delay: Duration) {
        self.inner
            .answer_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Forgets what was accepted so far; scripts, the clock offset and the received SMS waiting
    /// to be fetched stay.
    pub fn reset(&self) {
        self.inner.received.lock().unwrap().clear();
    }

    /// Every request so far to the jobs endpoint or an unknown path, accepted or not.
    pub fn request_count(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// How many times `GET /1.0/auth/time` was asked.
    pub fn time_request_count(&self) -> usize {
        self.inner.time_requests.load(Ordering::SeqCst)
    }

    /// Sets the stand-in's clock to the machine's plus `seconds` (negative: behind). A client
    /// that learnt the old offset now sends stale timestamps and must read `/auth/time` again.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.inner.clock_offset.store(seconds, Ordering::SeqCst);
    }

    /// The stand-in's clock, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// The next `times` jobs that list `to` (`+33612345678`) get `http_status` with OVH's error
    /// body: `{"message": …}`, plus `"errorCode"` when given (403 `NOT_GRANTED_CALL`,
    /// `INVALID_CREDENTIAL` …). Checked after authentication and validation; the jobs after
    /// those are accepted again.
    pub fn fail_receiver(&self, to: &str, http_status: u16, error_code: Option<&str>, times: u32) {
        assert!(
            StatusCode::from_u16(http_status).is_ok_and(|s| !s.is_success()),
            "fail_receiver: {http_status} is not an error status"
        );
        self.script(
            to,
            Scripted::Fail {
                status: http_status,
                error_code: error_code.map(str::to_owned),
                left: times,
            },
        );
    }

    /// From now on, jobs to `to` are answered 200 with `to` in `invalidReceivers` and no id
    /// for it, as OVH does for numbers it refuses.
    pub fn invalid_receiver(&self, to: &str) {
        self.script(to, Scripted::Invalid);
    }

    /// Jobs to `to` are accepted again.
    pub fn accept_receiver(&self, to: &str) {
        self.inner.scripted.lock().unwrap().remove(to);
    }

    /// Waits until at least `n` SMS were accepted and returns them all; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedSms> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if started.elapsed() >= timeout {
                let shown = &received[..received.len().min(5)];
                panic!(
                    "OVH stand-in: waited {timeout:?} for {n} SMS but accepted only {} ({} \
                     requests in all); first accepted: {shown:#?}",
                    received.len(),
                    self.request_count(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A citizen's SMS to the account, from `from` (as OVH shows senders: `+33612345678` or
    /// `0033612345678`; kept as given), queued for `GET …/incoming` with a fresh numeric id,
    /// the time now as `creationDatetime`, `credits: 1` and `tag: ""`. Returns its id.
    pub fn receive(&self, from: &str, text: &str) -> u64 {
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        self.inner
            .incoming
            .lock()
            .unwrap()
            .insert(id, IncomingSms::new(id, from, text));
        id
    }

    /// How many received SMS wait to be fetched (queued and not deleted yet).
    pub fn incoming_count(&self) -> usize {
        self.inner.incoming.lock().unwrap().len()
    }

    /// Every request so far to `…/incoming` and `…/incoming/{id}`, accepted or not.
    pub fn incoming_request_count(&self) -> usize {
        self.inner.incoming_requests.load(Ordering::SeqCst)
    }

    fn script(&self, to: &str, scripted: Scripted) {
        self.inner
            .scripted
            .lock()
            .unwrap()
            .insert(to.to_owned(), scripted);
    }
}

impl Inner {
    fn now(&self) -> i64 {
        unix_now() + self.clock_offset.load(Ordering::SeqCst)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `$1$` + lowercase hex SHA-1 of `AS+CK+METHOD+FULL_URL+BODY+TIMESTAMP` (§3.1).
pub fn ovh_signature(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    full_url: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    let mut signed = Vec::with_capacity(body.len() + full_url.len() + 128);
    for part in [
        application_secret.as_bytes(),
        consumer_key.as_bytes(),
        method.as_bytes(),
        full_url.as_bytes(),
        body,
    ] {
        signed.extend_from_slice(part);
        signed.push(b'+');
    }
    signed.extend_from_slice(timestamp.as_bytes());
    format!("$1${}", hex::encode(Sha1::digest(&signed)))
}

async fn auth_time(State(inner): State<Arc<Inner>>) -> Response {
    inner.time_requests.fetch_add(1, Ordering::SeqCst);
    // OVH answers a bare number, as JSON; clients read it as plain text.
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        inner.now().to_string(),
    )
        .into_response()
}

async fn create_job(
    State(inner): State<Arc<Inner>>,
    Path(service_name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if let Err((status, error_code, message)) =
        authenticate(&inner, &Method::POST, &uri, &headers, &body)
    {
        return ovh_error(status, error_code, message);
    }
    if service_name != inner.service_name {
        return ovh_error(
            404,
            None,
            &format!("The requested object (serviceName = {service_name}) does not exist"),
        );
    }
    let job = match Job::parse(&headers, &body) {
        Ok(job) => job,
        Err(problem) => return ovh_error(400, None, &problem),
    };

    // Scripted failures first: one receiver's failure fails the whole job, as a real error would.
    let mut refused = Vec::new();
    {
        let mut scripts = inner.scripted.lock().unwrap();
        for to in &job.receivers {
            match scripts.get_mut(to) {
                Some(Scripted::Fail {
                    status,
                    error_code,
                    left,
                }) if *left > 0 => {
                    *left -= 1;
                    return ovh_error(*status, error_code.as_deref(), "Scripted failure");
                }
                Some(Scripted::Invalid) => refused.push(to.clone()),
                _ => {}
            }
        }
    }

    let (mut ids, mut valid, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    for to in &job.receivers {
        if refused.contains(to) || !is_international(to) {
            invalid.push(to.clone());
            continue;
        }
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        ids.push(id);
        valid.push(to.clone());
        inner
            .received
            .lock()
            .unwrap()
            .push(job.received(&service_name, to, id));
    }
    let credits = sms_count(&job.message) * valid.len();
    // Recorded (with its id) before the answer leaves: a test can report on it meanwhile.
    let delay = inner.answer_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    Json(json!({
        "totalCreditsRemoved": credits,
        "invalidReceivers": invalid,
        "ids": ids,
        "validReceivers": valid,
    }))
    .into_response()
}

/// OVH's refusal of a request: status, `errorCode` if any, message.
type Refusal = (u16, Option<&'static str>, &'static str);

/// Checks the four `X-Ovh-*` headers as OVH does, the signature over `method`, the full URL
/// called and `body` (empty for GET and DELETE).
fn authenticate(
    inner: &Inner,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(application), Some(consumer), Some(timestamp), Some(signature)) = (
        header("x-ovh-application"),
        header("x-ovh-consumer"),
        header("x-ovh-timestamp"),
        header("x-ovh-signature"),
    ) else {
        return Err((401, None, "You must login first"));
    };
    if application != inner.application_key {
        return Err((403, Some("INVALID_KEY"), "Invalid application key"));
    }
    if consumer != inner.consumer_key {
        return Err((
            403,
            Some("INVALID_CREDENTIAL"),
            "This credential is not valid",
        ));
    }
    match timestamp.parse::<i64>() {
        Ok(t) if (t - inner.now()).abs() <= MAX_SKEW_SECONDS => {}
        Ok(_) => return Err((400, Some("QUERY_TIME_OUT"), "Query out of time")),
        Err(_) => return Err((400, None, "Invalid timestamp")),
    }
    // The full URL the client called: its Host header and the request target.
    let host = header("host").unwrap_or_default();
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let full_url = format!("http://{host}{target}");
    let expected = ovh_signature(
        &inner.application_secret,
        &inner.consumer_key,
        method.as_str(),
        &full_url,
        body,
        timestamp,
    );
    if signature != expected {
        return Err((400, Some("INVALID_SIGNATURE"), "Invalid signature"));
    }
    Ok(())
}

/// A job's body, checked field by field (§3.2).
struct Job {
    message: String,
    receivers: Vec<String>,
    fields: Map<String, Value>,
}

impl Job {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Job, String> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err("Invalid content type: expected application/json".into());
        }
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return Err("Invalid JSON body".into());
        };
        if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(format!("Invalid parameter {unknown}"));
        }
        let message = match fields.get("message") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            Some(Value::String(_)) | None => return Err("Missing parameter message".into()),
            Some(_) => return Err("Invalid type for parameter message".into()),
        };
        if fields.contains_key("receiversDocumentUrl") || fields.contains_key("receiversSlotId") {
            return Err("The stand-in only takes receivers (no CSV documents)".into());
        }
        let receivers = match fields.get("receivers") {
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|r| r.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("Invalid type for parameter receivers")?,
            _ => return Err("Missing parameter receivers".into()),
        };
        let kind = |key: &str, ok: &dyn Fn(&Value) -> bool| match fields.get(key) {
            Some(value) if !ok(value) => Err(format!("Invalid value for parameter {key}")),
            _ => Ok(()),
        };
        let one_of = |values: &'static [&'static str]| {
            move |v: &Value| v.as_str().is_some_and(|s| values.contains(&s))
        };
        // OVH's own words for a long sender: "must have less than 14 chars for value sender".
        kind("sender", &|v| {
            v.as_str().is_some_and(|s| !s.is_empty() && s.len() < 14)
        })?;
        kind("senderForResponse", &Value::is_boolean)?;
        kind("noStopClause", &Value::is_boolean)?;
        kind("priority", &one_of(&["high", "medium", "low", "veryLow"]))?;
        kind("coding", &one_of(&["7bit", "8bit"]))?;
        kind("charset", &one_of(&["UTF-8"]))?;
        kind(
            "class",
            &one_of(&["flash", "phoneDisplay", "sim", "toolkit"]),
        )?;
        kind("validityPeriod", &Value::is_u64)?;
        kind("differedPeriod", &Value::is_u64)?;
        kind("tag", &Value::is_string)?;
        if fields.contains_key("sender") && fields.get("senderForResponse") == Some(&json!(true)) {
            return Err("sender and senderForResponse cannot be used together".into());
        }
        Ok(Job {
            message,
            receivers,
            fields,
        })
    }

    fn received(&self, service_name: &str, receiver: &str, id: u64) -> ReceivedSms {
        let text = |key: &str| {
            self.fields
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let flag = |key: &str| {
            self.fields
                .get(key)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        ReceivedSms {
            service_name: service_name.to_owned(),
            receiver: receiver.to_owned(),
            message: self.message.clone(),
            sender: text("sender"),
            sender_for_response: flag("senderForResponse"),
            no_stop_clause: flag("noStopClause"),
            priority: text("priority"),
            coding: text("coding"),
            charset: text("charset"),
            class: text("class"),
            validity_period: self.fields.get("validityPeriod").and_then(Value::as_u64),
            tag: text("tag"),
            id,
            at: Instant::now(),
        }
    }
}

/// `+` then 7 to 15 digits: OVH refuses local forms such as `06…` (§3.2).
fn is_international(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

async fn not_found(State(inner): State<Arc<Inner>>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    ovh_error(404, None, "Got an invalid (or empty) URL")
}

/// An error as OVH answers it: `message`, `httpCode`, and `errorCode` when there is one.
fn ovh_error(status: u16, error_code: Option<&str>, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({
        "message": message,
        "httpCode": format!("{status} {}", code.canonical_reason().unwrap_or("Error")),
    });
    if let Some(error_code) = error_code {
        body["errorCode"] = json!(error_code);
    }
    (code, Json(body)).into_response()
}

/// The GSM 03.38 basic table (sms-encoding.md §1), ESC left out, and its extension (§2).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// SMS billed for one receiver: 160/153 septets or 70/67 UTF-16 units per SMS (§4).
fn sms_count(text: &str) -> usize {
    let mut septets: usize = 0;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            let units = text.encode_utf16().count();
            return if units <= 70 { 1 } else { units.div_ceil(67) };
        }
    }
    if septets <= 160 {
        1
    } else {
        septets.div_ceil(153)
    }
}
