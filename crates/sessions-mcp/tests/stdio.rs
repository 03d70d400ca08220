//! rmcp's client against the server over a byte stream (the stdio transport) on a local pool.

mod support;

use std::time::Duration;

use serde_json::json;
use sessions_emulator::PoolType;
use sessions_mcp::McpServer;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_interpreter_runs_code_and_the_session_is_deleted_on_disconnect() {
    let pool = pool(PoolType::Python, 5).await;
    let server = McpServer::builder(client(&pool)).build();
    let (mcp, task) = connect(server).await;

    let tools = mcp.list_all_tools().await.unwrap();
    let spec = llm_tools::ToolSpec::new(
        llm_tools::ToolName::default(),
        &llm_tools::DescriptionFacts::default(),
    );
    assert_eq!(serde_json::to_value(&tools[0]).unwrap(), spec.mcp());

    let ok = call(&mcp, "code_interpreter", code("x = 6\nprint('hi')\nx * 7")).await;
    assert!(!is_error(&ok), "{ok:?}");
    let out = text(&ok);
    assert!(out.contains("stdout:\nhi"), "{out}");
    assert!(out.contains("result:\n42"), "{out}");
    assert!(out.contains("status: Succeeded"), "{out}");

    // State persists within the client's session.
    let again = call(&mcp, "code_interpreter", code("x + 1")).await;
    assert!(text(&again).contains("7"), "{again:?}");

    let failed = call(&mcp, "code_interpreter", code("1 / 0")).await;
    assert!(is_error(&failed));
    assert!(text(&failed).contains("ZeroDivisionError"), "{failed:?}");

    assert_eq!(client(&pool).list_sessions().await.unwrap().len(), 1);
    mcp.cancel().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert!(client(&pool).list_sessions().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plot_comes_back_as_png_image_content() {
    let pool = pool(PoolType::Python, 5).await;
    let (mcp, _task) = connect(McpServer::builder(client(&pool)).build()).await;
    let plot = call(
        &mcp,
        "code_interpreter",
        code("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"),
    )
    .await;
    assert!(!is_error(&plot), "{plot:?}");
    let image = plot
        .content
        .iter()
        .find_map(|c| c.as_image())
        .expect("an image block");
    assert_eq!(image.mime_type, "image/png");
    assert!(image.data.starts_with("iVBOR"), "base64 of a PNG");
    mcp.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_tool_errors_that_name_the_argument() {
    let pool = pool(PoolType::Python, 5).await;
    let (mcp, _task) = connect(McpServer::builder(client(&pool)).build()).await;
    let cases = [
        ("code_interpreter", json!({}), "python_code"),
        ("code_interpreter", json!({"python_code": 5}), "python_code"),
        ("code_interpreter", json!({"code": "1"}), "code"),
        ("upload_file", json!({"name": "a.txt"}), "content"),
        (
            "upload_file",
            json!({"name": "a.txt", "content": "x", "content_base64": "eA=="}),
            "content_base64",
        ),
        (
            "upload_file",
            json!({"name": "a.bin", "content_base64": "%%%"}),
            "content_base64",
        ),
        ("list_files", json!({"recursive": "yes"}), "recursive"),
        ("download_file", json!({}), "name"),
        ("delete_file", json!({"name": ["a"]}), "name"),
        ("reset_session", json!({"now": true}), "now"),
    ];
    for (tool, args, named) in cases {
        let result = call(&mcp, tool, args.clone()).await;
        assert!(is_error(&result), "{tool} {args}: {result:?}");
        assert!(
            text(&result).contains(named),
            "{tool} {args}: {}",
            text(&result)
        );
    }
    // Bad arguments never reached the pool: no session was made.
    assert!(client(&pool).list_sessions().await.unwrap().is_empty());
    mcp.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_is_deleted_and_the_next_call_says_it_starts_over() {
    let pool = pool(PoolType::Python, 5).await;
    let server = McpServer::builder(client(&pool))
        .idle_timeout(Some(Duration::from_millis(300)))
        .build();
    let (mcp, _task) = connect(server).await;
    call(&mcp, "code_interpreter", code("z = 1")).await;
    for _ in 0..100 {
        if client(&pool).list_sessions().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        client(&pool).list_sessions().await.unwrap().is_empty(),
        "idle session kept"
    );
    let after = call(&mcp, "code_interpreter", code("z")).await;
    assert!(
        text(&after).contains("deleted after being idle"),
        "{after:?}"
    );
    assert!(is_error(&after), "{after:?}");
    mcp.cancel().await.unwrap();
}
