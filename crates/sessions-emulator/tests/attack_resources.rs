//! Attack suite, server memory and protocol: session code flooding the protocol channel,
//! printing or returning huge text, and returning integers no 64-bit number holds.

mod common;

use std::time::Duration;

use common::{STARTS, run_code, sandboxes, value_of};

use serde_json::{Value, json};
use sessions_emulator::runtime::{RunOutcome, RunStatus, RuntimeConfig, Worker};

async fn run(w: &mut Worker, code: &str) -> RunOutcome {
    run_code(w, code).await
}

async fn value(w: &mut Worker, code: &str) -> Value {
    value_of(w, code).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_flooding_the_protocol_channel_ends_only_that_interpreter() {
    for start in STARTS {
        let pool = sandboxes(
            start,
            RuntimeConfig {
                max_message_bytes: 1 << 20,
                ..RuntimeConfig::default()
            },
        )
        .await;
        let mut w = pool.worker().await;
        // Find the kernel's private response channel (a pipe, or a socket in a forked session)
        // and write 4 MiB without a newline into it.
        let flood = "import os, stat, fcntl\nfor fd in range(3, 64):\n    try:\n        st = os.fstat(fd)\n    except OSError:\n        continue\n    \
                 if (stat.S_ISFIFO(st.st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY) or stat.S_ISSOCK(st.st_mode):\n        \
                 os.write(fd, b'{' + b'x' * (4 << 20))\nimport time\ntime.sleep(30)";
        let out = run(&mut w, flood).await;
        assert_eq!(out.status, RunStatus::Failed, "{out:?}");
        assert!(
            out.stderr.contains("larger than the limit"),
            "{}",
            out.stderr
        );
        // The session goes on with a fresh interpreter, and says so exactly once.
        let next = run(&mut w, "1 + 1").await;
        assert_eq!(
            (next.status, next.result.clone()),
            (RunStatus::Succeeded, json!(2))
        );
        assert!(next.stderr.contains("restarted"), "{}", next.stderr);
        let after = run(&mut w, "2 + 2").await;
        assert!(!after.stderr.contains("restarted"), "{}", after.stderr);
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_huge_output_and_results_are_capped_with_a_marker() {
    for start in STARTS {
        let pool = sandboxes(
            start,
            RuntimeConfig {
                max_output_chars: 1000,
                ..RuntimeConfig::default()
            },
        )
        .await;
        let mut w = pool.worker().await;
        let out = run(
            &mut w,
            "import sys\nprint('a' * 50000)\nsys.stderr.write('e' * 50000)\n'b' * 50000",
        )
        .await;
        assert_eq!(out.status, RunStatus::Succeeded, "{out:?}");
        for text in [
            &out.stdout,
            &out.stderr,
            &out.result.as_str().unwrap().to_string(),
        ] {
            assert!(text.chars().count() < 1100, "{}", text.len());
            assert!(text.contains("truncated"), "{text}");
        }
        let list = value(&mut w, "list(range(10000))").await;
        assert!(
            list.as_str().is_some_and(|s| s.contains("truncated")),
            "{list}"
        );
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_big_integers_come_back_exact_and_keep_the_interpreter() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let mut w = pool.worker().await;
        value(&mut w, "kept = 'still here'").await;
        let factorial = value(&mut w, "import math\nmath.factorial(200)").await;
        let digits = factorial.as_str().expect("exact digits as a string");
        assert_eq!(digits.len(), 375);
        // 200! = 7886578673647905035523632139321850622951... (375 digits, 49 trailing zeros).
        assert!(
            digits.starts_with("7886578673647905035523632139321850622951"),
            "{digits}"
        );
        assert!(digits.ends_with(&"0".repeat(49)), "{digits}");
        assert_eq!(value(&mut w, "2**64").await, json!("18446744073709551616"));
        assert_eq!(value(&mut w, "2**64 - 1").await, json!(u64::MAX));
        assert_eq!(value(&mut w, "-(2**63)").await, json!(i64::MIN));
        assert_eq!(
            value(&mut w, "[10**30, {'k': -10**30}]").await,
            json!(["1000000000000000000000000000000", {"k": "-1000000000000000000000000000000"}])
        );
        assert_eq!(value(&mut w, "kept").await, json!("still here"));
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_memory_spread_over_processes_and_tmp_hits_one_cap() {
    for start in STARTS {
        let pool = sandboxes(
            start,
            RuntimeConfig {
                memory_limit_bytes: 256 << 20,
                // The data packages alone map more than this cap: fork from a bare template.
                preload: sessions_emulator::runtime::Preload::None,
                ..RuntimeConfig::default()
            },
        )
        .await;
        let mut w = pool.worker().await;
        // Each part stays under the per-process limit; together they pass the session's cap.
        let code = "import subprocess, sys, time\nopen('/tmp/fill', 'wb').write(b'x' * (150 << 20))\n\
                p = subprocess.Popen([sys.executable, '-c', 'b = bytearray(150 << 20); import time; time.sleep(30)'])\n\
                time.sleep(30)";
        let out = run(&mut w, code).await;
        assert_eq!(out.status, RunStatus::OutOfMemory, "{out:?}");
        assert!(out.stderr.contains("together"), "{}", out.stderr);
        assert!(out.duration < Duration::from_secs(25), "{:?}", out.duration);
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_filling_the_disk_stops_at_the_quota() {
    for start in STARTS {
        let pool = sandboxes(
            start,
            RuntimeConfig {
                disk_quota_bytes: Some(8 << 20),
                ..RuntimeConfig::default()
            },
        )
        .await;
        let (mut w, dir) = pool.worker_in().await;
        let code = "import time\nwith open('/mnt/data/fill', 'wb') as f:\n    for i in range(64):\n        \
                f.write(b'x' * (1 << 20)); f.flush(); time.sleep(0.1)\n'done'";
        let out = run(&mut w, code).await;
        assert_eq!(out.status, RunStatus::Failed, "{out:?}");
        assert!(out.stderr.contains("disk quota"), "{}", out.stderr);
        let written = std::fs::metadata(dir.join("fill")).map_or(0, |m| m.len());
        assert!(written < 40 << 20, "{written} bytes written");
        // Code can still run, and delete files to get under the quota.
        assert_eq!(
            value(&mut w, "import os\nos.remove('/mnt/data/fill')\n'ok'").await,
            json!("ok")
        );
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_kill_by_signal_is_not_reported_as_memory() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let mut w = pool.worker().await;
        let out = run(
            &mut w,
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        )
        .await;
        assert_eq!(out.status, RunStatus::Failed, "{out:?}");
        assert!(out.stderr.contains("signal 9"), "{}", out.stderr);
        let next = run(&mut w, "1").await;
        assert!(next.stderr.contains("restarted"), "{}", next.stderr);
        w.shutdown().await;
    }
}
