//! Bearer auth: token caching, single flight, 401 handling.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use common::fault_server::{Action, FaultServer};
use sessions_core::{AccessToken, Body, Client, Error, Operation, RetryConfig};

fn execute(server: &FaultServer) -> http::Request<Body> {
    let mut req = http::Request::post(format!("{}executions?identifier=s1", server.url()))
        .body(Body::from("{}"))
        .unwrap();
    req.extensions_mut()
        .insert(Operation::not_idempotent("execute"));
    req
}

/// A client whose tokens are `t1`, `t2`, … counted in `fetches`.
fn client(server: &FaultServer, fetches: Arc<AtomicUsize>, delay: Duration) -> Client {
    Client::builder(&server.url())
        .token_fn(move |scope| {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                assert_eq!(scope, "https://dynamicsessions.io/.default");
                tokio::time::sleep(delay).await;
                Ok(AccessToken::new(
                    format!("t{n}"),
                    SystemTime::now() + Duration::from_secs(3600),
                ))
            }
        })
        .retry(RetryConfig::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_401_refetches_the_token_and_retries_once_even_for_post() {
    let server = FaultServer::start(vec![Action::status(401)]).await;
    let fetches = Arc::new(AtomicUsize::new(0));
    let c = client(&server, fetches.clone(), Duration::ZERO);
    assert_eq!(c.send(execute(&server)).await.unwrap().status(), 200);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("authorization"), Some("Bearer t1"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer t2"));
    assert_eq!(seen[1].body, b"{}");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // The new token is cached for the next call.
    c.send(execute(&server)).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_401_is_returned() {
    let server = FaultServer::start(vec![
        Action::status(401),
        Action::status(401),
        Action::status(401),
    ])
    .await;
    let fetches = Arc::new(AtomicUsize::new(0));
    let res = client(&server, fetches.clone(), Duration::ZERO)
        .send(execute(&server))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(server.count(), 2, "exactly one retry after a 401");
}

#[tokio::test]
async fn many_cold_callers_cause_one_fetch() {
    let server = FaultServer::start(vec![]).await;
    let fetches = Arc::new(AtomicUsize::new(0));
    let c = client(&server, fetches.clone(), Duration::from_millis(50));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let c = c.clone();
        let mut req = http::Request::get(format!("{}metadata", server.url()))
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(Operation::idempotent("metadata"));
        tasks.push(tokio::spawn(async move {
            c.send(req).await.map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert_eq!(server.count(), 100);
}

#[tokio::test]
async fn token_errors_are_auth_errors_and_nothing_is_sent() {
    let server = FaultServer::start(vec![]).await;
    let c = Client::builder(&server.url())
        .token_fn(|_| async { Err("the vault is sealed".into()) })
        .build()
        .unwrap();
    let err = c.send(execute(&server)).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("the vault is sealed"), "{err}");
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn custom_scope_is_requested() {
    let server = FaultServer::start(vec![]).await;
    let c = Client::builder(&server.url())
        .scope("https://acasessions.io/.default")
        .token_fn(|scope| async move {
            assert_eq!(scope, "https://acasessions.io/.default");
            Ok(AccessToken::never_expires("legacy"))
        })
        .build()
        .unwrap();
    c.send(execute(&server)).await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer legacy")
    );
}
