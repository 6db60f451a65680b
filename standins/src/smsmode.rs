//! A stand-in for smsmode's REST API v1 `POST /sms/v1/messages`, following
//! reference/sms-providers.md §1.2: `X-Api-Key` auth, JSON in and out, the message resource on
//! 201, and problem-details bodies (with `status` as a string) on errors. It records what it
//! accepted and answers what the test scripts. Fast enough for benchmarks: no sleeps, one lock.
//!
//! Stricter than smsmode on one point, on purpose: `recipient.to` must be digits only (smsmode
//! may also take `+33…`), because digits only is the format our adapter promises (§1.2.1).
//!
//! The integration tests use it to check what Tocsin sent; the benchmark uses it, counting
//! instead of recording, as a provider that answers as fast as the machine allows, and, with
//! [`SmsmodeStandin::limit_per_second`], as an account that refuses what goes past its rate.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use serde_json::{Value, json};

/// One SMS the stand-in accepted (answered 201 `ENROUTE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// `recipient.to` exactly as sent (digits only, international).
    pub to: String,
    /// `body.text`.
    pub text: String,
    /// `refClient`, Tocsin's delivery reference.
    pub ref_client: Option<String>,
    /// `from`, the sender, when the request set one.
    pub from: Option<String>,
    /// `callbackUrlStatus`, when the request set one.
    pub callback_url_status: Option<String>,
    /// When the stand-in took it.
    pub at: Instant,
    /// The `messageId` the stand-in answered with.
    pub message_id: String,
}

impl ReceivedSms {
    /// The status callback smsmode would POST (JSON) to `callbackUrlStatus` for this message:
    /// the message resource with its new status (sms-providers.md §1.2.3).
    pub fn status_callback(&self, value: &str, detail: Option<&str>) -> Value {
        let mut status = json!({"value": value, "deliveryDate": utc_now()});
        if let Some(detail) = detail {
            status["detail"] = json!(detail);
        }
        let mut resource = json!({
            "messageId": self.message_id,
            "type": "SMS",
            "direction": "MT",
            "recipient": {"to": self.to},
            "body": {"text": self.text},
            "status": status,
        });
        if let Some(reference) = &self.ref_client {
            resource["refClient"] = json!(reference);
        }
        resource
    }
}

/// What the stand-in does for one recipient instead of accepting.
#[derive(Debug, Clone)]
enum Scripted {
    /// Answer this HTTP status with a problem-details body.
    Status(u16),
    /// Answer this status (with `Retry-After`, in seconds, if given) this many more times,
    /// then accept.
    StatusTimes {
        status: u16,
        left: u32,
        retry_after: Option<u32>,
    },
    /// Answer 201 with `status.value = UNDELIVERABLE` and this `status.detail`.
    Undeliverable(String),
}

struct Inner {
    api_key: String,
    base_url: String,
    /// Whether accepted messages are kept (tests) or only counted (benchmark).
    record: bool,
    received: Mutex<Vec<ReceivedSms>>,
    accepted: AtomicUsize,
    first_accepted_at: Mutex<Option<SystemTime>>,
    scripted: Mutex<HashMap<String, Scripted>>,
    requests: AtomicUsize,
    /// How long each answer waits, in milliseconds: a slow provider, for crash tests.
    delay_ms: AtomicU64,
    /// When above 0, one valid request in this many is answered 503 (not sent): a provider
    /// stumbling under load, for fault-injection tests.
    fail_one_in: AtomicU64,
    /// When above 0, one valid request in this many is accepted (and sent) but answered with a
    /// `messageId` holding a NUL character: a provider whose answer is corrupt.
    nul_message_id_one_in: AtomicU64,
    valid_requests: AtomicU64,
    /// The key's rate limit, when one is set.
    window: Mutex<Option<RateWindow>>,
    /// Requests answered 429 by the rate limit.
    rate_limited: AtomicUsize,
    /// When the last SMS was accepted, in microseconds since the Unix epoch (0: none yet);
    /// an atomic, not a lock, since every accepted request writes it.
    last_accepted_micros: AtomicU64,
}

/// How long the rate limit looks back.
const WINDOW: Duration = Duration::from_secs(1);

/// smsmode documents 429 but neither a figure nor a window (sms-providers.md §1.2.5): the
/// stand-in plays the strictest usual reading, a sliding one-second window per API key. The
/// rule: a request at instant `t` is let through when fewer than `per_second` requests of its
/// key were let through at instants in `(t − 1 s, t]`; otherwise it is answered 429 and does
/// not count, so a client that backs off is served again as soon as the oldest request it got
/// through is a full second old. It applies right after authentication, before the body is
/// read, as an API gateway's would. This stand-in serves one key, so the window is its own.
#[derive(Debug)]
struct RateWindow {
    per_second: usize,
    /// Instants of the requests let through within the last second, oldest first.
    admitted: VecDeque<Instant>,
}

