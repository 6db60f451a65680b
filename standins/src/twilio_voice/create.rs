//! `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`: the request checked field by field (codes
//! and assumptions in the parent module's doc), the Call resource answered, the call recorded and
//! its callee started.

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{CallStatus, MachineDetection, PlayedCall, ReceivedCall, StatusEvent, callee};
use crate::twilio::{Inner, is_callback_url, is_e164, refusal, scripted_message, twilio_error};

/// `POST …/Calls.json`.
pub(crate) async fn create_call(
    State(inner): State<Arc<Inner>>,
    Path(account_sid): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = match inner.admit(&method, &headers, &account_sid, "Calls.json") {
        Ok(in_flight) => in_flight,
        Err(refused) => return *refused,
    };
    let request = match read_call_form(&headers, &body) {
        Ok(request) => request,
        Err((code, message)) => return twilio_error(400, code, &message),
    };
    if let Some((status, code)) = inner.take_scripted(&request.to) {
        return twilio_error(status, code, &scripted_message(code, &request.to));
    }

    let voice = &inner.voice;
    let sid = format!("CA{}", uuid::Uuid::now_v7().simple());
    let at = Instant::now();
    let started_at = voice.schedule(at);
    let queue_time = started_at.saturating_duration_since(at).as_millis();
    let date = chrono::Utc::now().to_rfc2822();
    let uri = format!("/2010-04-01/Accounts/{}/Calls/{sid}", inner.account_sid);
    let resource = json!({
        "account_sid": inner.account_sid,
        "annotation": null,
        "answered_by": null,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": date,
        "date_updated": date,
        "direction": "outbound-api",
        "duration": null,
        "end_time": null,
        "forwarded_from": null,
        "from": request.from,
        "from_formatted": request.from,
        "group_sid": null,
        "parent_call_sid": null,
        "phone_number_sid": null,
        "price": null,
        "price_unit": "USD",
        // A string in Twilio's OpenAPI, as `duration`.
        "queue_time": queue_time.to_string(),
        "sid": sid,
        "start_time": null,
        "status": "queued",
        "subresource_uris": {
            "notifications": format!("{uri}/Notifications.json"),
            "recordings": format!("{uri}/Recordings.json"),
            "events": format!("{uri}/Events.json"),
        },
        "to": request.to,
        "to_formatted": request.to,
        "trunk_sid": null,
        "uri": format!("{uri}.json"),
    });
    let callee = {
        let callees = voice.callees.lock().unwrap();
        let scripted = callees.get(&request.to).copied();
        scripted.unwrap_or(*voice.default_callee.lock().unwrap())
    };
    let call = ReceivedCall {
        account_sid: inner.account_sid.clone(),
        to: request.to,
        from: request.from,
        url: request.url,
        twiml: request.twiml,
        method: request.method,
        status_callback: request.status_callback,
        status_callback_method: request.status_callback_method,
        events: request.events,
        timeout: request.timeout,
        machine_detection: request.machine_detection,
        sid,
        at,
        started_at,
    };
    let played = PlayedCall {
        sid: call.sid.clone(),
        to: call.to.clone(),
        callee,
        status: CallStatus::Queued,
        answered_by: None,
        duration: None,
        error_code: None,
        documents: Vec::new(),
        verbs: Vec::new(),
        said: Vec::new(),
        gathers: Vec::new(),
        digits: None,
        ended_at: None,
    };
    voice.accepted(&call, played);
    // The task holds the state weakly: it stops when the stand-in is dropped.
    tokio::spawn(callee::play(Arc::downgrade(&inner), call, callee));
    (StatusCode::CREATED, Json(resource)).into_response()
}

/// The fields of a valid request.
struct CreateCall {
    to: String,
    from: String,
    url: Option<String>,
    twiml: Option<String>,
    method: String,
    status_callback: Option<String>,
    status_callback_method: String,
    events: Vec<StatusEvent>,
    timeout: u32,
    machine_detection: Option<MachineDetection>,
}

