//! `dynsess serve --tls` as a user runs it: the first stdout line is the `https://` endpoint,
//! the CA lands where `--tls-ca-out` says, and Semantic Kernel's `SessionsPythonTool` (which
//! refuses any endpoint that is not https) works against it unmodified, trusting the CA through
//! `SSL_CERT_FILE` alone.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use e2e_tests::{python_with_other_clients, run_other_clients};

const BIN: &str = env!("CARGO_BIN_EXE_dynsess");

/// The serve process, stopped by its pid when the test ends (pass or fail).
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn semantic_kernel_works_against_dynsess_serve_tls() {
    let python = python_with_other_clients();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = dir.path().join("pool-ca.pem");
    let mut serve = Serve(
        Command::new(BIN)
            .args(["serve", "--tls", "--auth", "bearer", "--prewarm", "1"])
            .arg("--tls-ca-out")
            .arg(&ca)
            .arg("--python")
            .arg(&python)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dynsess serve --tls"),
    );
    let mut first = String::new();
    let stdout = serve.0.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("the first stdout line");
    let endpoint = first.trim();
    assert!(
        endpoint.starts_with("https://127.0.0.1:"),
        "the first stdout line is the https endpoint: {endpoint:?}"
    );
    let pem = std::fs::read_to_string(&ca).expect("--tls-ca-out wrote the CA");
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");

    run_other_clients("semantic-kernel", endpoint, &[("SSL_CERT_FILE", &ca)]).await;
}
