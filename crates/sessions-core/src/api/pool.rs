//! Pool-wide operations: `listSessions` and `metadata`.

use std::cell::Cell;

use super::paging::collect_pages;
use super::request::{self, Target};
use super::{decode, send_json};
use crate::client::Client;
use crate::error::Result;
use crate::model::{PoolMetadata, SessionInfo};
use crate::transport::Operation;

impl Client {
    /// The pool's active sessions (`GET listSessions`, following `nextLink` pages, or `skip`
    /// when a page has no `nextLink` but its `count` says more sessions exist).
    ///
    /// This route exists from 2025-02-02-preview; on clients set to an older version the call
    /// is sent with `api-version=2025-10-02-preview`.
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let target = Target::pool(self.endpoint(), self.api_version());
        let req = request::list_sessions(target)?;
        // Pages after the first keep the version of the first request.
        let page_target = Target::pool(
            self.endpoint(),
            request::management_version(self.api_version()),
        );
        // Pages are followed by `nextLink`, or, when a page has none but the `count` says more
        // sessions exist, by `skip` (the route's paging parameter).
        let seen = Cell::new(0usize);
        let decode_page = |body: &[u8]| {
            let (page, link, count) = decode::session_page(body)?;
            let total = seen.get() + page.len();
            seen.set(total);
            let by_skip = match count {
                Some(c) if !page.is_empty() && (total as u64) < c => {
                    Some(format!("listSessions?skip={total}"))
                }
                _ => None,
            };
            Ok((page, link.or(by_skip)))
        };
        collect_pages(self, req, "session list", decode_page, |link| {
            request::next_page(
                page_target,
                link,
                Operation::idempotent("pool.list_sessions"),
            )
        })
        .await
    }

    /// The pool's runtimes, pre-installed packages and kernel (`GET metadata`; same version
    /// rule as [`Client::list_sessions`]).
    pub async fn metadata(&self) -> Result<PoolMetadata> {
        let req = request::metadata(Target::pool(self.endpoint(), self.api_version()))?;
        let (_, body) = send_json(self, req).await?;
        decode::decode_metadata(&body)
    }
}
