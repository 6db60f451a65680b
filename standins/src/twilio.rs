//! A stand-in for Twilio Programmable Messaging's `POST /2010-04-01/Accounts/{AccountSid}/
//! Messages.json`, following reference/sms-providers.md §2: HTTP Basic auth (Account SID and
//! Auth Token, or an API key), form-encoded PascalCase fields, the Message resource on 201, and
//! `{"code", "message", "more_info", "status"}` bodies on errors. It records what it accepted
//! and answers what the test scripts; [`post_status_callback`] plays Twilio calling back, signed
//! with `X-Twilio-Signature` (§2.3, §2.4). The same server answers Programmable Voice's
//! `Calls.json` for the same account: see [`crate::twilio_voice`].
//!
//! Stricter than Twilio on purpose, where our adapter promises more: exactly one of `From` and
//! `MessagingServiceSid` (Twilio takes both), and `To` in E.164 only (no `whatsapp:` addresses).
//! Codes for refusals the reference does not list (21602, 21603, 21604, 21609, 21212, 21624,
//! 21701) are Twilio's as we know them, unconfirmed. It does not count segments.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::json;

/// One SMS the stand-in accepted (answered 201).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// The account it was sent on (the path's Account SID).
    pub account_sid: String,
    /// `To`, as sent (`+33612345678`).
    pub to: String,
    /// `From`, when the request set one.
    pub from: Option<String>,
    /// `MessagingServiceSid`, when the request set one.
    pub messaging_service_sid: Option<String>,
    /// `Body`.
    pub body: String,
    /// `StatusCallback`, when the request set one.
    pub status_callback: Option<String>,
    /// `ValidityPeriod` in seconds, when the request set one.
    pub validity_period: Option<u32>,
    /// The `sid` (`SM…`) the stand-in answered with.
    pub sid: String,
    /// When the stand-in took it.
    pub at: Instant,
}

