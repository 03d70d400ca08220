//! `dynsess mcp` driven by rmcp's client: over stdio (the process's pipes) and over HTTP.

mod support;

use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion};
use serde_json::{Value, json};
use sessions_emulator::PoolType;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Clone, Default)]
struct Host;

impl rmcp::ClientHandler for Host {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default().with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }
}

async fn call<S: std::ops::Deref<Target = rmcp::Peer<rmcp::RoleClient>>>(
    mcp: &S,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    mcp.call_tool(params).await.expect("tools/call answers")
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

async fn sessions(endpoint: &str) -> usize {
    dynamic_sessions::Client::builder(endpoint)
        .no_auth()
        .build()
        .unwrap()
        .list_sessions()
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_runs_code_and_deletes_its_session_when_the_host_disconnects() {
    let pool = pool(PoolType::Python).await;
    let mut cmd = dynsess(&["--endpoint", pool.endpoint(), "mcp"]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pipes = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let mcp = Host.serve(pipes).await.expect("handshake over stdio");

    let run = call(
        &mcp,
        "code_interpreter",
        json!({"python_code": "print(6 * 7)"}),
    )
    .await;
    assert_eq!(run.is_error, Some(false), "{run:?}");
    assert!(text(&run).contains("42"), "{run:?}");
    let bad = call(&mcp, "code_interpreter", json!({"code": "1"})).await;
    assert_eq!(bad.is_error, Some(true));
    assert!(text(&bad).contains("`code`"), "{bad:?}");
    assert_eq!(sessions(pool.endpoint()).await, 1);

    // Closing stdin is the host going away: the session is deleted, then dynsess exits 0.
    mcp.cancel().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("dynsess mcp exits after the host disconnects")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(sessions(pool.endpoint()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_runs_an_embedded_pool_with_plots() {
    let mut cmd = dynsess(&["mcp", "--local"]);
    cmd.stdin(Stdio::piped())
        .env("SESSIONS_EMULATOR_PYTHON", python());
    let mut child = cmd.spawn().unwrap();
    let pipes = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let mcp = Host.serve(pipes).await.expect("handshake over stdio");
    let code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()";
    let plot = call(&mcp, "code_interpreter", json!({"python_code": code})).await;
    let image = plot.content.iter().find_map(|c| c.as_image());
    assert_eq!(
        image.map(|i| i.mime_type.as_str()),
        Some("image/png"),
        "{plot:?}"
    );
    mcp.cancel().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    assert!(status.expect("exits").unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_prints_the_url_first_and_needs_the_token() {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let pool = pool(PoolType::Python).await;
    let token = "a-test-token";
    let mut child = dynsess(&["--endpoint", pool.endpoint(), "mcp", "--http"])
        .env("DYNSESS_MCP_TOKEN", token)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .expect("the URL line");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );

    let connect = |t: &str| {
        let config = StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header(t);
        Host.serve(StreamableHttpClientTransport::from_config(config))
    };
    assert!(connect("wrong").await.is_err());
    let mcp = connect(token).await.expect("handshake over HTTP");
    let run = call(&mcp, "code_interpreter", json!({"python_code": "6 * 7"})).await;
    assert!(text(&run).contains("42"), "{run:?}");
    mcp.cancel().await.unwrap();
    for _ in 0..100 {
        if sessions(pool.endpoint()).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sessions(pool.endpoint()).await, 0);
    // The token reaches no log or output.
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));
}
