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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use tower::retry::budget::{Budget, TpsBudget};
use tower::util::rng::HasherRng;
use tower::{Layer, Service};

use super::auth::NewTokenAvailable;
use super::deadline::Deadline;
use crate::error::BoxError;
use crate::transport::{Body, Operation, ResponseBody};

mod copy;
mod policy;

use copy::RequestCopy;

use policy::RetryReason;

/// How many retries a client may make compared to its first attempts (see tower's
/// [`TpsBudget`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
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
    S: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError> + Clone,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = RetryFuture<S, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if let Some(b) = &self.budget {
            b.deposit();
        }
        let op = Operation::of(&req);
        let deadline = req.extensions().get::<Deadline>().map(|d| d.0);
        // The one copy of the request for a resend (a retry, or the auth layer's 401 resend).
        let copy = RequestCopy::of(&req);
        // The standard tower swap: take the service that was polled ready, leave a clone behind;
        // the same service is driven ready again for any resend. Without a copy there is none.
        let (fut, svc) = if copy.is_some() {
            let clone = self.inner.clone();
            let mut svc = std::mem::replace(&mut self.inner, clone);
            (svc.call(req), Some(svc))
        } else {
            (self.inner.call(req), None)
        };
        RetryFuture {
            state: State::Calling { fut },
            svc,
            copy,
            op,
            deadline,
            config: self.config.clone(),
            budget: self.budget.clone(),
            attempt: 1,
            resent_after_401: false,
            rng: None,
        }
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Calling { #[pin] fut: F },
        Sleeping { #[pin] sleep: tokio::time::Sleep },
        Resending,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Retry`]: one attempt after another, with the back-off in between.
    pub struct RetryFuture<S, F> {
        #[pin]
        state: State<F>,
        svc: Option<S>,
        copy: Option<RequestCopy>,
        op: Operation,
        deadline: Option<tokio::time::Instant>,
        config: Arc<RetryConfig>,
        budget: Option<Arc<TpsBudget>>,
        attempt: u32,
        resent_after_401: bool,
        rng: Option<HasherRng>,
    }
}

/// What to do after an attempt.
enum Next {
    Return,
    /// Send again at once (the auth layer has a new token after a 401).
    Resend,
    /// Send again after this back-off.
    Retry(Duration),
}

impl<S, F> Future for RetryFuture<S, F>
where
    S: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError, Future = F>,
    F: Future<Output = Result<Response<ResponseBody>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Calling { fut } => {
                    let result = std::task::ready!(fut.poll(cx));
                    if this.copy.is_none() {
                        return Poll::Ready(result);
                    }
                    let next = decide(
                        &result,
                        this.op,
                        this.config,
                        *this.attempt,
                        *this.resent_after_401,
                        this.rng,
                    );
                    let wait = match next {
                        Next::Return => return Poll::Ready(result),
                        Next::Resend => None,
                        Next::Retry(wait) => Some(wait),
                    };
                    if let Some(wait) = wait {
                        let reason = reason_of(this.op, &result);
                        if this
                            .deadline
                            .is_some_and(|d| tokio::time::Instant::now() + wait >= d)
                        {
                            tracing::debug!(
                                operation = this.op.name,
                                ?reason,
                                "not retrying: the back-off would pass the deadline"
                            );
                            return Poll::Ready(result);
                        }
                        if this.budget.as_ref().is_some_and(|b| !b.withdraw()) {
                            tracing::debug!(
                                operation = this.op.name,
                                ?reason,
                                "not retrying: retry budget exhausted"
                            );
                            return Poll::Ready(result);
                        }
                        // Drop the failed answer first, so its connection goes back to the pool.
                        drop(result);
                        tracing::Span::current().record("http.retry_count", *this.attempt);
                        tracing::debug!(
                            operation = this.op.name,
                            attempt = *this.attempt,
                            ?reason,
                            delay_ms = wait.as_millis() as u64,
                            "retrying"
                        );
                        *this.attempt += 1;
                        this.state.set(State::Sleeping {
                            sleep: tokio::time::sleep(wait),
                        });
                    } else {
                        drop(result);
                        tracing::debug!(
                            operation = this.op.name,
                            "401: resending with a new token"
                        );
                        *this.resent_after_401 = true;
                        this.state.set(State::Resending);
                    }
                }
                StateProj::Sleeping { sleep } => {
                    std::task::ready!(sleep.poll(cx));
                    this.state.set(State::Resending);
                }
                StateProj::Resending => {
                    let Some(svc) = this.svc.as_mut() else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    // Ready first: the copy stays in place while the service is not.
                    if let Err(e) = std::task::ready!(svc.poll_ready(cx)) {
                        return Poll::Ready(Err(e));
                    }
                    let Some(copy) = this.copy.take() else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    // Copy again while another resend is still possible.
                    let more = *this.attempt < this.config.max_attempts || !*this.resent_after_401;
                    *this.copy = if more { copy.try_clone() } else { None };
                    let fut = svc.call(copy.into_request());
                    this.state.set(State::Calling { fut });
                }
            }
        }
    }
}

fn polled_after_completion() -> BoxError {
    Box::new(crate::Error::invalid(
        "a retry future was polled after it completed",
    ))
}

fn decide(
    result: &Result<Response<ResponseBody>, BoxError>,
    op: &Operation,
    config: &RetryConfig,
    attempt: u32,
    resent_after_401: bool,
    rng: &mut Option<HasherRng>,
) -> Next {
    if let Ok(res) = result
        && !resent_after_401
        && res.extensions().get::<NewTokenAvailable>().is_some()
    {
        return Next::Resend;
    }
    if attempt >= config.max_attempts {
        return Next::Return;
    }
    let server_delay = match result {
        Ok(res) if policy::retryable_status(op.retryable, res.status()) => {
            policy::retry_after(res.headers(), SystemTime::now())
        }
        Ok(_) => return Next::Return,
        Err(e) => match policy::retryable_error(op.retryable, &**e) {
            Some(_) => None,
            None => return Next::Return,
        },
    };
    // Seeded only when a back-off is drawn: most calls never need one.
    let rng = rng.get_or_insert_with(HasherRng::default);
    Next::Retry(policy::delay(config, attempt, server_delay, rng))
}

fn reason_of(
    op: &Operation,
    result: &Result<Response<ResponseBody>, BoxError>,
) -> Option<RetryReason> {
    match result {
        Ok(res) => Some(RetryReason::Status(res.status())),
        Err(e) => policy::retryable_error(op.retryable, &**e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use http::StatusCode;
    use tower::ServiceExt;

    /// Answers with `statuses` in turn (the last one forever) and counts the calls; a 401 carries
    /// the auth layer's mark when `marked`.
    fn scripted(
        statuses: &'static [u16],
        marked: bool,
        calls: Arc<AtomicUsize>,
    ) -> impl Service<
        Request<Body>,
        Response = Response<ResponseBody>,
        Error = BoxError,
        Future = impl Future<Output = Result<Response<ResponseBody>, BoxError>>,
    > + Clone {
        tower::service_fn(move |_req: Request<Body>| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let status = statuses[n.min(statuses.len() - 1)];
                let mut res = Response::new(ResponseBody::default());
                *res.status_mut() = StatusCode::from_u16(status).unwrap();
                if marked && status == 401 {
                    res.extensions_mut().insert(NewTokenAvailable);
                }
                Ok::<_, BoxError>(res)
            }
        })
    }

    fn request(op: Operation) -> Request<Body> {
        let mut req = Request::new(Body::from("{}"));
        req.extensions_mut().insert(op);
        req
    }

    fn fast() -> RetryConfig {
        RetryConfig::default()
            .base_delay(Duration::from_millis(1))
            .budget(None)
    }

    #[tokio::test]
    async fn a_marked_401_is_resent_once_even_with_retries_disabled() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = RetryLayer::new(RetryConfig::disabled()).layer(scripted(
            &[401, 401, 200],
            true,
            calls.clone(),
        ));
        let res = svc
            .oneshot(request(Operation::not_idempotent("execute")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one resend, not more");
    }

    #[tokio::test]
    async fn code_runs_are_not_retried_on_5xx_but_reads_are() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = RetryLayer::new(fast()).layer(scripted(&[503, 200], false, calls.clone()));
        let res = svc
            .oneshot(request(Operation::not_idempotent("execute")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = Arc::new(AtomicUsize::new(0));
        let svc = RetryLayer::new(fast()).layer(scripted(&[503, 503, 200], false, calls.clone()));
        let res = svc
            .oneshot(request(Operation::idempotent("files.list")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// Not ready on every other `poll_ready` (waking itself), like a service with backpressure.
    #[derive(Clone)]
    struct Hesitant<S> {
        inner: S,
        hesitate: Arc<std::sync::atomic::AtomicBool>,
    }

    impl<S: Service<Request<Body>>> Service<Request<Body>> for Hesitant<S> {
        type Response = S::Response;
        type Error = S::Error;
        type Future = S::Future;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
            if !self.hesitate.fetch_xor(true, Ordering::SeqCst) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, req: Request<Body>) -> S::Future {
            self.inner.call(req)
        }
    }

    #[tokio::test]
    async fn a_resend_waits_for_a_service_that_is_not_ready_yet() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = RetryLayer::new(RetryConfig::disabled()).layer(Hesitant {
            inner: scripted(&[401, 200], true, calls.clone()),
            hesitate: Arc::default(),
        });
        let res = svc
            .oneshot(request(Operation::not_idempotent("execute")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the resend went out");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_one_shot_body_is_sent_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = RetryLayer::new(fast()).layer(scripted(&[429, 200], false, calls.clone()));
        let stream = futures_util::stream::once(async { Ok(bytes::Bytes::from_static(b"x")) });
        let mut req = Request::new(Body::stream(Box::pin(stream), Some(1)));
        req.extensions_mut()
            .insert(Operation::not_idempotent("files.upload"));
        let res = svc.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
