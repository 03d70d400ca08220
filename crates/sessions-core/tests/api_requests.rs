//! Snapshots of every request the typed API builds, for both API families, built without I/O.

mod api_support;

use std::sync::Arc;
use std::time::Duration;

use api_support::{BOUNDARY, ENDPOINT, render};
use bytes::Bytes;
use futures_util::StreamExt;
use sessions_core::api::request::{self, Target};
use sessions_core::api::{CodeInputType, ExecuteRequest, ListOptions, ShellRequest, Upload};
use sessions_core::transport::StreamFactory;
use sessions_core::{ApiVersion, Body, Endpoint, Error, Operation};

const ID: &str = "user-42|{a}";

fn endpoint() -> Endpoint {
    Endpoint::parse(ENDPOINT).unwrap()
}

macro_rules! snap {
    ($name:expr, $req:expr) => {
        insta::assert_snapshot!($name, render($req.expect("request builds")).await)
    };
}

#[tokio::test]
async fn current_family_requests() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
    let pool = Target::pool(&ep, ApiVersion::V2025_10_02Preview);

    snap!(
        "current_execute",
        request::execute(t, &ExecuteRequest::new("print(7*9)"))
    );
    snap!(
        "current_execute_all_options",
        request::execute(
            t,
            &ExecuteRequest::new("1+1")
                .timeout(Duration::from_secs(30))
                .asynchronous(true)
                .code_input_type(CodeInputType::InlineBase64)
                .output_streams_max_length(1000)
                .jupyter_format(true)
                .use_empty_kernel(false)
                .operation_id("op-1"),
        )
    );
    snap!(
        "current_get_execution",
        request::get_execution(t, "exec/1 #2")
    );
    snap!(
        "current_shell",
        request::shell(t, &ShellRequest::new("ls -la /mnt/data"))
    );
    snap!(
        "current_shell_stdin",
        request::shell(
            t,
            &ShellRequest::new("cat")
                .stdin("line 1\nline 2\n")
                .timeout(Duration::from_secs(5))
        )
    );
    snap!(
        "current_list_files",
        request::list_files(t, &ListOptions::default())
    );
    snap!(
        "current_list_files_path_recursive",
        request::list_files(
            t,
            &ListOptions::default()
                .path("/mnt/data/in put/")
                .recursive(true)
        )
    );
    snap!(
        "current_next_page",
        request::next_page(
            t,
            "https://eastus.dynamicsessions.io/subscriptions/sub-1/resourceGroups/rg/sessionPools/pool/files?$skipToken=abc",
            Operation::idempotent("files.list"),
        )
    );
    snap!(
        "current_upload_bytes",
        request::upload(
            t,
            &Upload::bytes("report 1#.csv", Bytes::from_static(b"a,b\n1,2\n")).path("in"),
            BOUNDARY
        )
    );
    snap!(
        "current_upload_nested_name_content_type",
        request::upload(
            t,
            &Upload::text("/mnt/data/sub/ü \"q\".txt", "héllo")
                .content_type("text/plain; charset=utf-8"),
            BOUNDARY
        )
    );
    snap!(
        "current_get_file",
        request::get_file(t, "sub dir/x y#&?%.csv")
    );
    snap!(
        "current_delete_file",
        request::delete_file(t, "/mnt/data/a.txt")
    );
    snap!(
        "current_download_file",
        request::download_file(t, "sub/日本.png")
    );
    snap!("current_get_session", request::get_session(t));
    snap!("current_delete_session", request::delete_session(t));
    snap!("current_list_sessions", request::list_sessions(pool));
    snap!("current_metadata", request::metadata(pool));
    snap!("current_stop_session", request::stop_session(t));
    snap!(
        "current_shell_exec",
        request::shell(
            t,
            &ShellRequest::exec(["ls", "-la", "/mnt/data/my dir"]).timeout(Duration::from_secs(9)),
        )
    );
    snap!(
        "current_passthrough_post",
        request::passthrough(
            t,
            http::Method::POST,
            "/api/run job?verbose=1&x=a b",
            Body::from(r#"{"x":1}"#)
        )
    );
    snap!(
        "current_passthrough_get",
        request::passthrough(t, http::Method::GET, "health", Body::empty())
    );
}

#[tokio::test]
async fn older_current_versions() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2024_10_02Preview, ID);
    snap!(
        "v20241002_execute",
        request::execute(t, &ExecuteRequest::new("print(1)"))
    );
    // Session management does not exist before 2025-02-02: sent at 2025-10-02-preview.
    snap!("v20241002_get_session", request::get_session(t));
    snap!(
        "v20241002_list_sessions",
        request::list_sessions(Target::pool(&ep, ApiVersion::V2024_10_02Preview))
    );
    let t = Target::session(&ep, ApiVersion::V2025_02_02Preview, ID);
    snap!("v20250202_delete_session", request::delete_session(t));
    snap!(
        "v20250202_shell",
        request::shell(t, &ShellRequest::new("echo hi"))
    );
}

#[tokio::test]
async fn legacy_family_requests() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
    snap!(
        "legacy_execute",
        request::execute(t, &ExecuteRequest::new("print('Hello, world!')"))
    );
    snap!(
        "legacy_execute_timeout",
        request::execute(
            t,
            &ExecuteRequest::new("1")
                .timeout(Duration::from_secs(100))
                .operation_id("op-7")
        )
    );
    snap!(
        "legacy_list_files",
        request::list_files(t, &ListOptions::default())
    );
    snap!(
        "legacy_upload",
        request::upload(
            t,
            &Upload::bytes("x.py", Bytes::from_static(b"print(1)\n")).path("src"),
            BOUNDARY
        )
    );
    snap!(
        "legacy_download_file",
        request::download_file(t, "/mnt/data/out dir/plot #1.png")
    );
    snap!("legacy_delete_session", request::delete_session(t));
    let t = Target::session(&ep, ApiVersion::V2024_08_02Preview, ID);
    snap!(
        "legacy_20240802_execute",
        request::execute(t, &ExecuteRequest::new("2+2"))
    );
}

