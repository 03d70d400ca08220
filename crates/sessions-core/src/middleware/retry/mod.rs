//! Retries that never run code twice.
//!
//! * Reads and deletes ([`Retryable::Idempotent`](crate::Retryable::Idempotent)) are retried on connect errors, attempt
//!   timeouts, broken connections, and 408, 429, 500, 502, 503, 504.
//! * Code runs and uploads ([`Retryable::OnlyIfNotProcessed`](crate::Retryable::OnlyIfNotProcessed)) are retried only when the service
//!   surely did not process them: the connection was never established, or the answer was 429.
//! * `Retry-After` (seconds or an HTTP date; also `retry-after-ms`) is honoured up to
//!   [`RetryConfig::retry_after_cap`]; otherwise exponential back-off with full jitter.
//! * A retry re-sends the whole body ([`Body::try_clone`]: buffered bytes are cloned, a file is
//!   reopened). A one-shot stream body is never retried.
//! * No back-off is started that would end after the call's [`Deadline`]; the last answer is
//!   returned instead.
//! * An optional [`RetryBudget`] caps retries to a share of recent requests, so an outage does
//!   not multiply the load.
//!
//! The operation comes from the request's [`Operation`] extension ([`Operation::of`]).
//! Each retry emits a `debug` event and records `http.retry_count` on the current span.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use tower::retry::budget::{Budget, TpsBudget};
use tower::util::rng::HasherRng;
use tower::{Layer, Service, ServiceExt};

use super::deadline::Deadline;
use super::{ResponseFuture, try_clone_request};
use crate::error::BoxError;
use crate::transport::{Body, Operation, ResponseBody};

mod policy;

pub use policy::{
    RetryReason, backoff, delay, parse_retry_after, retry_after, retryable_error, retryable_status,
};

/// How many retries a client may make compared to its first attempts (see tower's
/// [`TpsBudget`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    /// How long a deposit counts (clamped to 1–60 s).
    pub ttl: Duration,
    /// Retries always allowed per second, whatever the ratio.
    pub min_per_sec: u32,
    /// Retries allowed per first attempt (0.2 = one retry per five calls), clamped to 0–1000.
    pub retry_percent: f32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            ttl: Duration::from_secs(10),
            min_per_sec: 10,
            retry_percent: 0.2,
        }
    }
}

impl RetryBudget {
    fn build(&self) -> TpsBudget {
        // TpsBudget asserts its bounds: clamp so configuration can never panic.
        let ttl = self
            .ttl
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        let pct = if self.retry_percent.is_finite() {
            self.retry_percent.clamp(0.0, 1000.0)
        } else {
            0.2
        };
        TpsBudget::new(ttl, self.min_per_sec.min(i32::MAX as u32 - 1), pct)
    }
}

/// Retry settings.
///
/// ```
/// use std::time::Duration;
/// use sessions_core::RetryConfig;
///
/// let cfg = RetryConfig::default().max_attempts(3).base_delay(Duration::from_millis(200));
/// let none = RetryConfig::disabled();
/// let custom = RetryConfig { max_attempts: 2, ..RetryConfig::default() };
/// # let _ = (cfg, none, custom);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Attempts per call, the first included (1 = no retries). Default 4.
    pub max_attempts: u32,
    /// The first back-off ceiling; doubled on each retry. Default 500 ms.
    pub base_delay: Duration,
    /// The largest back-off ceiling. Default 30 s.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer values wait this long. Default 60 s.
    pub retry_after_cap: Duration,
    /// The retry budget shared by all clones of a client; `None` for no budget. Default on.
    pub budget: Option<RetryBudget>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(60),
            budget: Some(RetryBudget::default()),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn disabled() -> Self {
        RetryConfig {
            max_attempts: 1,
            budget: None,
            ..Self::default()
        }
    }

    /// Set [`max_attempts`](Self::max_attempts) (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Set [`base_delay`](Self::base_delay).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// Set [`max_delay`](Self::max_delay).
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Set [`retry_after_cap`](Self::retry_after_cap).
    pub fn retry_after_cap(mut self, d: Duration) -> Self {
        self.retry_after_cap = d;
        self
    }

    /// Set or remove the [`budget`](Self::budget).
    pub fn budget(mut self, budget: Option<RetryBudget>) -> Self {
        self.budget = budget;
        self
    }
}

