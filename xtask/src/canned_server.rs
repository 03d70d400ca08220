//! A minimal loopback HTTP/1.1 server (hyper 1, keep-alive) that answers every request at once
//! with a canned dynamic-sessions response. It runs on its own current-thread runtime on its own
//! OS thread, so the client under test and the server never share an executor.
//!
//! * `.../executions` → the current-family execution body;
//! * `.../code/execute` → the legacy (2024-02-02-preview) body;
//! * anything else → 404 with an Azure-style error body.
//!
//! It can capture one request (method, URI, headers, body) so that the bare hyper client can send
//! exactly what our client sends.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// The session identifier of the canned benchmarks (the canned body answers for any).
pub const IDENT: &str = "bench-session";

/// The current-family body (`POST executions`).
pub const CURRENT_BODY: &str = r#"{"id":"e1","identifier":"s","executionType":"Synchronous","status":"Succeeded","result":{"stdout":"2\n","stderr":"","executionResult":2,"executionTimeInMilliseconds":1}}"#;
/// The legacy body (`POST code/execute`, api-version 2024-02-02-preview).
pub const LEGACY_BODY: &str = r#"{"$id":"1","properties":{"$id":"2","status":"Success","stdout":"2\n","stderr":"","result":2,"executionTimeInMilliseconds":1}}"#;
const NOT_FOUND_BODY: &str =
    r#"{"error":{"code":"SessionRequestNotSupported","message":"canned server: unknown route"}}"#;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    pub method: http::Method,
    /// Path and query.
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Shared {
    requests: AtomicU64,
    not_found: AtomicU64,
    capture_next: AtomicBool,
    captured: Mutex<Option<CapturedRequest>>,
}

/// A running canned server; stopped on drop.
pub struct CannedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CannedServer {
    /// Bind `127.0.0.1:0` and serve on a dedicated thread.
    pub fn start() -> std::io::Result<CannedServer> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("canned-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("canned server runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(std_listener)
                        .expect("canned server listener");
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let _ = stream.set_nodelay(true);
                                let shared = server_shared.clone();
                                tokio::spawn(async move {
                                    let svc = service_fn(move |req| handle(req, shared.clone()));
                                    let _ = http1::Builder::new()
                                        .keep_alive(true)
                                        .serve_connection(TokioIo::new(stream), svc)
                                        .await;
                                });
                            }
                        }
                    }
                });
            })?;
        Ok(CannedServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/` (ends with `/`, like a pool management endpoint).
    pub fn endpoint(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Requests that hit an unknown route.
    pub fn not_found(&self) -> u64 {
        self.shared.not_found.load(Ordering::Relaxed)
    }

    /// Record the next request; fetch it with [`CannedServer::take_captured`].
    pub fn capture_next(&self) {
        *self.shared.captured.lock().unwrap() = None;
        self.shared.capture_next.store(true, Ordering::SeqCst);
    }

    /// The request recorded after [`CannedServer::capture_next`], if one arrived.
    pub fn take_captured(&self) -> Option<CapturedRequest> {
        self.shared.captured.lock().unwrap().take()
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // Read the whole request body, as a real server would (and so keep-alive stays usable).
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if shared.capture_next.swap(false, Ordering::SeqCst) {
        *shared.captured.lock().unwrap() = Some(CapturedRequest {
            method: parts.method.clone(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            headers: parts.headers.clone(),
            body,
        });
    }
    let path = parts.uri.path();
    let (status, text) = if path.ends_with("/executions") {
        (200, CURRENT_BODY)
    } else if path.ends_with("/code/execute") {
        (200, LEGACY_BODY)
    } else {
        shared.not_found.fetch_add(1, Ordering::Relaxed);
        (404, NOT_FOUND_BODY)
    };
    let mut res = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if status == 404 {
        res.headers_mut().insert(
            "x-ms-error-code",
            http::HeaderValue::from_static("SessionRequestNotSupported"),
        );
    }
    Ok(res)
}
