//! [`TokenCache`]: refresh before expiry, one fetch for many callers, drop on 401.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use http::HeaderValue;

use super::{AccessToken, DEFAULT_SCOPE, TokenSource};
use crate::error::{BoxError, Error, TimeoutKind};

/// The wall clock, injectable so tests can move time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A cached token, ready to be sent.
#[derive(Clone)]
struct Cached {
    header: HeaderValue,
    refresh_at: SystemTime,
    expires_at: SystemTime,
}

/// Caches the token of a [`TokenSource`] for one scope.
///
/// * A token is reused until `refresh_margin` (default 5 minutes) before it expires; a token that
///   lives shorter than twice the margin is refreshed at half its lifetime instead, so short-lived
///   tokens are not fetched on every request.
/// * Many concurrent callers with no fresh token cause **one** fetch (single flight); the others
///   wait for it.
/// * A fetch that takes longer than `load_timeout` (default 30 s) fails with
///   [`Error::Timeout`] of kind [`TimeoutKind::TokenLoad`].
/// * If a refresh fails while the old token has not expired yet, the old token is used.
/// * The auth layer drops the token on a 401 that carried it, so the resend gets a new one.
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    scope: String,
    refresh_margin: Duration,
    load_timeout: Duration,
    clock: Arc<dyn Clock>,
    cached: RwLock<Option<Cached>>,
    loading: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.read().map(|c| c.expires_at);
        f.debug_struct("TokenCache")
            .field("source", &self.source)
            .field("scope", &self.scope)
            .field("refresh_margin", &self.refresh_margin)
            .field("load_timeout", &self.load_timeout)
            .field("cached_until", &cached)
            .finish()
    }
}

impl TokenCache {
    /// The default refresh margin: 5 minutes, the same window azure_identity uses.
    pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);
    /// The default load timeout.
    pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(30);

    /// A cache over `source` for [`DEFAULT_SCOPE`].
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        TokenCache {
            source,
            scope: DEFAULT_SCOPE.to_owned(),
            refresh_margin: Self::DEFAULT_REFRESH_MARGIN,
            load_timeout: Self::DEFAULT_LOAD_TIMEOUT,
            clock: Arc::new(SystemClock),
            cached: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// Request tokens for another scope.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Refresh this long before expiry (default 5 minutes).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Give up on a fetch after this long (default 30 s).
    pub fn with_load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    /// Use another clock (for tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The scope tokens are requested for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The cached `Authorization` header value if it is fresh, without waiting (`None`: call
    /// [`header`](Self::header) to fetch one).
    pub(crate) fn fresh_header(&self) -> Option<HeaderValue> {
        let now = self.clock.now();
        self.read().filter(|c| now < c.refresh_at).map(|c| c.header)
    }

    /// The `Authorization` header value (`Bearer …`, marked sensitive), fetching a token if
    /// there is no fresh one.
    pub async fn header(&self) -> Result<HeaderValue, Error> {
        let now = self.clock.now();
        if let Some(c) = self.read().filter(|c| now < c.refresh_at) {
            return Ok(c.header);
        }
        // Single flight: one caller loads, the others wait here and then find a fresh token.
        let _guard = self.loading.lock().await;
        let now = self.clock.now();
        let stale = match self.read() {
            Some(c) if now < c.refresh_at => return Ok(c.header),
            other => other,
        };
        match self.load(now).await {
            Ok(fresh) => {
                let header = fresh.header.clone();
                self.write(Some(fresh));
                Ok(header)
            }
            Err(e) => match stale.filter(|c| now < c.expires_at) {
                Some(c) => {
                    tracing::warn!(error = %e, "token refresh failed; using the current token until it expires");
                    Ok(c.header)
                }
                None => Err(e),
            },
        }
    }

    /// Drop the cached token, so the next request fetches a new one.
    #[cfg(test)]
    fn invalidate(&self) {
        self.write(None);
    }

    /// Drop the cached token only if it is still `header` (so many requests failing with the
    /// same stale token cause one refetch, not one each).
    pub(crate) fn invalidate_if(&self, header: &HeaderValue) {
        if let Ok(mut guard) = self.cached.write()
            && guard.as_ref().is_some_and(|c| c.header == *header)
        {
            *guard = None;
        }
    }

    async fn load(&self, now: SystemTime) -> Result<Cached, Error> {
        let fetch = self.source.token(&self.scope);
        let token = match tokio::time::timeout(self.load_timeout, fetch).await {
            Ok(Ok(token)) => token,
            Ok(Err(e)) => return Err(auth_error(e)),
            Err(_) => {
                return Err(Error::Timeout {
                    kind: TimeoutKind::TokenLoad,
                    after: Some(self.load_timeout),
                });
            }
        };
        tracing::debug!(scope = %self.scope, "fetched an access token");
        cached(&token, now, self.refresh_margin)
    }

    fn read(&self) -> Option<Cached> {
        // A poisoned lock only means a panic elsewhere while writing an Option: treat as empty.
        self.cached.read().ok().and_then(|g| g.clone())
    }

    fn write(&self, value: Option<Cached>) {
        if let Ok(mut g) = self.cached.write() {
            *g = value;
        }
    }
}

