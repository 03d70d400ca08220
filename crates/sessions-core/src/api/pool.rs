//! The pool handle: the operations on a [`Client`] as a whole (`listSessions`, `metadata`) and
//! the way to a [`Session`]. Like [`Session`] and [`Files`](super::Files), it only builds
//! operations ([`super::ops`]) and hands them to [`super::send`].

use std::cell::Cell;

use super::ops::session::management_version;
use super::ops::{Target, paging, pool};
use super::send;
use super::session::Session;
use crate::client::Client;
use crate::error::Result;
use crate::model::{PoolMetadata, SessionInfo};
use crate::validate;

impl Client {
    /// A handle on the session with this identifier (validated as the service's definitions
    /// say: 4–128 characters, ASCII letters, digits and
    /// [`IDENTIFIER_PUNCTUATION`](crate::validate::IDENTIFIER_PUNCTUATION), so `user@contoso.com`
    /// and `tenant:42` work).
    ///
    /// Nothing is sent: the service allocates the session on its first request.
    pub fn session(&self, identifier: impl Into<String>) -> Result<Session> {
        let identifier = identifier.into();
        validate::validate_identifier(&identifier)?;
        Ok(Session::new(self.clone(), identifier.into()))
    }

    /// A handle on a new session with a fresh random identifier (a UUID v4).
    pub fn new_session(&self) -> Session {
        let identifier = uuid::Uuid::new_v4().hyphenated().to_string();
        Session::new(self.clone(), identifier.into())
    }

    /// The pool's active sessions (`GET listSessions`, following `nextLink` pages, or `skip`
    /// when a page has no `nextLink` but its `count` says more sessions exist).
    ///
    /// This route exists from 2025-02-02-preview; on clients set to an older version the call
    /// is sent with `api-version=2025-10-02-preview`.
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let req = pool::list_sessions(Target::pool(self.endpoint(), self.api_version()))?;
        // Pages after the first keep the version of the first request.
        let version = management_version(self.api_version());
        let page_target = Target::pool(self.endpoint(), version);
        let seen = Cell::new(0usize);
        let decode_page = |body: &[u8]| {
            let (page, link, count) = pool::decode_page(body)?;
            seen.set(seen.get() + page.len());
            let by_skip = pool::skip_link(seen.get(), page.len(), count);
            Ok((page, link.or(by_skip)))
        };
        send::pages(self, req, "session list", decode_page, |link| {
            paging::next(page_target, link, pool::LIST_SESSIONS)
        })
        .await
    }

    /// The pool's runtimes, pre-installed packages and kernel (`GET metadata`; same version
    /// rule as [`Client::list_sessions`]).
    pub async fn metadata(&self) -> Result<PoolMetadata> {
        let req = pool::metadata(Target::pool(self.endpoint(), self.api_version()))?;
        send::call(self, req, |_, body| pool::decode_metadata(body)).await
    }
}
