//! The `sessions-emulator` binary prints its endpoint first and stops on SIGTERM.

mod common;

use std::process::{Command, Stdio};

#[test]
fn binary_prints_the_endpoint_first() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, url) = common::serve_binary(
        Command::new(env!("CARGO_BIN_EXE_sessions-emulator"))
            .args(["--port", "0", "--prewarm", "0", "--data-dir"])
            .arg(data.path())
            .arg("--python")
            .arg(common::python())
            .stderr(Stdio::null()),
    );
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url:?}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        use http_body_util::{BodyExt, Empty};
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<bytes::Bytes>>();
        let uri = format!("{url}.management/listSessions?api-version=2024-02-02-preview");
        let req = http::Request::post(uri).body(Empty::new()).unwrap();
        let resp = client.request(req).await.unwrap();
        let status = resp.status();
        let _ = resp.into_body().collect().await;
        status
    });
    assert_eq!(status, 200);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
