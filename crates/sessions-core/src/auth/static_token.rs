//! A fixed token.

use std::fmt;

use futures_util::future::BoxFuture;

use super::{AccessToken, TokenSource};
use crate::error::BoxError;

/// A token source that always returns the same token, for any scope.
///
/// For tests, the local emulator, or tokens minted by another system. `Debug` hides the token.
#[derive(Clone)]
pub struct StaticToken {
    token: AccessToken,
}

impl StaticToken {
    /// A token that never expires.
    pub fn new(secret: impl Into<String>) -> Self {
        StaticToken {
            token: AccessToken::never_expires(secret),
        }
    }

    /// A token with a known expiry (after which the client keeps using it: there is nothing to
    /// refresh it from).
    pub fn with_expiry(token: AccessToken) -> Self {
        StaticToken { token }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("token", &self.token)
            .finish()
    }
}

impl TokenSource for StaticToken {
    fn token<'a>(&'a self, _scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>> {
        let token = self.token.clone();
        Box::pin(async move { Ok(token) })
    }
}
