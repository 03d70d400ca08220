//! The default stack: timeouts, headers, user layers, building, and secrets kept out of output.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fault_server::{Action, FaultServer};
use sessions_core::{Body, Client, Error, Operation, RetryConfig, TimeoutKind};

fn get(server: &FaultServer) -> http::Request<Body> {
    let mut req = http::Request::get(format!("{}metadata", server.url()))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(Operation::idempotent("metadata"));
    req
}

#[tokio::test]
async fn overall_deadline_is_a_typed_timeout() {
    let server = FaultServer::start(vec![Action::Slow(Duration::from_secs(5))]).await;
    let c = Client::builder(&server.url())
        .no_auth()
        .attempt_timeout(Duration::from_secs(30))
        .overall_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = c.send(get(&server)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Overall,
                after: Some(_)
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn user_agent_has_our_format() {
    let server = FaultServer::start(vec![]).await;
    Client::builder(&server.url())
        .no_auth()
        .build()
        .unwrap()
        .send(get(&server))
        .await
        .unwrap();
    Client::builder(&server.url())
        .no_auth()
        .user_agent("dynsess/0.1.0")
        .build()
        .unwrap()
        .send(get(&server))
        .await
        .unwrap();
    let seen = server.requests();
    let ours = format!(
        "sessions-core/{} (Language=Rust)",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(seen[0].header("user-agent"), Some(ours.as_str()));
    assert_eq!(
        seen[1].header("user-agent"),
        Some(format!("dynsess/0.1.0 {ours}").as_str())
    );
    assert!(
        Client::builder(&server.url())
            .no_auth()
            .user_agent("bad\nagent")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn loopback_default_sends_no_authorization() {
    let server = FaultServer::start(vec![]).await;
    Client::builder(&server.url())
        .build()
        .unwrap()
        .send(get(&server))
        .await
        .unwrap();
    assert_eq!(server.requests()[0].header("authorization"), None);
}

/// A hand-written user layer: counts calls and adds a header.
#[derive(Clone)]
struct CountingLayer(Arc<AtomicUsize>);

#[derive(Clone)]
struct Counting<S> {
    inner: S,
    count: Arc<AtomicUsize>,
}

impl<S> tower::Layer<S> for CountingLayer {
    type Service = Counting<S>;
    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            count: self.0.clone(),
        }
    }
}

impl<S: tower::Service<http::Request<Body>>> tower::Service<http::Request<Body>> for Counting<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }
    fn call(&mut self, mut req: http::Request<Body>) -> S::Future {
        self.count.fetch_add(1, Ordering::SeqCst);
        req.headers_mut()
            .insert("x-test-layer", http::HeaderValue::from_static("yes"));
        self.inner.call(req)
    }
}

#[tokio::test]
async fn user_layers_see_each_call_once_outermost_first() {
    let server = FaultServer::start(vec![Action::status(503)]).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    let c = Client::builder(&server.url())
        .no_auth()
        .retry(RetryConfig::default().base_delay(Duration::from_millis(1)))
        .layer(tower::util::MapRequestLayer::new(
            move |r: http::Request<Body>| {
                o1.lock().unwrap().push("first");
                r
            },
        ))
        .layer(CountingLayer(calls.clone()))
        .layer(tower::util::MapRequestLayer::new(
            move |r: http::Request<Body>| {
                o2.lock().unwrap().push("third");
                r
            },
        ))
        .build()
        .unwrap();
    assert_eq!(c.send(get(&server)).await.unwrap().status(), 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "user layers sit outside retry"
    );
    assert_eq!(*order.lock().unwrap(), vec!["first", "third"]);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.header("x-test-layer") == Some("yes")));
}

#[test]
fn build_needs_no_runtime_and_validates_the_endpoint() {
    let c = Client::builder("https://eastus.dynamicsessions.io/subscriptions/s/sessionPools/p")
        .static_token("t")
        .build();
    assert!(c.is_ok());
    let err = Client::builder("http://example.com/")
        .static_token("t")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}
