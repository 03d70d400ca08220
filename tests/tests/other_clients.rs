//! Other projects' published clients run unmodified against the local pool: only the endpoint
//! and the token change. LangChain's Python and Bash tools and azure-dynamic-sessions-code-interpreter
//! over http; llama-index's `AzureCodeInterpreterToolSpec` (requests), AutoGen's
//! `ACADynamicSessionsCodeExecutor` (aiohttp) and Semantic Kernel's `SessionsPythonTool` (httpx)
//! over https, trusting the pool's CA through the environment only. Each runs code, keeps state
//! between runs, uploads, lists, downloads, and sees a failure reach it
//! (tests/python/other_clients.py). This is the emulator's promise to every stack, tested. One
//! pool per test; the pool requires a bearer token, so each client's own token hook is proved to
//! reach it.

use e2e_tests::{python_with_other_clients, run_other_clients};
use sessions_emulator::{AuthMode, Emulator, EmulatorBuilder, PoolType};

/// A pool of `pool_type` that, like the service, refuses requests without a bearer token.
fn pool(pool_type: PoolType) -> EmulatorBuilder {
    Emulator::builder()
        .python(python_with_other_clients())
        .pool_type(pool_type)
        .auth(AuthMode::Bearer)
        .prewarm(1)
}

/// Run the clients of `kind` against the pool `builder` starts and require them all to pass.
/// Behind TLS the clients trust the pool's CA through the environment only, as a user would:
/// httpx and aiohttp (through OpenSSL) read SSL_CERT_FILE, requests REQUESTS_CA_BUNDLE.
async fn run_clients(kind: &str, builder: EmulatorBuilder) {
    let pool = builder.start().await.expect("start the local pool");
    let env: Vec<(&str, &std::path::Path)> = match pool.ca_certificate_path() {
        Some(ca) => vec![("SSL_CERT_FILE", ca), ("REQUESTS_CA_BUNDLE", ca)],
        None => Vec::new(),
    };
    run_other_clients(kind, pool.endpoint(), &env).await;
    pool.shutdown().await;
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
