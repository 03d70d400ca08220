//! Adds `Authorization: Bearer <token>` from a [`TokenCache`]. On a 401 it drops the token and
//! fetches a new one; when the new token differs, it marks the response so the retry layer
//! (outside this one) sends the request once more with it. The retry layer keeps the one copy of
//! the request that any resend needs, so this layer keeps none.
//!
//! The header value is marked sensitive, so `Debug` output and tracing of headers print
//! `Sensitive` instead of the token.
//!
//! With a fresh token cached (every call but the first of each token lifetime) the future is the
//! inner one plus a status check: nothing is boxed. Fetching a token, and the 401 path, box.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::auth::TokenCache;
use crate::error::BoxError;
use crate::transport::{Body, ResponseBody, ResponseFuture};

/// Put in a 401 response's extensions when a different token is now cached: the request may be
/// sent once more (a 401 means the service did not process it, so this never runs code twice).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewTokenAvailable;

/// Authenticates requests with bearer tokens.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    cache: Arc<TokenCache>,
}

impl AuthLayer {
    /// Use tokens from `cache`.
    pub fn new(cache: Arc<TokenCache>) -> Self {
        AuthLayer { cache }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    cache: Arc<TokenCache>,
}

impl<S> Service<Request<Body>> for Auth<S>
where
    S: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let cache = self.cache.clone();
        if let Some(header) = self.cache.fresh_header() {
            req.headers_mut().insert(AUTHORIZATION, header.clone());
            return AuthFuture {
                state: State::Calling {
                    fut: self.inner.call(req),
                    header: Some(header),
                },
                cache,
            };
        }
        // No fresh token: fetch one first, on the service that was polled ready (leaving a
        // clone behind, the standard tower swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fetch_cache = cache.clone();
        let fut = Box::pin(async move {
            let header = fetch_cache.header().await?;
            req.headers_mut().insert(AUTHORIZATION, header.clone());
            let res = inner.call(req).await?;
            after_response(res, header, fetch_cache).await
        });
        AuthFuture {
            state: State::Boxed { fut },
            cache,
        }
    }
}

/// On a 401: drop the rejected token and mark the response when a different one is now cached.
async fn after_response(
    mut res: Response<ResponseBody>,
    sent: HeaderValue,
    cache: Arc<TokenCache>,
) -> Result<Response<ResponseBody>, BoxError> {
    if res.status() != StatusCode::UNAUTHORIZED {
        return Ok(res);
    }
    cache.invalidate_if(&sent);
    // Only with a different token: the same one (a static token) would be rejected again.
    let fresh = cache.header().await?;
    if fresh != sent {
        tracing::debug!("401: a new token is available for one resend");
        res.extensions_mut().insert(NewTokenAvailable);
    }
    Ok(res)
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Calling { #[pin] fut: F, header: Option<HeaderValue> },
        Boxed { fut: ResponseFuture },
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Auth`].
    pub struct AuthFuture<F> {
        #[pin]
        state: State<F>,
        cache: Arc<TokenCache>,
    }
}

impl<F> Future for AuthFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Calling { fut, header } => {
                    let res = std::task::ready!(fut.poll(cx))?;
                    let sent = match header.take() {
                        Some(sent) if res.status() == StatusCode::UNAUTHORIZED => sent,
                        _ => return Poll::Ready(Ok(res)),
                    };
                    let fut = Box::pin(after_response(res, sent, this.cache.clone()));
                    this.state.set(State::Boxed { fut });
                }
                StateProj::Boxed { fut } => return fut.as_mut().poll(cx),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::auth::{AccessToken, FnTokenSource};
    use tower::ServiceExt;

    fn counting_cache(fetches: Arc<AtomicUsize>) -> Arc<TokenCache> {
        let source = FnTokenSource::new(move |_scope: String| {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(AccessToken::new(
                    format!("token-{n}"),
                    std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
                ))
            }
        });
        Arc::new(TokenCache::new(Arc::new(source)))
    }

    fn answering(
        status: StatusCode,
    ) -> impl Service<
        Request<Body>,
        Response = Response<ResponseBody>,
        Error = BoxError,
        Future = impl Future<Output = Result<Response<ResponseBody>, BoxError>> + Send,
    > + Clone
    + Send
    + 'static {
        tower::service_fn(move |req: Request<Body>| async move {
            assert!(req.headers()[AUTHORIZATION].is_sensitive());
            let mut res = Response::new(ResponseBody::default());
            *res.status_mut() = status;
            Ok::<_, BoxError>(res)
        })
    }

    #[tokio::test]
    async fn a_401_with_a_new_token_marks_the_response_for_one_resend() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let svc = AuthLayer::new(counting_cache(fetches.clone()))
            .layer(answering(StatusCode::UNAUTHORIZED));
        let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.extensions().get::<NewTokenAvailable>().is_some());
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "first token, then the refetch"
        );
    }

    #[tokio::test]
    async fn a_cached_token_is_reused_and_success_is_not_marked() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let layer = AuthLayer::new(counting_cache(fetches.clone()));
        for _ in 0..3 {
            let svc = layer.layer(answering(StatusCode::OK));
            let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
            assert!(res.extensions().get::<NewTokenAvailable>().is_none());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_static_token_rejected_is_not_marked() {
        let cache = Arc::new(TokenCache::new(Arc::new(crate::auth::StaticToken::new(
            "t",
        ))));
        let svc = AuthLayer::new(cache).layer(answering(StatusCode::UNAUTHORIZED));
        let res = svc.oneshot(Request::new(Body::empty())).await.unwrap();
        assert!(res.extensions().get::<NewTokenAvailable>().is_none());
    }
}
