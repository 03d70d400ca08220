//! Peak-memory check for streaming: a 1 GiB upload and a 1 GiB download through a loopback server
//! that never buffers. Slow, so ignored by default:
//! `cargo test --release -p sessions-core --test api_memory -- --ignored`.

mod api_support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use sessions_core::ApiVersion;
use sessions_core::api::Upload;

const GIB: u64 = 1 << 30;
const CHUNK: usize = 64 * 1024;

/// Peak resident set size of this process (Linux `VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A server that counts uploaded bytes and streams 1 GiB of zeros for downloads.
async fn streaming_server(received: Arc<AtomicU64>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/pools/p/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let received = received.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let received = received.clone();
                    async move {
                        let is_upload = req.method() == http::Method::POST;
                        let mut body = req.into_body();
                        while let Some(Ok(frame)) = body.frame().await {
                            if let Ok(data) = frame.into_data() {
                                received.fetch_add(data.len() as u64, Ordering::Relaxed);
                            }
                        }
                        let chunk = Bytes::from(vec![0u8; CHUNK]);
                        let frames = (0..GIB / CHUNK as u64)
                            .map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone())));
                        let (len, body) = if is_upload {
                            let json = r#"{"name":"big.bin","type":"file","lastModifiedAt":"2025-01-01T00:00:00Z"}"#;
                            (
                                json.len() as u64,
                                StreamBody::new(
                                    futures_util::stream::iter(vec![Ok(Frame::data(
                                        Bytes::from_static(json.as_bytes()),
                                    ))])
                                    .boxed(),
                                ),
                            )
                        } else {
                            (
                                GIB,
                                StreamBody::new(futures_util::stream::iter(frames).boxed()),
                            )
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-length", len)
                                .body(body)
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "moves 2 GiB over loopback; run with --ignored (ideally --release)"]
async fn one_gib_upload_and_download_keep_memory_flat() {
    let received = Arc::new(AtomicU64::new(0));
    let base = streaming_server(received.clone()).await;
    let files = api_support::plain_client(&base, ApiVersion::V2025_10_02Preview)
        .session("memory-test")
        .unwrap()
        .files();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    std::fs::File::create(&src).unwrap().set_len(GIB).unwrap(); // sparse
    let before = peak_rss().unwrap_or(0);

    files
        .upload(Upload::file(&src).unwrap().size_limit(2 * GIB))
        .await
        .unwrap();
    assert!(
        received.load(Ordering::Relaxed) > GIB,
        "the whole multipart body arrived"
    );

    let n = files
        .download_to("big.bin", dir.path().join("copy.bin"))
        .await
        .unwrap();
    assert_eq!(n, GIB);

    let after = peak_rss().unwrap_or(0);
    let grew = after.saturating_sub(before);
    eprintln!("peak RSS {before} -> {after} (+{} MiB)", grew >> 20);
    assert!(
        after < 64 << 20 || grew < 32 << 20,
        "peak RSS grew by {} MiB",
        grew >> 20
    );
}
