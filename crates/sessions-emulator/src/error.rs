//! API errors: `{"error":{"code","message"}}` with an `x-ms-error-code` header.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// Error codes used by the emulator (the service's names where known).
pub mod codes {
    /// A missing or invalid identifier, api-version, query value or body.
    pub const VALIDATION_FAILED: &str = "SessionRequestValidationFailed";
    /// The route or method is not available at this api-version or on this pool type.
    pub const NOT_SUPPORTED: &str = "SessionRequestNotSupported";
    /// The body has the wrong shape (e.g. a `properties` envelope in strict mode, `code` on a shell pool).
    pub const PROPERTIES_MISSING: &str = "SessionPropertiesMissing";
    /// `getSession`/`stopSession` on an identifier with no session.
    pub const SESSION_NOT_FOUND: &str = "SessionWithIdentifierNotFound";
    /// The pool is at its maximum number of concurrent sessions.
    pub const POOL_FULL: &str = "SessionPoolCapacityExceeded";
    /// A file, directory or execution that does not exist.
    pub const NOT_FOUND: &str = "NotFound";
    /// An upload over the size limit.
    pub const TOO_LARGE: &str = "RequestEntityTooLarge";
    /// A missing, malformed or wrong-audience bearer token.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// The emulator itself failed (interpreter start-up, disk I/O).
    pub const INTERNAL: &str = "InternalServerError";
}

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (also sent as `x-ms-error-code`).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// Build an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `SessionRequestValidationFailed`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::VALIDATION_FAILED, message)
    }

    /// 400 `SessionRequestNotSupported`.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::NOT_SUPPORTED, message)
    }

    /// 400 `SessionPropertiesMissing`.
    pub fn properties(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::PROPERTIES_MISSING, message)
    }

    /// 404 `NotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, message)
    }

    /// 500 `InternalServerError`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, message)
    }

    /// Map an I/O error on a session file: not-found becomes 404, the rest 500.
    pub fn io(err: &std::io::Error, what: &str) -> Self {
        if err.kind() == std::io::ErrorKind::NotFound {
            Self::not_found(format!("{what} was not found"))
        } else {
            Self::internal(format!("{what}: {err}"))
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut()
            .insert("x-ms-error-code", HeaderValue::from_static(self.code));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}
