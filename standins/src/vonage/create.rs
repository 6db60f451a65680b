//! `POST /v1/calls`: the JWT checked, the body checked field by field (rules and assumptions in
//! the parent module's doc), the call answered 201, recorded and its callee started.

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    CallStatus, Inner, MachineDetection, PlayedCall, ReceivedCall, callee,
    ncco::{self, Invalid},
    problem,
};

/// The claims the stand-in requires of the call JWT.
#[derive(Deserialize)]
struct CallClaims {
    application_id: String,
    #[allow(dead_code)] // required, not read
    iat: f64,
    jti: String,
}

pub(super) async fn create_call(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.count_request();
    let jti = match authenticate(&inner, &headers) {
        Ok(jti) => jti,
        Err(detail) => {
            let detail = json!({ "detail": detail });
            return problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                detail,
            );
        }
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        let detail = json!({"detail": "The request body must be application/json"});
        let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return problem(
            status,
            "unsupported-media-type",
            "Unsupported Media Type",
            detail,
        );
    }
    let request = match read_body(&body) {
        Ok(request) => request,
        Err(invalid) => {
            let invalid: Vec<Value> = invalid
                .into_iter()
                .map(|(name, reason)| json!({"name": name, "reason": reason}))
                .collect();
            let more = json!({ "invalid_parameters": invalid });
            return problem(StatusCode::BAD_REQUEST, "validation", "Bad Request", more);
        }
    };

    let uuid = uuid::Uuid::now_v7().to_string();
    let conversation_uuid = format!("CON-{}", uuid::Uuid::now_v7());
    let at = Instant::now();
    let call = ReceivedCall {
        uuid: uuid.clone(),
        conversation_uuid: conversation_uuid.clone(),
        to: request.to,
        from: request.from,
        ncco: request.ncco,
        ncco_json: request.ncco_json,
        event_url: request.event_url,
        event_method: "POST".to_owned(),
        machine_detection: request.machine_detection,
        ringing_timer: request.ringing_timer,
        length_timer: request.length_timer,
        jti,
        at,
        started_at: inner.schedule(at),
    };
    let callee = {
        let callees = inner.callees.lock().unwrap();
        let scripted = callees.get(&call.to).copied();
        scripted.unwrap_or(*inner.default_callee.lock().unwrap())
    };
    inner.calls.lock().unwrap().push(call.clone());
    inner.played.lock().unwrap().push(PlayedCall {
        uuid: uuid.clone(),
        to: call.to.clone(),
        callee,
        status: CallStatus::Started,
        actions: Vec::new(),
        talks: Vec::new(),
        inputs: Vec::new(),
        digits: None,
        timed_out: None,
        answers: Vec::new(),
        duration: None,
        ended_at: None,
    });
    // The task holds the state weakly: it stops when the stand-in is dropped.
    tokio::spawn(callee::play(Arc::downgrade(&inner), call, callee));
    let resource = json!({
        "uuid": uuid,
        "status": "started",
        "direction": "outbound",
        "conversation_uuid": conversation_uuid,
    });
    (StatusCode::CREATED, Json(resource)).into_response()
}

/// The `jti` of a valid call JWT, or the `detail` of the 401.
fn authenticate(inner: &Inner, headers: &HeaderMap) -> Result<String, String> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Err("Missing Bearer token in the Authorization header".to_owned());
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    let claims = jsonwebtoken::decode::<CallClaims>(token.trim(), &inner.public_key, &validation)
        .map_err(|e| format!("Invalid token: {e}"))?
        .claims;
    if claims.application_id != inner.application_id {
        return Err("The token's application_id is not this application's".to_owned());
    }
    if claims.jti.is_empty() {
        return Err("Invalid token: empty jti".to_owned());
    }
    Ok(claims.jti)
}

/// The fields of a valid request.
struct CreateCall {
    to: String,
    from: String,
    ncco: Vec<ncco::Action>,
    ncco_json: Value,
    event_url: String,
    machine_detection: Option<MachineDetection>,
    ringing_timer: Option<u32>,
    length_timer: Option<u32>,
}

