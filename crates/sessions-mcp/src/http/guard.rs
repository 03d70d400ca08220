//! The HTTP transport's gate: a foreign browser `Origin` is 403 (DNS-rebinding protection), a
//! request without the bearer token is 401. tower-http style: [`GuardLayer`] + [`Guard`] +
//! [`GuardFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use tower::{Layer, Service};

/// The response body of the guarded service.
pub type GuardBody = BoxBody<Bytes, std::convert::Infallible>;

/// A bearer token that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// Wrap a token.
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into().into())
    }

    /// A random token (two UUIDv4s: 244 random bits).
    pub fn random() -> Self {
        Token::new(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// The secret itself (to print once, or to send).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compare without leaking the position of the first difference through timing.
    fn matches(&self, offered: &[u8]) -> bool {
        let ours = self.0.as_bytes();
        ours.len() == offered.len()
            && ours
                .iter()
                .zip(offered)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Wraps a service in a [`Guard`].
#[derive(Debug, Clone)]
pub struct GuardLayer {
    token: Token,
}

impl GuardLayer {
    /// Require `token` as `Authorization: Bearer`.
    pub fn new(token: Token) -> Self {
        GuardLayer { token }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            token: self.token.clone(),
        }
    }
}

/// Refuses foreign origins (403) and missing or wrong bearer tokens (401) before `S` sees them.
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    token: Token,
}

impl<S, B> Service<Request<B>> for Guard<S>
where
    S: Service<Request<B>, Response = Response<GuardBody>>,
{
    type Response = Response<GuardBody>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.refusal(&req) {
            Some(response) => GuardFuture::refused(response),
            None => GuardFuture::inner(self.inner.call(req)),
        }
    }
}

impl<S> Guard<S> {
    fn refusal<B>(&self, req: &Request<B>) -> Option<Response<GuardBody>> {
        let origin = req.headers().get(header::ORIGIN);
        if origin.is_some_and(|o| !is_local_origin(o)) {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "this MCP server accepts browser requests only from local origins",
            ));
        }
        let offered = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        match offered {
            Some(t) if self.token.matches(t) => None,
            _ => {
                let mut response = refuse(
                    StatusCode::UNAUTHORIZED,
                    "send the server's token as `Authorization: Bearer TOKEN` (--mcp-token or \
                     DYNSESS_MCP_TOKEN; without either, dynsess printed one on stderr)",
                );
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                Some(response)
            }
        }
    }
}

/// `http(s)://localhost`, `127.x.x.x` or `[::1]`, any port.
fn is_local_origin(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn refuse(status: StatusCode, message: &str) -> Response<GuardBody> {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pin_project_lite::pin_project! {
    /// The [`Guard`]'s future: the inner service's, or a refusal.
    pub struct GuardFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response<GuardBody>> },
    }
}

impl<F> GuardFuture<F> {
    fn inner(future: F) -> Self {
        GuardFuture {
            state: State::Inner { future },
        }
    }

    fn refused(response: Response<GuardBody>) -> Self {
        GuardFuture {
            state: State::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response<GuardBody>, E>>,
{
    type Output = Result<Response<GuardBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{ServiceExt, service_fn};

    async fn status(headers: &[(&str, &str)]) -> StatusCode {
        let inner = service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok")).boxed()))
        });
        let svc = GuardLayer::new(Token::new("s3cret")).layer(inner);
        let mut req = Request::builder().uri("/mcp");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        svc.oneshot(req.body(()).unwrap()).await.unwrap().status()
    }

    #[tokio::test]
    async fn tokens_and_origins_are_checked() {
        let auth = ("authorization", "Bearer s3cret");
        assert_eq!(status(&[auth]).await, StatusCode::OK);
        assert_eq!(status(&[]).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(&[("authorization", "Bearer s3cres")]).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(&[("authorization", "s3cret")]).await,
            StatusCode::UNAUTHORIZED
        );
        for local in [
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://[::1]:8443",
        ] {
            assert_eq!(
                status(&[auth, ("origin", local)]).await,
                StatusCode::OK,
                "{local}"
            );
        }
        for foreign in [
            "https://evil.example",
            "http://localhost.evil.example",
            "null",
            "http://10.0.0.1",
        ] {
            assert_eq!(
                status(&[auth, ("origin", foreign)]).await,
                StatusCode::FORBIDDEN,
                "{foreign}"
            );
        }
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let debug = format!("{:?}", GuardLayer::new(Token::new("s3cret")));
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
