//! Where a pool cannot fork sessions from a template, sessions start fresh interpreters as
//! before, and the pool says why: in `metadata` and on stderr. Runs the binary, so that the
//! environment variable that forces the fallback reaches only that pool.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use http_body_util::{BodyExt, Full};

async fn call(method: &str, url: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(bytes)))
        .unwrap();
    let resp = client.request(req).await.expect("the pool answers");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).expect("JSON")
}

#[test]
fn without_a_template_sessions_start_fresh_and_the_pool_says_why() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, url) = common::serve_binary(
        Command::new(env!("CARGO_BIN_EXE_sessions-emulator"))
            .args([
                "--port",
                "0",
                "--prewarm",
                "0",
                "--preload",
                "numpy,pandas",
                "--data-dir",
            ])
            .arg(data.path())
            .arg("--python")
            .arg(common::python())
            .env(sessions_emulator::runtime::FORCE_NO_TEMPLATE_ENV, "1")
            .stderr(Stdio::piped()),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v = common::V_CURRENT;
    let (meta, first, second) = rt.block_on(async {
        let meta = call("GET", &format!("{url}metadata?api-version={v}"), None).await;
        let exec_url = format!("{url}executions?api-version={v}&identifier=fresh-a");
        let exec = |code: &str| {
            let body = serde_json::json!({"codeInputType":"Inline","executionType":"Synchronous","code":code});
            call("POST", &exec_url, Some(body))
        };
        let first = exec("import sys\n'pandas' in sys.modules").await;
        let second = exec("import pandas as pd\nint(pd.DataFrame({'a': [1, 2]}).a.sum())").await;
        (meta, first, second)
    });
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);

    let iso = &meta["emulator"]["isolation"];
    let warnings = iso["warnings"].to_string();
    assert!(
        warnings.contains("template") && warnings.contains("fresh"),
        "{iso}"
    );
    assert!(!iso["layers"].to_string().contains("forked"), "{iso}");
    assert!(
        stderr.contains("template"),
        "the warning is said at start: {stderr}"
    );
    assert_eq!(first["result"]["executionResult"], false, "{first}");
    assert_eq!(second["result"]["executionResult"], 3, "{second}");
}