/// Reads and checks the body, or lists every invalid parameter.
fn read_body(body: &[u8]) -> Result<CreateCall, Vec<Invalid>> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(vec![("body".into(), "must be a JSON object".into())]);
    };
    let mut invalid: Vec<Invalid> = Vec::new();
    let mut refuse = |name: &str, reason: &str| invalid.push((name.into(), reason.into()));

    let to = match fields
        .get("to")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        None => {
            refuse("to", "is required: an array of one phone endpoint");
            None
        }
        Some([endpoint]) => phone(endpoint).or_else(|| {
            let reason = "must be {\"type\":\"phone\",\"number\":…} with E.164 digits, no '+'";
            refuse("to[0]", reason);
            None
        }),
        Some(_) => {
            refuse("to", "must hold exactly one endpoint");
            None
        }
    };
    let from = match fields.get("from") {
        None => {
            refuse("from", "is required: a phone endpoint");
            None
        }
        Some(endpoint) => phone(endpoint).or_else(|| {
            let reason = "must be {\"type\":\"phone\",\"number\":…} with E.164 digits, no '+'";
            refuse("from", reason);
            None
        }),
    };
    if fields.contains_key("answer_url") {
        refuse(
            "answer_url",
            "is not supported by the stand-in: send the ncco inline",
        );
    }
    let ncco_json = fields.get("ncco").cloned().unwrap_or(Value::Null);
    let ncco = match fields.get("ncco") {
        None => {
            refuse("ncco", "is required (the stand-in takes no answer_url)");
            None
        }
        Some(given) => match ncco::parse("ncco", given) {
            Ok(actions) => Some(actions),
            Err(reasons) => {
                invalid.extend(reasons);
                None
            }
        },
    };
    let mut refuse = |name: &str, reason: &str| invalid.push((name.into(), reason.into()));
    let event_url = match fields.get("event_url") {
        None => {
            refuse(
                "event_url",
                "is required by the stand-in (no application default)",
            );
            None
        }
        Some(urls) => ncco::one_url(urls).or_else(|| {
            refuse("event_url", "must be an array of one http(s) URL");
            None
        }),
    };
    match fields.get("event_method") {
        None => {}
        Some(Value::String(m)) if m.eq_ignore_ascii_case("POST") => {}
        Some(_) => refuse(
            "event_method",
            "must be POST (GET is not supported by the stand-in)",
        ),
    }
    let machine_detection = match fields.get("machine_detection") {
        None => None,
        Some(v) if v == "continue" => Some(MachineDetection::Continue),
        Some(v) if v == "hangup" => Some(MachineDetection::Hangup),
        Some(_) => {
            refuse("machine_detection", "must be \"continue\" or \"hangup\"");
            None
        }
    };
    let ringing_timer = seconds(&fields, "ringing_timer", 120, &mut refuse);
    let length_timer = seconds(&fields, "length_timer", 7200, &mut refuse);

    match (to, from, ncco, event_url) {
        (Some(to), Some(from), Some(ncco), Some(event_url)) if invalid.is_empty() => {
            Ok(CreateCall {
                to,
                from,
                ncco,
                ncco_json,
                event_url,
                machine_detection,
                ringing_timer,
                length_timer,
            })
        }
        _ => Err(invalid),
    }
}

/// The number of `{"type":"phone","number":"33329841201"}`: 7 to 15 digits, not starting with 0.
fn phone(endpoint: &Value) -> Option<String> {
    if endpoint.get("type")? != "phone" {
        return None;
    }
    let number = endpoint.get("number")?.as_str()?;
    let ok = (7..=15).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    ok.then(|| number.to_owned())
}

/// An optional whole number of seconds from 1 to `max`.
fn seconds(
    fields: &Map<String, Value>,
    name: &str,
    max: u32,
    refuse: &mut impl FnMut(&str, &str),
) -> Option<u32> {
    let value = fields.get(name)?;
    match value.as_u64().and_then(|v| u32::try_from(v).ok()) {
        Some(v) if (1..=max).contains(&v) => Some(v),
        _ => {
            refuse(name, &format!("must be an integer from 1 to {max}"));
            None
        }
    }
}
