//! The attack suite's core probes against a pool run as a normal user: as root this test
//! starts the binary as `nobody` (setpriv), otherwise as the current user. The session's
//! root must then be that user, and the layers must still hold.

mod common;

use std::os::unix::fs::chown;
use std::process::{Command, Stdio};

use http_body_util::{BodyExt, Full};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

async fn post(url: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(serde_json::to_vec(&body).unwrap().into()))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[test]
fn attack_core_probes_fail_against_a_pool_run_as_a_normal_user() {
    let root = is_root();
    let data = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = if root {
        for d in [data.path(), tmp.path()] {
            chown(d, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(env!("CARGO_BIN_EXE_sessions-emulator"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_sessions-emulator"))
    };
    // The test interpreter may live where only root can enter (pyenv under /root): as
    // `nobody`, use the system one, which any user can run.
    let python = if root {
        std::path::PathBuf::from("/usr/bin/python3")
    } else {
        common::python()
    };
    assert!(
        python.exists(),
        "{} is needed to run the pool as nobody",
        python.display()
    );
    let (mut child, url) = common::serve_binary(
        cmd.args([
            "--port",
            "0",
            "--prewarm",
            "0",
            "--isolation",
            "namespaces",
            "--data-dir",
        ])
        .arg(data.path())
        .arg("--python")
        .arg(&python)
        .env("TMPDIR", tmp.path())
        .env_remove("SESSIONS_EMULATOR_PYTHON")
        .stderr(Stdio::null()),
    );
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the pool did not start: {url:?}"
    );
    let code = format!(
        "import os, socket, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nr = {{}}\n\
         r['map'] = open('/proc/self/uid_map').read().split()\n\
         open('/mnt/data/who', 'w').close()\n\
         try:\n    os.close(os.open('/proc/sys/kernel/core_pattern', os.O_WRONLY)); r['core'] = 'opened'\n\
         except OSError:\n    r['core'] = 'denied'\n\
         r['host'] = socket.gethostname()\n\
         r['keyctl'] = [libc.syscall({}, 0, 0, 0, 0, 0), ctypes.get_errno()]\nr",
        libc::SYS_keyctl
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = rt.block_on(post(
        &format!(
            "{url}executions?api-version={}&identifier=normal-user",
            common::V_CURRENT
        ),
        serde_json::json!({"codeInputType":"Inline","executionType":"Synchronous","code":code}),
    ));
    // Read before the pool stops (it removes its sessions' directories).
    let who = common::find_file(data.path(), "who")
        .map(|f| std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(f).unwrap()));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    let r = &body["result"]["executionResult"];
    // One id is mapped; on the host, what the session's root creates belongs to the pool's
    // own user (a forked session's map names an id of the template's namespace instead).
    assert_eq!(r["map"][0], "0", "{body}");
    assert_eq!(r["map"][2], "1", "{body}");
    let owner = who.expect("the session's file on the host");
    let me = if root {
        NOBODY
    } else {
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(data.path()).unwrap())
    };
    assert_eq!(owner, me, "{body}");
    assert_eq!(r["core"], "denied", "{body}");
    assert_eq!(r["host"], "session", "{body}");
    assert_eq!(r["keyctl"], serde_json::json!([-1, libc::EPERM]), "{body}");
}
