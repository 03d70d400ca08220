//! Helpers shared by the CLI's test binaries: a local pool, and running `dynsess` against it.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::process::{Output, Stdio};

use serde_json::Value;
use sessions_emulator::python_env::{Provision, resolve_python};
use sessions_emulator::{Emulator, EmulatorHandle, PoolType};
use tokio::io::AsyncWriteExt;

pub const BIN: &str = env!("CARGO_BIN_EXE_dynsess");

pub fn python() -> PathBuf {
    resolve_python(Provision::CreateVenv).expect("a python3 for the local pool")
}

pub async fn pool(kind: PoolType) -> EmulatorHandle {
    Emulator::builder()
        .pool_type(kind)
        .prewarm(1)
        .python(python())
        .start()
        .await
        .expect("start the local pool")
}

/// A command with a clean environment for our variables.
pub fn dynsess(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env_remove("POOL_MANAGEMENT_ENDPOINT")
        .env_remove("DYNSESS_SESSION")
        .env_remove("DYNSESS_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub async fn run_with(mut cmd: tokio::process::Command, stdin: Option<&[u8]>) -> Output {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn dynsess");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(input).await.expect("write stdin");
        drop(pipe);
    }
    child.wait_with_output().await.expect("wait for dynsess")
}

/// Run `dynsess --endpoint EP --session S ARGS...`.
pub async fn run(endpoint: &str, session: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut all = vec!["--endpoint", endpoint, "--session", session];
    all.extend_from_slice(args);
    run_with(dynsess(&all), stdin).await
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}
