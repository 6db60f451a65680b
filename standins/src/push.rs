//! A stand-in for a Web Push service (RFC 8030), and for the browsers subscribed to it: it
//! hands out subscriptions as a browser's Push API would, then takes `POST /push/{id}` as a
//! push service does, checking VAPID (RFC 8292), the RFC 8030 headers and the size, and
//! decrypting the `aes128gcm` body with the subscription's keys (RFC 8291), as the browser
//! would. It records what it accepted and answers what the test scripts.
//!
//! For the benchmark, [`PushStandin::start_counting`] plays only the service, as fast as it
//! can: it checks the shape of each request (method, encoding, VAPID parameters, `TTL`),
//! answers 201 and counts, without verifying signatures or decrypting.
//!
//! Stricter than real services on purpose, where our adapter promises more: `TTL` must be a
//! plain integer, `Urgency` and `Topic` must be valid when present, VAPID needs a `sub`, and
//! the body must decrypt. Never part of a deployment: its endpoints are plain http.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::ExposeSecret;
use serde_json::Value;
use tocsin_providers::push::crypto::{VapidKey, decrypt, parse_p256dh, verify_vapid};

/// Every push service must take bodies of 4096 octets (RFC 8030 §7.2); this one takes no more.
pub const MAX_BODY_LEN: usize = 4096;

/// A subscription as the browser's `pushManager.subscribe()` made it: what the page sends to
/// Tocsin. The private key stays with the stand-in, which plays the browser too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSubscription {
    id: String,
    endpoint: String,
    p256dh: String,
    auth: String,
}

impl BrowserSubscription {
    /// The random id in the endpoint's path.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `http://127.0.0.1:<port>/push/<id>`: the push resource.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `keys.p256dh`: the browser's ECDH public key, uncompressed, base64url.
    pub fn p256dh(&self) -> &str {
        &self.p256dh
    }

    /// `keys.auth`: the 16-octet authentication secret, base64url.
    pub fn auth(&self) -> &str {
        &self.auth
    }

    /// `JSON.stringify(subscription)`, member for member and in a browser's order:
    /// `{"endpoint":…,"expirationTime":null,"keys":{"p256dh":…,"auth":…}}`.
    pub fn json(&self) -> String {
        let quoted = |s: &str| serde_json::to_string(s).expect("a string serializes");
        format!(
            "{{\"endpoint\":{},\"expirationTime\":null,\"keys\":{{\"p256dh\":{},\"auth\":{}}}}}",
            quoted(&self.endpoint),
            quoted(&self.p256dh),
            quoted(&self.auth),
        )
    }
}

/// One push message the stand-in accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedMessage {
    /// The subscription it was pushed to ([`BrowserSubscription::id`]).
    pub subscription_id: String,
    /// The id of the push message resource, the last segment of the `Location` answered.
    pub message_id: String,
    /// `TTL`, in seconds.
    pub ttl: u64,
    /// `Urgency`, when sent.
    pub urgency: Option<String>,
    /// `Topic`, when sent.
    pub topic: Option<String>,
    /// The decrypted payload as JSON, when it is JSON.
    pub payload: Option<Value>,
    /// The decrypted payload as text (lossy UTF-8); empty for a message without a body.
    pub raw: String,
    /// The VAPID JWT's `sub`.
    pub vapid_subject: Option<String>,
    /// The VAPID `k`: the sender's public key, base64url.
    pub vapid_key: String,
    /// When the stand-in took it.
    pub at: Instant,
}

/// A request the stand-in refused, and why (what its answer body said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The id in the path, when it named a known subscription.
    pub subscription_id: Option<String>,
    pub status: u16,
    pub reason: String,
}

/// What the stand-in answers a valid push instead of 201 (a 2xx is recorded as accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    status: u16,
    retry_after: Option<String>,
}

impl Answer {
    /// Answer this status: 201 (the default), 404, 410, 413, 429, 500, 503 …
    pub fn status(status: u16) -> Answer {
        assert!(
            StatusCode::from_u16(status).is_ok(),
            "Answer::status: {status} is not an HTTP status"
        );
        Answer {
            status,
            retry_after: None,
        }
    }

