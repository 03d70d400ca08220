//! Section 4: streaming a large file up to and down from the local pool.
//!
//! The emulator runs in this (parent) process; each measured client runs in a child process
//! (`xtask bench-stream-client`) that reports its own peak RSS (`VmHWM`), so the figure is the
//! client's alone. Rounds alternate ours and bare; uncounted bare and ours runs first place the
//! file in the session and warm up the page cache and both clients.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http_body_util::{BodyExt, StreamBody};

use crate::bare::{BareStream, BoxError};
use crate::bench::Params;
use crate::emulator::EmulatorHost;
use crate::report::{Section, Target};

pub const RATIO_TARGET: f64 = 0.8;
pub const RSS_TARGET_MIB: f64 = 64.0;
/// The read size of both clients' upload streams (sessions-core reads files in 64 KiB chunks).
pub const CHUNK: usize = 64 * 1024;
const IDENTIFIER: &str = "bench-stream";
const REMOTE_NAME: &str = "bench-stream.bin";
const API_VERSION: &str = "2025-10-02-preview";

#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// Pool management endpoint (ends with `/`).
    #[arg(long)]
    pub endpoint: String,
    /// The local file to upload.
    #[arg(long)]
    pub file: PathBuf,
    /// `ours` (sessions-core) or `bare` (hyper-util).
    #[arg(long)]
    pub mode: String,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ClientReport {
    pub mode: String,
    pub bytes: u64,
    pub upload_s: Option<f64>,
    pub upload_error: Option<String>,
    /// How the upload was made (which API).
    pub upload_via: Option<String>,
    pub download_s: Option<f64>,
    pub download_bytes: u64,
    pub download_error: Option<String>,
    pub vm_hwm_kib: Option<u64>,
}

/// Write `bytes` of real (non-sparse, incompressible-looking) data: a pseudo-random 1 MiB block
/// repeated. Reused when it already has the right size.
pub fn ensure_data_file(path: &Path, bytes: u64) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes) {
        return Ok(());
    }
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in block.chunks_mut(8) {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    let tmp = path.with_extension("partial");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(tmp, path)
}

