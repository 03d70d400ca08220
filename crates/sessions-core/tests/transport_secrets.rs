//! Secrets never reach Debug output or logs. In its own test binary because it installs a
//! tracing subscriber: tests running in parallel in the same binary could otherwise cache a
//! callsite's interest before the subscriber exists, and the span would never be recorded.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fault_server::{Action, FaultServer};
use sessions_core::{Body, Client, Operation, RetryConfig};

fn get(server: &FaultServer) -> http::Request<Body> {
    let mut req = http::Request::get(format!("{}metadata", server.url()))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(Operation::idempotent("metadata"));
    req
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_never_reach_debug_output_or_logs() {
    const SECRET: &str = "SECRET-TOKEN-4242";
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = FaultServer::start(vec![Action::status(503), Action::status(401)]).await;
        let builder = Client::builder(&server.url())
            .static_token(SECRET)
            .retry(RetryConfig::default().base_delay(Duration::from_millis(1)));
        let debug_builder = format!("{builder:?}");
        let client = builder.build().unwrap();
        let mut req = get(&server);
        req.headers_mut().insert("x-probe", "1".parse().unwrap());
        let res = client.send(req).await.unwrap();
        assert_eq!(res.status(), 401);
        let seen = server.requests();
        assert_eq!(
            seen[0].header("authorization"),
            Some(format!("Bearer {SECRET}").as_str())
        );
        for text in [
            debug_builder,
            format!("{client:?}"),
            format!("{:?}", sessions_core::AccessToken::never_expires(SECRET)),
        ] {
            assert!(!text.contains(SECRET), "{text}");
        }
    });
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("sessions_core.request"),
        "the span is logged: {logs}"
    );
    assert!(logs.contains("retrying"), "retries are logged: {logs}");
    assert!(!logs.contains(SECRET), "{logs}");
}
