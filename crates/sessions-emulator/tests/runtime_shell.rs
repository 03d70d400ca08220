//! Runtime tests: shell pools and the warm pool.

use std::time::Duration;

use serde_json::{Value, json};
use sessions_emulator::runtime::{
    PoolType, PythonRun, RunStatus, Runtime, RuntimeConfig, ShellRun, WarmPool,
};

fn config(pool_type: PoolType) -> RuntimeConfig {
    // The workspace .venv (created once on a fresh machine) unless SESSIONS_EMULATOR_PYTHON is set.
    let python = sessions_emulator::python_env::resolve_python(
        sessions_emulator::python_env::Provision::CreateVenv,
    )
    .expect("a python3 for the local pool (see the error)");
    RuntimeConfig {
        python,
        pool_type,
        ..RuntimeConfig::default()
    }
}

fn sh(command: &str, stdin: Option<&str>) -> ShellRun {
    ShellRun {
        command: command.into(),
        stdin: stdin.map(Into::into),
        timeout: Duration::from_secs(60),
        max_output: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_shell_commands_get_stdin_exit_codes_and_the_data_dir() {
    let rt = Runtime::new(config(PoolType::Shell)).await.unwrap();
    assert_eq!(rt.pool_type(), PoolType::Shell);
    let dir = tempfile::tempdir().unwrap();
    let mut w = rt.spawn(dir.path()).await.unwrap();

    let out = w
        .run_shell(sh(
            "read a; read b; echo \"first:$a second:$b\"",
            Some("x\ny\n"),
        ))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Exited(0));
    assert_eq!(out.stdout, "first:x second:y\n");
    assert_eq!(out.result, Value::Null);

    let out = w
        .run_shell(sh("pwd; echo oops >&2; exit 3", None))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Exited(3));
    // Degraded mode (forced via SESSIONS_EMULATOR_FORCE_NO_NAMESPACES) runs in the host workdir.
    let cwd = if rt.isolation().namespaces {
        "/mnt/data".to_string()
    } else {
        dir.path().canonicalize().unwrap().display().to_string()
    };
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        (format!("{cwd}\n").as_str(), "oops\n")
    );

    let out = w.run_shell(sh("cat", None)).await.unwrap();
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (RunStatus::Exited(0), "")
    );

    let out = w
        .run_shell(sh(
            "echo hi > f.txt && python3 -c 'print(open(\"f.txt\").read().strip())'",
            None,
        ))
        .await
        .unwrap();
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (RunStatus::Exited(0), "hi\n")
    );
    assert!(dir.path().join("f.txt").exists());

    let out = w
        .run_shell(ShellRun {
            max_output: Some(3),
            ..sh("seq 1 100", None)
        })
        .await
        .unwrap();
    assert_eq!(out.stdout, "1\n2");

    let out = w
        .run_shell(ShellRun {
            timeout: Duration::from_secs(1),
            ..sh("sleep 60", None)
        })
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::TimedOut);
    assert_eq!(
        out.stderr,
        "Request timed out waiting for code execution to complete"
    );
    let out = w.run_shell(sh("cat f.txt", None)).await.unwrap();
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (RunStatus::Exited(0), "hi\n")
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_warm_pool_hands_out_ready_workers_in_fresh_slots() {
    let rt = Runtime::new(config(PoolType::Python)).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let pool = WarmPool::new(rt, root.path().to_path_buf(), 2);
    let mut taken = Vec::new();
    for _ in 0..3 {
        let (mut w, dir) = pool.acquire().await.unwrap();
        let dir = dir.root().to_path_buf();
        assert!(
            dir.starts_with(root.path()) && dir.is_dir(),
            "{}",
            dir.display()
        );
        let run = PythonRun {
            code: "6*7".into(),
            timeout: Duration::from_secs(60),
            max_output: None,
            jupyter_format: false,
        };
        assert_eq!(w.run_python(run).await.unwrap().result, json!(42));
        assert!(!taken.iter().any(|(_, d)| d == &dir));
        taken.push((w, dir));
    }
    for (w, _) in taken {
        w.shutdown().await;
    }
    pool.shutdown().await;
}
