//! Large files stream both ways byte-exact; the 128 MiB upload limit is enforced by the client
//! before sending and, when the client's limit is raised, by the pool with a 413.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use e2e_tests::{Checksum, api_status, assert_invalid_input, client, pool, start};
use futures_util::{StreamExt, stream};
use sessions_core::transport::StreamFactory;
use sessions_core::{ApiVersion, Client, RetryConfig, Upload};

const MIB: u64 = 1024 * 1024;
const LIMIT: u64 = 128 * MIB;

/// Write `len` bytes of a deterministic pseudo-random pattern to `path`; returns its checksum.
fn write_pattern(path: &std::path::Path, len: u64) -> Checksum {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut sum = Checksum::default();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut chunk = vec![0u8; MIB as usize];
    let mut left = len;
    while left > 0 {
        for b in chunk.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = (state >> 24) as u8;
        }
        let n = left.min(MIB) as usize;
        file.write_all(&chunk[..n]).unwrap();
        sum.update(&chunk[..n]);
        left -= n as u64;
    }
    file.flush().unwrap();
    sum
}

/// A stream of `len` zero bytes in 1 MiB chunks.
fn zeros(len: u64) -> StreamFactory {
    Arc::new(move || {
        let chunk = Bytes::from(vec![0u8; MIB as usize]);
        let mut left = len;
        stream::iter(std::iter::from_fn(move || {
            (left > 0).then(|| {
                let n = left.min(MIB);
                left -= n;
                Ok(chunk.slice(..n as usize))
            })
        }))
        .boxed()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_file_round_trips_byte_exact() {
    let pool = start(pool()).await;
    let local = tempfile::tempdir().unwrap();
    let source = local.path().join("big.bin");
    let sent = write_pattern(&source, 64 * MIB);

    let session = client(pool.endpoint(), ApiVersion::V2025_10_02Preview).new_session();
    let files = session.files();
    let info = files
        .upload(Upload::file(&source).unwrap().in_dir("large"))
        .await
        .unwrap();
    assert_eq!(info.size, Some(64 * MIB), "{info:?}");
    assert_eq!(
        files.get("large/big.bin").await.unwrap().size,
        Some(64 * MIB)
    );

    let target = local.path().join("back.bin");
    let written = files.download_to("large/big.bin", &target).await.unwrap();
    assert_eq!(written, 64 * MIB);
    assert_eq!(
        Checksum::of_file(&target).unwrap(),
        sent,
        "download_to is byte-exact"
    );

    // Streamed without touching the disk, checksummed as it arrives.
    let download = files.download("large/big.bin").await.unwrap();
    assert_eq!(download.content_length(), Some(64 * MIB));
    let mut stream = download.into_stream();
    let mut got = Checksum::default();
    while let Some(chunk) = stream.next().await {
        got.update(&chunk.unwrap());
    }
    assert_eq!(got, sent, "the streamed download is byte-exact");

    // The code sees the same bytes.
    let run = session
        .execute("import os\nos.path.getsize('/mnt/data/large/big.bin')")
        .await
        .unwrap();
    assert_eq!(run.result.as_value(), Some(&serde_json::json!(64 * MIB)));
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_128_mib_are_refused_before_sending() {
    // Nothing listens here: the refusal must come before any connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::builder(&dead)
        .no_auth()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let streamed = Arc::new(AtomicBool::new(false));
    let flag = streamed.clone();
    let factory: StreamFactory = Arc::new(move || {
        flag.store(true, Ordering::SeqCst);
        zeros(LIMIT + 1)()
    });
    let session = client.new_session();
    let err = session
        .files()
        .upload(Upload::stream("huge.bin", factory.clone(), LIMIT + 1))
        .await
        .unwrap_err();
    assert_invalid_input(&err, "a 128 MiB + 1 byte upload");
    assert!(err.to_string().contains("128"), "{err}");
    assert!(
        !streamed.load(Ordering::SeqCst),
        "the content was never read"
    );

    // A big local file is refused the same way, without reading it.
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("sparse.bin");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(LIMIT + MIB)
        .unwrap();
    let err = session
        .files()
        .upload(Upload::file(&path).unwrap())
        .await
        .unwrap_err();
    assert_invalid_input(&err, "a 129 MiB file");
    // Exactly the limit is not refused locally (it fails to connect instead).
    let err = session
        .files()
        .upload(Upload::stream("edge.bin", zeros(LIMIT), LIMIT))
        .await
        .unwrap_err();
    assert!(
        !matches!(err, sessions_core::Error::InvalidInput(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_raised_client_limit_the_pool_answers_413() {
    let pool = start(pool()).await;
    let client = client(pool.endpoint(), ApiVersion::V2025_10_02Preview);
    let session = client.new_session();
    let upload = Upload::stream("huge.bin", zeros(LIMIT + 1), LIMIT + 1).size_limit(LIMIT + MIB);
    let err = session.files().upload(upload).await.unwrap_err();
    assert_eq!(api_status(&err), 413, "{err}");
    let hint = err.as_api().unwrap().hint().expect("a 413 hint");
    assert!(hint.contains("128 MB"), "{hint}");
    // Nothing is left behind, and the session works.
    assert!(session.files().list().await.unwrap().is_empty());
    assert!(session.execute("1").await.unwrap().succeeded());

    // The legacy route has the same limit.
    let legacy = client
        .with_api_version(ApiVersion::V2024_02_02Preview)
        .new_session();
    let upload = Upload::stream("huge.bin", zeros(LIMIT + 1), LIMIT + 1).size_limit(u64::MAX);
    let err = legacy.files().upload(upload).await.unwrap_err();
    assert_eq!(api_status(&err), 413, "{err}");
    pool.shutdown().await;
}
