//! The streamable HTTP transport: loopback by default, bearer auth, Origin check; one pool
//! session per `Mcp-Session-Id`, deleted when the MCP session ends or idles out.

mod guard;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::Layer;

pub use guard::{Guard, GuardBody, GuardFuture, GuardLayer, Token};

use crate::server::{McpServer, ServeError};

/// Where and how to serve MCP over HTTP.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The host to bind (default `127.0.0.1`).
    pub host: String,
    /// The port (default 0: a free one).
    pub port: u16,
    /// The bearer token clients must send.
    pub token: Token,
    /// Allow binding an address other than loopback.
    pub allow_non_loopback: bool,
    /// End an MCP session (and delete its pool session) after this long without requests.
    pub session_idle: Duration,
}

impl HttpOptions {
    /// Loopback, a free port, this token, 15 minutes' idle.
    pub fn new(token: Token) -> Self {
        HttpOptions {
            host: "127.0.0.1".into(),
            port: 0,
            token,
            allow_non_loopback: false,
            session_idle: Duration::from_secs(15 * 60),
        }
    }
}

/// A running HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    url: String,
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// The MCP URL, e.g. `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, end every MCP session (deleting their pool sessions) and return.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
        // Dropped handlers delete their sessions on spawned tasks: give them a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl McpServer {
    /// Bind and serve MCP over streamable HTTP at `/mcp` in the background.
    pub async fn serve_http(self, options: HttpOptions) -> Result<HttpServer, ServeError> {
        let ip: IpAddr = match options.host.as_str() {
            "localhost" => IpAddr::from([127, 0, 0, 1]),
            host => host.trim_matches(['[', ']']).parse().map_err(|_| {
                ServeError::Listen(format!("--host must be an IP address, not `{host}`"))
            })?,
        };
        if !ip.is_loopback() && !options.allow_non_loopback {
            return Err(ServeError::Listen(format!(
                "refusing to serve on the non-loopback address {ip}: every client could run code; \
                 pass --allow-non-loopback to do it anyway"
            )));
        }
        let listener = TcpListener::bind((ip, options.port))
            .await
            .map_err(|e| ServeError::Listen(format!("cannot bind {ip}:{}: {e}", options.port)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        let stop = CancellationToken::new();
        let mut config =
            StreamableHttpServerConfig::default().with_cancellation_token(stop.child_token());
        if !ip.is_loopback() {
            // The Host check only knows loopback names; the bearer token guards the rest.
            config = config.disable_allowed_hosts();
        }
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive = Some(options.session_idle);
        let factory = self.clone();
        let mcp =
            StreamableHttpService::new(move || Ok(factory.handler()), Arc::new(sessions), config);
        let service = GuardLayer::new(options.token).layer(mcp);
        let url = match addr {
            SocketAddr::V6(a) => format!("http://[{}]:{}/mcp", a.ip(), a.port()),
            SocketAddr::V4(a) => format!("http://{a}/mcp"),
        };
        let task = tokio::spawn(accept_loop(listener, service, stop.clone()));
        Ok(HttpServer {
            url,
            addr,
            stop,
            task,
        })
    }
}

async fn accept_loop<S>(listener: TcpListener, service: S, stop: CancellationToken)
where
    S: tower::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<GuardBody>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(service.clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.cancelled() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}
