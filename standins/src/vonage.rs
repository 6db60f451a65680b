//! A stand-in for the Vonage Voice API's `POST /v1/calls`, following reference/voice.md ("Vonage
//! Voice API"): a call authenticated by an RS256 JWT of the application, placed with an inline
//! NCCO (`talk`, `input`), answered 201 `started`, then a scripted callee played in a background
//! task, tens of milliseconds a step: JSON events to `event_url`, the DTMF result to the input's
//! `eventUrl`, the NCCO Tocsin answers there, what was said and how long. Every request it makes
//! to Tocsin is signed as Vonage signs webhooks ([`webhook_token`]).
//!
//! This is the contract Tocsin's adapter is written against. Where Vonage's documentation is
//! silent or unverified we chose, unconfirmed:
//! - Authentication: the token must be RS256, verify against the application's public key, carry
//!   `application_id` (this application), `iat`, `jti` and an `exp` not past (no leeway). Vonage
//!   makes `exp` optional (15 minutes by default) and may accept other claims; `jti` reuse is not
//!   checked. Failures answer 401 with Vonage's problem body (`type`, `title`, `detail`,
//!   `instance`).
//! - Request: a body that is not `application/json` gets 415; every bad field is listed in one
//!   400 `…#validation` body (`invalid_parameters`, names such as `to` or `ncco[1].dtmf.timeOut`).
//!   `to` holds exactly one `phone` endpoint, numbers are E.164 digits without `+`. Stricter than
//!   Vonage: `answer_url` is refused (the NCCO must come inline), `event_url` is required (Vonage
//!   falls back on the application's), `GET` as `event_method` or an input's `eventMethod` is
//!   refused (Vonage would send the fields as a query string), no `random_from_number`, no
//!   `advanced_machine_detection`, no `sip`/`websocket`/`app` endpoints. Ranges as Vonage
//!   documents them: `ringing_timer` 1–120 s, `length_timer` 1–7200 s, a talk's `text` up to 1500
//!   characters, `dtmf.maxDigits` 1–20 (default 4), `dtmf.timeOut` 0–10 s (default 3).
//! - Events: `started` and `ringing` for every call, `busy` and `failed` included (real networks
//!   may skip `ringing` there); the final event of an unanswered call is its own status (no
//!   `completed` after it), with `duration` "0". A person who does not answer ends `unanswered`,
//!   not `timeout`: Vonage sends `timeout` when the call's own `ringing_timer` runs out, and
//!   `unanswered` when the callee's network gives up first, which it does (about 30 s in France)
//!   before Vonage's default 60 s; a short `ringing_timer` would give `timeout` in real life. No
//!   `human` event for a person (that is advanced machine detection).
//! - Machine detection: for [`Callee::AnsweringMachine`] with `machine_detection`, the event after
//!   `answered` is `status: "machine"` with `sub_state: "beep_start"`, as advanced detection in
//!   `detect_beep` mode sends it; standard detection may send no `sub_state`. With `continue` the
//!   NCCO plays to the end and its inputs are not posted (a real input would time out and post
//!   `timed_out: true`: to verify); with `hangup` the call ends there, `completed` after 1 s.
//!   Without detection a machine is just answered and plays the same way.
//! - Input: the key is pressed after the talks before it, as a person who listens (`bargeIn` is
//!   recorded, not acted on). With `maxDigits` 1 the input ends on the key (`timed_out: false`);
//!   with more it ends `timeOut` later (`timed_out: true`, the digits kept); `#` with
//!   `submitOnHash` ends it with no digits. Nothing pressed: `{"digits":"","timed_out":true}`
//!   after `timeOut`. An input without `eventUrl` posts to the call's `event_url`. The input
//!   result also carries `from` and `to`, as Vonage's does. When Tocsin answers 2xx with a JSON
//!   array, that NCCO replaces the rest of the call's (Vonage's rule); any other answer goes on
//!   with the next action; an answered NCCO that is not valid ends the call.
//! - Duration: each talk's words at 150 a minute times its `loop` (0, "until hang-up", counts
//!   once), each input's wait as above; rounded up, at least 1 s, at most `length_timer`.
//!   [`Callee::HangsUpAfter`] reports its own duration. `completed` carries `start_time` and
//!   `end_time` that far apart (ending now), `rate` [`RATE_PER_MINUTE`] and `price` at that rate
//!   per second, as strings with 8 decimals.
//! - Signed webhooks: `Authorization: Bearer` HS256 with the signature secret, claims `iat`,
//!   `jti`, `iss` ("Vonage"), `api_key` ("stand-in"), `application_id`, `payload_hash`
//!   (lowercase hex SHA-256 of the exact body bytes, which are compact JSON: Vonage's support
//!   article describes hashing the re-serialised compact JSON, the same bytes here); no `exp`.
//!   All to verify against a real signed webhook.
//!
//! Known limits: no retries of failed webhooks, no fallback URL, no `GET /v1/calls`, no call
//! modification, no `rejected` or `cancelled`, no speech input, no 429 (calls over
//! [`VonageStandin::set_calls_per_second`] are queued; Vonage answers 429 above 3 per second).

