//! What wraps every request: its id (`X-Request-Id`, taken from the caller or made), a tracing
//! span that carries the id and the path but never the query string (where a careless client may
//! put a key), and the one error shape for every answer, also those that axum's routing and
//! extractors produce on their own (404, 405, 413…).

use std::time::Instant;

use axum::{
    Json,
    body::Body,
    extract::Request,
    http::{HeaderValue, StatusCode, header::CONTENT_TYPE},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::error::{ApiError, InternalCause};

pub const REQUEST_ID: &str = "x-request-id";
/// Longest request id taken from a caller; longer or odd ones are replaced by our own.
const MAX_REQUEST_ID: usize = 128;
/// How much of a non-JSON error body (axum's own rejections are one line) is kept as message.
const MAX_MESSAGE: usize = 4096;

/// The request's id, for handlers (the audit log records it).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn envelope(mut request: Request, next: Next) -> Response {
    let id =
        caller_request_id(&request).unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
    );
    async move {
        let started = Instant::now();
        let response = next.run(request).await;
        let mut response = one_error_shape(response, &id).await;
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "answered"
        );
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        response
    }
    .instrument(span)
    .await
}

/// A caller's id is kept only when it is short, visible ASCII: it goes into every log line.
fn caller_request_id(request: &Request) -> Option<String> {
    let value = request.headers().get(REQUEST_ID)?.to_str().ok()?.trim();
    let fine = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID
        && value.bytes().all(|b| b.is_ascii_graphic());
    fine.then(|| value.to_string())
}

/// Internal errors are logged here, once, with the request id in the span, and answered with that
/// id as `reference`; any other error answer that is not already ours is rewritten into it.
async fn one_error_shape(response: Response, request_id: &str) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(error = %cause, status = status.as_u16(), "internal error");
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return internal(status, request_id, response.headers());
        }
        // A 503 says what is away in its own words; the cause stays in the log.
        return response;
    }
    // Our own answers: JSON errors of the API, and the citizens' pages, which say what went
    // wrong in French on the page itself.
    let ours = response.headers().get(CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
    });
    if ours {
        return response;
    }
    if status.is_server_error() {
        // A panic caught below, or a layer's own failure: nothing of it is shown.
        tracing::error!(status = status.as_u16(), "internal error without a cause");
        return internal(status, request_id, response.headers());
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut shaped = ApiError::new(status, code_for(status), message).into_response();
    // Keep what the status needs (Allow on 405, Retry-After on 429/503…).
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

fn internal(status: StatusCode, request_id: &str, headers: &axum::http::HeaderMap) -> Response {
    let mut body = ApiError::new(status, code_for(status), "internal error").body();
    body.error.message = format!("internal error (reference {request_id})");
    body.error.reference = Some(request_id.to_string());
    let mut response = (status, Json(body)).into_response();
    if let Some(retry) = headers.get(axum::http::header::RETRY_AFTER) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, retry.clone());
    }
    response
}

/// The machine code of an error answer that no handler made.
pub fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// The path as logs may show it: a callback's secret token (`/cb/{provider}/{token}/…`), which
/// authenticates a tenant's provider, and a citizen's unsubscribe token (`/u/{token}`), which
/// unsubscribes them, are masked. (Query strings, where confirmation links carry an address,
/// are never logged.)
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let mut parts: Vec<&str> = path.split('/').collect();
    let secret = match parts.get(1) {
        Some(&"cb") if parts.len() > 3 => Some(3),
        Some(&"u") if parts.len() > 2 => Some(2),
        _ => None,
    };
    match secret {
        Some(at) => {
            parts[at] = "•••";
            parts.join("/").into()
        }
        None => path.into(),
    }
}

/// Answers a path no route matches.
pub async fn no_route(request: Request<Body>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {} {}",
            request.method(),
            loggable_path(request.uri().path())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_callback_token_never_reaches_the_logs() {
        assert_eq!(
            loggable_path("/cb/smsmode/8f3a0c1d2e/status"),
            "/cb/smsmode/•••/status"
        );
        assert_eq!(loggable_path("/cb/ovh/8f3a0c1d2e"), "/cb/ovh/•••");
        assert_eq!(loggable_path("/v1/alerts/alr_1"), "/v1/alerts/alr_1");
        assert_eq!(loggable_path("/cb"), "/cb");
        assert_eq!(loggable_path("/u/sub_abc.mac"), "/u/•••");
        assert_eq!(loggable_path("/u"), "/u");
    }
}
