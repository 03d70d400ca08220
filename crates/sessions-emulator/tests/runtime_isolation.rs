//! Runtime tests: namespace isolation (filesystem, network) and the degraded fallback.
//!
//! These expect namespaces to work (root or unprivileged user namespaces), as on the
//! development and CI machines; the degraded-mode tests force the probe to fail.

use std::time::Duration;

use serde_json::{Value, json};
use sessions_emulator::runtime::{
    IsolationMode, PythonRun, RunStatus, Runtime, RuntimeConfig, RuntimeError, Worker,
};

fn config() -> RuntimeConfig {
    // The workspace .venv (created once on a fresh machine) unless SESSIONS_EMULATOR_PYTHON is set.
    let python = sessions_emulator::python_env::resolve_python(
        sessions_emulator::python_env::Provision::CreateVenv,
    )
    .expect("a python3 for the local pool (see the error)");
    RuntimeConfig {
        python,
        ..RuntimeConfig::default()
    }
}

async fn value(w: &mut Worker, code: &str) -> Value {
    let run = PythonRun {
        code: code.into(),
        timeout: Duration::from_secs(60),
        max_output: None,
        jupyter_format: false,
    };
    let out = w.run_python(run).await.expect("run");
    assert_eq!(out.status, RunStatus::Succeeded, "{code}: {out:?}");
    out.result
}

/// Python that returns "denied" when reading `path` fails, else the text read.
fn try_read(path: &str) -> String {
    format!("try:\n    r = open({path:?}).read()\nexcept OSError:\n    r = 'denied'\nr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_sessions_cannot_see_siblings_or_host_files() {
    let rt = Runtime::new(RuntimeConfig {
        isolation: IsolationMode::Namespaces,
        ..config()
    })
    .await
    .expect("namespaces");
    assert!(rt.isolation().namespaces, "{:?}", rt.isolation());
    let root = tempfile::tempdir().unwrap();
    let (mine, other) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("secret.txt"), "top secret").unwrap();
    std::fs::write(mine.join("mine.txt"), "hello").unwrap();
    let mut w = rt.spawn(&mine).await.unwrap();

    assert_eq!(
        value(&mut w, "import os\n[os.getcwd(), open('mine.txt').read()]").await,
        json!(["/mnt/data", "hello"])
    );
    let secret = other.join("secret.txt").display().to_string();
    for path in ["../b/secret.txt", "/mnt/b/secret.txt", secret.as_str()] {
        assert_eq!(
            value(&mut w, &try_read(path)).await,
            json!("denied"),
            "{path}"
        );
    }
    // Symlinks created inside resolve inside the sandbox.
    value(
        &mut w,
        &format!("os.symlink({secret:?}, 'link1')\nos.symlink('../b/secret.txt', 'link2')"),
    )
    .await;
    assert_eq!(value(&mut w, &try_read("link1")).await, json!("denied"));
    assert_eq!(value(&mut w, &try_read("link2")).await, json!("denied"));
    // Host files outside the python installation are invisible.
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    assert_eq!(value(&mut w, &try_read(manifest)).await, json!("denied"));
    for dir in ["/root", "/home"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let path = entry.path().display().to_string();
                assert_eq!(
                    value(&mut w, &try_read(&path)).await,
                    json!("denied"),
                    "{path}"
                );
            }
        }
    }
    assert_eq!(
        value(
            &mut w,
            "os.listdir('/home') if os.path.exists('/home') else []"
        )
        .await,
        json!([])
    );
    // A file written inside shows up in the host workdir.
    value(&mut w, "open('/mnt/data/out.txt', 'w').write('x')").await;
    assert!(mine.join("out.txt").exists());
    // System directories are read-only.
    assert_eq!(value(&mut w, "try:\n    open('/usr/evil', 'w')\n    r = 'wrote'\nexcept OSError:\n    r = 'denied'\nr").await, json!("denied"));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_network_is_off_but_loopback_works_inside() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rt = Runtime::new(RuntimeConfig {
        isolation: IsolationMode::Namespaces,
        ..config()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = rt.spawn(dir.path()).await.unwrap();
    let code = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    r = 'connected'\n\
         except OSError:\n    r = 'blocked'\nr"
    );
    assert_eq!(value(&mut w, &code).await, json!("blocked"));
    let inside = "s = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n\
                  c = socket.create_connection(s.getsockname(), timeout=3)\nc.close(); s.close()\n'ok'";
    assert_eq!(value(&mut w, inside).await, json!("ok"));
    w.shutdown().await;
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_degraded_mode_runs_without_namespaces() {
    let rt = Runtime::new_with_failed_probe(config(), "test: namespaces unavailable")
        .await
        .unwrap();
    let report = rt.isolation();
    assert!(!report.namespaces);
    assert!(
        report.detail.contains("test: namespaces unavailable"),
        "{}",
        report.detail
    );
    let dir = tempfile::tempdir().unwrap();
    let mut w = rt.spawn(dir.path()).await.unwrap();
    value(&mut w, "import os, pathlib\nopen('/mnt/data/a.txt', 'w').write('hi')\nos.makedirs('/mnt/data/sub/x', exist_ok=True)").await;
    assert!(dir.path().join("a.txt").exists());
    assert!(dir.path().join("sub/x").is_dir());
    let code = "[sorted(os.listdir('/mnt/data')), pathlib.Path('/mnt/data/a.txt').read_text(), open('a.txt').read(), \
                os.path.exists('/mnt/data/sub')]";
    assert_eq!(
        value(&mut w, code).await,
        json!([["a.txt", "sub"], "hi", "hi", true])
    );
    w.shutdown().await;

    let explicit = Runtime::new(RuntimeConfig {
        isolation: IsolationMode::Degraded,
        ..config()
    })
    .await
    .unwrap();
    assert!(!explicit.isolation().namespaces);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_required_namespaces_fail_when_unavailable() {
    let cfg = RuntimeConfig {
        isolation: IsolationMode::Namespaces,
        ..config()
    };
    let err = Runtime::new_with_failed_probe(cfg, "test: no namespaces")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::Isolation(ref m) if m.contains("test: no namespaces")),
        "{err}"
    );
}