mod callee;
mod create;
mod ncco;

pub use crate::twilio_voice::Callee;
pub use ncco::{Action, Input, Talk};

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The per-minute rate the stand-in reports (euros, about a French landline's), unconfirmed.
pub const RATE_PER_MINUTE: f64 = 0.014;
/// The `api_key` claim of the stand-in's signed webhooks.
pub const API_KEY: &str = "stand-in";

/// `machine_detection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineDetection {
    /// Tell the application and go on.
    Continue,
    /// Hang up on a machine.
    Hangup,
}

/// A call's `status`, as its events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    Started,
    Ringing,
    Answered,
    Machine,
    Completed,
    Unanswered,
    Busy,
    Failed,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Started => "started",
            CallStatus::Ringing => "ringing",
            CallStatus::Answered => "answered",
            CallStatus::Machine => "machine",
            CallStatus::Completed => "completed",
            CallStatus::Unanswered => "unanswered",
            CallStatus::Busy => "busy",
            CallStatus::Failed => "failed",
        }
    }

    /// The call is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed | CallStatus::Unanswered | CallStatus::Busy | CallStatus::Failed
        )
    }
}

/// One call the stand-in accepted (answered 201).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedCall {
    /// The call's `uuid`.
    pub uuid: String,
    /// `CON-…`.
    pub conversation_uuid: String,
    /// `to[0].number`: digits, no `+`.
    pub to: String,
    /// `from.number`.
    pub from: String,
    /// The NCCO, read.
    pub ncco: Vec<Action>,
    /// The NCCO as sent.
    pub ncco_json: Value,
    /// `event_url[0]`.
    pub event_url: String,
    /// `event_method`: `POST`.
    pub event_method: String,
    pub machine_detection: Option<MachineDetection>,
    /// `ringing_timer`, seconds.
    pub ringing_timer: Option<u32>,
    /// `length_timer`, seconds.
    pub length_timer: Option<u32>,
    /// The `jti` of the JWT it came with.
    pub jti: String,
    /// When the stand-in took it.
    pub at: Instant,
    /// When its callee starts playing: `at`, or later when queued behind the rate.
    pub started_at: Instant,
}

/// What a call went through so far, as its callee heard it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayedCall {
    pub uuid: String,
    pub to: String,
    pub callee: Callee,
    /// The latest status.
    pub status: CallStatus,
    /// Every action run, by name, in order (`talk`, `input`, unknown ones too).
    pub actions: Vec<String>,
    /// Every talk played, in order, those of the NCCOs Tocsin answered included.
    pub talks: Vec<Talk>,
    /// Every input reached.
    pub inputs: Vec<Input>,
    /// `dtmf.digits` of the last input result posted.
    pub digits: Option<String>,
    /// `dtmf.timed_out` of the last input result posted.
    pub timed_out: Option<bool>,
    /// Each NCCO Tocsin answered to an input result (a JSON array), in order.
    pub answers: Vec<Value>,
    /// `duration` in seconds, once over.
    pub duration: Option<u32>,
    /// When it ended.
    pub ended_at: Option<Instant>,
}

