//! Our client (sessions-core) behind a small facade, so that every section drives it the same way.
//!
//! The client is built with its full default stack: user agent, request id, tracing (inactive:
//! no subscriber is installed), deadline, retry, auth with a token cache, attempt timeout.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sessions_core::{AccessToken, ApiVersion, Client, Endpoint, Upload};

use crate::bare::BoxError;
use crate::stream::ClientReport;

/// How our client authenticates.
pub enum Auth {
    /// A static bearer token.
    Static(String),
    /// A `token_fn` source that sleeps `delay` and counts its calls.
    Counting {
        calls: Arc<AtomicU64>,
        delay: Duration,
    },
}

/// Which stack to build: the real one, or a reduced one to find where the time goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `Client::builder(..).static_token(..).build()`: the full default stack.
    Full,
    /// The full stack over a connection pool that keeps any number of idle connections (the
    /// default keeps 32 per host).
    FullUnlimitedIdle,
    /// `Client::new` over sessions-core's `base_transport` (hyper-rustls connector, pool
    /// settings): the typed API and the transport, no middleware.
    TransportOnly,
    /// `Client::new` over a plain hyper-util client with an `HttpConnector`: only the typed API
    /// (request building and response decoding).
    ApiOnly,
}

impl Variant {
    pub const DIAGNOSTIC: [Variant; 4] = [
        Variant::ApiOnly,
        Variant::TransportOnly,
        Variant::Full,
        Variant::FullUnlimitedIdle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Full => "full stack",
            Variant::FullUnlimitedIdle => "full stack, unlimited idle pool",
            Variant::TransportOnly => "typed API + base_transport",
            Variant::ApiOnly => "typed API + plain hyper-util",
        }
    }
}

#[derive(Clone)]
pub struct Ours {
    client: Client,
}

impl Ours {
    pub fn new(endpoint: &str, auth: Auth) -> Result<Ours, String> {
        let builder = Client::builder(endpoint);
        let builder = match auth {
            Auth::Static(t) => builder.static_token(t),
            Auth::Counting { calls, delay } => builder.token_fn(move |_scope| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    Ok(AccessToken::new(
                        "bench-token",
                        SystemTime::now() + Duration::from_secs(3600),
                    ))
                }
            }),
        };
        Ok(Ours {
            client: builder.build().map_err(|e| e.to_string())?,
        })
    }

    /// A reduced or modified stack (static token where the stack has an auth layer).
    pub fn variant(endpoint: &str, variant: Variant) -> Result<Ours, String> {
        use sessions_core::transport::connector::{TransportOptions, base_transport};
        let e = |e: sessions_core::Error| e.to_string();
        let client = match variant {
            Variant::Full => return Ours::new(endpoint, Auth::Static("bench-token".into())),
            Variant::FullUnlimitedIdle => {
                let mut opts = TransportOptions::default();
                opts.pool_max_idle_per_host = usize::MAX;
                Client::builder(endpoint)
                    .static_token("bench-token")
                    .base_service(base_transport(&opts).map_err(e)?)
                    .build()
                    .map_err(e)?
            }
            Variant::TransportOnly => Client::from_service(
                base_transport(&TransportOptions::default()).map_err(e)?,
                Endpoint::parse(endpoint).map_err(e)?,
                ApiVersion::default(),
            ),
            Variant::ApiOnly => {
                let mut http = HttpConnector::new();
                http.set_nodelay(true);
                let hyper: HyperClient<_, sessions_core::Body> =
                    HyperClient::builder(TokioExecutor::new()).build(http);
                Client::new(
                    hyper,
                    Endpoint::parse(endpoint).map_err(e)?,
                    ApiVersion::default(),
                )
            }
        };
        Ok(Ours { client })
    }

    /// Run `code` and check that it succeeded.
    pub async fn execute_check(&self, identifier: &str, code: &str) -> Result<(), BoxError> {
        let run = self.client.session(identifier)?.execute(code).await?;
        if run.succeeded() {
            Ok(())
        } else {
            Err(format!("execution did not succeed: {:?}", run.status).into())
        }
    }

    /// Run `code`; the `x-ms-allocation-time` the service reported, in milliseconds.
    pub async fn execute_info(
        &self,
        identifier: &str,
        code: &str,
    ) -> Result<Option<f64>, BoxError> {
        let run = self.client.session(identifier)?.execute(code).await?;
        if !run.succeeded() {
            return Err(format!("execution did not succeed: {:?}", run.status).into());
        }
        Ok(run
            .timings
            .allocation_time
            .as_deref()
            .and_then(|s| s.trim().parse().ok()))
    }
}

/// The child process of the streaming benchmark: upload `file` as `name`, then download it,
/// through the full stack.
pub async fn stream_client(
    endpoint: &str,
    file: &Path,
    identifier: &str,
    name: &str,
) -> ClientReport {
    let mut rep = ClientReport {
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        ..ClientReport::default()
    };
    let session = match Client::builder(endpoint)
        .static_token("bench-token")
        .build()
        .and_then(|c| c.session(identifier))
    {
        Ok(s) => s,
        Err(e) => {
            rep.upload_error = Some(e.to_string());
            return rep;
        }
    };
    let files = session.files();
    let t = Instant::now();
    let upload = Upload::file(file).map(|u| u.name(name).size_limit(u64::MAX));
    rep.upload_via =
        Some("Upload::file(..).size_limit(u64::MAX) (the 128 MiB check lifted)".into());
    match upload {
        Ok(u) => match files.upload(u).await {
            Ok(_) => rep.upload_s = Some(t.elapsed().as_secs_f64()),
            Err(e) => rep.upload_error = Some(e.to_string()),
        },
        Err(e) => rep.upload_error = Some(e.to_string()),
    }
    let t = Instant::now();
    match files.download(name).await {
        Ok(d) => {
            let mut stream = d.into_stream();
            let mut n = 0u64;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => n += c.len() as u64,
                    Err(e) => {
                        rep.download_error = Some(e.to_string());
                        break;
                    }
                }
            }
            rep.download_bytes = n;
            if rep.download_error.is_none() {
                rep.download_s = Some(t.elapsed().as_secs_f64());
                if n != rep.bytes {
                    rep.download_error =
                        Some(format!("downloaded {n} bytes, expected {}", rep.bytes));
                }
            }
        }
        Err(e) => rep.download_error = Some(e.to_string()),
    }
    rep
}
