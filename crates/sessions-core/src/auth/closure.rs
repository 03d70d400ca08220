//! A token source from an async closure.

use std::fmt;
use std::future::Future;

use futures_util::future::BoxFuture;

use super::{AccessToken, TokenSource};
use crate::error::BoxError;

/// A token source that calls an async closure with the scope.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use sessions_core::auth::FnTokenSource;
/// use sessions_core::AccessToken;
///
/// let source = FnTokenSource::new(|_scope: String| async move {
///     let secret = std::env::var("MY_TOKEN")?;
///     Ok(AccessToken::new(secret, SystemTime::now() + Duration::from_secs(3600)))
/// });
/// # let _ = source;
/// ```
#[derive(Clone)]
pub struct FnTokenSource<F> {
    f: F,
}

impl<F, Fut> FnTokenSource<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AccessToken, BoxError>> + Send + 'static,
{
    /// Wrap `f`, which gets the scope and returns a token.
    pub fn new(f: F) -> Self {
        FnTokenSource { f }
    }
}

impl<F> fmt::Debug for FnTokenSource<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnTokenSource")
    }
}

impl<F, Fut> TokenSource for FnTokenSource<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AccessToken, BoxError>> + Send + 'static,
{
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>> {
        Box::pin((self.f)(scope.to_owned()))
    }
}