/// Which request of a call a [`CallEvent`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEventKind {
    /// A status event to `event_url`.
    Event,
    /// An input result to the input's `eventUrl`.
    Input,
}

/// One request the stand-in made to Tocsin for a call, with what Tocsin answered.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    pub uuid: String,
    pub kind: CallEventKind,
    /// The URL Vonage was given, before [`VonageStandin::route_public_url`].
    pub url: String,
    /// The JSON posted.
    pub body: Value,
    /// The HTTP status Tocsin answered; `None` when it could not be reached.
    pub answered_status: Option<u16>,
    pub at: Instant,
}

impl CallEvent {
    /// `status` of an event (`None` for an input result).
    pub fn status(&self) -> Option<&str> {
        self.body.get("status").and_then(Value::as_str)
    }
}

/// The stand-in's state, shared by the server and the calls being played.
pub(crate) struct Inner {
    pub(crate) application_id: String,
    pub(crate) public_key: DecodingKey,
    pub(crate) signature_secret: String,
    base_url: String,
    requests: AtomicUsize,
    pub(crate) calls: Mutex<Vec<ReceivedCall>>,
    pub(crate) callees: Mutex<HashMap<String, Callee>>,
    pub(crate) default_callee: Mutex<Callee>,
    pub(crate) played: Mutex<Vec<PlayedCall>>,
    events: Mutex<Vec<CallEvent>>,
    pacing: Mutex<Pacing>,
    /// (public prefix, local prefix) pairs: where to send what was addressed to a public name.
    routes: Mutex<Vec<(String, String)>>,
    client: reqwest::Client,
}

#[derive(Default)]
struct Pacing {
    per_second: Option<f64>,
    last_start: Option<Instant>,
}

impl Inner {
    /// When a call taken `now` starts: at once, or 1/cps after the previous one's start.
    pub(crate) fn schedule(&self, now: Instant) -> Instant {
        let mut pacing = self.pacing.lock().unwrap();
        let start = match (pacing.per_second, pacing.last_start) {
            (Some(cps), Some(last)) => now.max(last + Duration::from_secs_f64(1.0 / cps)),
            _ => now,
        };
        pacing.last_start = Some(start);
        start
    }

    /// Where a request to `public` goes.
    fn local_url(&self, public: &str) -> String {
        let routes = self.routes.lock().unwrap();
        for (from, to) in routes.iter() {
            if let Some(rest) = public.strip_prefix(from.as_str()) {
                return format!("{to}{rest}");
            }
        }
        public.to_owned()
    }

    pub(crate) fn update(&self, uuid: &str, change: impl FnOnce(&mut PlayedCall)) {
        let mut played = self.played.lock().unwrap();
        if let Some(call) = played.iter_mut().rev().find(|c| c.uuid == uuid) {
            change(call);
        }
    }

    /// POSTs `body` to `url` (routed) signed with `secret`; the status and body of the answer,
    /// `None` when Tocsin could not be reached.
    async fn post(&self, url: &str, body: &Value, secret: &str) -> Option<(u16, String)> {
        let bytes = serde_json::to_vec(body).expect("JSON");
        let token = webhook_token(secret, &self.application_id, &bytes);
        let sent = self
            .client
            .post(self.local_url(url))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(bytes)
            .send()
            .await;
        let response = sent.ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.unwrap_or_default()))
    }

    /// Posts one request of call `uuid` and records it.
    pub(crate) async fn send(
        &self,
        uuid: &str,
        kind: CallEventKind,
        url: &str,
        body: Value,
    ) -> Option<(u16, String)> {
        let answer = self.post(url, &body, &self.signature_secret).await;
        self.events.lock().unwrap().push(CallEvent {
            uuid: uuid.to_owned(),
            kind,
            url: url.to_owned(),
            body,
            answered_status: answer.as_ref().map(|(status, _)| *status),
            at: Instant::now(),
        });
        answer
    }
}

