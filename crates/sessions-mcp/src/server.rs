//! The server: configuration shared by every client, and the transports.

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use sessions_core::{Client, Session};

use crate::handler::{ClientHandler, Shared};
use crate::lease::{LeaseConfig, LeasePool};
use crate::tools::PoolKind;

/// The default cap on `download_file` and `resources/read` (10 MiB).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The MCP handshake failed.
    #[error("the MCP client did not complete the handshake: {0}")]
    Handshake(String),
    /// The connection failed while serving.
    #[error("the MCP connection failed: {0}")]
    Connection(String),
    /// The HTTP listener could not start.
    #[error("{0}")]
    Listen(String),
}

/// The MCP server over one session pool. Cheap to clone; every client gets its own
/// [`ClientHandler`] and so its own pool session.
#[derive(Debug, Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
}

/// Configures an [`McpServer`].
#[derive(Debug)]
pub struct McpServerBuilder {
    client: Client,
    pinned: Option<Session>,
    kind: PoolKind,
    max_download_bytes: u64,
    leases: LeaseConfig,
}

impl McpServer {
    /// A builder over a pool's client.
    pub fn builder(client: Client) -> McpServerBuilder {
        McpServerBuilder {
            client,
            pinned: None,
            kind: PoolKind::Python,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            leases: LeaseConfig::default(),
        }
    }

    /// A handler for one new client (its pool session is leased on first use).
    pub fn handler(&self) -> ClientHandler {
        ClientHandler::new(self.shared.clone())
    }

    /// The lease pool every client's session comes from.
    pub fn leases(&self) -> &LeasePool {
        &self.shared.leases
    }

    /// Serve one client on stdin/stdout until it disconnects, then delete its session.
    pub async fn serve_stdio(self) -> Result<(), ServeError> {
        self.serve_transport(rmcp::transport::stdio()).await
    }

    /// Serve one client on any rmcp transport (a byte stream pair, e.g. `tokio::io::duplex`)
    /// until it disconnects, then delete its session.
    pub async fn serve_transport<T, E, A>(self, transport: T) -> Result<(), ServeError>
    where
        T: rmcp::transport::IntoTransport<rmcp::RoleServer, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let handler = self.handler();
        let slot = handler.slot();
        let outcome = match handler.serve(transport).await {
            Ok(running) => running
                .waiting()
                .await
                .map(drop)
                .map_err(|e| ServeError::Connection(e.to_string())),
            Err(e) => Err(ServeError::Handshake(e.to_string())),
        };
        slot.release().await;
        outcome
    }
}

impl McpServerBuilder {
    /// Serve every client in this one session instead of one new session each (`--session`).
    /// The session is never deleted by the server (except by `reset_session`).
    pub fn pinned_session(mut self, session: Session) -> Self {
        self.pinned = Some(session);
        self
    }

    /// The pool's kind: Python (`code_interpreter`, the default) or shell (`run_shell`).
    pub fn pool_kind(mut self, kind: PoolKind) -> Self {
        self.kind = kind;
        self
    }

    /// The largest file `download_file` and `resources/read` return (default 10 MiB).
    pub fn max_download_bytes(mut self, bytes: u64) -> Self {
        self.max_download_bytes = bytes;
        self
    }

    /// The most client sessions at once (default: [`crate::lease::DEFAULT_CAPACITY`]; see
    /// [`McpServerBuilder::capacity_from_pool`]).
    pub fn max_sessions(mut self, capacity: usize) -> Self {
        self.leases.capacity = capacity.max(1);
        self
    }

    /// Take the session cap from the pool's metadata, when it reports one.
    pub async fn capacity_from_pool(mut self) -> Self {
        let meta = self.client.metadata().await.ok();
        if let Some(n) = meta.and_then(|m| crate::lease::capacity_from_metadata(&m.raw)) {
            self.leases.capacity = n;
        }
        self
    }

    /// When all sessions are taken: fail the call at once (`true`) or wait in order (default).
    pub fn fail_fast(mut self, fail_fast: bool) -> Self {
        self.leases.fail_fast = fail_fast;
        self
    }

    /// Delete a client's session after this long unused (default 15 minutes; `None`: never).
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.leases.idle_timeout = idle;
        self
    }

    /// The server.
    pub fn build(self) -> McpServer {
        McpServer {
            shared: Arc::new(Shared {
                leases: LeasePool::new(self.client, self.leases),
                pinned: self.pinned,
                kind: self.kind,
                max_download_bytes: self.max_download_bytes,
            }),
        }
    }
}
