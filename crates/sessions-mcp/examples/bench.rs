//! The figures of the MCP server, measured on an embedded local pool (wired into
//! `cargo xtask bench` by the coordinator):
//!
//! * `emulator_exec_p50_ms`: a direct `Session::execute` of `1 + 1`;
//! * `mcp_exec_p50_ms` and `mcp_exec_overhead_ms`: the same as a `code_interpreter` call from
//!   rmcp's client over a byte-stream pipe (the stdio framing), minus the direct p50;
//! * leases: 200 users × 5 calls on a 20-session pool: `lease_errors`, `leaked_sessions`.
//!
//! ```sh
//! cargo run --release -p sessions-mcp --example bench
//! ```
//! Prints one JSON object.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use serde_json::json;
use sessions_core::Client;
use sessions_emulator::python_env::{Provision, resolve_python};
use sessions_emulator::{Emulator, PoolType};
use sessions_mcp::McpServer;
use sessions_mcp::lease::{LeaseConfig, LeasePool};

const SAMPLES: usize = 200;

#[derive(Clone)]
struct Host;

impl rmcp::ClientHandler for Host {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default().with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }
}

fn p50(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let python = resolve_python(Provision::CreateVenv)?;
    let pool = Emulator::builder().python(python.clone()).start().await?;
    let client = Client::builder(pool.endpoint()).no_auth().build()?;

    let session = client.new_session();
    session.execute("1 + 1").await?; // allocate and warm the kernel
    let mut direct = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        session.execute("1 + 1").await?;
        direct.push(t.elapsed());
    }
    session.delete().await?;

    let (server_end, host_end) = tokio::io::duplex(1 << 20);
    let serving = tokio::spawn(
        McpServer::builder(client.clone())
            .build()
            .serve_transport(server_end),
    );
    let mcp = Host.serve(host_end).await?;
    let params = CallToolRequestParams::new("code_interpreter").with_arguments(
        json!({"python_code": "1 + 1"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    mcp.call_tool(params.clone()).await?;
    let mut over_mcp = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        mcp.call_tool(params.clone()).await?;
        over_mcp.push(t.elapsed());
    }
    mcp.cancel().await?;
    serving.await??;
    pool.shutdown().await;

    let (lease_errors, leaked_sessions, lease_secs) = leases(python).await?;
    let (direct, over_mcp) = (p50(direct), p50(over_mcp));
    let figures = json!({
        "emulator_exec_p50_ms": direct,
        "mcp_exec_p50_ms": over_mcp,
        "mcp_exec_overhead_ms": over_mcp - direct,
        "lease_users": 200,
        "lease_calls_per_user": 5,
        "lease_capacity": 20,
        "lease_errors": lease_errors,
        "leaked_sessions": leaked_sessions,
        "lease_run_s": lease_secs,
    });
    println!("{figures}");
    Ok(())
}

/// 200 users × 5 calls on a pool capped at 20 sessions.
async fn leases(
    python: std::path::PathBuf,
) -> Result<(usize, usize, f64), Box<dyn std::error::Error>> {
    let pool = Emulator::builder()
        .python(python)
        .pool_type(PoolType::Shell)
        .max_sessions(20)
        .start()
        .await?;
    let client = Client::builder(pool.endpoint()).no_auth().build()?;
    let leases = LeasePool::new(
        client.clone(),
        LeaseConfig {
            capacity: 20,
            ..LeaseConfig::default()
        },
    );
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let users: Vec<_> = (0..200)
        .map(|_| {
            let (leases, errors) = (leases.clone(), errors.clone());
            tokio::spawn(async move {
                let Ok(lease) = leases.acquire().await else {
                    errors.fetch_add(5, Ordering::SeqCst);
                    return;
                };
                let session = lease.session().cloned();
                for _ in 0..5 {
                    let ok = match &session {
                        Some(s) => s.shell("echo ok").await.is_ok_and(|r| r.succeeded()),
                        None => false,
                    };
                    if !ok {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                if lease.release().await.is_err() {
                    errors.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for user in users {
        user.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let leaked = client.list_sessions().await?.len();
    pool.shutdown().await;
    Ok((errors.load(Ordering::SeqCst), leaked, secs))
}