pub fn run(params: &Params, out_dir: &Path) -> Section {
    let mut section = Section::new("stream", "4. Streaming through the local pool").expect(&[
        (
            "stream_throughput_ratio",
            "",
            Some(Target::AtLeast(RATIO_TARGET)),
        ),
        (
            "stream_peak_rss_mib",
            "MiB",
            Some(Target::AtMost(RSS_TARGET_MIB)),
        ),
        ("stream_bytes", "bytes", None),
    ]);
    section.set(
        "stream_bytes",
        Some(params.stream_bytes as f64),
        format!("{} MiB up and down per run", params.stream_bytes >> 20),
    );
    let file = out_dir.join(format!("stream-{}MiB.bin", params.stream_bytes >> 20));
    eprintln!("   preparing {} ...", file.display());
    if let Err(e) = ensure_data_file(&file, params.stream_bytes) {
        return section.failed(format!("cannot write {}: {e}", file.display()));
    }
    let host = match EmulatorHost::start(|b| {
        b.prewarm(1)
            .max_sessions(4)
            .max_upload_bytes(params.stream_bytes + (1 << 20))
    }) {
        Ok(h) => h,
        Err(e) => return section.failed(format!("cannot start the emulator: {e}")),
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return section.failed(format!("cannot find the xtask binary: {e}")),
    };
    let child = |mode: &str| -> Result<ClientReport, String> {
        settle();
        let out = Command::new(&exe)
            .arg("bench-stream-client")
            .args(["--endpoint", &host.endpoint()])
            .arg("--file")
            .arg(&file)
            .args(["--mode", mode])
            .output()
            .map_err(|e| format!("cannot run the stream client: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or("");
        serde_json::from_str(line).map_err(|e| {
            format!(
                "the {mode} stream client printed no report ({}, {e}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
    };
    // Uncounted: place the file, warm the page cache, and warm up both clients.
    for mode in ["bare", "ours"] {
        eprintln!("   warm-up ({mode}) ...");
        if let Err(e) = child(mode) {
            return section.failed(e);
        }
    }
    let mut reports: Vec<ClientReport> = Vec::new();
    for r in 0..params.stream_rounds {
        let order = if r % 2 == 0 {
            ["ours", "bare"]
        } else {
            ["bare", "ours"]
        };
        for mode in order {
            eprintln!("   round {} {mode} ...", r + 1);
            match child(mode) {
                Ok(rep) => reports.push(rep),
                Err(e) => section.notes.push(e),
            }
        }
    }
    drop(host);
    summarize(section, reports, params.stream_bytes)
}

/// Start every run from the same state: the previous run's upload left hundreds of MiB of dirty
/// pages in the emulator's data directory, whose writeback would otherwise slow down whichever
/// client runs next.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(std::time::Duration::from_millis(200));
}

fn throughput(r: &ClientReport) -> Option<f64> {
    let (up, down) = (r.upload_s?, r.download_s?);
    Some(2.0 * r.bytes as f64 / (up + down) / (1 << 20) as f64)
}

fn summarize(mut section: Section, reports: Vec<ClientReport>, bytes: u64) -> Section {
    let pick = |mode: &str, f: &dyn Fn(&ClientReport) -> Option<f64>| -> Vec<f64> {
        reports
            .iter()
            .filter(|r| r.mode == mode)
            .filter_map(f)
            .collect()
    };
    let mibps = |s: Option<f64>| s.map(|s| bytes as f64 / s / (1 << 20) as f64);
    let med = |v: Vec<f64>| (!v.is_empty()).then(|| crate::stats::median(&v));
    let ours_tp = med(pick("ours", &throughput));
    let bare_tp = med(pick("bare", &throughput));
    let ours_up = med(pick("ours", &|r| mibps(r.upload_s)));
    let bare_up = med(pick("bare", &|r| mibps(r.upload_s)));
    let ours_down = med(pick("ours", &|r| mibps(r.download_s)));
    let bare_down = med(pick("bare", &|r| mibps(r.download_s)));
    let ours_rss = pick("ours", &|r| r.vm_hwm_kib.map(|k| k as f64 / 1024.0))
        .into_iter()
        .reduce(f64::max);
    let bare_rss = pick("bare", &|r| r.vm_hwm_kib.map(|k| k as f64 / 1024.0))
        .into_iter()
        .reduce(f64::max);
    let fmt = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.0}"));
    let ratio = match (ours_tp, bare_tp) {
        (Some(o), Some(b)) => Some(o / b),
        _ => None,
    };
    section.set(
        "stream_throughput_ratio",
        ratio,
        format!(
            "up+down MiB/s: ours {} / bare {} (upload {} / {}, download {} / {})",
            fmt(ours_tp),
            fmt(bare_tp),
            fmt(ours_up),
            fmt(bare_up),
            fmt(ours_down),
            fmt(bare_down)
        ),
    );
    section.set(
        "stream_peak_rss_mib",
        ours_rss,
        format!(
            "VmHWM of the client child process; bare client: {} MiB",
            fmt(bare_rss)
        ),
    );
    for r in &reports {
        if let Some(e) = &r.upload_error {
            section.notes.push(format!("{} upload: {e}", r.mode));
        }
        if let Some(e) = &r.download_error {
            section.notes.push(format!("{} download: {e}", r.mode));
        }
    }
    section.detail("ours_mib_per_s", ours_tp);
    section.detail("bare_mib_per_s", bare_tp);
    section.detail("ours_upload_mib_per_s", ours_up);
    section.detail("bare_upload_mib_per_s", bare_up);
    section.detail("ours_download_mib_per_s", ours_down);
    section.detail("bare_download_mib_per_s", bare_down);
    section.detail("bare_peak_rss_mib", bare_rss);
    section.detail("runs", &reports);
    section
}

// ---------------------------------------------------------------------------------------------
// The child process.

pub fn client_main(args: ClientArgs) -> ExitCode {
    let rt = crate::bench::client_runtime();
    let mut report = rt.block_on(async {
        match args.mode.as_str() {
            "bare" => bare_client(&args).await,
            "ours" => {
                crate::ours::stream_client(&args.endpoint, &args.file, IDENTIFIER, REMOTE_NAME)
                    .await
            }
            other => ClientReport {
                upload_error: Some(format!("unknown mode {other}")),
                ..ClientReport::default()
            },
        }
    });
    drop(rt);
    report.mode = args.mode.clone();
    report.vm_hwm_kib = crate::procfs::self_vm_hwm_kib();
    println!("{}", serde_json::to_string(&report).unwrap());
    ExitCode::SUCCESS
}

async fn bare_client(args: &ClientArgs) -> ClientReport {
    let client = BareStream::new();
    let mut rep = ClientReport {
        bytes: std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0),
        upload_via: Some("hyper-util, streamed multipart body".into()),
        ..ClientReport::default()
    };
    let t = Instant::now();
    match bare_upload(&client, &args.endpoint, &args.file).await {
        Ok(()) => rep.upload_s = Some(t.elapsed().as_secs_f64()),
        Err(e) => rep.upload_error = Some(e.to_string()),
    }
    let t = Instant::now();
    match bare_download(&client, &args.endpoint).await {
        Ok(n) => {
            rep.download_s = Some(t.elapsed().as_secs_f64());
            rep.download_bytes = n;
            if n != rep.bytes {
                rep.download_error = Some(format!("downloaded {n} bytes, expected {}", rep.bytes));
            }
        }
        Err(e) => rep.download_error = Some(e.to_string()),
    }
    rep
}

fn auth_headers(req: &mut http::request::Builder) {
    if let Some(h) = req.headers_mut() {
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer bench-token"),
        );
    }
}

async fn bare_upload(client: &BareStream, endpoint: &str, file: &Path) -> Result<(), BoxError> {
    let len = tokio::fs::metadata(file).await?.len();
    let boundary = "xtask-bench-boundary-7d3c1e5a";
    let preamble = Bytes::from(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{REMOTE_NAME}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ));
    let epilogue = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let total = preamble.len() as u64 + len + epilogue.len() as u64;
    let f = tokio::fs::File::open(file).await?;
    let content = tokio_util::io::ReaderStream::with_capacity(f, CHUNK);
    let body = stream::iter([Ok(preamble)])
        .chain(content)
        .chain(stream::iter([Ok(epilogue)]))
        .map(|r| r.map(http_body::Frame::data));
    let body = StreamBody::new(body).boxed_unsync();
    let mut req = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!(
            "{endpoint}files?api-version={API_VERSION}&identifier={IDENTIFIER}"
        ))
        .header(
            http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(http::header::CONTENT_LENGTH, total);
    auth_headers(&mut req);
    let res = client.request(req.body(body)?).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(())
}

async fn bare_download(client: &BareStream, endpoint: &str) -> Result<u64, BoxError> {
    let mut req = http::Request::builder()
        .method(http::Method::GET)
        .uri(format!(
            "{endpoint}files/{REMOTE_NAME}/content?api-version={API_VERSION}&identifier={IDENTIFIER}"
        ));
    auth_headers(&mut req);
    let res = client
        .request(
            req.body(
                http_body_util::Empty::new()
                    .map_err(|e| match e {})
                    .boxed_unsync(),
            )?,
        )
        .await?;
    let status = res.status();
    let mut body = res.into_body();
    if !status.is_success() {
        let b = body.collect().await?.to_bytes();
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&b)).into());
    }
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            n += data.len() as u64;
        }
    }
    Ok(n)
}
