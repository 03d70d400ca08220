//! Authentication middleware for the three [`AuthMode`]s.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::StatusCode;

use crate::config::AuthMode;
use crate::error::{ApiError, codes};

/// Audiences accepted in `audience` mode.
pub const AUDIENCES: [&str; 2] = ["https://dynamicsessions.io", "https://acasessions.io"];

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, message)
}

/// Extract the bearer token from an `Authorization` header value.
fn bearer(value: Option<&http::HeaderValue>) -> Result<&str, ApiError> {
    let value = value
        .ok_or_else(|| unauthorized("The Authorization header with a Bearer token is missing."))?
        .to_str()
        .map_err(|_| unauthorized("The Authorization header is not valid text."))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthorized("The Authorization header must be 'Bearer <token>'."))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(unauthorized(
            "The Authorization header must be 'Bearer <token>'.",
        ));
    }
    Ok(token)
}

/// Decode a JWT's payload (no signature check) and require an accepted audience.
pub fn check_audience(token: &str) -> Result<(), ApiError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| unauthorized("The bearer token is not a JWT."))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| unauthorized("The bearer token's payload is not base64url."))?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| unauthorized("The bearer token's payload is not JSON."))?;
    let ok = |a: &str| AUDIENCES.contains(&a.trim_end_matches('/'));
    let accepted = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => ok(a),
        Some(serde_json::Value::Array(items)) => items.iter().any(|a| a.as_str().is_some_and(ok)),
        _ => false,
    };
    if accepted {
        Ok(())
    } else {
        Err(unauthorized(format!(
            "The bearer token's audience must be one of {}.",
            AUDIENCES.join(", ")
        )))
    }
}

/// The middleware: `from_fn_with_state(mode, authenticate)`.
pub async fn authenticate(State(mode): State<AuthMode>, req: Request, next: Next) -> Response {
    let header = req.headers().get(http::header::AUTHORIZATION);
    let verdict = match mode {
        AuthMode::Any => Ok(()),
        AuthMode::Bearer => bearer(header).map(|_| ()),
        AuthMode::Audience => bearer(header).and_then(check_audience),
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"none"}"#),
            e.encode(payload)
        )
    }

    #[test]
    fn audiences() {
        assert!(check_audience(&jwt(r#"{"aud":"https://dynamicsessions.io"}"#)).is_ok());
        assert!(check_audience(&jwt(r#"{"aud":["x","https://acasessions.io/"]}"#)).is_ok());
        assert!(check_audience(&jwt(r#"{"aud":"https://management.azure.com"}"#)).is_err());
        assert!(check_audience("not-a-jwt").is_err());
    }
}
