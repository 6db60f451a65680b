//! Citizens' SMS to the account, as OVH holds them for pickup (reference/sms-providers.md §3.5):
//! `GET /sms/{serviceName}/incoming` → their ids, `GET …/incoming/{id}` →
//! `{creationDatetime, credits, id, message, sender, tag}`, `DELETE …/incoming/{id}`. Every call
//! is signed and checked like the jobs, over an empty body.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Inner, authenticate, ovh_error};

/// One SMS a citizen sent to the account, waiting to be fetched.
#[derive(Debug, Clone)]
pub(super) struct IncomingSms {
    id: u64,
    sender: String,
    message: String,
    /// When the stand-in took it, in OVH's date-time form (`2026-03-27T10:15:00+01:00`).
    creation_datetime: String,
}

impl IncomingSms {
    pub(super) fn new(id: u64, sender: &str, message: &str) -> IncomingSms {
        IncomingSms {
            id,
            sender: sender.to_owned(),
            message: message.to_owned(),
            creation_datetime: chrono::Local::now()
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
        }
    }

    /// `sms.Incoming`, as `GET …/incoming/{id}` answers it.
    fn to_json(&self) -> Value {
        json!({
            "creationDatetime": self.creation_datetime,
            "credits": 1,
            "id": self.id,
            "message": self.message,
            "sender": self.sender,
            "tag": "",
        })
    }
}

/// `GET /1.0/sms/{serviceName}/incoming`: the ids of the SMS waiting, oldest first.
pub(super) async fn list_incoming(
    State(inner): State<Arc<Inner>>,
    Path(service_name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = refusal(&inner, &service_name, &method, &uri, &headers, &body) {
        return refused;
    }
    let ids: Vec<u64> = inner.incoming.lock().unwrap().keys().copied().collect();
    Json(ids).into_response()
}

/// `GET /1.0/sms/{serviceName}/incoming/{id}`: one SMS, left in place.
pub(super) async fn read_incoming(
    State(inner): State<Arc<Inner>>,
    Path((service_name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = refusal(&inner, &service_name, &method, &uri, &headers, &body) {
        return refused;
    }
    let sms = id
        .parse::<u64>()
        .ok()
        .and_then(|id| inner.incoming.lock().unwrap().get(&id).cloned());
    match sms {
        Some(sms) => Json(sms.to_json()).into_response(),
        None => no_such_sms(&id),
    }
}

/// `DELETE /1.0/sms/{serviceName}/incoming/{id}`: the SMS is gone; OVH answers `null`.
pub(super) async fn delete_incoming(
    State(inner): State<Arc<Inner>>,
    Path((service_name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = refusal(&inner, &service_name, &method, &uri, &headers, &body) {
        return refused;
    }
    let removed = id
        .parse::<u64>()
        .ok()
        .and_then(|id| inner.incoming.lock().unwrap().remove(&id));
    match removed {
        Some(_) => Json(Value::Null).into_response(),
        None => no_such_sms(&id),
    }
}

/// Counts the request, then checks it as OVH would: signed, for this account, without a body.
/// `Some` holds the refusal to answer.
fn refusal(
    inner: &Inner,
    service_name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    inner.incoming_requests.fetch_add(1, Ordering::SeqCst);
    if let Err((status, error_code, message)) = authenticate(inner, method, uri, headers, body) {
        return Some(ovh_error(status, error_code, message));
    }
    if service_name != inner.service_name {
        return Some(ovh_error(
            404,
            None,
            &format!("The requested object (serviceName = {service_name}) does not exist"),
        ));
    }
    // Stricter than OVH, to catch our mistakes: these calls carry nothing.
    if !body.is_empty() {
        return Some(ovh_error(400, None, "A GET or DELETE takes no body"));
    }
    None
}

fn no_such_sms(id: &str) -> Response {
    ovh_error(
        404,
        None,
        &format!("The requested object (id = {id}) does not exist"),
    )
}
