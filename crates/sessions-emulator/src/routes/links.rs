//! URLs the pool hands back (`Operation-Location`, `nextLink`) and the caller's `operation-id`.
//!
//! The definitions type both links `format: uri`, so they are absolute: the scheme the pool
//! serves (https behind TLS), the authority the caller used and the pool's base path (an
//! Azure-style `/subscriptions/.../sessionPools/{p}/` prefix when the caller sent one).

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::uri::Authority;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Shared;
use crate::error::ApiError;

/// Characters escaped in a path segment or query value: everything but the unreserved set.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-escape a path segment or a query value.
pub fn escape(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// The path prefix stripped before routing (`/` when there was none), kept as a request
/// extension by [`super::normalize_path`].
#[derive(Debug, Clone)]
pub struct BasePath(pub String);

/// The pool's absolute base URL as the caller addressed it, ending with `/`.
#[derive(Debug, Clone)]
pub struct PoolUrl(String);

impl FromRequestParts<Shared> for PoolUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Self, Self::Rejection> {
        let authority = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(Authority::as_str))
            .and_then(|h| h.parse::<Authority>().ok())
            .map(|a| a.to_string())
            .unwrap_or_else(|| st.local_addr.to_string());
        let base = parts
            .extensions
            .get::<BasePath>()
            .map_or("/", |b| b.0.as_str());
        Ok(PoolUrl(format!("{}://{authority}{base}", st.scheme())))
    }
}

impl PoolUrl {
    /// `rel` (a route without a leading `/`) plus query pairs, each value escaped.
    pub fn link(&self, rel: &str, query: &[(&str, &str)]) -> String {
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", escape(v)))
            .collect();
        format!("{}{rel}?{}", self.0, query.join("&"))
    }

    /// `Operation-Location` of an execution: its id escaped as a path segment.
    pub fn operation_location(&self, id: &str, api_version: &str, identifier: &str) -> String {
        self.link(
            &format!("executions/{}", escape(id)),
            &[("api-version", api_version), ("identifier", identifier)],
        )
    }
}

/// The caller's `operation-id`, kept whatever its characters; a fresh UUID when there is
/// none. A value that is not UTF-8 text is refused rather than silently replaced, since the
/// caller would then poll an id the pool never used.
pub fn operation_id(headers: &http::HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get("operation-id") else {
        return Ok(uuid::Uuid::new_v4().to_string());
    };
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| {
        ApiError::validation(
            "The operation-id header must be UTF-8 text; send it percent-escaped or leave it out.",
        )
    })?;
    let text = text.trim();
    Ok(if text.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        text.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_but_unreserved() {
        assert_eq!(escape("a-b_c~d"), "a-b_c~d");
        assert_eq!(escape("op/1?x=#"), "op%2F1%3Fx%3D%23");
        assert_eq!(escape("a.b"), "a.b");
        assert_eq!(escape("é"), "%C3%A9");
    }

    #[test]
    fn operation_ids_are_kept() {
        let mut h = http::HeaderMap::new();
        assert_eq!(operation_id(&h).unwrap().len(), 36);
        let raw = "op 1/ü?".as_bytes();
        h.insert("operation-id", http::HeaderValue::from_bytes(raw).unwrap());
        assert_eq!(operation_id(&h).unwrap(), "op 1/ü?");
        h.insert(
            "operation-id",
            http::HeaderValue::from_bytes(&[b'a', 0xff]).unwrap(),
        );
        assert!(operation_id(&h).is_err());
    }
}
