//! A non-2xx answer as an [`ApiError`]: the service's `{"error":{"code","message"}}`, a
//! gateway's flat `{code,message}` or plain text, the `x-ms-*` headers. Pure.

use http::{HeaderMap, HeaderName, StatusCode};

use super::ops::header;
use super::wire;
use crate::error::ApiError;

/// How much of an error body is read and kept in [`ApiError::body`].
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

use crate::middleware::request_id::CLIENT_REQUEST_ID;

/// The response header with the service's request id.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");

/// The response header with the service's error code.
const ERROR_CODE: HeaderName = HeaderName::from_static("x-ms-error-code");

/// Build an [`ApiError`] from a status, headers and (capped) body.
pub(crate) fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
    let body = &body[..body.len().min(MAX_ERROR_BODY)];
    let parsed: wire::ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let detail = parsed.error.unwrap_or_default();
    let code = detail
        .code
        .or(parsed.code)
        .or_else(|| header(headers, ERROR_CODE));
    let text = String::from_utf8_lossy(body).into_owned();
    let message = detail
        .message
        .or(parsed.message)
        .or_else(|| plain_text_message(&text))
        .unwrap_or_else(|| match status.canonical_reason() {
            Some(reason) => reason.to_owned(),
            None => format!("HTTP {}", status.as_u16()),
        });
    let request_id = header(headers, REQUEST_ID).or_else(|| header(headers, CLIENT_REQUEST_ID));
    ApiError {
        status,
        code,
        message,
        request_id,
        body: text,
    }
}

/// A short non-JSON, non-HTML body (e.g. a gateway's `Bad Request`) is the best message there is.
fn plain_text_message(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('<') || t.starts_with('{') || t.starts_with('[') {
        return None;
    }
    let line = t.lines().next().unwrap_or_default();
    Some(line.chars().take(512).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn api_errors() {
        let mut h = HeaderMap::new();
        h.insert("x-ms-request-id", HeaderValue::from_static("req-1"));
        h.insert("x-ms-error-code", HeaderValue::from_static("HeaderCode"));
        let e = api_error(
        StatusCode::BAD_REQUEST,
        &h,
        br#"{"error":{"code":"SessionPropertiesMissing","message":"The properties are missing.","target":"body","traceId":"t"}}"#,
    );
        assert_eq!(
            e.code.as_deref(),
            Some("SessionPropertiesMissing"),
            "the body's code wins"
        );
        assert_eq!(e.message, "The properties are missing.");
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert!(e.hint().unwrap().contains("flat body"));

        let e = api_error(StatusCode::NOT_FOUND, &h, b"");
        assert_eq!(e.code.as_deref(), Some("HeaderCode"));
        assert_eq!(e.message, "Not Found");

        let mut ours = HeaderMap::new();
        ours.insert(CLIENT_REQUEST_ID, HeaderValue::from_static("client-1"));
        let e = api_error(StatusCode::FORBIDDEN, &ours, b"<html>nope</html>");
        assert_eq!(
            e.request_id.as_deref(),
            Some("client-1"),
            "falls back to the id we sent, which the request-id layer puts on the response"
        );
        assert_eq!(e.message, "Forbidden");
        assert!(e.to_string().contains("Session Executor"));

        let e = api_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"upstream connect error\nmore",
        );
        assert_eq!(e.message, "upstream connect error");

        let big = vec![b'x'; 200 * 1024];
        let e = api_error(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), &big);
        assert_eq!(e.body.len(), 64 * 1024);
        assert_eq!(
            api_error(StatusCode::from_u16(599).unwrap(), &HeaderMap::new(), b"").message,
            "HTTP 599"
        );
    }
}
