//! End to end: staging input files (data, text, URL, hosted) and the session lifecycle.

mod common;

use common::{Pool, parse_text};
use llm_tools::CodeInterpreterTool;
use llm_tools::hosted::{FetchPolicy, FileInput, HostedCodeInterpreterTool, StageError};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-shot HTTP server on loopback that serves `body` at any path.
async fn serve_once(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 2048];
            let _ = socket.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    format!("http://{address}/exports/sales.csv?token=secret")
}

#[tokio::test(flavor = "multi_thread")]
async fn inputs_are_staged_once_listed_in_the_description_and_usable_by_code() {
    let pool = Pool::start().await;
    let url = serve_once("region,amount\nnorth,10\nsouth,32\n").await;
    let files = HostedCodeInterpreterTool::new(vec![
        FileInput::url(&url).unwrap(),
        FileInput::text("hello from text").named("notes.txt"),
        FileInput::data(&b"{\"k\": 1}"[..], "application/json"),
    ])
    .with_fetch_policy(FetchPolicy {
        allow_private_addresses: true,
        ..FetchPolicy::default()
    });
    let tool = CodeInterpreterTool::owning(pool.client.new_session()).with_files(files);

    let report = tool.prepare().await.expect("staged");
    let paths: Vec<_> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/mnt/data/sales.csv",
            "/mnt/data/notes.txt",
            "/mnt/data/input-2.json"
        ]
    );
    assert_eq!(report.files[0].size, Some(32));
    // Idempotent: the same report, nothing staged again.
    assert!(std::sync::Arc::ptr_eq(
        &report,
        &tool.prepare().await.unwrap()
    ));

    let description = tool.definition_chat()["function"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains("/mnt/data/sales.csv (32 B)"),
        "{description}"
    );
    assert!(description.contains("/mnt/data/notes.txt"), "{description}");

    let output = tool
        .run("import pandas as pd\nint(pd.read_csv('/mnt/data/sales.csv')['amount'].sum())")
        .await;
    assert_eq!(output.result, Some(json!(42)), "{output:?}");
    tool.close().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_urls_are_refused_by_default_and_the_error_hides_the_query() {
    let pool = Pool::start().await;
    let url = serve_once("a,b\n").await;
    let files = HostedCodeInterpreterTool::new(vec![FileInput::url(&url).unwrap()]);
    let session = pool.client.new_session();
    let err = files.stage(&session).await.unwrap_err();
    assert!(matches!(err, StageError::Fetch { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("loopback or private") && !message.contains("secret"),
        "{message}"
    );
    session.delete().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hosted_id_must_exist_in_the_session() {
    let pool = Pool::start().await;
    let session = pool.client.new_session();
    HostedCodeInterpreterTool::new(vec![FileInput::text("x").named("present.txt")])
        .stage(&session)
        .await
        .unwrap();
    let ok = HostedCodeInterpreterTool::new(vec![FileInput::hosted("present.txt")])
        .stage(&session)
        .await
        .unwrap();
    assert_eq!(ok.files[0].path, "/mnt/data/present.txt");
    let err = HostedCodeInterpreterTool::new(vec![FileInput::hosted("missing.csv")])
        .stage(&session)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the session has: present.txt"),
        "{err}"
    );
    session.delete().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn long_output_is_cut_head_and_tail_and_changed_files_can_be_off() {
    let pool = Pool::start().await;
    let options = llm_tools::ToolOptions {
        // 100 characters of stdout once 200 of keys and status are set aside.
        output_budget: llm_tools::Budget::Chars(300),
        track_files: false,
        ..Default::default()
    };
    let tool = CodeInterpreterTool::owning(pool.client.new_session()).with_options(options);
    let output = tool.run("print('A' * 500 + 'Z' * 500)").await;
    assert_eq!(
        output.truncation.stdout.map(|t| t.original_chars),
        Some(1001)
    );
    assert!(
        output.stdout.starts_with(&"A".repeat(50))
            && output.stdout.ends_with(&format!("{}\n", "Z".repeat(49)))
    );
    let text: serde_json::Value =
        serde_json::from_str(&output.text_for_model(llm_tools::ImageNote::Attached)).unwrap();
    assert!(text.get("files_changed").is_none());
    assert_eq!(text["truncated"]["stdout"]["original_chars"], 1001);
    tool.close().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_error_becomes_a_short_result() {
    let pool = Pool::start().await;
    let endpoint = pool.emulator.endpoint().to_owned();
    let tool = CodeInterpreterTool::new(pool.client.new_session());
    pool.stop().await; // the service goes away
    let output = tool.run("print(1)").await;
    assert_eq!(output.status, llm_tools::ToolStatus::ServiceError);
    let text = parse_text(&json!(
        output.text_for_model(llm_tools::ImageNote::Attached)
    ));
    let error = text["error"].as_str().unwrap();
    assert!(
        error.contains("not a problem with your code") && !error.contains(&endpoint),
        "{error}"
    );
}