impl RateWindow {
    fn new(per_second: usize) -> RateWindow {
        RateWindow {
            per_second,
            admitted: VecDeque::with_capacity(per_second),
        }
    }

    /// Whether a request at `now` passes; if so it counts from now on.
    fn admit(&mut self, now: Instant) -> bool {
        while self
            .admitted
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= WINDOW)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() < self.per_second {
            self.admitted.push_back(now);
            true
        } else {
            false
        }
    }
}

/// A running stand-in; the server stops when this is dropped.
pub struct SmsmodeStandin {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SmsmodeStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SmsmodeStandin {
    /// Binds 127.0.0.1:0 and serves in a background task, recording every accepted SMS. Call
    /// it inside a Tokio runtime.
    pub fn start(api_key: &str) -> SmsmodeStandin {
        Self::start_with(api_key, true)
    }

    /// Like [`start`](Self::start), but only counts accepted SMS and notes when the first one
    /// arrived: memory stays flat whatever the volume.
    pub fn start_counting(api_key: &str) -> SmsmodeStandin {
        Self::start_with(api_key, false)
    }

    fn start_with(api_key: &str, record: bool) -> SmsmodeStandin {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("SmsmodeStandin::start must run inside a Tokio runtime");
        let addr = listener.local_addr().expect("local address");

        let inner = Arc::new(Inner {
            api_key: api_key.to_owned(),
            base_url: format!("http://{addr}"),
            record,
            received: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            first_accepted_at: Mutex::new(None),
            scripted: Mutex::new(HashMap::new()),
            requests: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
            fail_one_in: AtomicU64::new(0),
            nul_message_id_one_in: AtomicU64::new(0),
            valid_requests: AtomicU64::new(0),
            window: Mutex::new(None),
            rate_limited: AtomicUsize::new(0),
            last_accepted_micros: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/sms/v1/messages", any(send_message))
            .fallback(not_found)
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("smsmode stand-in server");
        });
        SmsmodeStandin { inner, server }
    }

    /// `http://127.0.0.1:<port>`, to use as the adapter's `base_url`.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// Every SMS accepted so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedSms> {
        self.inner.received.lock().unwrap().clone()
    }

