//! Shared by the test binaries: a local pool, a server over it, and rmcp clients.
#![allow(dead_code)] // each test binary uses its own subset

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::service::{NotificationContext, RunningService};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use sessions_core::Client;
use sessions_emulator::python_env::{Provision, resolve_python};
use sessions_emulator::{Emulator, EmulatorHandle, PoolType};
use sessions_mcp::McpServer;

pub async fn pool(kind: PoolType, max_sessions: usize) -> EmulatorHandle {
    Emulator::builder()
        .pool_type(kind)
        .max_sessions(max_sessions)
        .python(resolve_python(Provision::CreateVenv).expect("a python3 for the local pool"))
        .start()
        .await
        .expect("start the local pool")
}

pub fn client(pool: &EmulatorHandle) -> Client {
    Client::builder(pool.endpoint()).no_auth().build().unwrap()
}

/// An rmcp client that speaks the session-based protocol (initialize, notifications) and
/// counts the notifications it gets.
#[derive(Clone, Default)]
pub struct TestClient {
    pub list_changed: Arc<AtomicUsize>,
    pub progress: Arc<AtomicUsize>,
}

impl rmcp::ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default().with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.list_changed.fetch_add(1, Ordering::SeqCst);
    }

    async fn on_progress(
        &self,
        _params: rmcp::model::ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.fetch_add(1, Ordering::SeqCst);
    }
}

pub type Mcp = RunningService<RoleClient, TestClient>;

/// A server task on one end of an in-memory pipe (what stdio is to a host), a client on the other.
pub async fn connect(server: McpServer) -> (Mcp, tokio::task::JoinHandle<()>) {
    let (server_end, client_end) = tokio::io::duplex(1 << 20);
    let task = tokio::spawn(async move {
        server.serve_transport(server_end).await.unwrap();
    });
    let mcp = TestClient::default()
        .serve(client_end)
        .await
        .expect("the MCP handshake");
    (mcp, task)
}

pub async fn call(mcp: &Mcp, tool: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    mcp.call_tool(params).await.expect("tools/call answers")
}

/// The text of the first text block.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

pub fn code(python: &str) -> Value {
    json!({ "python_code": python })
}

/// An rmcp client over streamable HTTP with this bearer token.
pub async fn connect_http(url: &str, token: &str) -> Result<Mcp, String> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token);
    TestClient::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| e.to_string())
}