/// The bearer token of a webhook with body `body`, as Vonage signs it (see the module doc):
/// HS256 with `signature_secret`, `payload_hash` the hex SHA-256 of the body. Written apart from
/// the adapter's check, so that each checks the other.
pub fn webhook_token(signature_secret: &str, application_id: &str, body: &[u8]) -> String {
    let claims = json!({
        "iat": chrono::Utc::now().timestamp(),
        "jti": uuid::Uuid::now_v7().to_string(),
        "iss": "Vonage",
        "api_key": API_KEY,
        "application_id": application_id,
        "payload_hash": hex::encode(Sha256::digest(body)),
    });
    let key = EncodingKey::from_secret(signature_secret.as_bytes())
        .expect("webhook_token: the signature secret is empty");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("HS256 signs")
}

/// A running stand-in; the server stops when this is dropped, and the calls being played with it.
pub struct VonageStandin {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for VonageStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl VonageStandin {
    /// Binds 127.0.0.1:0 and serves the application `application_id`, whose calls are
    /// authenticated with JWTs verified by `public_key_pem` (SPKI `PUBLIC KEY` or PKCS#1) and
    /// whose webhooks are signed with `signature_secret`. Call it inside a Tokio runtime.
    pub fn start(application_id: &str, public_key_pem: &str, signature_secret: &str) -> Self {
        assert!(
            !signature_secret.is_empty(),
            "VonageStandin::start: empty signature secret"
        );
        let public_key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .expect("VonageStandin::start: public_key_pem is not an RSA public key in PEM");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("VonageStandin::start must run inside a Tokio runtime");
        let addr = listener.local_addr().expect("local address");
        let inner = Arc::new(Inner {
            application_id: application_id.to_owned(),
            public_key,
            signature_secret: signature_secret.to_owned(),
            base_url: format!("http://{addr}"),
            requests: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            callees: Mutex::new(HashMap::new()),
            default_callee: Mutex::new(Callee::default()),
            played: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            pacing: Mutex::new(Pacing::default()),
            routes: Mutex::new(Vec::new()),
            // Vonage's event webhooks time out after 10 s (unconfirmed).
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("reqwest client"),
        });
        let app = Router::new()
            .route("/v1/calls", post(create::create_call))
            .fallback(not_found)
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("vonage stand-in server");
        });
        VonageStandin { inner, server }
    }

    /// `http://127.0.0.1:<port>`, to use as the adapter's base URL (for `/v1/calls`).
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    pub fn application_id(&self) -> &str {
        &self.inner.application_id
    }

    /// Every request to the API so far, accepted or not.
    pub fn request_count(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Calls to `to` (`33329841201` or `+33329841201`) are answered by `callee`.
    pub fn script_callee(&self, to: &str, callee: Callee) {
        let mut callees = self.inner.callees.lock().unwrap();
        callees.insert(to.trim_start_matches('+').to_owned(), callee);
    }

    /// Numbers not scripted are answered by `callee` (at first, `AnswersAndPresses(Some('1'))`).
    pub fn set_default_callee(&self, callee: Callee) {
        *self.inner.default_callee.lock().unwrap() = callee;
    }

    /// `Some(cps)`: each call starts no earlier than 1/cps after the previous one's start; calls
    /// over it are queued, not refused (Vonage answers 429 above its limit, 3 by default).
    /// `None`: no limit.
    pub fn set_calls_per_second(&self, cps: Option<f64>) {
        assert!(
            cps.is_none_or(|cps| cps > 0.0 && cps.is_finite()),
            "set_calls_per_second: {cps:?} is not a rate"
        );
        self.inner.pacing.lock().unwrap().per_second = cps;
    }

    /// Requests to URLs under `public_prefix` (the name Tocsin gives Vonage) go to
    /// `local_prefix` (where the daemon listens) instead; the signature covers the body only, so
    /// nothing else changes.
    pub fn route_public_url(&self, public_prefix: &str, local_prefix: &str) {
        let mut routes = self.inner.routes.lock().unwrap();
        let local = local_prefix.trim_end_matches('/').to_owned();
        routes.push((public_prefix.trim_end_matches('/').to_owned(), local));
    }

    /// Every call accepted so far, in arrival order.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.inner.calls.lock().unwrap().clone()
    }

    /// Waits until at least `n` calls were accepted and returns them all; panics after `timeout`.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<ReceivedCall> {
        let started = Instant::now();
        loop {
            let calls = self.calls();
            if calls.len() >= n {
                return calls;
            }
            if started.elapsed() >= timeout {
                panic!(
                    "vonage stand-in: waited {timeout:?} for {n} calls but accepted only {} ({} \
                     requests in all)",
                    calls.len(),
                    self.request_count(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What each accepted call went through so far, in arrival order.
    pub fn played_calls(&self) -> Vec<PlayedCall> {
        self.inner.played.lock().unwrap().clone()
    }

    /// Waits until the call `uuid` is over and returns what it went through; panics after
    /// `timeout`.
    pub async fn wait_for_call_end(&self, uuid: &str, timeout: Duration) -> PlayedCall {
        let started = Instant::now();
        loop {
            let played = self.played_calls().into_iter().find(|c| c.uuid == uuid);
            if let Some(call) = &played
                && call.ended_at.is_some()
            {
                return call.clone();
            }
            if started.elapsed() >= timeout {
                panic!("vonage stand-in: call {uuid} not over after {timeout:?}: {played:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every request made to Tocsin so far (events, input results), in order.
    pub fn events(&self) -> Vec<CallEvent> {
        self.inner.events.lock().unwrap().clone()
    }

    /// The requests made for the call `uuid`.
    pub fn events_of(&self, uuid: &str) -> Vec<CallEvent> {
        let events = self.events().into_iter();
        events.filter(|e| e.uuid == uuid).collect()
    }

    /// Forgets the calls, what they went through and their events (not the scripts).
    pub fn reset_calls(&self) {
        self.inner.calls.lock().unwrap().clear();
        self.inner.played.lock().unwrap().clear();
        self.inner.events.lock().unwrap().clear();
    }

    /// POSTs `body` to `url` (routed as [`route_public_url`](Self::route_public_url) says) as a
    /// forger would: a well-formed token signed with a secret that is not this application's.
    /// Returns the status Tocsin answered; panics when it cannot be reached. Replays a
    /// [`CallEvent`] with `post_forged(&e.url, &e.body)`.
    pub async fn post_forged(&self, url: &str, body: &Value) -> u16 {
        let forged = format!("{}-forged", self.inner.signature_secret);
        let answer = self.inner.post(url, body, &forged).await;
        let (status, _) = answer.unwrap_or_else(|| panic!("vonage stand-in: {url} unreachable"));
        status
    }
}

/// Vonage's problem body (RFC 7807 style), with an `instance` as Vonage adds one.
pub(crate) fn problem(status: StatusCode, kind: &str, title: &str, more: Value) -> Response {
    let mut body = json!({
        "type": format!("https://developer.nexmo.com/api-errors#{kind}"),
        "title": title,
        "instance": uuid::Uuid::now_v7().to_string(),
    });
    if let (Some(body), Value::Object(more)) = (body.as_object_mut(), more) {
        body.extend(more);
    }
    (status, Json(body)).into_response()
}

async fn not_found(State(inner): State<Arc<Inner>>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let detail = json!({"detail": "The requested resource does not exist"});
    problem(StatusCode::NOT_FOUND, "not-found", "Not Found", detail)
}

impl Inner {
    /// Counts a request to the API.
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
}
