//! A JSON body extractor whose rejections name the field at fault, in the API's error format.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header::CONTENT_TYPE,
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
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                let message = format!("the body is larger than {MAX_BODY} bytes");
                ApiError {
                    field: Some("body".into()),
                    ..ApiError::new(e.status(), "too_large", message)
                }
            } else {
                ApiError::invalid("body", e.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
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
        // serde names a missing field only in its message: "missing field `text` at …".
        let field = if path == "." {
            message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .unwrap_or("body")
                .to_string()
        } else {
            path
        };
        ApiError::invalid(field, format!("invalid JSON body: {message}"))
    })
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
    fn broken_json_is_a_bad_request_on_the_body() {
        let err = parse::<Probe>(b"{\"text\": ").unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(err.field.as_deref(), Some("body"));
    }
}