impl ReceivedSms {
    /// The parameters Twilio would POST to `StatusCallback` when this message reaches `status`
    /// (`sent`, `delivered`, `undelivered`, `failed` …), with `ErrorCode` when given (§2.3).
    pub fn status_callback_params(
        &self,
        status: &str,
        error_code: Option<u32>,
    ) -> Vec<(String, String)> {
        let mut params = vec![
            ("AccountSid", self.account_sid.clone()),
            ("ApiVersion", "2010-04-01".to_owned()),
            ("MessageSid", self.sid.clone()),
            ("MessageStatus", status.to_owned()),
            ("SmsSid", self.sid.clone()),
            ("SmsStatus", status.to_owned()),
            ("To", self.to.clone()),
        ];
        // With a Messaging Service, Twilio reports the pool number it picked.
        params.push(("From", self.from.clone().unwrap_or("+33700000000".into())));
        if let Some(service) = &self.messaging_service_sid {
            params.push(("MessagingServiceSid", service.clone()));
        }
        if let Some(code) = error_code {
            params.push(("ErrorCode", code.to_string()));
        }
        if matches!(status, "delivered" | "undelivered") {
            // The carrier's done date: YYMMDDhhmm, no time zone.
            let done = chrono::Utc::now().format("%y%m%d%H%M").to_string();
            params.push(("RawDlrDoneDate", done));
        }
        params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// A failure scripted for one recipient (of an SMS or a call).
#[derive(Debug, Clone)]
struct Scripted {
    status: u16,
    code: u32,
    /// How many more sends get it; `None`: all of them.
    left: Option<u32>,
}

/// The account's state, shared by the Messages and the Calls (`twilio_voice`) endpoints.
pub(crate) struct Inner {
    pub(crate) account_sid: String,
    pub(crate) auth_token: String,
    /// API keys (SID, secret) accepted besides the Auth Token.
    api_keys: Mutex<Vec<(String, String)>>,
    base_url: String,
    received: Mutex<Vec<ReceivedSms>>,
    scripted: Mutex<HashMap<String, Scripted>>,
    requests: AtomicUsize,
    /// Authenticated requests being handled now, against `concurrency_limit`.
    in_flight: AtomicUsize,
    /// Above 0: authenticated requests beyond this many at once get 429 / 20429.
    concurrency_limit: AtomicUsize,
    /// How long each accepted message's answer waits, in milliseconds.
    delay_ms: AtomicU64,
    /// Programmable Voice: calls, scripted callees, what they heard and posted.
    pub(crate) voice: crate::twilio_voice::Voice,
}

/// A running stand-in; the server stops when this is dropped. Its voice calls (Calls.json) are
/// scripted and read through the methods in [`crate::twilio_voice`].
pub struct TwilioStandin {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TwilioStandin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TwilioStandin {
    /// Binds 127.0.0.1:0 and serves the account `account_sid` (`AC…`), which authenticates with
    /// `auth_token`, in a background task. Call it inside a Tokio runtime.
    pub fn start(account_sid: &str, auth_token: &str) -> TwilioStandin {
        Self::start_with(account_sid, auth_token, true)
    }

    /// Like [`start`](Self::start), but calls are only counted and timed (see
    /// [`call_times`](Self::call_times)), not recorded with what they went through: memory
    /// stays flat whatever the volume, for the benchmark. Callees still play every call.
    pub fn start_counting(account_sid: &str, auth_token: &str) -> TwilioStandin {
        Self::start_with(account_sid, auth_token, false)
    }

    fn start_with(account_sid: &str, auth_token: &str, record_calls: bool) -> TwilioStandin {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("TwilioStandin::start must run inside a Tokio runtime");
        let addr = listener.local_addr().expect("local address");
        let inner = Arc::new(Inner {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            api_keys: Mutex::new(Vec::new()),
            base_url: format!("http://{addr}"),
            received: Mutex::new(Vec::new()),
            scripted: Mutex::new(HashMap::new()),
            requests: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            concurrency_limit: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
            voice: crate::twilio_voice::Voice::new(record_calls),
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                any(create_message),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Calls.json",
                any(crate::twilio_voice::create_call),
            )
            .fallback(not_found)
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("twilio stand-in server");
        });
        TwilioStandin { inner, server }
    }

    /// `http://127.0.0.1:<port>`, to use as the adapter's `base_url`.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    pub fn account_sid(&self) -> &str {
        &self.inner.account_sid
    }

    /// The shared state, for the voice methods (`twilio_voice`).
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Also accepts Basic auth with this API key (`SK…`) and its secret (§2.1).
    pub fn allow_api_key(&self, sid: &str, secret: &str) {
        let mut keys = self.inner.api_keys.lock().unwrap();
        keys.push((sid.to_owned(), secret.to_owned()));
    }

    /// Every SMS accepted so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedSms> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Every request so far, accepted or not.
    pub fn request_count(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Forgets what was accepted so far.
    pub fn reset(&self) {
        self.inner.received.lock().unwrap().clear();
    }

    /// From now on, every accepted message's answer comes `delay` late; the message counts as
    /// received at once, as with a real provider whose answer is slow.
    pub fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.inner.delay_ms.store(millis, Ordering::SeqCst);
    }

    /// From now on, authenticated requests beyond `limit` at once are answered 429 with code
    /// 20429 and not processed, like the account's REST concurrency limit (§2.2); 0 lifts it.
    pub fn set_concurrency_limit(&self, limit: usize) {
        self.inner.concurrency_limit.store(limit, Ordering::SeqCst);
    }

    /// Sends to `to` (`+33612345678`; a missing `+` is added) get `http_status` with a Twilio
    /// error body carrying `twilio_code` (e.g. 400/21211, 400/21610, 429/20429, 503/20503), the
    /// next `times` sends or, with `None`, until [`accept_recipient`](Self::accept_recipient).
    /// Calls to `to` (Calls.json) are refused the same way.
    pub fn fail_recipient(&self, to: &str, http_status: u16, twilio_code: u32, times: Option<u32>) {
        assert!(
            StatusCode::from_u16(http_status).is_ok_and(|s| !s.is_success()),
            "fail_recipient: {http_status} is not an error status"
        );
        if times == Some(0) {
            return;
        }
        let scripted = Scripted {
            status: http_status,
            code: twilio_code,
            left: times,
        };
        let mut scripts = self.inner.scripted.lock().unwrap();
        scripts.insert(plus(to), scripted);
    }

    /// Sends to `to` are accepted again.
    pub fn accept_recipient(&self, to: &str) {
        self.inner.scripted.lock().unwrap().remove(&plus(to));
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
                panic!(
                    "twilio stand-in: waited {timeout:?} for {n} SMS but accepted only {} ({} \
                     requests in all)",
                    received.len(),
                    self.request_count(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Posts the status callback Twilio would send for `sms` reaching `status`, signed with this
    /// account's Auth Token, to the message's `StatusCallback`; returns the HTTP status Tocsin
    /// answered. Panics if the message had no `StatusCallback`.
    pub async fn send_status_callback(
        &self,
        sms: &ReceivedSms,
        status: &str,
        error_code: Option<u32>,
    ) -> Result<u16, reqwest::Error> {
        let url = sms
            .status_callback
            .as_deref()
            .expect("send_status_callback: the message had no StatusCallback");
        let params = sms.status_callback_params(status, error_code);
        post_status_callback(url, &self.inner.auth_token, &params).await
    }
}

/// `X-Twilio-Signature` for a form POST to `url` (§2.4): Base64 of HMAC-SHA1, keyed with the
/// Auth Token, over the URL then each parameter's name and value, sorted by name then value.
/// Written apart from the adapter's, so that each checks the other.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// POSTs `params` to `url` as Twilio sends a status callback: form-encoded, signed with
/// `X-Twilio-Signature` (§2.3, §2.4). Returns the HTTP status of the answer.
pub async fn post_status_callback(
    url: &str,
    auth_token: &str,
    params: &[(String, String)],
) -> Result<u16, reqwest::Error> {
    post_signed(url, url, auth_token, params).await
}

/// Like [`post_status_callback`], signing `public_url` (the URL Twilio was given) while posting
/// to `url` (where the daemon listens, behind the public name in tests).
pub async fn post_signed(
    public_url: &str,
    url: &str,
    auth_token: &str,
    params: &[(String, String)],
) -> Result<u16, reqwest::Error> {
    post_signed_with(&reqwest::Client::new(), public_url, url, auth_token, params).await
}

/// [`post_signed`] on `client`'s kept-alive connections.
pub(crate) async fn post_signed_with(
    client: &reqwest::Client,
    public_url: &str,
    url: &str,
    auth_token: &str,
    params: &[(String, String)],
) -> Result<u16, reqwest::Error> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let response = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, "TwilioProxy/1.1")
        .header("X-Twilio-Signature", sign(auth_token, public_url, params))
        .body(body)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// Counts an authenticated request in flight until dropped.
pub(crate) struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    /// What Twilio checks before reading a request to `resource` (`Messages.json`, `Calls.json`)
    /// of the path's account: POST, then authentication (as on any API gateway), the REST
    /// concurrency limit, the account. Counts the request; holds it in flight while the guard
    /// lives. The refusal is boxed: a `Response` is large.
    pub(crate) fn admit(
        &self,
        method: &Method,
        headers: &HeaderMap,
        account_sid: &str,
        resource: &str,
    ) -> Result<InFlight<'_>, Box<Response>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if method != Method::POST {
            return Err(Box::new(twilio_error(405, 20004, "Method not allowed")));
        }
        if !authenticated(self, headers) {
            let mut response = twilio_error(401, 20003, "Authenticate");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
            return Err(Box::new(response));
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let in_flight = InFlight(&self.in_flight);
        let limit = self.concurrency_limit.load(Ordering::SeqCst);
        if limit > 0 && now > limit {
            return Err(Box::new(twilio_error(429, 20429, "Too Many Requests")));
        }
        if account_sid != self.account_sid {
            let path = format!("/2010-04-01/Accounts/{account_sid}/{resource}");
            let message = format!("The requested resource {path} was not found");
            return Err(Box::new(twilio_error(404, 20404, &message)));
        }
        Ok(in_flight)
    }

    /// The HTTP status and Twilio code scripted for `to` by
    /// [`TwilioStandin::fail_recipient`], counting one use.
    pub(crate) fn take_scripted(&self, to: &str) -> Option<(u16, u32)> {
        let mut scripts = self.scripted.lock().unwrap();
        let scripted = scripts.get(to).cloned();
        match scripts.get_mut(to).and_then(|s| s.left.as_mut()) {
            Some(left) if *left > 1 => *left -= 1,
            Some(_) => {
                scripts.remove(to);
            }
            None => {}
        }
        scripted.map(|Scripted { status, code, .. }| (status, code))
    }
}

async fn create_message(
    State(inner): State<Arc<Inner>>,
    Path(account_sid): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = match inner.admit(&method, &headers, &account_sid, "Messages.json") {
        Ok(in_flight) => in_flight,
        Err(refused) => return *refused,
    };

    let request = match read_form(&headers, &body) {
        Ok(request) => request,
        Err((code, message)) => return twilio_error(400, code, &message),
    };

    if let Some((status, code)) = inner.take_scripted(&request.to) {
        return twilio_error(status, code, &scripted_message(code, &request.to));
    }

    let sid = format!("SM{}", uuid::Uuid::now_v7().simple());
    let date = chrono::Utc::now().to_rfc2822();
    let uri = format!("/2010-04-01/Accounts/{}/Messages/{sid}", inner.account_sid);
    // With a Messaging Service the first status is `accepted`, and the sender is not yet known.
    let status = if request.messaging_service_sid.is_some() {
        "accepted"
    } else {
        "queued"
    };
    let resource = json!({
        "account_sid": inner.account_sid,
        "api_version": "2010-04-01",
        "body": request.body,
        "date_created": date,
        "date_sent": null,
        "date_updated": date,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": request.from,
        "num_media": "0",
        "num_segments": if request.messaging_service_sid.is_some() { "0" } else { "1" },
        "price": null,
        "price_unit": "USD",
        "messaging_service_sid": request.messaging_service_sid,
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": format!("{uri}/Media.json")},
        "to": request.to,
        "uri": format!("{uri}.json"),
    });
    inner.received.lock().unwrap().push(ReceivedSms {
        account_sid: inner.account_sid.clone(),
        to: request.to,
        from: request.from,
        messaging_service_sid: request.messaging_service_sid,
        body: request.body,
        status_callback: request.status_callback,
        validity_period: request.validity_period,
        sid,
        at: Instant::now(),
    });
    // The message is taken (and recorded) before the slow answer: a client that gives up
    // meanwhile has still sent it, as with a real provider.
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    (StatusCode::CREATED, Json(resource)).into_response()
}

/// The fields of a valid request.
struct CreateMessage {
    to: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    body: String,
    status_callback: Option<String>,
    validity_period: Option<u32>,
}

/// Reads and checks the form, or gives the code and message of the 400 Twilio would answer
/// (§2.1, §2.2).
fn read_form(headers: &HeaderMap, body: &[u8]) -> Result<CreateMessage, (u32, String)> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        // Twilio reads parameters from a form only; anything else has no `To`.
        return Err(refusal(
            21604,
            "A 'To' phone number is required. (The body must be application/x-www-form-urlencoded.)",
        ));
    }
    let fields: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| fields.get(name).filter(|v| !v.is_empty()).cloned();

    let Some(to) = field("To") else {
        return Err(refusal(21604, "A 'To' phone number is required."));
    };
    if !is_e164(&to) {
        let message = format!("The 'To' number {to} is not a valid phone number.");
        return Err(refusal(21211, &message));
    }
    let from = field("From");
    let messaging_service_sid = field("MessagingServiceSid");
    match (&from, &messaging_service_sid) {
        (None, None) => {
            return Err(refusal(21603, "A 'From' phone number is required."));
        }
        (Some(_), Some(_)) => {
            let message = "Give either From or MessagingServiceSid, not both (stand-in rule).";
            return Err(refusal(21603, message));
        }
        (Some(from), None) if !is_e164(from) && !is_alphanumeric_sender(from) => {
            let message = format!(
                "The 'From' number {from} is not a valid phone number, shortcode, or \
                 alphanumeric sender ID."
            );
            return Err(refusal(21212, &message));
        }
        (None, Some(sid)) if !is_sid(sid, "MG") => {
            let message = format!("The Messaging Service Sid {sid} is invalid.");
            return Err(refusal(21701, &message));
        }
        _ => {}
    }
    let Some(body) = field("Body") else {
        return Err(refusal(21602, "Message body is required."));
    };
    if body.chars().count() > 1600 {
        let message = "The concatenated message body exceeds the 1600 character limit.";
        return Err(refusal(21617, message));
    }
    let status_callback = field("StatusCallback");
    if let Some(url) = &status_callback
        && !is_callback_url(url)
    {
        let message = format!("The StatusCallback URL {url} is not a valid URL.");
        return Err(refusal(21609, &message));
    }
    let validity_period = match field("ValidityPeriod") {
        None => None,
        Some(raw) => match raw.parse::<u32>() {
            Ok(seconds @ 1..=36_000) => Some(seconds),
            _ => {
                let message = "ValidityPeriod must be between 1 and 36000 seconds.";
                return Err(refusal(21624, message));
            }
        },
    };
    Ok(CreateMessage {
        to,
        from,
        messaging_service_sid,
        body,
        status_callback,
        validity_period,
    })
}

