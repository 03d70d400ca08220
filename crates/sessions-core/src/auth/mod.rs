//! Access tokens for the pool's data plane.
//!
//! The client asks a [`TokenSource`] for a bearer token for one scope (by default
//! [`DEFAULT_SCOPE`]) and keeps it in a [`TokenCache`], which refreshes it before it expires,
//! fetches it once for many concurrent callers, and drops it when the service answers 401.
//!
//! Built-in sources:
//! * [`StaticToken`]: a fixed token (tests, the local emulator, tokens minted elsewhere);
//! * [`FnTokenSource`]: any async closure;
//! * `AzureCredential` (feature `azure-identity`): any azure_identity credential, plus
//!   `default_chain`, which picks workload identity, managed identity or the developer tools
//!   (`az login`) from the environment.
//!
//! Secrets never reach `Debug` output: every type here prints `"***"` instead of the token.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use crate::error::BoxError;

#[cfg(feature = "azure-identity")]
mod azure;
#[cfg(feature = "azure-identity")]
mod azure_http;
mod cache;
mod closure;
mod static_token;

#[cfg(feature = "azure-identity")]
pub use azure::{AzureCredential, DefaultChainOptions, default_chain};
pub use cache::{Clock, SystemClock, TokenCache};
pub use closure::FnTokenSource;
pub use static_token::StaticToken;

/// The scope of the dynamic-sessions data plane (audience `https://dynamicsessions.io`).
pub const DEFAULT_SCOPE: &str = "https://dynamicsessions.io/.default";

/// A bearer token and the time it stops being valid.
///
/// `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    expires_at: SystemTime,
}

impl AccessToken {
    /// A token valid until `expires_at`.
    pub fn new(secret: impl Into<String>, expires_at: SystemTime) -> Self {
        AccessToken {
            secret: secret.into(),
            expires_at,
        }
    }

    /// A token that never expires (it is still dropped and fetched again after a 401).
    pub fn never_expires(secret: impl Into<String>) -> Self {
        // About 100 years: far enough to never refresh, small enough to never overflow.
        let far = SystemTime::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        AccessToken::new(secret, far)
    }

    /// The token itself. Keep it out of logs.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where bearer tokens come from.
///
/// Implement it to plug in any token provider; the client caches what it returns (see
/// [`TokenCache`]), so implementations need not cache themselves.
///
/// ```
/// use futures_util::future::BoxFuture;
/// use sessions_core::{AccessToken, BoxError, TokenSource};
///
/// #[derive(Debug)]
/// struct FromVault;
///
/// impl TokenSource for FromVault {
///     fn token<'a>(&'a self, _scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>> {
///         Box::pin(async { Ok(AccessToken::never_expires("token-from-somewhere")) })
///     }
/// }
/// ```
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// Fetch a token for `scope` (e.g. [`DEFAULT_SCOPE`]).
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>>;
}

impl<T: TokenSource + ?Sized> TokenSource for std::sync::Arc<T> {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>> {
        (**self).token(scope)
    }
}

impl<T: TokenSource + ?Sized> TokenSource for Box<T> {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>> {
        (**self).token(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let t = AccessToken::never_expires("super-secret-value");
        let s = format!("{t:?}");
        assert!(!s.contains("super-secret-value"), "{s}");
        assert_eq!(t.secret(), "super-secret-value");
    }
}
