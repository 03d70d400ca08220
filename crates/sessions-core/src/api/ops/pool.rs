//! Pool-wide operations: `GET listSessions` (paged by `nextLink`, or by `skip` when a page has
//! no link but its `count` says more exist) and `GET metadata`, both at
//! [`management_version`], and decoding their answers.

use http::{Method, Request};
use serde_json::Value;

use super::session::{management_version, session_info};
use super::{Target, empty_request};
use crate::api::json::parse_json;
use crate::api::wire;
use crate::error::{Error, Result};
use crate::model::{NameVersion, PoolMetadata, SessionInfo};
use crate::transport::{Body, Operation};

/// The operation of every `listSessions` page.
pub(crate) const LIST_SESSIONS: Operation = Operation::idempotent("pool.list_sessions");

/// `GET listSessions` (pool-wide, at [`management_version`]).
pub(crate) fn list_sessions(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(
        management_version(t.api_version),
        "listSessions",
        false,
        &[],
    )?;
    empty_request(Method::GET, uri, LIST_SESSIONS)
}

/// `GET metadata` (pool-wide, at [`management_version`]).
pub(crate) fn metadata(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(management_version(t.api_version), "metadata", false, &[])?;
    empty_request(Method::GET, uri, Operation::idempotent("pool.metadata"))
}

/// A session list page, its `nextLink` and the total `count` when the service sent one.
pub(crate) fn decode_page(body: &[u8]) -> Result<(Vec<SessionInfo>, Option<String>, Option<u64>)> {
    let page: wire::SessionPage = parse_json(body, "the session list")?;
    let items = if page.sessions.is_empty() {
        page.value
    } else {
        page.sessions
    };
    let sessions = items.into_iter().map(|s| session_info(s, "")).collect();
    let count = page
        .count
        .filter(|c| c.is_finite() && *c >= 0.0)
        .map(|c| c as u64);
    Ok((sessions, page.next_link.filter(|l| !l.is_empty()), count))
}

/// Decode `GET metadata`, keeping the whole body in [`PoolMetadata::raw`].
pub(crate) fn decode_metadata(body: &[u8]) -> Result<PoolMetadata> {
    let raw: Value = parse_json(body, "the pool metadata")?;
    let m: wire::MetadataWire = serde_json::from_value(raw.clone())
        .map_err(|e| Error::decode("the pool metadata has an unexpected shape", body, Some(e)))?;
    let pairs = |v: Vec<wire::NameVersionWire>| {
        v.into_iter()
            .filter_map(|p| {
                Some(NameVersion {
                    name: p.name?,
                    version: p.version,
                })
            })
            .collect()
    };
    Ok(PoolMetadata {
        runtimes: pairs(m.runtimes),
        pre_installed_packages: pairs(m.pre_installed_packages),
        jupyter_kernel: m.jupyter_kernel.filter(|k| !k.is_null()),
        raw,
    })
}

/// The link to the next page when a page has no `nextLink` but the `count` says more sessions
/// exist: `listSessions?skip=<sessions so far>` (the route's paging parameter).
pub(crate) fn skip_link(seen: usize, page_len: usize, count: Option<u64>) -> Option<String> {
    match count {
        Some(c) if page_len > 0 && (seen as u64) < c => Some(format!("listSessions?skip={seen}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{endpoint, snap};
    use crate::api_version::ApiVersion;

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let pool = Target::pool(&ep, ApiVersion::V2025_10_02Preview);
        snap!("current_list_sessions", list_sessions(pool));
        snap!("current_metadata", metadata(pool));
        let pool = Target::pool(&ep, ApiVersion::V2024_10_02Preview);
        snap!("v20241002_list_sessions", list_sessions(pool));
    }

    #[test]
    fn skip_paging_stops_at_the_count() {
        assert_eq!(
            skip_link(2, 2, Some(5)).as_deref(),
            Some("listSessions?skip=2")
        );
        assert_eq!(skip_link(5, 3, Some(5)), None);
        assert_eq!(
            skip_link(2, 0, Some(5)),
            None,
            "an empty page ends the list"
        );
        assert_eq!(skip_link(2, 2, None), None);
    }

    #[test]
    fn session_pages_and_metadata() {
        let (list, next, _) = decode_page(br#"{"sessions":[{"identifier":"a1b2"},{"identifier":"c3d4"}],"nextLink":"https://x/listSessions?skip=2"}"#).unwrap();
        assert_eq!(list.len(), 2);
        assert!(next.is_some());
        let (list, next, _) = decode_page(
            br#"{"value":[{"identifier":"a1b2","expiresAt":"t"}],"count":1,"nextLink":null}"#,
        )
        .unwrap();
        assert_eq!(list[0].expires_at.as_deref(), Some("t"));
        assert!(next.is_none());

        let m = decode_metadata(
                br#"{"runtimes":[{"name":"node","version":"20.17.0"}],"preInstalledPackages":[{"name":"lodash","version":"4.17.21"},{"version":"orphan"}],
                     "createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-02T00:00:00Z",
                     "jupyterKernel":{"name":"IJavascript","version":"5.2.1","projectUrl":"https://x","description":"d"}}"#,
            )
            .unwrap();
        assert_eq!(m.runtimes[0].name, "node");
        assert_eq!(
            m.pre_installed_packages.len(),
            1,
            "entries without a name are skipped"
        );
        assert_eq!(m.jupyter_kernel.as_ref().unwrap()["name"], "IJavascript");
        assert_eq!(m.raw["createdAt"], "2025-01-01T00:00:00Z");
    }
}
