//! rmcp's client against the streamable HTTP transport on a local pool: isolation between
//! clients, sessions deleted when MCP sessions end, and the refusals (attacks that must fail).

mod support;

use std::time::Duration;

use serde_json::json;
use sessions_emulator::PoolType;
use sessions_mcp::McpServer;
use sessions_mcp::http::{HttpOptions, Token};
use support::*;

const TOKEN: &str = "test-token-not-a-secret";

async fn wait_until_no_sessions(pool: &sessions_emulator::EmulatorHandle) {
    let client = client(pool);
    for _ in 0..100 {
        if client.list_sessions().await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sessions left: {:?}", client.list_sessions().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_http_clients_are_isolated_and_their_sessions_are_deleted() {
    let pool = pool(PoolType::Python, 5).await;
    let server = McpServer::builder(client(&pool)).build();
    let http = server
        .serve_http(HttpOptions::new(Token::new(TOKEN)))
        .await
        .unwrap();
    assert!(http.url().starts_with("http://127.0.0.1:") && http.url().ends_with("/mcp"));

    let alice = connect_http(http.url(), TOKEN).await.unwrap();
    let bob = connect_http(http.url(), TOKEN).await.unwrap();
    let set = call(
        &alice,
        "code_interpreter",
        code("secret = 'alice'\nopen('/mnt/data/a.txt','w').write('a')"),
    )
    .await;
    assert!(!is_error(&set), "{set:?}");
    let peek = call(&bob, "code_interpreter", code("secret")).await;
    assert!(
        is_error(&peek) && text(&peek).contains("NameError"),
        "{peek:?}"
    );
    let files = text(&call(&bob, "list_files", json!({})).await);
    assert!(!files.contains("a.txt"), "{files}");
    let plot = call(
        &bob,
        "code_interpreter",
        code("import matplotlib.pyplot as plt\nplt.plot([1])\nplt.show()"),
    )
    .await;
    assert!(
        plot.content.iter().any(|c| c.as_image().is_some()),
        "{plot:?}"
    );
    assert_eq!(client(&pool).list_sessions().await.unwrap().len(), 2);

    // Ending the MCP session (DELETE with Mcp-Session-Id) deletes the pool session.
    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
    wait_until_no_sessions(&pool).await;
    http.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_the_token_or_from_a_foreign_origin_are_refused() {
    let pool = pool(PoolType::Python, 5).await;
    let http = McpServer::builder(client(&pool))
        .build()
        .serve_http(HttpOptions::new(Token::new(TOKEN)))
        .await
        .unwrap();
    assert!(connect_http(http.url(), "wrong").await.is_err());

    // Raw requests, to see the status codes.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let send = |auth: Option<&str>, origin: Option<&str>| {
        let mut req = reqwest::Client::new()
            .post(http.url())
            .header("accept", "application/json, text/event-stream")
            .json(&init);
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    assert_eq!(send(None, None).await.unwrap().status(), 401);
    assert_eq!(send(Some("wrong"), None).await.unwrap().status(), 401);
    assert_eq!(
        send(Some(TOKEN), Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        send(None, Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );
    let ok = send(Some(TOKEN), Some("http://localhost:1234"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    drop(ok);
    // Nothing reached the pool.
    assert!(client(&pool).list_sessions().await.unwrap().is_empty());

    let mut open = HttpOptions::new(Token::new(TOKEN));
    open.host = "0.0.0.0".into();
    let refused = McpServer::builder(client(&pool))
        .build()
        .serve_http(open)
        .await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("--allow-non-loopback")
    );
    http.shutdown().await;
}
