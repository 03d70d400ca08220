//! Custom middleware: a tower layer that tags every request with a header and counts requests.
//!
//! `ClientBuilder::layer` puts the layer outermost, above User-Agent, request ids, tracing,
//! retries and auth, so it sees each operation once and may change anything about it.
//!
//! The second half rebuilds the default stack by hand with one piece swapped (tower's own
//! timeout instead of ours) and the same layer inserted inside the retry layer, where it sees
//! every attempt; the stack is wrapped once with `HttpService::new` and `Client::from_service`.
//!
//! Run: `cargo run --example custom_middleware` (embedded local pool unless
//! `POOL_MANAGEMENT_ENDPOINT` is set).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use std::time::Duration;

use dynamic_sessions::middleware::{deadline, request_id, retry, trace, user_agent};
use dynamic_sessions::transport::{HttpService, connector};
use dynamic_sessions::{ApiVersion, Client, Endpoint, Upload};
use examples::{Needs, Pool, Result, exit_code, with_pool_auth};
use http::{HeaderName, HeaderValue};

/// Adds `x-team: <team>` to every request and counts requests.
#[derive(Clone)]
struct TagLayer {
    header: HeaderName,
    value: HeaderValue,
    count: Arc<AtomicUsize>,
}

impl<S> tower::Layer<S> for TagLayer {
    type Service = TagService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TagService {
            inner,
            tag: self.clone(),
        }
    }
}

#[derive(Clone)]
struct TagService<S> {
    inner: S,
    tag: TagLayer,
}

impl<S, B> tower::Service<http::Request<B>> for TagService<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let n = self.tag.count.fetch_add(1, Ordering::Relaxed) + 1;
        println!(
            "  request #{n}: {} /{}",
            request.method(),
            path_and_query(request.uri())
        );
        request
            .headers_mut()
            .insert(self.tag.header.clone(), self.tag.value.clone());
        self.inner.call(request)
    }
}

/// The path after the endpoint, with the query (api-version, identifier).
fn path_and_query(uri: &http::Uri) -> String {
    let pq = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    pq.trim_start_matches('/').to_owned()
}

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> Result<()> {
    println!(
        "custom_middleware: a tower layer that adds `x-team: data-science` and counts requests"
    );
    let pool = Pool::from_env_or_local(Needs::Python).await?;

    let count = Arc::new(AtomicUsize::new(0));
    let layer = TagLayer {
        header: HeaderName::from_static("x-team"),
        value: HeaderValue::from_static("data-science"),
        count: count.clone(),
    };
    // The same builder as the pool's client, plus the layer.
    let builder = Client::builder(pool.endpoint.as_str()).layer(layer);
    let builder = with_pool_auth(builder, &pool.endpoint);
    let client = builder.build()?;

    let session = client.new_session();
    println!("session {}:", session.identifier());
    session
        .files()
        .upload(Upload::text("hello.txt", "hello from a layer\n"))
        .await?;
    let run = session
        .execute("print(open('/mnt/data/hello.txt').read().strip())")
        .await?;
    println!("  stdout: {}", run.stdout.trim_end());
    let files = session.files().list().await?;
    println!(
        "  files: {}",
        files
            .iter()
            .map(|f| f.relative_path())
            .collect::<Vec<_>>()
            .join(", ")
    );
    session.delete().await?;

    println!(
        "the layer saw {} requests, each tagged with x-team",
        count.load(Ordering::Relaxed)
    );

    if pool.endpoint.is_loopback() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let tag = TagLayer {
            header: HeaderName::from_static("x-team"),
            value: HeaderValue::from_static("platform"),
            count: attempts.clone(),
        };
        let client = rebuilt_client(&pool.endpoint, tag)?;
        println!("rebuilt stack (tower's timeout swapped in, the layer inside retry):");
        let run = client.new_session().execute("6 * 7").await?;
        println!("  result: {:?}", run.result);
        println!(
            "the inner layer saw {} attempts",
            attempts.load(Ordering::Relaxed)
        );
    } else {
        println!("(the rebuilt stack is shown on the local pool, which needs no token)");
    }
    pool.shutdown().await;
    Ok(())
}

/// The default stack (see `sessions_core::middleware`), rebuilt with tower's own per-attempt
/// timeout in place of ours and `tag` between retry and the timeout. No auth layer: the local
/// pool needs no token (add `auth::AuthLayer` above the timeout for a real pool).
fn rebuilt_client(endpoint: &Endpoint, tag: TagLayer) -> Result<Client> {
    let pool = connector::base_transport(&connector::TransportOptions::default())?;
    let stack = tower::ServiceBuilder::new()
        .layer(user_agent::UserAgentLayer::new())
        .layer(request_id::RequestIdLayer::new())
        .layer(trace::TraceLayer::new())
        .layer(deadline::DeadlineLayer::new(Duration::from_secs(600)))
        .layer(retry::RetryLayer::new(retry::RetryConfig::default()))
        .layer(tag)
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(250)))
        .service(pool);
    Ok(Client::from_service(
        HttpService::new(stack),
        endpoint.clone(),
        ApiVersion::default(),
    ))
}
