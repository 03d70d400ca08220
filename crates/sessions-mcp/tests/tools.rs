//! Every file tool, the shell tool, resources and the download cap, over rmcp's client.

mod support;

use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::json;
use sessions_emulator::PoolType;
use sessions_mcp::{McpServer, PoolKind};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_move_in_and_out_and_reset_starts_over() {
    let pool = pool(PoolType::Python, 5).await;
    let server = McpServer::builder(client(&pool))
        .max_download_bytes(64)
        .build();
    let (mcp, _task) = connect(server).await;

    let up = call(
        &mcp,
        "upload_file",
        json!({"name": "notes.txt", "content": "hello"}),
    )
    .await;
    assert!(!is_error(&up), "{up:?}");
    let up = call(
        &mcp,
        "upload_file",
        json!({"name": "raw.bin", "content_base64": "AP8A/w==", "path": "data"}),
    )
    .await;
    assert!(!is_error(&up), "{up:?}");

    let listing = text(&call(&mcp, "list_files", json!({"recursive": true})).await);
    assert!(listing.contains("notes.txt\t5 bytes"), "{listing}");
    assert!(listing.contains("data/raw.bin"), "{listing}");

    let note = call(&mcp, "download_file", json!({"name": "notes.txt"})).await;
    assert_eq!(text(&note), "hello");
    let raw = call(
        &mcp,
        "download_file",
        json!({"name": "raw.bin", "path": "data"}),
    )
    .await;
    let Some(resource) = raw.content[0].as_resource() else {
        panic!("{raw:?}")
    };
    match &resource.resource {
        ResourceContents::BlobResourceContents { blob, uri, .. } => {
            assert_eq!(blob, "AP8A/w==");
            assert_eq!(uri, "sandbox:/mnt/data/data/raw.bin");
        }
        other => panic!("{other:?}"),
    }

    // Code sees the uploads; the files are resources too.
    let run = call(
        &mcp,
        "code_interpreter",
        code("open('/mnt/data/notes.txt').read()"),
    )
    .await;
    assert!(text(&run).contains("hello"), "{run:?}");
    let resources = mcp.list_all_resources().await.unwrap();
    let uris: Vec<_> = resources.iter().map(|r| r.uri.clone()).collect();
    assert!(
        uris.contains(&"sandbox:/mnt/data/notes.txt".to_owned()),
        "{uris:?}"
    );
    let read = mcp
        .read_resource(ReadResourceRequestParams::new(
            "sandbox:/mnt/data/notes.txt",
        ))
        .await
        .unwrap();
    assert!(
        matches!(&read.contents[0], ResourceContents::TextResourceContents { text, .. } if text == "hello")
    );
    assert!(
        mcp.read_resource(ReadResourceRequestParams::new(
            "sandbox:/mnt/data/../../etc/passwd"
        ))
        .await
        .is_err()
    );

    // Over the cap: an error that says so.
    call(
        &mcp,
        "code_interpreter",
        code("open('/mnt/data/big.txt','w').write('x' * 100)"),
    )
    .await;
    let big = call(&mcp, "download_file", json!({"name": "big.txt"})).await;
    assert!(is_error(&big));
    assert!(
        text(&big).contains("over the download cap of 64 bytes"),
        "{}",
        text(&big)
    );

    let gone = call(&mcp, "delete_file", json!({"name": "notes.txt"})).await;
    assert!(!is_error(&gone), "{gone:?}");
    let missing = call(&mcp, "download_file", json!({"name": "notes.txt"})).await;
    assert!(is_error(&missing), "{missing:?}");

    call(&mcp, "code_interpreter", code("y = 1")).await;
    let reset = call(&mcp, "reset_session", json!({})).await;
    assert!(!is_error(&reset), "{reset:?}");
    let after = call(&mcp, "code_interpreter", code("y")).await;
    assert!(
        is_error(&after) && text(&after).contains("NameError"),
        "{after:?}"
    );
    mcp.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_pools_get_run_shell_instead_of_code_interpreter() {
    let pool = pool(PoolType::Shell, 5).await;
    let server = McpServer::builder(client(&pool))
        .pool_kind(PoolKind::Shell)
        .build();
    let (mcp, _task) = connect(server).await;
    let names: Vec<_> = mcp
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names[0], "run_shell");
    assert!(!names.contains(&"code_interpreter".to_owned()));

    let run = call(
        &mcp,
        "run_shell",
        json!({"command": "cat", "stdin": "piped"}),
    )
    .await;
    assert!(!is_error(&run), "{run:?}");
    assert!(
        text(&run).contains("piped") && text(&run).contains("exit code: 0"),
        "{run:?}"
    );
    let fail = call(&mcp, "run_shell", json!({"command": "exit 3"})).await;
    assert!(
        is_error(&fail) && text(&fail).contains("exit code: 3"),
        "{fail:?}"
    );
    mcp.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_announce_file_changes_and_long_runs_report_progress() {
    use std::sync::atomic::Ordering;
    let pool = pool(PoolType::Python, 5).await;
    let (mcp, _task) = connect(McpServer::builder(client(&pool)).build()).await;
    call(
        &mcp,
        "code_interpreter",
        code("open('/mnt/data/new.txt','w').write('n')"),
    )
    .await;
    let long = call(
        &mcp,
        "code_interpreter",
        code("import time\ntime.sleep(2.5)\n'done'"),
    )
    .await;
    assert!(text(&long).contains("done"), "{long:?}");
    let handler = mcp.service();
    assert!(handler.list_changed.load(Ordering::SeqCst) >= 1);
    assert!(handler.progress.load(Ordering::SeqCst) >= 1);
    mcp.cancel().await.unwrap();
}
