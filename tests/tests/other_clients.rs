//! Other projects' published clients (LangChain's Python and Bash tools, and
//! azure-dynamic-sessions-code-interpreter) run unmodified against the local pool: only the
//! endpoint and the token change. This is the emulator's promise to every stack, tested.

use std::process::Command;

use e2e_tests::python_with_other_clients;
use sessions_emulator::Emulator;
use sessions_emulator::runtime::PoolType;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/other_clients.py");

async fn run_clients(kind: &str, pool_type: PoolType) {
    let python = python_with_other_clients();
    let pool = Emulator::builder()
        .python(&python)
        .pool_type(pool_type)
        .start()
        .await
        .expect("start the local pool");
    let endpoint = pool.endpoint().to_string();
    let kind = kind.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(SCRIPT)
            .arg(kind)
            .arg(endpoint)
            .output()
    })
    .await
    .expect("join")
    .expect("run python");
    pool.shutdown().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "other clients failed against the local pool\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"ok\""), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients_work_unmodified() {
    run_clients("python", PoolType::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_bash_tool_works_on_a_shell_pool() {
    run_clients("shell", PoolType::Shell).await;
}