/// Reads and checks the form, or gives the code and message of the 400 Twilio would answer.
fn read_call_form(headers: &HeaderMap, body: &[u8]) -> Result<CreateCall, (u32, String)> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        let message = "No 'To' number is specified. (The body must be a form.)";
        return Err(refusal(21201, message));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        let found = pairs.iter().find(|(n, v)| n == name && !v.is_empty());
        found.map(|(_, v)| v.clone())
    };

    let Some(to) = field("To") else {
        return Err(refusal(21201, "No 'To' number is specified"));
    };
    if !is_e164(&to) {
        let message = format!("The 'To' number {to} is not a valid phone number.");
        return Err(refusal(21211, message));
    }
    let Some(from) = field("From") else {
        return Err(refusal(21213, "No 'From' number is specified"));
    };
    if !is_e164(&from) {
        let message = format!(
            "The source phone number provided, {from}, is not yet verified for your account. You \
             may only make calls from phone numbers that you've verified or purchased from Twilio."
        );
        return Err(refusal(21210, message));
    }
    let (url, twiml) = (field("Url"), field("Twiml"));
    match (&url, &twiml) {
        (None, None) => return Err(refusal(21205, "Url parameter is required.")),
        (Some(_), Some(_)) => {
            return Err(refusal(21205, "Only one of Url or Twiml may be given."));
        }
        (Some(url), None) if !is_absolute_url(url) => {
            return Err(refusal(21205, format!("Url is not a valid URL: {url}")));
        }
        _ => {}
    }
    let method = http_method(field("Method"), "Method")?;
    let status_callback = field("StatusCallback");
    if let Some(url) = &status_callback
        && !is_callback_url(url)
    {
        let message = format!("The StatusCallback URL {url} is not a valid URL.");
        return Err(refusal(21609, message));
    }
    let status_callback_method =
        http_method(field("StatusCallbackMethod"), "StatusCallbackMethod")?;
    let mut events = Vec::new();
    // Repeated, as the SDKs send it, or space-separated, as in TwiML.
    let given = pairs.iter().filter(|(n, _)| n == "StatusCallbackEvent");
    for name in given.flat_map(|(_, v)| v.split_whitespace()) {
        let Some(event) = StatusEvent::parse(name) else {
            let message = format!("Invalid StatusCallbackEvent: {name}");
            return Err(refusal(21626, message));
        };
        events.push(event);
    }
    if events.is_empty() {
        events.push(StatusEvent::Completed);
    }
    events.sort();
    events.dedup();
    let timeout = match field("Timeout") {
        None => 60,
        Some(raw) => match raw.parse::<u32>() {
            Ok(seconds @ 1..) => seconds.min(600),
            _ => return Err(refusal(21208, format!("Invalid Timeout: {raw}"))),
        },
    };
    let machine_detection = match field("MachineDetection").as_deref() {
        None => None,
        Some("Enable") => Some(MachineDetection::Enable),
        Some("DetectMessageEnd") => Some(MachineDetection::DetectMessageEnd),
        Some(other) => {
            let message = format!("Invalid MachineDetection value: {other}");
            return Err(refusal(21234, message));
        }
    };
    Ok(CreateCall {
        to,
        from,
        url,
        twiml,
        method,
        status_callback,
        status_callback_method,
        events,
        timeout,
        machine_detection,
    })
}

/// `GET` or `POST` (any case; default `POST`), or 21209.
fn http_method(given: Option<String>, name: &str) -> Result<String, (u32, String)> {
    match given.map(|m| m.to_ascii_uppercase()).as_deref() {
        None | Some("POST") => Ok("POST".to_owned()),
        Some("GET") => Ok("GET".to_owned()),
        Some(other) => Err(refusal(21209, format!("Invalid {name}: {other}"))),
    }
}

/// An absolute http(s) URL with a host.
fn is_absolute_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}