    /// How many SMS were accepted since the start or the last [`reset`](Self::reset).
    pub fn accepted_count(&self) -> usize {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// When the first SMS since the start or the last reset was accepted.
    pub fn first_accepted_at(&self) -> Option<SystemTime> {
        *self.inner.first_accepted_at.lock().unwrap()
    }

    /// When the last SMS since the start or the last reset was accepted.
    pub fn last_accepted_at(&self) -> Option<SystemTime> {
        match self.inner.last_accepted_micros.load(Ordering::SeqCst) {
            0 => None,
            micros => Some(UNIX_EPOCH + Duration::from_micros(micros)),
        }
    }

    /// Forgets what was accepted and refused so far (between benchmark runs), and what the rate
    /// limit's window holds.
    pub fn reset(&self) {
        self.inner.received.lock().unwrap().clear();
        self.inner.accepted.store(0, Ordering::SeqCst);
        *self.inner.first_accepted_at.lock().unwrap() = None;
        self.inner.last_accepted_micros.store(0, Ordering::SeqCst);
        self.inner.rate_limited.store(0, Ordering::SeqCst);
        if let Some(window) = self.inner.window.lock().unwrap().as_mut() {
            window.admitted.clear();
        }
    }

    /// From now on, at most `per_second` requests of the key are let through in any sliding
    /// second; the others get 429 with a problem-details body and no `Retry-After` (smsmode
    /// documents none). See [`RateWindow`] for the exact rule.
    pub fn limit_per_second(&self, per_second: usize) {
        assert!(
            per_second > 0,
            "limit_per_second: 0 would refuse everything"
        );
        *self.inner.window.lock().unwrap() = Some(RateWindow::new(per_second));
    }

    /// Requests answered 429 by the rate limit since the start or the last reset.
    pub fn rate_limited_count(&self) -> usize {
        self.inner.rate_limited.load(Ordering::SeqCst)
    }

    /// From now on, one valid request in `n` is answered 503 Service Unavailable and not sent
    /// (0 stops it): with 10, a tenth of all sends fail transiently.
    pub fn fail_one_in(&self, n: u64) {
        self.inner.fail_one_in.store(n, Ordering::SeqCst);
    }

    /// From now on, one valid request in `n` is accepted and sent as any other, but its answer's
    /// `messageId` holds a NUL character (U+0000, `\u0000` in the JSON) in place of a hyphen;
    /// 0 stops it. The answer is otherwise the usual 201 message resource.
    pub fn nul_message_id_one_in(&self, n: u64) {
        self.inner.nul_message_id_one_in.store(n, Ordering::SeqCst);
    }

    /// From now on, every accepted message's answer comes `delay` late, as a slow provider's
    /// would; the message counts as received at once.
    pub fn set_delay(&self, delay: Duration) {
        self.inner
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every request so far, accepted or not (bad key, bad body, scripted failures, 404s).
    pub fn request_count(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
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
                    "smsmode stand-in: waited {timeout:?} for {n} SMS but accepted only {} \
                     ({} requests in all); first accepted: {shown:#?}",
                    received.len(),
                    self.request_count(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// From now on, sends to `to_digits` (`33612345678`; a leading `+` is ignored) get `status`
    /// with a problem-details body shaped like smsmode's, e.g. 400, 401, 429, 500, 503.
    pub fn fail_recipient(&self, to_digits: &str, status: u16) {
        assert!(
            StatusCode::from_u16(status).is_ok_and(|s| !s.is_success()),
            "fail_recipient: {status} is not an error status"
        );
        self.script(to_digits, Scripted::Status(status));
    }

    /// The next `times` sends to `to_digits` get `status` (a 429 or 503, say, with `Retry-After`
    /// seconds when given); the ones after are accepted.
    pub fn fail_recipient_times(
        &self,
        to_digits: &str,
        status: u16,
        times: u32,
        retry_after: Option<u32>,
    ) {
        self.script(
            to_digits,
            Scripted::StatusTimes {
                status,
                left: times,
                retry_after,
            },
        );
    }

    /// From now on, sends to `to_digits` get 201 with `status.value = UNDELIVERABLE` and the
    /// given `status.detail` (`INVALID_PHONE_NUMBER`, `BLACKLISTED` …); they are not recorded
    /// in `received()`.
    pub fn undeliverable_recipient(&self, to_digits: &str, detail: &str) {
        self.script(to_digits, Scripted::Undeliverable(detail.to_owned()));
    }

    /// Sends to `to_digits` are accepted again.
    pub fn accept_recipient(&self, to_digits: &str) {
        self.inner
            .scripted
            .lock()
            .unwrap()
            .remove(to_digits.trim_start_matches('+'));
    }

    fn script(&self, to_digits: &str, scripted: Scripted) {
        let to = to_digits.trim_start_matches('+').to_owned();
        self.inner.scripted.lock().unwrap().insert(to, scripted);
    }
}

async fn send_message(
    State(inner): State<Arc<Inner>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);

    if method != Method::POST {
        return problem(405, "405.000", "Only POST is allowed here", "");
    }
    // Authentication comes first, as on any API gateway.
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(inner.api_key.as_str()) {
        let message = if key.is_none() {
            "Missing X-Api-Key header"
        } else {
            "Invalid API key"
        };
        return problem(401, "401.000", message, "");
    }
    let limited = {
        let mut window = inner.window.lock().unwrap();
        window
            .as_mut()
            .map(|w| (w.per_second, w.admit(Instant::now())))
    };
    if let Some((per_second, false)) = limited {
        inner.rate_limited.fetch_add(1, Ordering::SeqCst);
        let detail = format!("At most {per_second} requests per second for this API key");
        return problem(429, "429.000", "Too many requests", &detail);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let is_json = content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    });
    if !is_json {
        return problem(415, "415.000", "Content-Type must be application/json", "");
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    if !["application/json", "application/*", "*/*"]
        .iter()
        .any(|t| accept.contains(t))
    {
        return problem(406, "406.000", "Only application/json can be produced", "");
    }

    let request: Value = match serde_json::from_slice(&body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return problem(400, "400.001", "Request body is not a JSON object", ""),
    };
    let Some(to) = request.pointer("/recipient/to").and_then(Value::as_str) else {
        return problem(400, "400.001", "Field recipient.to is required", "");
    };
    if !(7..=15).contains(&to.len()) || !to.bytes().all(|b| b.is_ascii_digit()) {
        return problem(
            400,
            "400.001",
            "Field recipient.to is invalid",
            "Must be an international number, digits only",
        );
    }
    let text = match request.pointer("/body/text").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => text,
        _ => return problem(400, "400.001", "Field body.text is required", ""),
    };
    let optional = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
    let ref_client = optional("refClient");
    if ref_client.as_ref().is_some_and(|r| r.chars().count() > 140) {
        // An integrator reports longer values refused (§1.2.1, unconfirmed officially).
        return problem(
            400,
            "400.001",
            "Field refClient is invalid",
            "At most 140 characters",
        );
    }
    let from = optional("from");
    let callback_url_status = optional("callbackUrlStatus");

    let scripted = {
        let mut scripts = inner.scripted.lock().unwrap();
        let scripted = scripts.get(to).cloned();
        match scripts.get_mut(to) {
            Some(Scripted::StatusTimes { left, .. }) if *left > 1 => *left -= 1,
            Some(Scripted::StatusTimes { .. }) => {
                scripts.remove(to);
            }
            _ => {}
        }
        scripted
    };
    let undeliverable = match scripted {
        Some(Scripted::Status(status)) => {
            return problem(status, &format!("{status}.000"), "Scripted failure", "");
        }
        Some(Scripted::StatusTimes {
            status,
            retry_after,
            ..
        }) => {
            let mut response = problem(status, &format!("{status}.000"), "Scripted failure", "");
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return response;
        }
        Some(Scripted::Undeliverable(detail)) => Some(detail),
        None => None,
    };

    let one_in = inner.fail_one_in.load(Ordering::SeqCst);
    let number = inner.valid_requests.fetch_add(1, Ordering::SeqCst) + 1;
    if one_in > 0 && number % one_in == 0 {
        return problem(503, "503.000", "Service temporarily unavailable", "");
    }

    let mut message_id = uuid::Uuid::now_v7().to_string();
    let nul_one_in = inner.nul_message_id_one_in.load(Ordering::SeqCst);
    if nul_one_in > 0 && number % nul_one_in == 0 {
        message_id = message_id.replacen('-', "\0", 1);
    }
    let now = utc_now();
    let (encoding, length, parts) = encoding_of(text);
    let mut status = json!({"deliveryDate": now, "value": "ENROUTE"});
    if let Some(detail) = &undeliverable {
        status = json!({"deliveryDate": now, "value": "UNDELIVERABLE", "detail": detail});
    }
    let mut resource = json!({
        "messageId": message_id,
        "acceptedAt": now,
        "channel": {
            "channelId": "5b3c4c4e-0d6a-4c55-9a52-7d1f3e0c9a11",
            "name": "tocsin-standin",
            "type": "SMS",
            "flow": "TRANSACTIONAL",
        },
        "type": "SMS",
        "direction": "MT",
        "recipient": {"to": to},
        // Without `from`, smsmode uses the channel's default sender (novu's sample: 36034).
        "from": from.as_deref().unwrap_or("36034"),
        "body": {
            "text": text,
            "encoding": encoding,
            "messagePartCount": parts,
            "length": length,
        },
        "status": status,
        "href": format!("{}/sms/v1/messages/{message_id}", inner.base_url),
    });
    if let Some(ref_client) = &ref_client {
        resource["refClient"] = json!(ref_client);
    }
    if let Some(callback) = &callback_url_status {
        resource["callbackUrlStatus"] = json!(callback);
    }

    if undeliverable.is_none() && inner.accepted.fetch_add(1, Ordering::SeqCst) == 0 {
        inner
            .first_accepted_at
            .lock()
            .unwrap()
            .get_or_insert_with(SystemTime::now);
    }
    if undeliverable.is_none() {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_micros() as u64);
        inner
            .last_accepted_micros
            .fetch_max(micros, Ordering::SeqCst);
    }
    if undeliverable.is_none() && inner.record {
        inner.received.lock().unwrap().push(ReceivedSms {
            to: to.to_owned(),
            text: text.to_owned(),
            ref_client,
            from,
            callback_url_status,
            message_id,
            at: Instant::now(),
        });
    }
    // The message is taken (and recorded) before the slow answer: a client that gives up or
    // dies meanwhile has still sent it, as with a real provider.
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    (StatusCode::CREATED, Json(resource)).into_response()
}

async fn not_found(State(inner): State<Arc<Inner>>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    problem(404, "404.000", "No such resource", "")
}

/// A problem-details body as smsmode sends it (§1.2.2): `status` is a string.
fn problem(status: u16, error_code: &str, message: &str, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "title": code.canonical_reason().unwrap_or("Error"),
        "message": message,
        "detail": detail,
        "type": format!("https://dev.smsmode.com/commons/errors/{error_code}"),
        "status": status.to_string(),
        "errorCode": error_code,
    });
    let mut response = (code, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The GSM 03.38 basic table (sms-encoding.md §1), ESC left out.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (§2): two septets each.
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// `(encoding, length, messagePartCount)` per sms-encoding.md §4: GSM-7 length in septets,
/// UCS-2 length in UTF-16 code units; 160/153 and 70/67 per part.
fn encoding_of(text: &str) -> (&'static str, usize, usize) {
    let mut septets = 0;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            let units = text.encode_utf16().count();
            return ("UNICODE", units, parts(units, 70, 67));
        }
    }
    ("GSM7", septets, parts(septets, 160, 153))
}

fn parts(length: usize, single: usize, per_part: usize) -> usize {
    if length <= single {
        1
    } else {
        length.div_ceil(per_part)
    }
}

/// `2026-11-14T12:00:00`, UTC, in the shape of smsmode's `acceptedAt`.
fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests;
