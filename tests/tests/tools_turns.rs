//! The LLM tool over our client at every api-version: a call runs in the session, keeps state,
//! and reports the files it changed (including in subdirectories).

use e2e_tests::{CURRENT, LEGACY, client, pool, start};
use llm_tools::{CodeInterpreterTool, FileChange, ToolStatus};
use serde_json::json;
use sessions_core::ExecutionStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_works_at_every_api_version() {
    let pool = start(pool()).await;
    for version in LEGACY.into_iter().chain(CURRENT) {
        let tool = CodeInterpreterTool::owning(client(pool.endpoint(), version).new_session());
        let out = tool.run("x = 6 * 7\nprint(x)\nx").await;
        assert_eq!(
            out.status,
            ToolStatus::Executed(ExecutionStatus::Succeeded),
            "{version}: {out:?}"
        );
        assert_eq!(out.stdout, "42\n", "{version}");
        assert_eq!(out.result, Some(json!(42)), "{version}");

        let out = tool
            .run("import os\nos.makedirs('/mnt/data/out/deep', exist_ok=True)\nopen('/mnt/data/out/deep/r.txt', 'w').write(str(x))")
            .await;
        assert_eq!(
            out.status,
            ToolStatus::Executed(ExecutionStatus::Succeeded),
            "{version}: {out:?}"
        );
        let changed = out
            .files_changed
            .unwrap_or_else(|| panic!("{version}: files tracked"));
        assert_eq!(changed.len(), 1, "{version}: {changed:?}");
        assert_eq!(changed[0].name, "out/deep/r.txt", "{version}");
        assert_eq!(changed[0].change, FileChange::Created, "{version}");

        let out = tool.run("1 / 0").await;
        assert_eq!(
            out.status,
            ToolStatus::Executed(ExecutionStatus::Failed),
            "{version}: {out:?}"
        );
        assert!(out.stderr.contains("ZeroDivisionError"), "{version}");
        tool.close().await.unwrap();
    }
    pool.shutdown().await;
}

/// The exact programs of issue 14: valid Python runs as sent, even when it holds fences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_python_holding_fences_runs_as_sent() {
    let pool = start(pool()).await;
    let tool = CodeInterpreterTool::owning(client(pool.endpoint(), CURRENT[2]).new_session());

    let out = tool
        .run("s = '''Here is md:\n```python\nprint(1)\n```\n'''\nprint(repr(s))")
        .await;
    assert_eq!(
        out.status,
        ToolStatus::Executed(ExecutionStatus::Succeeded),
        "{out:?}"
    );
    assert_eq!(
        out.stdout, "'Here is md:\\n```python\\nprint(1)\\n```\\n'\n",
        "the whole program ran, not the fenced print(1)"
    );

    let out = tool
        .run("def f():\n    \"\"\"Usage:\n    ```\n    f()\n    ```\n    \"\"\"\n    return 41\nprint(f() + 1)")
        .await;
    assert_eq!(
        out.stdout, "42\n",
        "a docstring's bare fence is no SyntaxError: {out:?}"
    );

    let out = tool.run("\u{feff}print('bom')").await;
    assert_eq!(out.stdout, "bom\n", "a leading BOM is dropped: {out:?}");
    tool.close().await.unwrap();
    pool.shutdown().await;
}