fn cached(token: &AccessToken, now: SystemTime, margin: Duration) -> Result<Cached, Error> {
    let mut header =
        HeaderValue::try_from(format!("Bearer {}", token.secret())).map_err(|_| Error::Auth {
            message: "the token source returned a token that is not a valid header value".into(),
            source: None,
        })?;
    header.set_sensitive(true);
    let expires_at = token.expires_at();
    let lifetime = expires_at.duration_since(now).unwrap_or_default();
    let margin = margin.min(lifetime / 2);
    let refresh_at = expires_at.checked_sub(margin).unwrap_or(expires_at);
    Ok(Cached {
        header,
        refresh_at,
        expires_at,
    })
}

fn auth_error(e: BoxError) -> Error {
    match e.downcast::<Error>() {
        Ok(e) => *e,
        Err(e) => Error::Auth {
            message: e.to_string(),
            source: Some(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::FnTokenSource;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct TestClock(AtomicU64);
    impl TestClock {
        fn advance(&self, d: Duration) {
            self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
        }
    }
    impl Clock for TestClock {
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
        }
    }

    fn counting(lifetime: Duration, calls: Arc<AtomicUsize>, clock: Arc<TestClock>) -> TokenCache {
        let c2 = clock.clone();
        let source = FnTokenSource::new(move |_scope| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            let exp = c2.now() + lifetime;
            async move { Ok(AccessToken::new(format!("t{n}"), exp)) }
        });
        TokenCache::new(Arc::new(source)).with_clock(clock)
    }

    #[tokio::test]
    async fn refreshes_five_minutes_before_expiry() {
        let calls = Arc::new(AtomicUsize::new(0));
        let clock = Arc::new(TestClock::default());
        let cache = counting(Duration::from_secs(3600), calls.clone(), clock.clone());
        assert_eq!(cache.header().await.unwrap(), "Bearer t1");
        clock.advance(Duration::from_secs(3600 - 301));
        assert_eq!(cache.header().await.unwrap(), "Bearer t1");
        clock.advance(Duration::from_secs(2));
        assert_eq!(cache.header().await.unwrap(), "Bearer t2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        cache.invalidate();
        assert_eq!(cache.header().await.unwrap(), "Bearer t3");
    }

    #[tokio::test]
    async fn short_lived_tokens_refresh_at_half_life() {
        let calls = Arc::new(AtomicUsize::new(0));
        let clock = Arc::new(TestClock::default());
        let cache = counting(Duration::from_secs(60), calls.clone(), clock.clone());
        cache.header().await.unwrap();
        clock.advance(Duration::from_secs(29));
        cache.header().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(1));
        cache.header().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn header_is_sensitive_and_debug_has_no_secret() {
        let cache = TokenCache::new(Arc::new(crate::auth::StaticToken::new("s3cr3t")));
        let h = cache.header().await.unwrap();
        assert!(h.is_sensitive());
        assert!(!format!("{h:?} {cache:?}").contains("s3cr3t"));
    }

    #[tokio::test(start_paused = true)]
    async fn load_timeout_is_a_typed_error() {
        let source = FnTokenSource::new(|_s| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(AccessToken::never_expires("x"))
        });
        let cache = TokenCache::new(Arc::new(source)).with_load_timeout(Duration::from_secs(1));
        let err = cache.header().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    kind: TimeoutKind::TokenLoad,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn source_errors_become_auth_errors_and_stale_tokens_are_kept() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let clock = Arc::new(TestClock::default());
        let c2 = clock.clone();
        let source = FnTokenSource::new(move |_s| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let exp = c2.now() + Duration::from_secs(3600);
            async move {
                if n == 0 {
                    Ok(AccessToken::new("first", exp))
                } else {
                    Err("boom".into())
                }
            }
        });
        let cache = TokenCache::new(Arc::new(source)).with_clock(clock.clone());
        cache.header().await.unwrap();
        clock.advance(Duration::from_secs(3400));
        assert_eq!(cache.header().await.unwrap(), "Bearer first");
        cache.invalidate();
        let err = cache.header().await.unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    }
}