    /// 201 Created: accept the message.
    pub fn created() -> Answer {
        Answer::status(201)
    }

    /// With `Retry-After` (seconds, `"30"`, or an HTTP date).
    pub fn retry_after(mut self, value: impl Into<String>) -> Answer {
        self.retry_after = Some(value.into());
        self
    }
}

/// The stand-in's side of a subscription: the browser's keys and what to answer.
struct Subscription {
    private_key: [u8; 32],
    p256dh: [u8; 65],
    auth: [u8; 16],
    /// The `applicationServerKey` it was made with: pushes must be signed with it.
    application_server_key: Option<[u8; 65]>,
    /// Unsubscribed or expired: 410 from now on.
    gone: bool,
    /// One-shot answers, used first.
    next: VecDeque<Answer>,
    /// The answer after those.
    answer: Answer,
}

struct Inner {
    base_url: String,
    subscriptions: Mutex<HashMap<String, Subscription>>,
    received: Mutex<Vec<PushedMessage>>,
    rejections: Mutex<Vec<Rejection>>,
    requests: AtomicUsize,
    /// Pushes answered 2xx since the start or the last reset, in both modes.
    accepted: AtomicUsize,
    first_accepted_at: Mutex<Option<SystemTime>>,
}

/// A running push service; the server stops when this is dropped.
pub struct PushStandin {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for PushStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl PushStandin {
    /// Binds 127.0.0.1:0 and serves in a background task.
    pub async fn start() -> PushStandin {
        Self::start_with(false).await
    }

    /// A push service for the benchmark: any `/push/{id}` is a subscription, and a request of
    /// the right shape (POST, `Content-Encoding: aes128gcm`, `Authorization: vapid t=…, k=…`,
    /// a valid `TTL`, a body of at most [`MAX_BODY_LEN`] octets) is answered 201 with a
    /// `Location` and counted. Neither the signature nor the body is checked (the tests do
    /// that with [`start`](Self::start)), nothing is kept but the count and the first
    /// acceptance's time: memory stays flat whatever the volume.
    pub async fn start_counting() -> PushStandin {
        Self::start_with(true).await
    }

