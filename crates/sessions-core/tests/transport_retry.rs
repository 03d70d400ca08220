//! Retry behaviour against a scripted loopback server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::fault_server::{Action, FaultServer, closed_port};
use http_body_util::BodyExt;
use sessions_core::transport::connector::{TransportOptions, base_transport};
use sessions_core::transport::{HttpService, StreamFactory};
use sessions_core::{Body, Client, Error, Operation, RetryConfig, TimeoutKind};
use tower::ServiceExt;

fn fast() -> RetryConfig {
    RetryConfig::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(10))
        .retry_after_cap(Duration::from_secs(2))
        .budget(None)
}

fn client(url: &str) -> Client {
    Client::builder(url)
        .no_auth()
        .retry(fast())
        .build()
        .unwrap()
}

fn request(method: &str, url: String, op: Operation, body: Body) -> http::Request<Body> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .body(body)
        .unwrap();
    req.extensions_mut().insert(op);
    req
}

fn get(server: &FaultServer) -> http::Request<Body> {
    request(
        "GET",
        format!("{}files?identifier=s1", server.url()),
        Operation::idempotent("files.list"),
        Body::empty(),
    )
}

fn execute(url: String) -> http::Request<Body> {
    request(
        "POST",
        format!("{url}executions?identifier=s1"),
        Operation::not_idempotent("execute"),
        Body::from("{\"code\":\"1+1\"}"),
    )
}

/// The default pool, counting every attempt that reaches it.
fn counted_pool(counter: Arc<AtomicUsize>) -> HttpService {
    let pool = base_transport(&TransportOptions::default()).unwrap();
    HttpService::new(pool.map_request(move |r: http::Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        r
    }))
}

