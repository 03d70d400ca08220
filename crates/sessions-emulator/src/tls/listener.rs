//! The pool's listener: plain TCP, or TLS with handshakes done off the accept loop so a slow
//! or silent client never holds up the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

/// Longest a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; further connections wait to start theirs.
const MAX_HANDSHAKES: usize = 64;

/// A connection: plain or TLS.
pub type PoolIo = Either<TcpStream, TlsStream<TcpStream>>;

/// What [`axum::serve()`] accepts connections from.
#[derive(Debug)]
pub enum PoolListener {
    /// http.
    Plain(TcpListener),
    /// https: connections whose handshake completed.
    Tls(TlsConnections),
}

/// Completed TLS connections, fed by a task that accepts and shakes hands.
#[derive(Debug)]
pub struct TlsConnections {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: JoinHandle<()>,
}

impl Drop for TlsConnections {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl PoolListener {
    /// Serve `tcp` as is, or behind TLS with `config`.
    pub fn new(tcp: TcpListener, tls: Option<Arc<ServerConfig>>) -> std::io::Result<Self> {
        let Some(config) = tls else {
            return Ok(PoolListener::Plain(tcp));
        };
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let accepting = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(PoolListener::Tls(TlsConnections {
            local,
            ready,
            accepting,
        }))
    }
}

async fn accept_loop(
    mut tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        // axum's accept retries and backs off on errors (such as running out of descriptors).
        let (stream, peer) = <TcpListener as Listener>::accept(&mut tcp).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl Listener for PoolListener {
    type Io = PoolIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (PoolIo, SocketAddr) {
        match self {
            PoolListener::Plain(tcp) => {
                let (io, peer) = <TcpListener as Listener>::accept(tcp).await;
                (Either::Left(io), peer)
            }
            PoolListener::Tls(conns) => match conns.ready.recv().await {
                Some((io, peer)) => (Either::Right(io), peer),
                // The accept task ended (only on shutdown): accept nothing more.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            PoolListener::Plain(tcp) => tcp.local_addr(),
            PoolListener::Tls(conns) => Ok(conns.local),
        }
    }
}