#[tokio::test]
async fn upload_from_file_and_stream() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.json");
    std::fs::write(&path, b"{\"k\": [1, 2, 3]}").unwrap();
    let upload = Upload::file(&path).unwrap();
    let req = request::upload(t, &upload, BOUNDARY).unwrap();
    // The file is streamed: the body is replayable, with an exact length.
    let again = req.body().try_clone().expect("a file upload is replayable");
    assert_eq!(
        req.headers()["content-length"].to_str().unwrap(),
        again.content_length().unwrap().to_string()
    );
    insta::assert_snapshot!("current_upload_file", render(req).await);

    let factory: StreamFactory = Arc::new(|| {
        futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"cd")),
        ])
        .boxed()
    });
    let req = request::upload(t, &Upload::stream("s.bin", factory, 4), BOUNDARY).unwrap();
    insta::assert_snapshot!("current_upload_stream", render(req).await);
}

fn invalid(result: sessions_core::Result<http::Request<Body>>) -> String {
    match result {
        Err(Error::InvalidInput(m)) => m,
        Err(e) => panic!("expected InvalidInput, got {e:?}"),
        Ok(r) => panic!("expected InvalidInput, got a request to {}", r.uri()),
    }
}

#[test]
fn legacy_family_refuses_current_only_operations() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
    for message in [
        invalid(request::get_file(t, "a.txt")),
        invalid(request::delete_file(t, "a.txt")),
        invalid(request::shell(t, &ShellRequest::new("ls"))),
        invalid(request::get_execution(t, "id")),
        invalid(request::execute(
            t,
            &ExecuteRequest::new("1").asynchronous(true),
        )),
        invalid(request::list_files(t, &ListOptions::default().path("sub"))),
    ] {
        assert!(message.contains("2024-10-02-preview"), "{message}");
    }
}

#[test]
fn version_gated_fields_are_refused_not_dropped() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2025_02_02Preview, ID);
    let m = invalid(request::execute(
        t,
        &ExecuteRequest::new("1").jupyter_format(true),
    ));
    assert!(
        m.contains("returnJupyterFormatExecutionResult") && m.contains("2025-10-02-preview"),
        "{m}"
    );
    let m = invalid(request::list_files(
        t,
        &ListOptions::default().recursive(true),
    ));
    assert!(m.contains("2025-10-02-preview"), "{m}");
}

#[test]
fn bad_input_is_refused_before_sending() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
    for name in [
        "../etc/passwd",
        "/etc/passwd",
        "",
        "a/..",
        "sub/",
        "a\0b",
        "/mnt/database/x",
    ] {
        invalid(request::get_file(t, name));
        invalid(request::download_file(t, name));
    }
    invalid(request::list_files(
        t,
        &ListOptions::default().path("../.."),
    ));
    invalid(request::upload(t, &Upload::text("..", "x"), BOUNDARY));
    invalid(request::upload(
        t,
        &Upload::text("x", "x").path("/tmp"),
        BOUNDARY,
    ));
    // Over 128 MiB, from the declared length alone: nothing is read.
    let factory: StreamFactory = Arc::new(|| futures_util::stream::empty().boxed());
    let m = invalid(request::upload(
        t,
        &Upload::stream("big", factory, 128 * 1024 * 1024 + 1),
        BOUNDARY,
    ));
    assert!(m.contains("128 MiB"), "{m}");
    // Bad identifiers never reach the wire.
    let bad = Target::session(&ep, ApiVersion::V2025_10_02Preview, "a b");
    invalid(request::execute(bad, &ExecuteRequest::new("1")));
    // Pass-through paths stay under the endpoint.
    for path in [
        "../x",
        "a/%2e%2e/b",
        "https://evil.example/x",
        "//evil/x",
        "a#frag",
        "a?identifier=x",
        "a%zz",
    ] {
        invalid(request::passthrough(
            t,
            http::Method::GET,
            path,
            Body::empty(),
        ));
    }
}

#[test]
fn next_page_stays_on_the_endpoint_origin() {
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
    let op = Operation::idempotent("files.list");
    assert!(matches!(
        request::next_page(t, "https://evil.example/files?x=1", op),
        Err(Error::Decode { .. })
    ));
    // Relative links resolve against the endpoint and get api-version + identifier.
    let req = request::next_page(t, "files?page=2", op).unwrap();
    assert_eq!(
        req.uri().to_string(),
        "https://eastus.dynamicsessions.io/subscriptions/sub-1/resourceGroups/rg/sessionPools/pool/files?page=2&api-version=2025-10-02-preview&identifier=user-42%7C%7Ba%7D"
    );
}

#[test]
fn file_upload_over_the_limit_is_refused_from_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(128 * 1024 * 1024 + 1).unwrap(); // sparse: no disk, no memory
    let upload = Upload::file(&path).unwrap();
    let ep = endpoint();
    let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
    let m = invalid(request::upload(t, &upload, BOUNDARY));
    assert!(m.contains("128 MiB"), "{m}");
    // A larger limit (e.g. for the local emulator) is an explicit opt-in; the body still streams.
    let req = request::upload(t, &upload.size_limit(2 << 30), BOUNDARY).unwrap();
    assert!(req.body().content_length().unwrap() > 128 * 1024 * 1024);
    assert!(matches!(
        Upload::file(dir.path()),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        Upload::file(dir.path().join("missing")),
        Err(Error::Io { .. })
    ));
}