#[tokio::test]
async fn reset_get_is_retried() {
    let server = FaultServer::start(vec![Action::Reset, Action::Reset]).await;
    let res = client(&server.url()).send(get(&server)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn reset_post_is_not_retried() {
    let server = FaultServer::start(vec![Action::Reset]).await;
    let err = client(&server.url())
        .send(execute(server.url()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(
        server.count(),
        1,
        "a POST that may have been processed must not be re-sent"
    );
}

#[tokio::test]
async fn status_503_retries_get_but_not_post() {
    let server = FaultServer::start(vec![Action::status(503), Action::status(503)]).await;
    let c = client(&server.url());
    assert_eq!(c.send(get(&server)).await.unwrap().status(), 200);
    assert_eq!(server.count(), 3);

    let server = FaultServer::start(vec![Action::status(503)]).await;
    let res = client(&server.url())
        .send(execute(server.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn max_attempts_is_honoured() {
    let server = FaultServer::start(vec![Action::status(500); 10]).await;
    let c = Client::builder(&server.url())
        .no_auth()
        .retry(fast().max_attempts(3))
        .build()
        .unwrap();
    assert_eq!(c.send(get(&server)).await.unwrap().status(), 500);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn post_429_with_retry_after_seconds_is_retried() {
    let server = FaultServer::start(vec![Action::status_with(429, "retry-after", "1")]).await;
    let res = client(&server.url())
        .send(execute(server.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let server = FaultServer::start(vec![Action::status_with(429, "retry-after", &date)]).await;
    let c = Client::builder(&server.url())
        .no_auth()
        .retry(fast().retry_after_cap(Duration::from_secs(1)))
        .build()
        .unwrap();
    assert_eq!(c.send(execute(server.url())).await.unwrap().status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn retry_after_past_the_deadline_returns_the_answer() {
    // The server asks for 30 s; waiting would pass the 1 s deadline, so the 429 comes back at
    // once instead of a timeout (which also proves the Retry-After value was used).
    let server = FaultServer::start(vec![Action::status_with(429, "retry-after", "30")]).await;
    let c = Client::builder(&server.url())
        .no_auth()
        .retry(fast().retry_after_cap(Duration::from_secs(60)))
        .overall_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(c.send(execute(server.url())).await.unwrap().status(), 429);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_post() {
    let addr = closed_port().await;
    let url = format!("http://{addr}/");
    for (req, expect) in [
        (execute(url.clone()), 3),
        (
            request(
                "GET",
                format!("{url}files"),
                Operation::idempotent("files.list"),
                Body::empty(),
            ),
            3,
        ),
    ] {
        let attempts = Arc::new(AtomicUsize::new(0));
        let c = Client::builder(&url)
            .no_auth()
            .retry(fast().max_attempts(3))
            .base_service(counted_pool(attempts.clone()))
            .build()
            .unwrap();
        let err = c.send(req).await.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), expect);
    }
}

#[tokio::test]
async fn upload_retry_resends_the_whole_buffered_body() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let server = FaultServer::start(vec![Action::status_with(429, "retry-after", "0")]).await;
    let req = request(
        "POST",
        format!("{}files?identifier=s1", server.url()),
        Operation::not_idempotent("files.upload"),
        Body::full(content.clone()),
    );
    assert_eq!(client(&server.url()).send(req).await.unwrap().status(), 200);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, content);
    assert_eq!(seen[1].body, content, "the retry must carry the full body");
}

#[tokio::test]
async fn upload_retry_reopens_a_file_backed_body() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    let content: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let opens = Arc::new(AtomicUsize::new(0));
    let (p, o) = (path.clone(), opens.clone());
    let factory: StreamFactory = Arc::new(move || {
        o.fetch_add(1, Ordering::SeqCst);
        let p = p.clone();
        Box::pin(futures_util::stream::once(async move {
            tokio::fs::read(p)
                .await
                .map(Bytes::from)
                .map_err(Into::into)
        }))
    });
    let server = FaultServer::start(vec![Action::status_with(429, "retry-after", "0")]).await;
    let req = request(
        "POST",
        format!("{}files?identifier=s1", server.url()),
        Operation::not_idempotent("files.upload"),
        Body::replayable(factory, Some(content.len() as u64)),
    );
    assert_eq!(client(&server.url()).send(req).await.unwrap().status(), 200);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body, content);
    assert_eq!(
        opens.load(Ordering::SeqCst),
        2,
        "the file is read afresh for the retry"
    );
}

#[tokio::test]
async fn one_shot_stream_is_never_retried() {
    let server = FaultServer::start(vec![Action::status(429)]).await;
    let stream = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"abc"))]);
    let req = request(
        "POST",
        format!("{}files", server.url()),
        Operation::not_idempotent("files.upload"),
        Body::stream(Box::pin(stream), Some(3)),
    );
    assert_eq!(client(&server.url()).send(req).await.unwrap().status(), 429);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn every_attempt_carries_the_same_client_request_id() {
    let server = FaultServer::start(vec![Action::status(503), Action::status(502)]).await;
    let c = client(&server.url());
    let res = c.send(get(&server)).await.unwrap();
    c.send(get(&server)).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    let ids: Vec<_> = seen
        .iter()
        .map(|r| r.header("x-ms-client-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[1], ids[2]);
    assert_ne!(ids[2], ids[3], "each call has its own id");
    assert!(uuid::Uuid::parse_str(&ids[0]).is_ok());
    // The id is copied onto the response (the fault server sends none of its own).
    assert_eq!(res.headers()["x-ms-client-request-id"], ids[0].as_str());
}

#[tokio::test]
async fn truncated_body_is_an_error_not_a_panic() {
    let server = FaultServer::start(vec![Action::Truncated {
        declared: 100,
        body: b"0123456789".to_vec(),
    }])
    .await;
    let res = client(&server.url()).send(get(&server)).await.unwrap();
    let err = res.into_body().collect().await.unwrap_err();
    let err = Error::from_box(err);
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(!err.to_string().is_empty());
}

#[tokio::test]
async fn retry_budget_limits_retries() {
    let server = FaultServer::start(vec![Action::status(503); 50]).await;
    let mut budget = sessions_core::middleware::retry::RetryBudget::default();
    budget.ttl = Duration::from_secs(10);
    budget.min_per_sec = 0;
    budget.retry_percent = 0.0;
    let c = Client::builder(&server.url())
        .no_auth()
        .retry(fast().budget(Some(budget)))
        .build()
        .unwrap();
    assert_eq!(c.send(get(&server)).await.unwrap().status(), 503);
    assert_eq!(server.count(), 1, "an empty budget allows no retry");
}

#[tokio::test]
async fn attempt_timeouts_retry_get_only() {
    let server = FaultServer::start(vec![Action::Slow(Duration::from_secs(5)); 4]).await;
    let c = Client::builder(&server.url())
        .no_auth()
        .retry(fast().max_attempts(2))
        .attempt_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = c.send(get(&server)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                after: Some(_)
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.count(), 2);
    let err = c.send(execute(server.url())).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.count(), 3, "a timed-out POST is not re-sent");
}