    async fn start_with(counting: bool) -> PushStandin {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let inner = Arc::new(Inner {
            base_url: format!("http://{addr}"),
            subscriptions: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            rejections: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            first_accepted_at: Mutex::new(None),
        });
        let router = if counting {
            Router::new().route("/push/{id}", any(count))
        } else {
            Router::new().route("/push/{id}", post(push))
        };
        let app = router.fallback(not_found).with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("push stand-in server");
        });
        PushStandin { inner, server }
    }

    /// `http://127.0.0.1:<port>`: the push service's origin, the VAPID `aud` it expects.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// Plays a browser subscribing without an `applicationServerKey`: pushes must carry valid
    /// VAPID, signed with any key.
    pub fn subscribe(&self) -> BrowserSubscription {
        self.new_subscription(None)
    }

    /// Plays a browser subscribing with `applicationServerKey` (base64url, uncompressed):
    /// pushes signed with another key get 403, as on every current browser's service.
    pub fn subscribe_with_key(&self, application_server_key: &str) -> BrowserSubscription {
        let key = parse_p256dh(application_server_key)
            .expect("subscribe_with_key: not a P-256 public key in base64url");
        self.new_subscription(Some(key))
    }

    fn new_subscription(&self, application_server_key: Option<[u8; 65]>) -> BrowserSubscription {
        // The browser's ECDH pair is a P-256 pair like a VAPID key: draw it the same way.
        let pair = VapidKey::generate().expect("the system RNG");
        let private_key: [u8; 32] = URL_SAFE_NO_PAD
            .decode(pair.private_key_base64url().expose_secret())
            .expect("base64url")
            .try_into()
            .expect("a 32-octet scalar");
        let p256dh = pair.public_key_base64url();
        let auth: [u8; 16] = rand::random();
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        self.inner.subscriptions.lock().unwrap().insert(
            id.clone(),
            Subscription {
                private_key,
                p256dh: parse_p256dh(&p256dh).expect("a fresh public key"),
                auth,
                application_server_key,
                gone: false,
                next: VecDeque::new(),
                answer: Answer::created(),
            },
        );
        BrowserSubscription {
            endpoint: format!("{}/push/{id}", self.inner.base_url),
            id,
            p256dh,
            auth: URL_SAFE_NO_PAD.encode(auth),
        }
    }

    /// From now on, valid pushes to `subscription` get `answer` (until the next call).
    pub fn answer(&self, subscription: &BrowserSubscription, answer: Answer) {
        self.with(subscription, |s| s.answer = answer);
    }

    /// The next valid pushes to `subscription` get these answers, one each, before the one set
    /// by [`answer`](Self::answer) applies again.
    pub fn answer_next(
        &self,
        subscription: &BrowserSubscription,
        answers: impl IntoIterator<Item = Answer>,
    ) {
        self.with(subscription, |s| s.next.extend(answers));
    }

    /// The subscription expired or the citizen unsubscribed: 410 Gone from now on.
    pub fn forget(&self, subscription: &BrowserSubscription) {
        self.with(subscription, |s| s.gone = true);
    }

    fn with(&self, subscription: &BrowserSubscription, f: impl FnOnce(&mut Subscription)) {
        let mut subscriptions = self.inner.subscriptions.lock().unwrap();
        let found = subscriptions
            .get_mut(&subscription.id)
            .expect("a subscription of this stand-in");
        f(found);
    }

    /// What was accepted for `subscription`, in arrival order.
    pub fn received(&self, subscription: &BrowserSubscription) -> Vec<PushedMessage> {
        let received = self.inner.received.lock().unwrap();
        received
            .iter()
            .filter(|m| m.subscription_id == subscription.id)
            .cloned()
            .collect()
    }

    /// Everything accepted, in arrival order.
    pub fn received_all(&self) -> Vec<PushedMessage> {
        self.inner.received.lock().unwrap().clone()
    }

    /// How many requests were answered anything but a 2xx (refused or scripted).
    pub fn rejected_count(&self) -> usize {
        self.inner.rejections.lock().unwrap().len()
    }

    /// The requests answered anything but a 2xx, with why.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.inner.rejections.lock().unwrap().clone()
    }

    /// Every request so far, accepted or not.
    pub fn request_count(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Pushes accepted since the start or the last [`reset`](Self::reset).
    pub fn accepted_count(&self) -> usize {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// When the first push since the start or the last reset was accepted.
    pub fn first_accepted_at(&self) -> Option<SystemTime> {
        *self.inner.first_accepted_at.lock().unwrap()
    }

    /// Forgets what was accepted and refused so far (between benchmark runs); subscriptions
    /// and their scripted answers stay.
    pub fn reset(&self) {
        self.inner.received.lock().unwrap().clear();
        self.inner.rejections.lock().unwrap().clear();
        self.inner.accepted.store(0, Ordering::SeqCst);
        *self.inner.first_accepted_at.lock().unwrap() = None;
    }

    /// Waits until at least `n` messages were accepted and returns them all; panics after
    /// `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<PushedMessage> {
        let started = Instant::now();
        loop {
            let received = self.received_all();
            if received.len() >= n {
                return received;
            }
            if started.elapsed() >= timeout {
                panic!(
                    "push stand-in: waited {timeout:?} for {n} messages but accepted only {} \
                     ({} requests in all); refusals: {:#?}",
                    received.len(),
                    self.request_count(),
                    self.rejections(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A refusal: recorded, and answered with its reason as the body.
fn refuse(inner: &Inner, id: Option<&str>, status: u16, reason: impl Into<String>) -> Response {
    let reason = reason.into();
    inner.rejections.lock().unwrap().push(Rejection {
        subscription_id: id.map(str::to_owned),
        status,
        reason: reason.clone(),
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, reason).into_response()
}

async fn not_found(State(inner): State<Arc<Inner>>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    refuse(&inner, None, 404, "no such push resource")
}

/// The one header of this name, when present; `Err` when it is repeated or not text.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, String> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(format!("{name} is sent more than once"));
    }
    first
        .map(|v| v.to_str().map_err(|_| format!("{name} is not text")))
        .transpose()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// What the RFC 8030 headers said.
struct Headers {
    ttl: u64,
    urgency: Option<String>,
    topic: Option<String>,
}

/// `TTL` (required), `Urgency` and `Topic` (RFC 8030 §5.2–5.4).
fn read_headers(headers: &HeaderMap) -> Result<Headers, String> {
    let ttl = single(headers, "ttl")?.ok_or("TTL is required (RFC 8030 §5.2)")?;
    let ttl = ttl.trim();
    if ttl.is_empty() || !ttl.bytes().all(|b| b.is_ascii_digit()) {
        return Err("TTL must be a non-negative integer of seconds".to_owned());
    }
    // A value too large to hold counts as 2^31 (§5.2).
    let ttl = ttl.parse().unwrap_or(1 << 31);
    let urgency = single(headers, "urgency")?;
    if let Some(urgency) = urgency
        && !matches!(urgency, "very-low" | "low" | "normal" | "high")
    {
        return Err("Urgency must be very-low, low, normal or high".to_owned());
    }
    let topic = single(headers, "topic")?;
    if let Some(topic) = topic {
        let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if !(1..=32).contains(&topic.len()) || !topic.bytes().all(base64url) {
            return Err("Topic must be 1 to 32 characters of the base64url alphabet".to_owned());
        }
    }
    Ok(Headers {
        ttl,
        urgency: urgency.map(str::to_owned),
        topic: topic.map(str::to_owned),
    })
}

/// `POST /push/{id}`: a push message for one subscription.
async fn push(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let known = Some(id.as_str());
    // The keys, copied out so that no lock is held while checking and decrypting.
    let (private_key, p256dh, auth, application_server_key) = {
        let subscriptions = inner.subscriptions.lock().unwrap();
        match subscriptions.get(&id) {
            // RFC 8030 §7.3: 404 for a subscription that does not exist (any more).
            None => return refuse(&inner, None, 404, "no such subscription"),
            Some(s) if s.gone => {
                return refuse(
                    &inner,
                    known,
                    410,
                    "the subscription expired or was removed",
                );
            }
            Some(s) => (s.private_key, s.p256dh, s.auth, s.application_server_key),
        }
    };

    // RFC 8292 §4: 401 without VAPID, 403 with a token that does not hold.
    let authorization = match single(&headers, "authorization") {
        Ok(Some(value)) => value,
        Ok(None) => return refuse(&inner, known, 401, "VAPID Authorization is required"),
        Err(problem) => return refuse(&inner, known, 400, problem),
    };
    if !authorization
        .trim_start()
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("vapid "))
    {
        let problem = "Authorization must use the vapid scheme (t=…, k=…)";
        return refuse(&inner, known, 401, problem);
    }
    let claims = match verify_vapid(authorization, &inner.base_url, unix_now()) {
        Ok(claims) => claims,
        Err(e) => return refuse(&inner, known, 403, e.to_string()),
    };
    let subject_ok = claims
        .sub
        .as_deref()
        .is_some_and(|sub| sub.starts_with("mailto:") || sub.starts_with("https:"));
    if !subject_ok {
        return refuse(
            &inner,
            known,
            403,
            "VAPID sub must be a mailto: or https: URI",
        );
    }
    if application_server_key.is_some_and(|key| key != claims.public_key) {
        let problem = "the VAPID key k is not the applicationServerKey of this subscription";
        return refuse(&inner, known, 403, problem);
    }

    let pushed = match read_headers(&headers) {
        Ok(pushed) => pushed,
        Err(problem) => return refuse(&inner, known, 400, problem),
    };
    let encoding = match single(&headers, "content-encoding") {
        Ok(encoding) => encoding,
        Err(problem) => return refuse(&inner, known, 400, problem),
    };
    let plaintext = if body.is_empty() && encoding.is_none() {
        // A push without payload (RFC 8030 §5): the service worker only wakes.
        Vec::new()
    } else {
        if encoding != Some("aes128gcm") {
            let problem = "Content-Encoding must be aes128gcm (RFC 8291 §4)";
            return refuse(&inner, known, 415, problem);
        }
        if body.len() > MAX_BODY_LEN {
            let problem = format!("the body is {} octets; at most {MAX_BODY_LEN}", body.len());
            return refuse(&inner, known, 413, problem);
        }
        // RFC 8292 §2: the signing key must not be the ECDH key (keyid, octets 21..86).
        if body.get(21..86) == Some(claims.public_key.as_slice()) {
            let problem = "the VAPID key is also the message's ECDH key (RFC 8292 §2)";
            return refuse(&inner, known, 400, problem);
        }
        match decrypt(&private_key, &p256dh, &auth, &body) {
            Ok(plaintext) => plaintext,
            Err(e) => return refuse(&inner, known, 400, e.to_string()),
        }
    };

    let answer = {
        let mut subscriptions = inner.subscriptions.lock().unwrap();
        match subscriptions.get_mut(&id) {
            Some(s) => s.next.pop_front().unwrap_or_else(|| s.answer.clone()),
            None => Answer::created(),
        }
    };
    let status = StatusCode::from_u16(answer.status).expect("checked by Answer::status");
    if !status.is_success() {
        let mut response = refuse(&inner, known, answer.status, "scripted answer");
        if let Some(retry_after) = answer
            .retry_after
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        return response;
    }

    note_accepted(&inner);
    let message_id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
    let location = format!("{}/message/{message_id}", inner.base_url);
    let vapid_key = URL_SAFE_NO_PAD.encode(claims.public_key);
    inner.received.lock().unwrap().push(PushedMessage {
        subscription_id: id,
        message_id,
        ttl: pushed.ttl,
        urgency: pushed.urgency,
        topic: pushed.topic,
        payload: serde_json::from_slice(&plaintext).ok(),
        raw: String::from_utf8_lossy(&plaintext).into_owned(),
        vapid_subject: claims.sub,
        vapid_key,
        at: Instant::now(),
    });
    created(status, &location, pushed.ttl)
}

/// Counts an accepted push, noting when the first one came.
fn note_accepted(inner: &Inner) -> usize {
    let number = inner.accepted.fetch_add(1, Ordering::SeqCst);
    if number == 0 {
        inner
            .first_accepted_at
            .lock()
            .unwrap()
            .get_or_insert_with(SystemTime::now);
    }
    number
}

/// The answer to an accepted push: its message resource, and the TTL the service applies
/// (here: the one asked, RFC 8030 §5.2).
fn created(status: StatusCode, location: &str, ttl: u64) -> Response {
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().insert("ttl", HeaderValue::from(ttl));
    response
}

/// Whether `value` is `vapid` with non-empty `t` and `k` parameters (RFC 8292 §3), whatever
/// they hold.
fn vapid_shaped(value: &str) -> bool {
    let Some((scheme, params)) = value.trim().split_once(char::is_whitespace) else {
        return false;
    };
    let has = |name: &str| {
        params.split(',').any(|param| {
            param
                .split_once('=')
                .is_some_and(|(n, v)| n.trim().eq_ignore_ascii_case(name) && !v.trim().is_empty())
        })
    };
    scheme.eq_ignore_ascii_case("vapid") && has("t") && has("k")
}

/// `/push/{id}` in counting mode: the request's shape checked, then 201 and a count.
async fn count(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let known = Some(id.as_str());
    if method != Method::POST {
        return refuse(&inner, known, 405, "only POST creates a push message");
    }
    match single(&headers, "authorization") {
        Ok(Some(value)) if vapid_shaped(value) => {}
        Ok(_) => {
            let problem = "VAPID Authorization (vapid t=…, k=…) is required";
            return refuse(&inner, known, 401, problem);
        }
        Err(problem) => return refuse(&inner, known, 400, problem),
    }
    let pushed = match read_headers(&headers) {
        Ok(pushed) => pushed,
        Err(problem) => return refuse(&inner, known, 400, problem),
    };
    if single(&headers, "content-encoding") != Ok(Some("aes128gcm")) {
        let problem = "Content-Encoding must be aes128gcm (RFC 8291 §4)";
        return refuse(&inner, known, 415, problem);
    }
    if body.len() > MAX_BODY_LEN {
        let problem = format!("the body is {} octets; at most {MAX_BODY_LEN}", body.len());
        return refuse(&inner, known, 413, problem);
    }
    let number = note_accepted(&inner);
    let location = format!("{}/message/{number}", inner.base_url);
    created(StatusCode::CREATED, &location, pushed.ttl)
}

#[cfg(test)]
mod tests;
