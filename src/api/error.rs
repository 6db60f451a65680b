//! The API's one error type: an HTTP status, a stable machine `code`, a readable message and,
//! for bad input, the field at fault. Internal errors carry their cause to the request envelope
//! (`envelope.rs`), which logs it once with the request id and shows the caller only that id.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// What a 503 asks callers to wait before trying again, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// What went wrong inside, for the log only (internal errors).
    cause: Option<String>,
}

/// The body of every error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_field`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `idempotency_conflict`, `too_large`, `unsupported_media_type`,
    /// `method_not_allowed`, `internal`…
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// The request field at fault (`text`, `topics[2]`, `Idempotency-Key`, `body`), if any.
    pub field: Option<String>,
    /// On internal errors only: the request id, also in the `X-Request-Id` header and in every
    /// log line of the request, to quote to the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Marks a response as an internal error; the envelope logs the cause and fills in the reference.
#[derive(Clone, Debug)]
pub struct InternalCause(pub String);

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            cause: None,
        }
    }

    /// Bad input in one field: 400 with the field's name.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message).on(field)
    }

    /// The same error, blaming `field`.
    pub fn on(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Not found, also for what belongs to another tenant: nothing about it is revealed.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// Something this platform relies on is out of reach for now; worth trying again later.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message).on(field)
    }

    /// Something broke inside; the caller is told only the request id (see the envelope).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            cause: Some(cause.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.clone(),
                reference: None,
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// PostgreSQL out of reach is a 503 the caller may retry (with Retry-After), logged once by
    /// the envelope; anything else is an internal error.
    fn from(error: sqlx::Error) -> Self {
        if crate::store::is_unavailable(&error) {
            return ApiError {
                cause: Some(error.to_string()),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is out of reach; try again shortly",
                )
            };
        }
        ApiError::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        response
    }
}
