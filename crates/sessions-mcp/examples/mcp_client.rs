//! Drive the MCP server with rmcp's client on an embedded local pool: list the tools, run code,
//! make a plot, move a file.
//!
//! ```sh
//! cargo run -p sessions-mcp --example mcp_client
//! ```

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use serde_json::json;
use sessions_emulator::Emulator;
use sessions_emulator::python_env::{Provision, resolve_python};
use sessions_mcp::McpServer;

#[derive(Clone)]
struct Host;

impl rmcp::ClientHandler for Host {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default().with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Emulator::builder()
        .python(resolve_python(Provision::CreateVenv)?)
        .start()
        .await?;
    let client = sessions_core::Client::builder(pool.endpoint())
        .no_auth()
        .build()?;
    let server = McpServer::builder(client).build();

    // What a host does with `dynsess mcp`'s stdin/stdout, over an in-memory pipe.
    let (server_end, host_end) = tokio::io::duplex(1 << 20);
    let serving = tokio::spawn(server.serve_transport(server_end));
    let mcp = Host.serve(host_end).await?;

    for tool in mcp.list_all_tools().await? {
        println!("tool: {}", tool.name);
    }
    let call = |name: &'static str, args: serde_json::Value| {
        let params = CallToolRequestParams::new(name)
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        mcp.call_tool(params)
    };
    let run = call("code_interpreter", json!({"python_code": "sum(range(10))"})).await?;
    println!(
        "{}",
        run.content[0]
            .as_text()
            .map(|t| t.text.as_str())
            .unwrap_or("")
    );
    let plot = call(
        "code_interpreter",
        json!({"python_code": "import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\nplt.show()"}),
    )
    .await?;
    let images = plot
        .content
        .iter()
        .filter(|c| c.as_image().is_some())
        .count();
    println!("the plot came back as {images} image(s)");
    call(
        "upload_file",
        json!({"name": "hello.txt", "content": "hi from MCP"}),
    )
    .await?;
    let back = call("download_file", json!({"name": "hello.txt"})).await?;
    println!(
        "download_file: {:?}",
        back.content[0].as_text().map(|t| &t.text)
    );

    mcp.cancel().await?; // the host disconnects: the server deletes the session
    serving.await??;
    println!(
        "sessions left: {}",
        sessions_core::Client::builder(pool.endpoint())
            .no_auth()
            .build()?
            .list_sessions()
            .await?
            .len()
    );
    pool.shutdown().await;
    Ok(())
}
