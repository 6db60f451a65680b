//! Extractors whose rejections name the field at fault, in the API's error format: a JSON body
//! (`ApiJson`, an object and nothing else) and a query string (`ApiQuery`).

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header::CONTENT_TYPE, request::Parts},
};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest request body the API reads, in bytes (an alert text is far smaller).
pub const MAX_BODY: usize = 1024 * 1024;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_media_type);
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                let message = "the body is larger than this route takes".to_owned();
                ApiError::new(e.status(), "too_large", message).on("body")
            } else {
                ApiError::invalid("body", e.body_text())
            }
        })?;
        parse_object(&bytes).map(ApiJson)
    }
}

/// `application/json`, with parameters (`; charset=utf-8`) or none, in any case; not
/// `application/jsonfoo` nor `text/json`.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Every body the API takes is a JSON object: serde would also read a struct from an array of
/// its fields in order, which no client means.
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    }
    parse(bytes)
}

/// Rows per page of a listing: `limit` from 1 to 1000, 100 when absent.
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid("limit", "must be between 1 and 1000"))
    }
}

/// A query string read into `T`, naming the parameter at fault.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|error| {
                let path = error.path().to_string();
                let message = error.into_inner().to_string();
                let field = field_at_fault(path, &message, "query");
                ApiError::invalid(field, format!("invalid query string: {message}"))
            })
    }
}

/// Deserialises, reporting the path of the field that failed (`channels[1]`, `text`).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            // Not JSON at all: no field to blame, the body is at fault.
            return ApiError::invalid("body", format!("malformed JSON: {message}"));
        }
        let field = field_at_fault(path, &message, "body");
        ApiError::invalid(field, format!("invalid JSON body: {message}"))
    })
}

/// The path serde reports, or at the top level the field its message names ("missing field
/// `text` at …", "unknown field `chanels`, expected …"), or `whole` when it names none.
fn field_at_fault(path: String, message: &str, whole: &str) -> String {
    if path != "." {
        return path;
    }
    message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))
        .and_then(|rest| rest.split('`').next())
        .unwrap_or(whole)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        text: String,
        channels: Vec<String>,
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse::<Probe>(br#"{"channels": []}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("text"));
    }

    #[test]
    fn a_wrongly_typed_field_is_named_with_its_path() {
        let err = parse::<Probe>(br#"{"text": "a", "channels": ["sms", 3]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("channels[1]"));
    }

    #[test]
    fn only_application_json_is_json() {
        for fine in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert!(is_json_media_type(fine), "{fine}");
        }
        for wrong in [
            "application/jsonfoo",
            "text/json",
            "application/json-seq",
            "",
        ] {
            assert!(!is_json_media_type(wrong), "{wrong}");
        }
    }

    #[test]
    fn an_array_is_not_an_object() {
        let err = parse_object::<Probe>(br#" ["a", ["sms"]]"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        assert!(parse_object::<Probe>(br#"{"text": "a", "channels": []}"#).is_ok());
    }

    #[test]
    fn broken_json_is_a_bad_request_on_the_body() {
        let err = parse::<Probe>(b"{\"text\": ").unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(err.field.as_deref(), Some("body"));
    }
}
