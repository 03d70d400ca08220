//! The current API family (2024-10-02-preview, 2025-02-02-preview, 2025-10-02-preview) end to
//! end: our client against the local pool over loopback, every operation at every version where
//! it exists.

use std::time::Duration;

use base64::Engine;
use e2e_tests::{CURRENT, api_status, assert_invalid_input, client, pool, start};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sessions_core::{
    ApiVersion, Body, CodeInputType, ExecuteRequest, ExecutionResult, ExecutionStatus, FileKind,
    ListOptions, Session, Upload,
};

/// The service's stderr text for a run cut off by its timeout.
const TIMEOUT_TEXT: &str = "Request timed out waiting for code execution to complete";

async fn value(session: &Session, code: &str) -> Value {
    let run = session.execute(code).await.expect(code);
    assert_eq!(run.status, ExecutionStatus::Succeeded, "{code}: {run:?}");
    match run.result {
        ExecutionResult::Value(v) => v,
        other => panic!("{code}: expected a value, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_values_streams_failures_and_state() {
    let pool = start(pool()).await;
    for version in CURRENT {
        let session = client(pool.endpoint(), version).new_session();
        let cases: [(&str, Value); 8] = [
            ("6 * 7", json!(42)),
            ("1.5 + 1", json!(2.5)),
            ("'hé' + 'llo'", json!("héllo")),
            ("None", Value::Null),
            ("float('nan')", Value::Null),
            (
                "{'a': 1, 'b': [True, None]}",
                json!({"a": 1, "b": [true, null]}),
            ),
            ("[1, 'x', 2.5, None]", json!([1, "x", 2.5, null])),
            ("'nan'", json!("nan")),
        ];
        for (code, expected) in cases {
            assert_eq!(value(&session, code).await, expected, "{version}: {code}");
        }

        let run = session
            .execute("import sys\nprint('out')\nprint('err', file=sys.stderr)")
            .await
            .unwrap();
        assert!(run.succeeded(), "{version}: {run:?}");
        assert_eq!(run.stdout, "out\n", "{version}");
        assert_eq!(run.stderr, "err\n", "{version}");
        assert!(!run.id.is_empty(), "{version}: an execution id");
        assert_eq!(run.identifier, session.identifier());

        // A code error is an answer (HTTP 200), not an Err.
        let run = session.execute("print('before')\n1 / 0").await.unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert!(!run.succeeded());
        assert_eq!(run.stdout, "before\n", "{version}");
        assert!(
            run.stderr.contains("ZeroDivisionError"),
            "{version}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("Traceback"),
            "{version}: {}",
            run.stderr
        );

        // State persists across calls: variables, functions and imports.
        value(
            &session,
            "import math\nx = 41\ndef inc(v):\n    return v + 1",
        )
        .await;
        assert_eq!(value(&session, "inc(x)").await, json!(42), "{version}");
        assert_eq!(
            value(&session, "math.floor(math.pi)").await,
            json!(3),
            "{version}"
        );
        // A failure does not lose the state either.
        assert_eq!(value(&session, "x").await, json!(41), "{version}");

        // Another session has none of it.
        let other = client(pool.endpoint(), version).new_session();
        let run = other.execute("x").await.unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert!(
            run.stderr.contains("NameError"),
            "{version}: {}",
            run.stderr
        );
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_fails_the_run_and_the_session_survives() {
    let pool = start(pool()).await;
    for version in CURRENT {
        let session = client(pool.endpoint(), version).new_session();
        session
            .files()
            .upload(Upload::text("keep.txt", "still here"))
            .await
            .unwrap();
        let request = ExecuteRequest::new("while True:\n    pass").timeout(Duration::from_secs(1));
        assert_eq!(request.timeout_in_seconds(), 1);
        let run = session.execute_with(request).await.unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert!(
            run.stderr.contains(TIMEOUT_TEXT),
            "{version}: {:?}",
            run.stderr
        );

        assert_eq!(
            value(&session, "1 + 1").await,
            json!(2),
            "{version}: the session still works"
        );
        let kept = session.files().download_bytes("keep.txt").await.unwrap();
        assert_eq!(
            &kept[..],
            b"still here",
            "{version}: files survive a timeout"
        );
        assert_eq!(
            value(&session, "open('/mnt/data/keep.txt').read()").await,
            json!("still here"),
            "{version}"
        );
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asynchronous_executions_are_polled_to_the_end() {
    let pool = start(pool()).await;
    for version in CURRENT {
        let session = client(pool.endpoint(), version).new_session();

        let started = session
            .start_execution(ExecuteRequest::new(
                "import time\ntime.sleep(0.3)\nprint('done')\n7 * 6",
            ))
            .await
            .unwrap();
        assert!(!started.id.is_empty(), "{version}: {started:?}");
        let mut run = started.clone();
        for _ in 0..200 {
            if run.status.is_terminal() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            run = session.get_execution(&started.id).await.unwrap();
        }
        assert_eq!(run.status, ExecutionStatus::Succeeded, "{version}: {run:?}");
        assert_eq!(run.id, started.id, "{version}");
        assert_eq!(run.stdout, "done\n", "{version}");
        assert_eq!(run.result, ExecutionResult::Value(json!(42)), "{version}");
        // A finished execution can still be read.
        let again = session.get_execution(&started.id).await.unwrap();
        assert_eq!(again.status, ExecutionStatus::Succeeded, "{version}");

        // execute_with(asynchronous) does the polling itself, failures included.
        let run = session
            .execute_with(
                ExecuteRequest::new("import time\ntime.sleep(0.2)\nraise ValueError('boom')")
                    .asynchronous(true)
                    .poll_interval(Duration::from_millis(50)),
            )
            .await
            .unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert!(
            run.stderr.contains("ValueError: boom"),
            "{version}: {}",
            run.stderr
        );

        // A caller-chosen operation id becomes the execution id.
        let op = format!("op-{}", version.as_str());
        let run = session
            .execute_with(ExecuteRequest::new("1").operation_id(&op))
            .await
            .unwrap();
        assert_eq!(run.id, op, "{version}");

        let err = session
            .get_execution("no-such-execution")
            .await
            .unwrap_err();
        assert_eq!(api_status(&err), 404, "{version}: {err}");
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_limit_and_jupyter_format_on_2025_10_02() {
    let pool = start(pool()).await;
    let session = client(pool.endpoint(), ApiVersion::V2025_10_02Preview).new_session();

    let run = session
        .execute_with(
            ExecuteRequest::new("import sys\nprint('x' * 100)\nprint('y' * 100, file=sys.stderr)")
                .output_streams_max_length(10),
        )
        .await
        .unwrap();
    assert!(run.succeeded(), "{run:?}");
    assert!(
        run.stdout.chars().count() <= 10 && run.stdout.starts_with("xxxxxxxxx"),
        "{run:?}"
    );
    assert!(
        run.stderr.chars().count() <= 10 && run.stderr.starts_with("yyyyyyyyy"),
        "{run:?}"
    );
    // Without a limit in the request, the definitions' default of 4096 characters applies.
    let run = session.execute("print('x' * 5000)").await.unwrap();
    let chars = run.stdout.chars().count();
    assert!(
        chars <= 4096 && run.stdout.starts_with("xxxxxxxx"),
        "{chars} characters"
    );
    // A larger limit keeps it all.
    let run = session
        .execute_with(ExecuteRequest::new("print('x' * 5000)").output_streams_max_length(10_000))
        .await
        .unwrap();
    assert_eq!(run.stdout.len(), 5001);

    let jupyter = |code: &str| ExecuteRequest::new(code).jupyter_format(true);
    for (code, expected) in [
        ("float('nan')", json!("nan")),
        ("'nan'", json!("'nan'")),
        ("None", Value::Null),
        ("[1, 2]", json!("[1, 2]")),
    ] {
        let run = session.execute_with(jupyter(code)).await.unwrap();
        assert!(run.succeeded(), "{code}: {run:?}");
        assert_eq!(run.result, ExecutionResult::Value(expected), "{code}");
    }

    // The 2025-10-02 fields are refused before sending at older versions.
    for version in [
        ApiVersion::V2024_10_02Preview,
        ApiVersion::V2025_02_02Preview,
    ] {
        let s = client(pool.endpoint(), version).new_session();
        let e = s
            .execute_with(ExecuteRequest::new("1").output_streams_max_length(5))
            .await
            .unwrap_err();
        assert_invalid_input(&e, "outputStreamsMaxLength");
        let e = s.execute_with(jupyter("1")).await.unwrap_err();
        assert_invalid_input(&e, "returnJupyterFormatExecutionResult");
        let e = s
            .files()
            .list_with(ListOptions::default().recursive(true))
            .await
            .unwrap_err();
        assert_invalid_input(&e, "recursive");
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_upload_list_get_download_delete() {
    let pool = start(pool()).await;
    let local = tempfile::tempdir().unwrap();
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let local_file = local.path().join("local input.csv");
    std::fs::write(&local_file, "a,b\n1,2\n").unwrap();

    for version in CURRENT {
        let session = client(pool.endpoint(), version).new_session();
        let files = session.files();
        assert!(
            files.list().await.unwrap().is_empty(),
            "{version}: a fresh session has no files"
        );

        let info = files
            .upload(Upload::bytes("all.bin", all_bytes.clone()))
            .await
            .unwrap();
        assert_eq!(info.name, "all.bin", "{version}");
        assert_eq!(info.size, Some(256), "{version}");
        assert_eq!(info.kind, FileKind::File);

        let info = files
            .upload(Upload::text("notes.txt", "hello\n").in_dir("sub"))
            .await
            .unwrap();
        assert_eq!(info.relative_path(), "sub/notes.txt", "{version}: {info:?}");
        let info = files
            .upload(Upload::file(&local_file).unwrap().in_dir("sub/deeper"))
            .await
            .unwrap();
        assert_eq!(
            info.relative_path(),
            "sub/deeper/local input.csv",
            "{version}: {info:?}"
        );
        assert_eq!(info.size, Some(8));
        // A name carrying directories is the same as `path`.
        files
            .upload(Upload::text("sub/second.txt", "2"))
            .await
            .unwrap();

        // The code sees the uploads under /mnt/data, and files it writes are listed.
        let session_value = value(
            &session,
            "import os\nopen('/mnt/data/made.txt', 'w').write('by code')\nsorted(os.listdir('/mnt/data/sub'))",
        )
        .await;
        assert_eq!(
            session_value,
            json!(["deeper", "notes.txt", "second.txt"]),
            "{version}"
        );

        let root = files.list().await.unwrap();
        let names: Vec<_> = root.iter().map(|f| f.name.as_str()).collect();
        for name in ["all.bin", "made.txt", "sub"] {
            assert!(names.contains(&name), "{version}: {name} in {names:?}");
        }
        let sub = root.iter().find(|f| f.name == "sub").unwrap();
        assert_eq!(sub.kind, FileKind::Directory, "{version}");

        let in_sub = files
            .list_with(ListOptions::default().path("sub"))
            .await
            .unwrap();
        let mut names: Vec<_> = in_sub.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["deeper", "notes.txt", "second.txt"], "{version}");
        // An absolute path under /mnt/data means the same.
        let abs = files
            .list_with(ListOptions::default().path("/mnt/data/sub/deeper"))
            .await
            .unwrap();
        assert_eq!(abs.len(), 1, "{version}: {abs:?}");
        assert_eq!(abs[0].name, "local input.csv");

        if version == ApiVersion::V2025_10_02Preview {
            let all = files
                .list_with(ListOptions::default().recursive(true))
                .await
                .unwrap();
            let mut paths: Vec<_> = all
                .iter()
                .filter(|f| f.kind == FileKind::File)
                .map(|f| f.relative_path())
                .collect();
            paths.sort_unstable();
            assert_eq!(
                paths,
                [
                    "all.bin",
                    "made.txt",
                    "sub/deeper/local input.csv",
                    "sub/notes.txt",
                    "sub/second.txt"
                ],
                "{version}"
            );
        }

        let got = files.get("sub/notes.txt").await.unwrap();
        assert_eq!(got.name, "notes.txt", "{version}");
        assert_eq!(got.size, Some(6), "{version}");
        assert!(got.last_modified.is_some(), "{version}: {got:?}");
        assert!(
            got.content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/plain")),
            "{version}: {got:?}"
        );

        // Binary downloads are byte-exact: every byte value.
        let bytes = files.download_bytes("all.bin").await.unwrap();
        assert_eq!(&bytes[..], &all_bytes[..], "{version}");
        let download = files.download("all.bin").await.unwrap();
        assert_eq!(download.content_length(), Some(256), "{version}");
        let mut streamed = Vec::new();
        let mut stream = download.into_stream();
        while let Some(chunk) = stream.next().await {
            streamed.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(streamed, all_bytes, "{version}");
        assert_eq!(
            &files.download_bytes("made.txt").await.unwrap()[..],
            b"by code"
        );

        let target = local.path().join(format!("out-{version}.csv"));
        let n = files
            .download_to("sub/deeper/local input.csv", &target)
            .await
            .unwrap();
        assert_eq!(n, 8, "{version}");
        assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n1,2\n", "{version}");

        // Delete, then everything about the file is a 404.
        files.delete("sub/notes.txt").await.unwrap();
        let err = files.get("sub/notes.txt").await.unwrap_err();
        assert_eq!(api_status(&err), 404, "{version}: {err}");
        assert!(
            err.as_api().unwrap().hint().is_some(),
            "{version}: a 404 hint"
        );
        let err = files.download_bytes("sub/notes.txt").await.unwrap_err();
        assert_eq!(api_status(&err), 404, "{version}: {err}");
        let err = files.delete("sub/notes.txt").await.unwrap_err();
        assert_eq!(api_status(&err), 404, "{version}: {err}");
        let err = files
            .download_to("never-was.txt", local.path().join("never"))
            .await
            .unwrap_err();
        assert_eq!(api_status(&err), 404, "{version}: {err}");
        assert!(
            !local.path().join("never").exists(),
            "{version}: a failed download writes nothing"
        );

        // Names outside /mnt/data are refused before sending.
        let e = files.download_bytes("../etc/passwd").await.unwrap_err();
        assert_invalid_input(&e, "a `..` name");
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_names_with_spaces_unicode_hash_and_percent() {
    let pool = start(pool()).await;
    let names = [
        "with space.txt",
        "ünïcødé-文件.txt",
        "hash#tag.txt",
        "100% done.txt",
        "mix #1 & (2) = 50%; ok@x,y^z.txt",
    ];
    for version in CURRENT {
        let session = client(pool.endpoint(), version).new_session();
        let files = session.files();
        for (i, name) in names.iter().enumerate() {
            let content = format!("content {i} of {name}");
            let info = files
                .upload(Upload::text(*name, content.clone()))
                .await
                .unwrap();
            assert_eq!(info.name, *name, "{version}");
            // And in a directory with the same kind of name.
            files
                .upload(Upload::text(*name, content.clone()).in_dir("dir #1 ü%"))
                .await
                .unwrap();

            assert_eq!(
                files.download_bytes(name).await.unwrap(),
                content.as_bytes(),
                "{version}: {name}"
            );
            let nested = format!("dir #1 ü%/{name}");
            assert_eq!(
                files.download_bytes(&nested).await.unwrap(),
                content.as_bytes(),
                "{version}: {nested}"
            );
            assert_eq!(files.get(name).await.unwrap().name, *name, "{version}");
            // The code sees the same name.
            let seen = value(&session, &format!("open('/mnt/data/' + {name:?}).read()")).await;
            assert_eq!(seen, json!(content), "{version}: {name}");
        }
        let listed: Vec<_> = files
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        for name in names {
            assert!(
                listed.iter().any(|l| l == name),
                "{version}: {name} in {listed:?}"
            );
        }
        let nested: Vec<_> = files
            .list_with(ListOptions::default().path("dir #1 ü%"))
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(nested.len(), names.len(), "{version}: {nested:?}");
        for name in names {
            files.delete(name).await.unwrap();
            assert_eq!(
                api_status(&files.get(name).await.unwrap_err()),
                404,
                "{version}: {name}"
            );
        }
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_info_delete_list_sessions_and_metadata() {
    let pool = start(pool()).await;
    for version in CURRENT {
        // 2024-10-02-preview has no session routes; the client sends them at a version that has.
        let client = client(pool.endpoint(), version);
        let session = client.new_session();
        value(&session, "state = 'kept'").await;
        session
            .files()
            .upload(Upload::text("f.txt", "x"))
            .await
            .unwrap();

        let info = session.info().await.unwrap();
        assert_eq!(info.identifier, session.identifier(), "{version}");
        assert!(
            info.created_at.is_some() && info.expires_at.is_some(),
            "{version}: {info:?}"
        );
        assert!(info.etag.is_some(), "{version}: {info:?}");

        let listed = client.list_sessions().await.unwrap();
        assert!(
            listed.iter().any(|s| s.identifier == session.identifier()),
            "{version}: {} in {listed:?}",
            session.identifier()
        );

        session.delete().await.unwrap();
        let listed = client.list_sessions().await.unwrap();
        assert!(
            !listed.iter().any(|s| s.identifier == session.identifier()),
            "{version}: deleted"
        );

        // The identifier now gives a fresh, empty session.
        let run = session.execute("state").await.unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert!(run.stderr.contains("NameError"), "{version}");
        assert!(
            session.files().list().await.unwrap().is_empty(),
            "{version}: no files after delete"
        );
        let fresh = session.info().await.unwrap();
        assert_ne!(fresh.etag, info.etag, "{version}: a new container");

        let meta = client.metadata().await.unwrap();
        assert!(
            meta.runtimes
                .iter()
                .any(|r| r.name.to_ascii_lowercase().contains("python")),
            "{version}: {:?}",
            meta.runtimes
        );
        assert!(!meta.pre_installed_packages.is_empty(), "{version}");
        assert!(meta.raw.is_object());
    }
    pool.shutdown().await;
}

async fn read_json(
    response: http::Response<sessions_core::transport::ResponseBody>,
) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("read the body")
        .to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_requests_reach_the_pool() {
    let pool = start(pool()).await;
    let session = client(pool.endpoint(), ApiVersion::V2025_10_02Preview).new_session();
    session
        .files()
        .upload(Upload::text("seen.txt", "hi"))
        .await
        .unwrap();

    let response = session
        .request(
            http::Method::GET,
            "metadata?api-version=2025-10-02-preview",
            Body::empty(),
        )
        .await
        .unwrap();
    let (status, json) = read_json(response).await;
    assert_eq!(status, 200, "{json}");
    assert!(json["runtimes"].is_array(), "{json}");

    let response = session
        .request(
            http::Method::GET,
            "/files?api-version=2025-10-02-preview",
            Body::empty(),
        )
        .await
        .unwrap();
    let (status, json) = read_json(response).await;
    assert_eq!(status, 200, "{json}");
    let names: Vec<_> = json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(names, [json!("seen.txt")], "{json}");

    // Any status comes back as-is, not as an Err.
    let response = session
        .request(
            http::Method::GET,
            "files/missing.txt?api-version=2025-10-02-preview",
            Body::empty(),
        )
        .await
        .unwrap();
    let (status, json) = read_json(response).await;
    assert_eq!(status, 404, "{json}");
    assert!(json["error"]["code"].is_string(), "{json}");

    let e = session
        .request(http::Method::GET, "../x", Body::empty())
        .await
        .unwrap_err();
    assert_invalid_input(&e, "a `..` pass-through path");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_matplotlib_figure_is_an_image_result() {
    let pool = start(pool()).await;
    for version in CURRENT {
        let session = client(pool.endpoint(), version).new_session();
        let run = session
            .execute("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2]);")
            .await
            .unwrap();
        assert!(run.succeeded(), "{version}: {run:?}");
        let image = run
            .image()
            .unwrap_or_else(|| panic!("{version}: no image in {:?}", run.result));
        assert_eq!(image.format, "png", "{version}");
        assert_eq!(image.media_type(), "image/png");
        let png = base64::engine::general_purpose::STANDARD
            .decode(&image.base64_data)
            .expect("valid base64");
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{version}: PNG magic"
        );
        assert!(png.len() > 1000, "{version}: a real picture");

        // Once the figure is closed, results are values again.
        assert_eq!(
            value(&session, "plt.close('all')\n3").await,
            json!(3),
            "{version}"
        );
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_inputs_and_edge_cases() {
    let pool = start(pool()).await;
    for version in CURRENT {
        let client = client(pool.endpoint(), version);
        // Every documented identifier character travels intact (percent-encoded on the wire).
        let odd = format!("id|-&^%$#(){{}}[];<>_{}", version.as_str());
        let session = client.session(odd.as_str()).unwrap();
        value(&session, "marker = 'odd'").await;
        let run = session.execute("marker").await.unwrap();
        assert_eq!(run.identifier, odd, "{version}");
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!("odd")),
            "{version}"
        );
        session
            .files()
            .upload(Upload::text("odd.txt", "o"))
            .await
            .unwrap();
        assert_eq!(session.info().await.unwrap().identifier, odd, "{version}");
        assert!(
            client
                .list_sessions()
                .await
                .unwrap()
                .iter()
                .any(|s| s.identifier == odd),
            "{version}"
        );
        // A similar identifier is another session.
        let near = client.session(odd.replace('#', "%23").as_str()).unwrap();
        assert!(
            near.files().list().await.unwrap().is_empty(),
            "{version}: {} is separate",
            near.identifier()
        );
        // Identifiers outside the definitions' pattern are refused before sending.
        for bad in ["abc", "has space", "back\\slash", "ünï-code"] {
            assert_invalid_input(&client.session(bad).map(drop).unwrap_err(), bad);
        }

        // Empty files, and overwriting a file.
        let files = session.files();
        let info = files
            .upload(Upload::bytes("empty.bin", Vec::<u8>::new()))
            .await
            .unwrap();
        assert_eq!(info.size, Some(0), "{version}");
        assert!(
            files.download_bytes("empty.bin").await.unwrap().is_empty(),
            "{version}"
        );
        files
            .upload(Upload::text("odd.txt", "replaced, longer"))
            .await
            .unwrap();
        assert_eq!(
            &files.download_bytes("odd.txt").await.unwrap()[..],
            b"replaced, longer",
            "{version}"
        );
        assert_eq!(
            files.get("odd.txt").await.unwrap().size,
            Some(16),
            "{version}"
        );

        // Large and non-ASCII output (at 2025-10-02-preview past the default cap of 4096
        // characters, so the request raises it).
        let mut large = ExecuteRequest::new("print('é' * 200000)\nprint('漢字')");
        if version == ApiVersion::V2025_10_02Preview {
            large = large.output_streams_max_length(300_000);
        }
        let run = session.execute_with(large).await.unwrap();
        assert!(
            run.stdout == format!("{}\n漢字\n", "é".repeat(200_000)),
            "{version}: {} characters, ending {:?}",
            run.stdout.chars().count(),
            run.stdout.chars().rev().take(8).collect::<String>()
        );

        // Base64-encoded code.
        let run = session
            .execute_with(
                ExecuteRequest::new("MTkgKyAyMw==").code_input_type(CodeInputType::InlineBase64),
            )
            .await
            .unwrap();
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!(42)),
            "{version}: 19 + 23"
        );

        // Python pools send the timing headers; the session guid is the container (etag).
        let run = session.execute("1").await.unwrap();
        let guid = run.timings.session_guid.clone().expect("x-ms-session-guid");
        assert_eq!(Some(guid), session.info().await.unwrap().etag, "{version}");
        assert!(run.execution_time.is_some(), "{version}: {run:?}");
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_expire_after_the_cooldown() {
    let pool = start(pool().cooldown(Duration::from_millis(300))).await;
    let client = client(pool.endpoint(), ApiVersion::V2025_10_02Preview);
    let session = client.new_session();
    value(&session, "kept = 1").await;
    session
        .files()
        .upload(Upload::text("f.txt", "x"))
        .await
        .unwrap();
    let before = session.info().await.unwrap();
    // Well past the cooldown (and the reaper's interval), with no requests.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        client
            .list_sessions()
            .await
            .unwrap()
            .iter()
            .all(|s| s.identifier != session.identifier()),
        "the idle session is gone"
    );
    let run = session.execute("kept").await.unwrap();
    assert_eq!(
        run.status,
        ExecutionStatus::Failed,
        "a fresh session: {run:?}"
    );
    assert!(session.files().list().await.unwrap().is_empty());
    assert_ne!(session.info().await.unwrap().etag, before.etag);
    pool.shutdown().await;
}
