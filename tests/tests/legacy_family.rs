//! The legacy API family (2024-02-02-preview, 2024-08-02-preview) end to end: `code/execute`
//! with its `properties` envelope and `Success`/`Failure` statuses, and the legacy file routes;
//! operations that only exist in the current family are refused before anything is sent.

use std::time::Duration;

use e2e_tests::{LEGACY, assert_invalid_input, client, pool, start};
use serde_json::{Value, json};
use sessions_core::{
    ApiVersion, Client, ExecuteRequest, ExecutionResult, ExecutionStatus, ListOptions, RetryConfig,
    ShellRequest, Upload,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_execute_maps_statuses_and_keeps_values() {
    let pool = start(pool()).await;
    for version in LEGACY {
        let session = client(pool.endpoint(), version).new_session();
        let cases: [(&str, Value); 6] = [
            ("1 + 1", json!(2)),
            ("2 / 4", json!(0.5)),
            ("str(2)", json!("2")),
            ("{'k': [1, None]}", json!({"k": [1, null]})),
            ("None", Value::Null),
            ("x = 5", json!("")),
        ];
        for (code, expected) in cases {
            let run = session.execute(code).await.unwrap();
            // `Success` on the wire is Succeeded in the model.
            assert_eq!(
                run.status,
                ExecutionStatus::Succeeded,
                "{version}: {code}: {run:?}"
            );
            assert_eq!(
                run.result,
                ExecutionResult::Value(expected),
                "{version}: {code}"
            );
        }
        let run = session
            .execute("print('hello world')\nx * 2")
            .await
            .unwrap();
        assert!(run.succeeded());
        assert_eq!(run.stdout, "hello world\n", "{version}");
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!(10)),
            "{version}: state persists"
        );

        // `Failure` is Failed, with the traceback; HTTP was 200.
        let run = session.execute("print('hi')\n{}['missing']").await.unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert_eq!(run.stdout, "hi\n", "{version}");
        assert!(run.stderr.contains("KeyError"), "{version}: {}", run.stderr);

        let run = session
            .execute_with(
                ExecuteRequest::new("while True:\n    pass").timeout(Duration::from_secs(1)),
            )
            .await
            .unwrap();
        assert_eq!(run.status, ExecutionStatus::Failed, "{version}: {run:?}");
        assert!(
            run.stderr
                .contains("Request timed out waiting for code execution to complete"),
            "{version}: {}",
            run.stderr
        );
        let run = session.execute("'alive'").await.unwrap();
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!("alive")),
            "{version}"
        );

        // Images come as the legacy `{type: image}` result.
        let run = session
            .execute("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2]);")
            .await
            .unwrap();
        let image = run
            .image()
            .unwrap_or_else(|| panic!("{version}: {:?}", run.result));
        assert_eq!(image.format, "png");
        assert!(
            image.base64_data.starts_with("iVBORw0KGgo"),
            "{version}: PNG in base64"
        );
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_upload_list_download() {
    let pool = start(pool()).await;
    let local = tempfile::tempdir().unwrap();
    let all_bytes: Vec<u8> = (0..=255u8).rev().collect();
    for version in LEGACY {
        let session = client(pool.endpoint(), version).new_session();
        let files = session.files();
        assert!(files.list().await.unwrap().is_empty(), "{version}");

        let info = files
            .upload(Upload::bytes("all.bin", all_bytes.clone()))
            .await
            .unwrap();
        assert_eq!(info.name, "all.bin", "{version}: {info:?}");
        assert_eq!(info.size, Some(256), "{version}");
        let info = files
            .upload(Upload::text("data.csv", "a,b\n1,2\n").in_dir("in"))
            .await
            .unwrap();
        assert_eq!(info.relative_path(), "in/data.csv", "{version}: {info:?}");
        files
            .upload(Upload::text("with space #1.txt", "s"))
            .await
            .unwrap();

        let run = session
            .execute("open('/mnt/data/in/data.csv').read()")
            .await
            .unwrap();
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!("a,b\n1,2\n")),
            "{version}"
        );
        session
            .execute("open('/mnt/data/made.txt', 'w').write('made')")
            .await
            .unwrap();

        let mut listed: Vec<_> = files
            .list()
            .await
            .unwrap()
            .iter()
            .map(|f| f.relative_path())
            .collect();
        listed.sort_unstable();
        assert_eq!(
            listed,
            ["all.bin", "in/data.csv", "made.txt", "with space #1.txt"],
            "{version}"
        );

        assert_eq!(
            &files.download_bytes("all.bin").await.unwrap()[..],
            &all_bytes[..],
            "{version}"
        );
        assert_eq!(
            &files.download_bytes("in/data.csv").await.unwrap()[..],
            b"a,b\n1,2\n",
            "{version}"
        );
        assert_eq!(
            &files.download_bytes("with space #1.txt").await.unwrap()[..],
            b"s",
            "{version}"
        );
        let target = local.path().join(format!("made-{version}.txt"));
        assert_eq!(files.download_to("made.txt", &target).await.unwrap(), 4);
        assert_eq!(std::fs::read(&target).unwrap(), b"made");

        let err = files.download_bytes("missing.txt").await.unwrap_err();
        assert_eq!(
            err.status().map(|s| s.as_u16()),
            Some(404),
            "{version}: {err}"
        );
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_only_operations_are_refused_before_sending() {
    // Nothing listens here: an operation that sent anything would fail to connect instead.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    for version in LEGACY {
        let client = Client::builder(&dead)
            .no_auth()
            .api_version(version)
            .retry(RetryConfig::disabled())
            .build()
            .unwrap();
        let session = client.session("legacy-session").unwrap();
        let files = session.files();
        let checks = [
            (
                "start_execution",
                session
                    .start_execution(ExecuteRequest::new("1"))
                    .await
                    .map(drop),
            ),
            (
                "asynchronous execute",
                session
                    .execute_with(ExecuteRequest::new("1").asynchronous(true))
                    .await
                    .map(drop),
            ),
            ("get_execution", session.get_execution("id").await.map(drop)),
            ("shell", session.shell("ls").await.map(drop)),
            (
                "shell_with",
                session
                    .shell_with(ShellRequest::new("cat").stdin("x"))
                    .await
                    .map(drop),
            ),
            (
                "jupyter format",
                session
                    .execute_with(ExecuteRequest::new("1").jupyter_format(true))
                    .await
                    .map(drop),
            ),
            (
                "output limit",
                session
                    .execute_with(ExecuteRequest::new("1").output_streams_max_length(3))
                    .await
                    .map(drop),
            ),
            ("files.get", files.get("a.txt").await.map(drop)),
            ("files.delete", files.delete("a.txt").await.map(drop)),
            (
                "list a path",
                files
                    .list_with(ListOptions::default().path("sub"))
                    .await
                    .map(drop),
            ),
            (
                "list recursively",
                files
                    .list_with(ListOptions::default().recursive(true))
                    .await
                    .map(drop),
            ),
        ];
        for (what, result) in checks {
            let err = result.expect_err(what);
            assert_invalid_input(&err, &format!("{version}: {what}"));
            let text = err.to_string();
            assert!(
                text.contains("2024-10-02-preview") || text.contains("2025-10-02-preview"),
                "{what}: {text}"
            );
            assert!(
                text.contains(version.as_str()),
                "{what} names the client's version: {text}"
            );
        }
        // A supported operation does try to send (and fails to connect), proving the above
        // were refused locally.
        let err = session.execute("1").await.unwrap_err();
        assert!(
            err.as_api().is_none() && !matches!(err, sessions_core::Error::InvalidInput(_)),
            "{err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_client_still_deletes_its_session() {
    let pool = start(pool()).await;
    let session = client(pool.endpoint(), ApiVersion::V2024_02_02Preview).new_session();
    session.execute("v = 1").await.unwrap();
    assert_eq!(
        session.info().await.unwrap().identifier,
        session.identifier()
    );
    session.delete().await.unwrap();
    let run = session.execute("v").await.unwrap();
    assert_eq!(
        run.status,
        ExecutionStatus::Failed,
        "a fresh session: {run:?}"
    );
    pool.shutdown().await;
}