pub(crate) fn refusal(code: u32, message: impl AsRef<str>) -> (u32, String) {
    (code, message.as_ref().to_owned())
}

/// HTTP Basic with the Account SID and Auth Token, or an allowed API key.
fn authenticated(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some((user, password)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(u, p)| (u.to_owned(), p.to_owned()))
        })
    else {
        return false;
    };
    if user == inner.account_sid && password == inner.auth_token {
        return true;
    }
    let keys = inner.api_keys.lock().unwrap();
    keys.iter()
        .any(|(sid, secret)| *sid == user && *secret == password)
}

async fn not_found(State(inner): State<Arc<Inner>>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    twilio_error(404, 20404, "The requested resource was not found")
}

/// Twilio's REST error body (§2.2).
pub(crate) fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    let http = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    (http, Json(body)).into_response()
}

/// Twilio's wording for the codes tests script most; it echoes the number where Twilio does,
/// so that tests see the adapter mask it.
pub(crate) fn scripted_message(code: u32, to: &str) -> String {
    match code {
        20003 => "Authenticate".to_owned(),
        20429 => "Too Many Requests".to_owned(),
        20503 => "Service Unavailable".to_owned(),
        21211 => format!("The 'To' number {to} is not a valid phone number."),
        21408 => format!(
            "Permission to send an SMS has not been enabled for the region indicated by the \
             'To' number: {to}."
        ),
        21610 => "Attempt to send to unsubscribed recipient".to_owned(),
        21612 => format!("The 'To' phone number: {to}, is not currently reachable."),
        21614 => format!("'To' number {to} is not a valid mobile number"),
        _ => "Scripted failure".to_owned(),
    }
}

/// `+` then 7 to 15 digits, not starting with 0.
pub(crate) fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// Twilio's alphanumeric sender ids: up to 11 letters, digits and spaces, at least one letter.
fn is_alphanumeric_sender(from: &str) -> bool {
    (1..=11).contains(&from.len())
        && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && from.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_sid(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An http(s) URL with a host and no underscore in it (§2.1).
pub(crate) fn is_callback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !host.contains('_') && !host.contains(char::is_whitespace)
}

/// `33612345678` → `+33612345678`.
pub(crate) fn plus(to: &str) -> String {
    format!("+{}", to.trim_start_matches('+'))
}
