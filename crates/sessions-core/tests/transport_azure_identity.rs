//! The default credential chain picks managed identity from `IDENTITY_ENDPOINT` and fetches the
//! token through our hyper transport (no reqwest is compiled). Its own test binary: it sets
//! process-wide environment variables.
#![cfg(feature = "azure-identity")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use common::fault_server::{Action, FaultServer};
use sessions_core::transport::HttpService;
use sessions_core::transport::connector::{TransportOptions, base_transport};
use sessions_core::{Body, Client, Operation};
use tower::ServiceExt;

#[test]
#[allow(unsafe_code)]
fn managed_identity_token_reaches_the_pool() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let token_json = format!(
        r#"{{"access_token":"mi-token-xyz","expires_on":"{expires}","resource":"https://dynamicsessions.io","token_type":"Bearer"}}"#
    );
    let identity = rt.block_on(FaultServer::start(vec![Action::Respond {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: token_json.into_bytes(),
    }]));
    let pool = rt.block_on(FaultServer::start(vec![]));
    // SAFETY: set before any other thread of this test binary reads the environment (this is the
    // only test in the binary, and the runtime's workers do not read env vars).
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", format!("{}msi/token", identity.url()));
        std::env::set_var("IDENTITY_HEADER", "identity-header-value");
        std::env::remove_var("AZURE_FEDERATED_TOKEN_FILE");
        std::env::remove_var("AZURE_CLIENT_ID");
    }
    let through_base = Arc::new(AtomicUsize::new(0));
    let counter = through_base.clone();
    let base = HttpService::new(
        base_transport(&TransportOptions::default())
            .unwrap()
            .map_request(move |r: http::Request<Body>| {
                counter.fetch_add(1, Ordering::SeqCst);
                r
            }),
    );
    let client = Client::builder(&pool.url())
        .default_credential()
        .base_service(base)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..2 {
            let mut req = http::Request::get(format!("{}metadata", pool.url()))
                .body(Body::empty())
                .unwrap();
            req.extensions_mut()
                .insert(Operation::idempotent("metadata"));
            assert_eq!(client.send(req).await.unwrap().status(), 200);
        }
    });
    let token_requests = identity.requests();
    assert_eq!(token_requests.len(), 1, "the token is cached");
    let t = &token_requests[0];
    assert!(t.target.starts_with("/msi/token?"), "{}", t.target);
    assert!(
        t.target
            .contains("resource=https%3A%2F%2Fdynamicsessions.io"),
        "{}",
        t.target
    );
    assert_eq!(t.header("x-identity-header"), Some("identity-header-value"));
    let seen = pool.requests();
    assert!(
        seen.iter()
            .all(|r| r.header("authorization") == Some("Bearer mi-token-xyz"))
    );
    // 1 token request + 2 pool requests, all through our base transport.
    assert_eq!(through_base.load(Ordering::SeqCst), 3);
}
