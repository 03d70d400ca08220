//! A shell pool end to end: commands with stdin, stdout/stderr and exit codes, files shared
//! between commands and the file API; Python code on a shell pool is the documented 400.

use std::time::Duration;

use e2e_tests::{api_status, client, pool, start};
use sessions_core::{ApiVersion, Error, ExecuteRequest, ShellRequest, Upload};
use sessions_emulator::PoolType;

const SHELL_VERSIONS: [ApiVersion; 2] = [
    ApiVersion::V2025_02_02Preview,
    ApiVersion::V2025_10_02Preview,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_commands_stdin_and_exit_codes() {
    let pool = start(pool().pool_type(PoolType::Shell)).await;
    for version in SHELL_VERSIONS {
        let session = client(pool.endpoint(), version).new_session();

        let run = session.shell("echo hi").await.unwrap();
        assert_eq!(run.stdout, "hi\n", "{version}: {run:?}");
        assert_eq!(run.stderr, "", "{version}");
        assert_eq!(run.exit_code(), Some(0), "{version}: {run:?}");
        assert!(run.succeeded(), "{version}");

        let run = session
            .shell("echo partial; echo oops >&2; exit 3")
            .await
            .unwrap();
        assert_eq!(run.exit_code(), Some(3), "{version}: {run:?}");
        assert!(!run.succeeded(), "{version}");
        assert_eq!(run.stdout, "partial\n", "{version}");
        assert_eq!(run.stderr, "oops\n", "{version}");

        let run = session.shell("definitely-not-a-command-xyz").await.unwrap();
        assert_eq!(run.exit_code(), Some(127), "{version}: {run:?}");
        assert!(
            run.stderr.contains("not found"),
            "{version}: {}",
            run.stderr
        );

        let run = session
            .shell_with(ShellRequest::new("wc -l").stdin("a\nb\nc\n"))
            .await
            .unwrap();
        assert_eq!(run.stdout.trim(), "3", "{version}: {run:?}");
        let run = session
            .shell_with(ShellRequest::new("cat").stdin("line one\nline two"))
            .await
            .unwrap();
        assert_eq!(run.stdout, "line one\nline two", "{version}");
        let run = session
            .shell_with(ShellRequest::new("read a; read b; echo \"$b-$a\"; exit 4").stdin("x\ny\n"))
            .await
            .unwrap();
        assert_eq!(
            (run.stdout.as_str(), run.exit_code()),
            ("y-x\n", Some(4)),
            "{version}: {run:?}"
        );

        // The working directory is /mnt/data, and files persist between commands.
        let run = session
            .shell("pwd; printf 'kept' > made.txt")
            .await
            .unwrap();
        assert_eq!(run.stdout, "/mnt/data\n", "{version}");
        assert_eq!(
            session
                .shell("cat /mnt/data/made.txt")
                .await
                .unwrap()
                .stdout,
            "kept"
        );
        assert_eq!(
            &session.files().download_bytes("made.txt").await.unwrap()[..],
            b"kept"
        );
        session
            .files()
            .upload(Upload::text("up.txt", "uploaded\n").in_dir("in"))
            .await
            .unwrap();
        let run = session
            .shell("cat in/up.txt && python3 -c 'print(6*7)'")
            .await
            .unwrap();
        assert_eq!(run.stdout, "uploaded\n42\n", "{version}: {run:?}");

        // A client-side deadline on a long command.
        let err = session
            .shell_with(ShellRequest::new("sleep 30").timeout(Duration::from_millis(500)))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{version}: {err:?}");
        assert_eq!(
            session.shell("echo after").await.unwrap().stdout,
            "after\n",
            "{version}"
        );
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_code_on_a_shell_pool_is_a_400() {
    let pool = start(pool().pool_type(PoolType::Shell)).await;
    for version in SHELL_VERSIONS {
        let session = client(pool.endpoint(), version).new_session();
        let err = session.execute("print(1)").await.unwrap_err();
        assert_eq!(api_status(&err), 400, "{version}: {err}");
        let api = err.as_api().unwrap();
        assert_eq!(
            api.code.as_deref(),
            Some("SessionPropertiesMissing"),
            "{version}: {api:?}"
        );
        assert!(
            api.hint().is_some_and(|h| h.contains("body")),
            "{version}: {api:?}"
        );
        let err = session
            .execute_with(ExecuteRequest::new("1").asynchronous(true))
            .await
            .unwrap_err();
        assert_eq!(api_status(&err), 400, "{version}: {err}");
        // The session is still fine for shell commands.
        assert_eq!(session.shell("echo ok").await.unwrap().stdout, "ok\n");
    }
    // The legacy route does not exist on a shell pool.
    let legacy = client(pool.endpoint(), ApiVersion::V2024_02_02Preview).new_session();
    let err = legacy.execute("1").await.unwrap_err();
    assert_eq!(api_status(&err), 400, "{err}");
    pool.shutdown().await;
}
