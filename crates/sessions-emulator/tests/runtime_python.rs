//! Runtime tests: the persistent Python kernel (values, output, errors, limits, images).
//!
//! The interpreter comes from `SESSIONS_EMULATOR_PYTHON` (default `python3`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use sessions_emulator::runtime::{PythonRun, RunStatus, Runtime, RuntimeConfig, Worker};

fn python() -> PathBuf {
    // The workspace .venv (created once on a fresh machine) unless SESSIONS_EMULATOR_PYTHON is set.
    sessions_emulator::python_env::resolve_python(
        sessions_emulator::python_env::Provision::CreateVenv,
    )
    .expect("a python3 for the local pool (see the error)")
}

fn config() -> RuntimeConfig {
    RuntimeConfig {
        python: python(),
        ..RuntimeConfig::default()
    }
}

fn run(code: &str) -> PythonRun {
    PythonRun {
        code: code.into(),
        timeout: Duration::from_secs(60),
        max_output: None,
        jupyter_format: false,
    }
}

async fn worker(config: RuntimeConfig) -> (Worker, tempfile::TempDir) {
    let rt = Runtime::new(config).await.expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let w = rt.spawn(dir.path()).await.expect("spawn");
    (w, dir)
}

async fn value(w: &mut Worker, code: &str) -> Value {
    let out = w.run_python(run(code)).await.expect("run");
    assert_eq!(out.status, RunStatus::Succeeded, "{code}: {out:?}");
    out.result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_state_persists_and_last_expression_values_are_json() {
    let (mut w, _dir) = worker(config()).await;
    assert_eq!(value(&mut w, "x = 40\nimport math").await, json!(""));
    assert_eq!(value(&mut w, "x + 2").await, json!(42));
    assert_eq!(value(&mut w, "math.pi > 3").await, json!(true));
    assert_eq!(value(&mut w, "1+1").await, json!(2));
    assert_eq!(value(&mut w, "'x'").await, json!("x"));
    assert_eq!(value(&mut w, "None").await, Value::Null);
    assert_eq!(value(&mut w, "float('nan')").await, Value::Null);
    assert_eq!(value(&mut w, "'nan'").await, json!("nan"));
    assert_eq!(value(&mut w, "2.5").await, json!(2.5));
    assert_eq!(
        value(&mut w, "{'a': [1, None, float('inf')]}").await,
        json!({"a": [1, null, null]})
    );
    assert_eq!(value(&mut w, "{1, 2}").await, json!("{1, 2}"));
    assert_eq!(value(&mut w, "'é\\udc80'").await, json!("é?"));
    assert_eq!(value(&mut w, "(1, 'a')").await, json!("(1, 'a')"));
    assert_eq!(value(&mut w, "print('hi')").await, json!(""));
    assert_eq!(value(&mut w, "def f():\n    return 7\nf()").await, json!(7));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_jupyter_format_returns_the_repr() {
    let (mut w, _dir) = worker(config()).await;
    let jr = |code: &str| PythonRun {
        jupyter_format: true,
        ..run(code)
    };
    let cases = [
        ("float('nan')", json!("nan")),
        ("'nan'", json!("'nan'")),
        ("None", Value::Null),
        ("1+1", json!("2")),
    ];
    for (code, want) in cases {
        let out = w.run_python(jr(code)).await.unwrap();
        assert_eq!(out.result, want, "{code}");
    }
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_exceptions_fail_with_a_clean_traceback() {
    let (mut w, _dir) = worker(config()).await;
    let out = w
        .run_python(run("print('before')\ndef g():\n    1/0\ng()"))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(out.stdout, "before\n");
    assert!(
        out.stderr.starts_with("Traceback (most recent call last):"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ZeroDivisionError: division by zero"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("1/0"),
        "source line shown: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("kernel") && !out.stderr.contains("<string>"),
        "{}",
        out.stderr
    );
    let out = w.run_python(run("1 +")).await.unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.stderr.contains("SyntaxError"), "{}", out.stderr);
    // The session survives errors.
    assert_eq!(value(&mut w, "g.__name__").await, json!("g"));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_output_is_captured_at_the_fd_level_and_truncated() {
    let (mut w, _dir) = worker(config()).await;
    let code = "import os, sys, subprocess\nprint('one')\nos.write(1, b'two\\n')\n\
                subprocess.run(['echo', 'three'])\nprint('err', file=sys.stderr)\nos.write(2, b'e2\\n')\n'done'";
    let out = w.run_python(run(code)).await.unwrap();
    assert_eq!(out.status, RunStatus::Succeeded);
    assert_eq!(out.stdout, "one\ntwo\nthree\n");
    assert_eq!(out.stderr, "err\ne2\n");
    assert_eq!(out.result, json!("done"));
    let out = w
        .run_python(PythonRun {
            max_output: Some(5),
            ..run("print('x' * 100)\nimport sys; sys.stderr.write('é' * 50)")
        })
        .await
        .unwrap();
    assert_eq!(out.stdout, "xxxxx");
    assert_eq!(out.stderr, "ééééé");
    // Output does not leak into the next run.
    let out = w.run_python(run("1")).await.unwrap();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_timeout_kills_the_tree_and_recovers_with_files_kept() {
    let (mut w, dir) = worker(config()).await;
    value(
        &mut w,
        "open('/mnt/data/before.txt', 'w').write('kept')\nx = 1",
    )
    .await;
    let code = "import subprocess, time\nsubprocess.Popen(['sleep', '987654'])\ntime.sleep(60)";
    let out = w
        .run_python(PythonRun {
            timeout: Duration::from_secs(2),
            ..run(code)
        })
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::TimedOut);
    assert_eq!(
        out.stderr,
        "Request timed out waiting for code execution to complete"
    );
    assert!(dir.path().join("before.txt").exists());
    assert_eq!(
        value(
            &mut w,
            "import os\n[os.path.exists('/mnt/data/before.txt'), 'x' in globals()]"
        )
        .await,
        json!([true, false])
    );
    assert!(
        !host_process_running("987654"),
        "the timed-out run's subprocess survived"
    );
    w.shutdown().await;
}

fn host_process_running(needle: &str) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        std::fs::read(p.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_memory_cap_aborts_and_the_session_recovers() {
    let cfg = RuntimeConfig {
        memory_limit_bytes: 256 * 1024 * 1024,
        ..config()
    };
    let (mut w, _dir) = worker(cfg).await;
    let out = w
        .run_python(run("x = bytearray(512 * 1024 * 1024)"))
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::OutOfMemory, "{out:?}");
    assert!(
        out.stderr.starts_with("Execution aborted"),
        "{}",
        out.stderr
    );
    assert_eq!(value(&mut w, "1+1").await, json!(2));
    assert!(w.memory_rss_bytes().is_some_and(|b| b > 0));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_matplotlib_figures_come_back_as_png() {
    let probe = std::process::Command::new(python())
        .args(["-c", "import matplotlib, numpy, pandas"])
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "matplotlib/numpy/pandas are not importable by {:?}: set SESSIONS_EMULATOR_PYTHON to a python with \
         them installed (e.g. /work/main/.venv/bin/python3)",
        python()
    );
    let (mut w, _dir) = worker(config()).await;
    let out = w.run_python(run("1")).await.unwrap();
    assert!(out.images.is_empty());
    let code = "import numpy as np, pandas as pd\nimport matplotlib.pyplot as plt\nplt.plot(np.arange(5))\nlen(pd.DataFrame({'a': [1, 2]}))";
    let out = w.run_python(run(code)).await.unwrap();
    assert_eq!(out.status, RunStatus::Succeeded, "{out:?}");
    assert_eq!(out.result, json!(2));
    let scalars = "(np.int64(3) + 1, np.bool_(True), np.float64('nan'))";
    assert_eq!(
        value(&mut w, &format!("[*{scalars}]")).await,
        json!([4, true, null])
    );
    let [image] = out.images.as_slice() else {
        panic!("one image for the open figure: {:?}", out.images.len())
    };
    assert_eq!(image.format, "png");
    assert!(image.base64_data.starts_with("iVBORw0KGgo"), "PNG magic");
    // The figure was closed: nothing on the next run.
    assert!(w.run_python(run("1")).await.unwrap().images.is_empty());
    // Two figures left open: both come back, in figure-number order.
    let two = "import matplotlib.pyplot as plt\nplt.figure(); plt.plot([1, 2])\nplt.figure(); plt.bar([1], [3])";
    let out = w.run_python(run(two)).await.unwrap();
    assert_eq!(out.images.len(), 2, "{out:?}");
    assert_ne!(out.images[0].base64_data, out.images[1].base64_data);
    assert!(w.run_python(run("1")).await.unwrap().images.is_empty());
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_process_cap_limits_threads_and_processes() {
    let rt = Runtime::new(RuntimeConfig {
        max_processes: 16,
        ..config()
    })
    .await
    .unwrap();
    let detail = rt.isolation().detail;
    if !detail.contains("pids.max") {
        // Documented: without a writable pids cgroup the cap is not enforced for root.
        eprintln!("process cap not enforced on this machine: {detail}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut w = rt.spawn(dir.path()).await.unwrap();
    let code = "import threading\nev = threading.Event()\nn = 0\ntry:\n    for _ in range(100):\n        \
                threading.Thread(target=ev.wait).start()\n        n += 1\nexcept RuntimeError:\n    pass\nev.set()\nn";
    let started = value(&mut w, code).await.as_u64().unwrap();
    assert!(started < 16, "{started} threads started under a cap of 16");
    // The session still works once the threads are gone.
    assert_eq!(
        value(&mut w, "import time; time.sleep(0.2)\n1+1").await,
        json!(2)
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_cpu_cap_stops_busy_loops() {
    let cfg = RuntimeConfig {
        cpu_seconds_per_execution: Some(1),
        ..config()
    };
    let (mut w, _dir) = worker(cfg).await;
    value(&mut w, "open('/mnt/data/kept.txt', 'w').write('x')").await;
    let out = w.run_python(run("while True:\n    pass")).await.unwrap();
    assert_eq!(out.status, RunStatus::TimedOut, "{out:?}");
    // Each run gets its own budget; files survive the restart.
    let code = "import os, time\nt = time.process_time()\nwhile time.process_time() - t < 0.5:\n    pass\nos.path.exists('kept.txt')";
    assert_eq!(value(&mut w, code).await, json!(true));
    assert_eq!(value(&mut w, code).await, json!(true));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_abandoned_runs_do_not_desync_the_session() {
    let (mut w, _dir) = worker(config()).await;
    let slow = w.run_python(run("import time\ntime.sleep(30)"));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), slow)
            .await
            .is_err()
    );
    // The interpreter still busy with the abandoned run is replaced, not waited for.
    assert_eq!(value(&mut w, "'fresh'").await, json!("fresh"));
    assert_eq!(value(&mut w, "1+1").await, json!(2));
    w.shutdown().await;
}
