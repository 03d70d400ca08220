//! `mcp`: the pool as an MCP server, over stdio or streamable HTTP.

use std::process::ExitCode;
use std::time::Duration;

use dynamic_sessions::Client;
use dynamic_sessions::emulator::python_env::{Provision, resolve_python};
use dynamic_sessions::emulator::{Emulator, EmulatorHandle, PoolType};
use sessions_mcp::http::{HttpOptions, Token};
use sessions_mcp::{McpServer, PoolKind};

use crate::cli::{McpArgs, McpPoolType};
use crate::context::{Context, USER_AGENT};
use crate::error::{Error, ErrorCode, Result};

/// The session cap of the embedded local pool when --max-sessions does not say.
const LOCAL_MAX_SESSIONS: usize = 100;

/// Serve until the client disconnects (stdio) or until Ctrl-C / SIGTERM (HTTP).
pub async fn mcp(ctx: &Context, args: McpArgs) -> Result<ExitCode> {
    if args.local && ctx.has_endpoint() {
        return Err(Error::msg(
            "--local runs its own pool: drop --endpoint (or unset POOL_MANAGEMENT_ENDPOINT), or drop --local",
        ));
    }
    let local = match args.local {
        true => Some(start_local(&args).await?),
        false => None,
    };
    let client = match &local {
        Some(pool) => Client::builder(pool.endpoint())
            .no_auth()
            .user_agent(USER_AGENT)
            .build()?,
        None => ctx.client()?,
    };
    let server = build_server(ctx, &args, client, local.is_some()).await?;
    let outcome = match args.http {
        true => serve_http(server, &args).await,
        false => server.serve_stdio().await.map_err(serve_error),
    };
    if let Some(pool) = local {
        pool.shutdown().await;
    }
    outcome.map(|()| ExitCode::SUCCESS)
}

async fn start_local(args: &McpArgs) -> Result<EmulatorHandle> {
    let python = resolve_python(Provision::Find)
        .map_err(|e| Error::new(ErrorCode::Io, format!("no Python for the local pool: {e}")))?;
    Emulator::builder()
        .pool_type(match args.pool_type {
            McpPoolType::Python => PoolType::Python,
            McpPoolType::Shell => PoolType::Shell,
        })
        .max_sessions(args.max_sessions.unwrap_or(LOCAL_MAX_SESSIONS))
        .prewarm(1)
        .python(python)
        .start()
        .await
        .map_err(|e| {
            Error::new(
                ErrorCode::Io,
                format!("could not start the local pool: {e}"),
            )
        })
}

async fn build_server(
    ctx: &Context,
    args: &McpArgs,
    client: Client,
    local: bool,
) -> Result<McpServer> {
    let mut builder = McpServer::builder(client.clone())
        .pool_kind(match args.pool_type {
            McpPoolType::Python => PoolKind::Python,
            McpPoolType::Shell => PoolKind::Shell,
        })
        .max_download_bytes(args.max_download_bytes)
        .fail_fast(args.fail_fast)
        .idle_timeout((args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)));
    builder = match (args.max_sessions, local) {
        (Some(n), _) => builder.max_sessions(n),
        (None, true) => builder.max_sessions(LOCAL_MAX_SESSIONS),
        (None, false) => builder.capacity_from_pool().await,
    };
    if let Some(id) = ctx.given_session_id() {
        builder = builder.pinned_session(client.session(id)?);
    }
    Ok(builder.build())
}

async fn serve_http(server: McpServer, args: &McpArgs) -> Result<()> {
    let token = match args.mcp_token.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Token::new(t),
        _ => {
            let token = Token::random();
            eprintln!(
                "dynsess: MCP clients must send `Authorization: Bearer {}` (set --mcp-token or \
                 DYNSESS_MCP_TOKEN to choose it)",
                token.expose()
            );
            token
        }
    };
    let mut options = HttpOptions::new(token);
    options.host = args.host.clone();
    options.port = args.port;
    options.allow_non_loopback = args.allow_non_loopback;
    if args.idle_timeout > 0 {
        options.session_idle = Duration::from_secs(args.idle_timeout);
    }
    let http = server.serve_http(options).await.map_err(serve_error)?;
    crate::commands::print_raw(&format!("{}\n", http.url()))?;
    eprintln!(
        "dynsess: serving MCP at {}; stop it with Ctrl-C",
        http.url()
    );
    wait_for_signal().await;
    http.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn serve_error(e: sessions_mcp::ServeError) -> Error {
    Error::new(ErrorCode::Transport, e.to_string())
}