/// Retries failed attempts.
#[derive(Debug, Clone)]
pub struct RetryLayer {
    config: Arc<RetryConfig>,
    budget: Option<Arc<TpsBudget>>,
}

impl RetryLayer {
    /// A layer with `config`; its budget is shared by every service it makes.
    pub fn new(config: RetryConfig) -> Self {
        let budget = config.budget.as_ref().map(|b| Arc::new(b.build()));
        RetryLayer {
            config: Arc::new(config),
            budget,
        }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;
    fn layer(&self, inner: S) -> Retry<S> {
        Retry {
            inner,
            config: self.config.clone(),
            budget: self.budget.clone(),
        }
    }
}

/// The service of [`RetryLayer`].
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    config: Arc<RetryConfig>,
    budget: Option<Arc<TpsBudget>>,
}

impl<S> Service<Request<Body>> for Retry<S>
where
    S: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> ResponseFuture {
        // The standard tower swap: take the service that was polled ready, leave a clone behind.
        // The same service is driven ready again for any retry, so one clone per call suffices.
        let clone = self.inner.clone();
        let svc = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let budget = self.budget.clone();
        Box::pin(run(svc, req, config, budget))
    }
}

async fn run<S>(
    mut svc: S,
    mut req: Request<Body>,
    config: Arc<RetryConfig>,
    budget: Option<Arc<TpsBudget>>,
) -> Result<Response<ResponseBody>, BoxError>
where
    S: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let op = Operation::of(&req);
    let deadline = req.extensions().get::<Deadline>().map(|d| d.0);
    if let Some(b) = &budget {
        b.deposit();
    }
    let mut rng = HasherRng::default();
    let mut attempt: u32 = 1;
    loop {
        // Copy the request before it is sent; `None` means it cannot be sent again.
        let next = if attempt < config.max_attempts {
            try_clone_request(&req)
        } else {
            None
        };
        let result = if attempt == 1 {
            svc.call(req).await
        } else {
            match svc.ready().await {
                Ok(ready) => ready.call(req).await,
                Err(e) => Err(e),
            }
        };
        let Some(next) = next else { return result };
        let (reason, server_delay) = match &result {
            Ok(res) if policy::retryable_status(op.retryable, res.status()) => (
                RetryReason::Status(res.status()),
                policy::retry_after(res.headers(), SystemTime::now()),
            ),
            Ok(_) => return result,
            Err(e) => match policy::retryable_error(op.retryable, &**e) {
                Some(reason) => (reason, None),
                None => return result,
            },
        };
        let wait = policy::delay(&config, attempt, server_delay, &mut rng);
        if deadline.is_some_and(|d| tokio::time::Instant::now() + wait >= d) {
            tracing::debug!(
                operation = op.name,
                ?reason,
                "not retrying: the back-off would pass the deadline"
            );
            return result;
        }
        if budget.as_ref().is_some_and(|b| !b.withdraw()) {
            tracing::debug!(
                operation = op.name,
                ?reason,
                "not retrying: retry budget exhausted"
            );
            return result;
        }
        // Drop the failed answer first, so its connection goes back to the pool.
        drop(result);
        tracing::Span::current().record("http.retry_count", attempt);
        tracing::debug!(
            operation = op.name,
            attempt,
            ?reason,
            delay_ms = wait.as_millis() as u64,
            "retrying"
        );
        tokio::time::sleep(wait).await;
        req = next;
        attempt += 1;
    }
}
