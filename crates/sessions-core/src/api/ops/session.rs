//! Managing one session: `GET session`, `DELETE session` and `POST .management/stopSession`,
//! all sent at [`management_version`], and decoding the session resource.

use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method, Request};

use super::{Target, empty_request, request};
use crate::api::json::parse_json;
use crate::api::wire;
use crate::api_version::ApiVersion;
use crate::error::Result;
use crate::model::SessionInfo;
use crate::transport::{Body, Operation};

/// The version used for session management calls (`session`, `listSessions`, `metadata`): the
/// client's own when it has them, else `2025-10-02-preview` (these routes do not exist earlier,
/// and LangChain's legacy tool deletes sessions the same way).
pub(crate) fn management_version(version: ApiVersion) -> ApiVersion {
    if version.has_session_management() {
        version
    } else {
        ApiVersion::V2025_10_02Preview
    }
}

/// `GET session` (at [`management_version`]).
pub(crate) fn get(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(management_version(t.api_version), "session", true, &[])?;
    empty_request(Method::GET, uri, Operation::idempotent("session.get"))
}

/// `DELETE session` (at [`management_version`]).
pub(crate) fn delete(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(management_version(t.api_version), "session", true, &[])?;
    empty_request(Method::DELETE, uri, Operation::idempotent("session.delete"))
}

/// `POST .management/stopSession` (at [`management_version`]): stops the session's container
/// (custom-container pools; code-interpreter pools answer [`delete`] instead). The body
/// is empty and says so with `Content-Length: 0`.
pub(crate) fn stop(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(
        management_version(t.api_version),
        ".management/stopSession",
        true,
        &[],
    )?;
    // Stopping twice is harmless: it may be retried like a read.
    Ok(request(
        Method::POST,
        uri,
        Body::empty(),
        Operation::idempotent("session.stop"),
        |h| {
            h.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
            h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        },
    ))
}

pub(crate) fn session_info(s: wire::SessionWire, fallback_identifier: &str) -> SessionInfo {
    SessionInfo {
        identifier: s
            .identifier
            .unwrap_or_else(|| fallback_identifier.to_owned()),
        created_at: s.created_at,
        last_accessed_at: s.last_accessed_at,
        expires_at: s.expire_at.or(s.expires_at),
        etag: s.etag,
    }
}

/// Decode `GET session` (or `.management/getSession`); `identifier` fills in a missing one.
pub(crate) fn decode(body: &[u8], identifier: &str) -> Result<SessionInfo> {
    let s: wire::SessionWire = parse_json(body, "the session")?;
    Ok(session_info(s, identifier))
}

/// The line of text `stopSession` answers with.
pub(crate) fn decode_stop(body: &[u8]) -> String {
    String::from_utf8_lossy(body).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{ID, endpoint, snap};

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
        snap!("current_get_session", get(t));
        snap!("current_delete_session", delete(t));
        snap!("current_stop_session", stop(t));
        // Session management does not exist before 2025-02-02: sent at 2025-10-02-preview.
        let t = Target::session(&ep, ApiVersion::V2024_10_02Preview, ID);
        snap!("v20241002_get_session", get(t));
        let t = Target::session(&ep, ApiVersion::V2025_02_02Preview, ID);
        snap!("v20250202_delete_session", delete(t));
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        snap!("legacy_delete_session", delete(t));
    }

    #[test]
    fn sessions() {
        let s = decode(
            br#"{"identifier":"abcd","createdAt":"2025-01-01T00:00:00Z","lastAccessedAt":"2025-01-01T00:01:00Z","expireAt":"2025-01-01T00:06:00Z","etag":"c-1"}"#,
            "fallback",
        )
        .unwrap();
        assert_eq!(s.identifier, "abcd");
        assert_eq!(s.expires_at.as_deref(), Some("2025-01-01T00:06:00Z"));
        assert_eq!(s.etag.as_deref(), Some("c-1"));
        // .management/getSession says expiresAt.
        let s = decode(
            br#"{"etag":"e","expiresAt":"2025-01-01T00:06:00Z"}"#,
            "fallback",
        )
        .unwrap();
        assert_eq!(s.identifier, "fallback");
        assert_eq!(s.expires_at.as_deref(), Some("2025-01-01T00:06:00Z"));
        assert_eq!(decode_stop(b"Session stopped.\n"), "Session stopped.");
    }
}
