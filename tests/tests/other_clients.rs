//! Other projects' published clients run unmodified against the local pool: only the endpoint
//! and the token change. LangChain's Python and Bash tools and azure-dynamic-sessions-code-interpreter
//! over http; llama-index's `AzureCodeInterpreterToolSpec` (requests), AutoGen's
//! `ACADynamicSessionsCodeExecutor` (aiohttp) and Semantic Kernel's `SessionsPythonTool` (httpx)
//! over https, trusting the pool's CA through the environment only. Each runs code, keeps state
//! between runs, uploads, lists, downloads, and sees a failure reach it
//! (tests/python/other_clients.py). This is the emulator's promise to every stack, tested. One
//! pool per test; the pool requires a bearer token, so each client's own token hook is proved to
//! reach it.

use std::process::Stdio;
use std::time::Duration;

use e2e_tests::python_with_other_clients;
use sessions_emulator::{AuthMode, Emulator, EmulatorBuilder, PoolType};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/other_clients.py");
/// A hung client must fail the test, not the CI run: the slowest client takes a few seconds.
const CLIENT_DEADLINE: Duration = Duration::from_secs(180);

/// A pool of `pool_type` that, like the service, refuses requests without a bearer token.
fn pool(pool_type: PoolType) -> EmulatorBuilder {
    Emulator::builder()
        .python(python_with_other_clients())
        .pool_type(pool_type)
        .auth(AuthMode::Bearer)
        .prewarm(1)
}

/// Run the clients of `kind` against the pool `builder` starts and require them all to pass.
/// Behind TLS the clients trust the pool's CA through the environment only, as a user would.
async fn run_clients(kind: &str, builder: EmulatorBuilder) {
    let pool = builder.start().await.expect("start the local pool");
    let mut command = tokio::process::Command::new(python_with_other_clients());
    if let Some(ca) = pool.ca_certificate_path() {
        // httpx and aiohttp (through OpenSSL) read SSL_CERT_FILE, requests REQUESTS_CA_BUNDLE.
        command
            .env("SSL_CERT_FILE", ca)
            .env("REQUESTS_CA_BUNDLE", ca);
    }
    command
        .arg(SCRIPT)
        .arg(kind)
        .arg(pool.endpoint())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(CLIENT_DEADLINE, command.output()).await;
    pool.shutdown().await;
    let out = out
        .unwrap_or_else(|_| panic!("the {kind} clients took longer than {CLIENT_DEADLINE:?}"))
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the {kind} clients failed against the local pool\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"ok\""), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_and_adsci_work_unmodified() {
    run_clients("python", pool(PoolType::Python)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_bash_tool_works_on_a_shell_pool() {
    run_clients("shell", pool(PoolType::Shell)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llamaindex_tool_spec_works_unmodified_over_https() {
    // Over https, so `requests` trusting the pool through REQUESTS_CA_BUNDLE is proved too.
    run_clients("llamaindex", pool(PoolType::Python).tls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autogen_executor_works_unmodified_over_https() {
    // Over https, so `aiohttp` trusting the pool through SSL_CERT_FILE is proved too.
    run_clients("autogen", pool(PoolType::Python).tls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_kernel_tool_works_unmodified_over_https() {
    // SessionsPythonTool refuses any endpoint that is not https.
    let builder = pool(PoolType::Python).tls();
    run_clients("semantic-kernel", builder).await;
}
