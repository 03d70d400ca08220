//! Attack suite, host identity: session code trying to act as host root, reach kernel
//! settings, rename the host or share IPC objects with another session. Every probe only
//! opens (never writes) a host setting, and each test is bounded by the run timeout.

mod common;

use common::{STARTS, sandboxes, value_of};
use serde_json::{Value, json};
use sessions_emulator::runtime::{RuntimeConfig, Worker};

async fn value(w: &mut Worker, code: &str) -> Value {
    value_of(w, code).await
}

/// Python returning, per path, "opened" when `os.open(path, flags)` succeeds (the
/// descriptor is closed at once, nothing is written) and "denied" otherwise.
fn try_open(paths: &[&str], flags: &str) -> String {
    format!(
        "import os\nr = {{}}\nfor p in {paths:?}:\n    try:\n        os.close(os.open(p, {flags}))\n        \
         r[p] = 'opened'\n    except OSError:\n        r[p] = 'denied'\nr"
    )
}

fn host_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_session_root_is_not_host_root() {
    use std::os::unix::fs::MetadataExt;
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let (mut w, dir) = pool.worker_in().await;
        let (mut other, other_dir) = pool.worker_in().await;
        let map = value(&mut w, "open('/proc/self/uid_map').read().split()").await;
        assert_eq!(map[0], json!("0"), "{start:?}: {map}");
        assert_eq!(
            map[2],
            json!("1"),
            "{start:?}: only one id is mapped: {map}"
        );
        // Who the session's root is on the host, seen from the host: the owner of what it
        // creates (a forked session's map names an id of the template's namespace).
        let make = "import os\nopen('/mnt/data/who', 'w').close()\n[os.getuid(), os.getgid()]";
        assert_eq!(value(&mut w, make).await, json!([0, 0]), "{start:?}");
        assert_eq!(value(&mut other, make).await, json!([0, 0]), "{start:?}");
        let owner = std::fs::metadata(dir.join("who")).unwrap();
        let other_owner = std::fs::metadata(other_dir.join("who")).unwrap();
        if host_is_root() {
            assert_ne!(
                owner.uid(),
                0,
                "{start:?}: the session's root must not be host root"
            );
            assert_ne!(owner.gid(), 0, "{start:?}");
            assert_ne!(
                owner.uid(),
                other_owner.uid(),
                "{start:?}: two sessions must not share a host uid"
            );
            // No supplementary group of host root followed the session in.
            assert_eq!(value(&mut w, "import os\nos.getgroups()").await, json!([]));
        }
        other.shutdown().await;
        // Host secrets stay unreadable.
        let reads = value(
            &mut w,
            &try_open(&["/etc/shadow", "/etc/gshadow"], "os.O_RDONLY"),
        )
        .await;
        for (path, got) in reads.as_object().unwrap() {
            if std::path::Path::new(path).exists() {
                let text = value(&mut w, &format!("open({path:?}).read()")).await;
                assert_eq!(text, json!(""), "{path} must be empty inside ({got})");
            }
        }
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_kernel_settings_cannot_be_opened_for_writing() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let mut w = pool.worker().await;
        let settings = [
            "/proc/sys/kernel/hostname",
            "/proc/sys/kernel/core_pattern",
            "/proc/sys/vm/drop_caches",
            "/proc/sys/kernel/panic",
            "/proc/sysrq-trigger",
        ];
        let got = value(&mut w, &try_open(&settings, "os.O_WRONLY")).await;
        for path in settings {
            assert_eq!(got[path], json!("denied"), "{path}: {got}");
        }
        // Kernel memory and other sessions' keys are masked.
        let masked = value(
        &mut w,
        "import os\n[os.stat(p).st_size for p in ('/proc/kcore', '/proc/keys', '/proc/timer_list') if os.path.exists(p)]",
    )
    .await;
        assert!(
            masked.as_array().unwrap().iter().all(|n| n == &json!(0)),
            "{masked}"
        );
        assert_eq!(
            value(&mut w, "import os\nos.path.exists('/sys/firmware')").await,
            json!(false)
        );
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_hostname_and_namespaces_are_the_sessions_own() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let mut w = pool.worker().await;
        let inside = value(
        &mut w,
        "import os, socket\n[socket.gethostname()] + [os.readlink('/proc/self/ns/' + n) for n in ('uts', 'ipc', 'cgroup')]",
    )
    .await;
        assert_eq!(inside[0], json!("session"), "{inside}");
        for (i, ns) in ["uts", "ipc", "cgroup"].iter().enumerate() {
            let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
            assert_ne!(
                inside[i + 1],
                json!(host.to_string_lossy()),
                "{ns} namespace is the host's"
            );
        }
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_sysv_shared_memory_is_not_shared() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let mut first = pool.worker().await;
        let mut second = pool.worker().await;
        let key = 0x5e55_0a7a_u32;
        let libc = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n";
        let id = value(
            &mut first,
            &format!("{libc}libc.shmget({key}, 1 << 20, 0o1000 | 0o600)"),
        )
        .await;
        assert!(
            id.as_i64().unwrap() >= 0,
            "the session can use SysV IPC: {id}"
        );
        let other = value(&mut second, &format!("{libc}libc.shmget({key}, 0, 0)")).await;
        assert_eq!(other, json!(-1), "another session found the segment");
        let host = std::fs::read_to_string("/proc/sysvipc/shm").unwrap_or_default();
        let hex = format!("{key}");
        assert!(
            !host
                .lines()
                .any(|l| l.split_whitespace().next() == Some(hex.as_str())),
            "the segment is visible on the host"
        );
        first.shutdown().await;
        second.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_system_calls_an_interpreter_never_needs_are_refused() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let rt = &pool.rt;
        let report = rt.isolation();
        assert!(
            report.layers.iter().any(|l| l.starts_with("seccomp")),
            "{report:?}"
        );
        let mut w = pool.worker().await;
        // Each call is made with arguments that could do nothing harmful even if allowed.
        let calls = [
            (
                "keyctl",
                format!("libc.syscall({}, 0, 0, 0, 0, 0)", libc::SYS_keyctl),
            ),
            ("bpf", format!("libc.syscall({}, 0, 0, 0)", libc::SYS_bpf)),
            (
                "perf_event_open",
                format!(
                    "libc.syscall({}, 0, 0, -1, -1, 0)",
                    libc::SYS_perf_event_open
                ),
            ),
            (
                "userfaultfd",
                format!("libc.syscall({}, 0)", libc::SYS_userfaultfd),
            ),
            ("unshare", "libc.unshare(0x10000000)".to_string()),
            (
                "mount",
                "libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)".to_string(),
            ),
            ("ptrace", "libc.ptrace(0, 0, 0, 0)".to_string()),
            ("setns", format!("libc.syscall({}, 0, 0)", libc::SYS_setns)),
        ];
        let mut code =
            "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nr = {}\n".to_string();
        for (name, call) in &calls {
            code += &format!("rc = {call}\nr[{name:?}] = [rc, ctypes.get_errno()]\n");
        }
        code += "r";
        let got = value(&mut w, &code).await;
        for (name, _) in calls {
            assert_eq!(got[name], json!([-1, libc::EPERM]), "{name}: {got}");
        }
        // Threads and subprocesses still work.
        let ok = value(
        &mut w,
        "import threading, subprocess\nt = threading.Thread(target=lambda: None); t.start(); t.join()\n\
         subprocess.run(['true']).returncode",
    )
    .await;
        assert_eq!(ok, json!(0));
        w.shutdown().await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_landlock_limits_writes_where_the_kernel_has_it() {
    for start in STARTS {
        let pool = sandboxes(start, RuntimeConfig::default()).await;
        let rt = &pool.rt;
        let report = rt.isolation();
        let on = report.layers.iter().any(|l| l.starts_with("landlock"));
        assert!(
            on || report.warnings.iter().any(|w| w.starts_with("landlock")),
            "a missing layer must be a warning: {report:?}"
        );
        let mut w = pool.worker().await;
        // The session's own process name: writable to it, unless Landlock is in force.
        let got = value(
        &mut w,
        "try:\n    open('/proc/self/comm', 'w').close()\n    r = 'opened'\nexcept OSError:\n    r = 'denied'\n\
         open('/mnt/data/ok', 'w').write('x'); open('/tmp/ok', 'w').write('x')\nr",
    )
    .await;
        assert_eq!(got, json!(if on { "denied" } else { "opened" }));
        w.shutdown().await;
    }
}
