//! End-to-end tests of the `dynsess` binary against an in-process local pool.

mod support;

use serde_json::Value;
use sessions_emulator::PoolType;
use support::*;
use tokio::io::AsyncBufReadExt;

#[tokio::test(flavor = "multi_thread")]
async fn exec_reads_code_from_the_argument_a_file_and_stdin() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    let o = run(
        ep,
        "exec-sources",
        &["exec", "x = 40\nprint('from arg')\nx + 2"],
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "from arg\n42\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("code.py");
    std::fs::write(&file, "print('from file', x)\n").unwrap();
    let o = run(
        ep,
        "exec-sources",
        &["exec", "--file", file.to_str().unwrap()],
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "from file 40\n");

    let o = run(
        ep,
        "exec-sources",
        &["exec", "-"],
        Some(b"print('from stdin -', x)"),
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "from stdin - 40\n");

    let o = run(
        ep,
        "exec-sources",
        &["exec", "--timeout", "30"],
        Some(b"import sys\nprint('from stdin', file=sys.stderr)"),
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "from stdin\n");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_exits_1_on_failure_and_prints_json_on_request() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    let o = run(ep, "exec-fail", &["exec", "print('before')\n1/0"], None).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "before\n");
    assert!(stderr(&o).contains("ZeroDivisionError"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("error:"),
        "a failed run is not a CLI error: {}",
        stderr(&o)
    );

    let o = run(
        ep,
        "exec-fail",
        &["--json", "exec", "print('hi')\n1 + 1"],
        None,
    )
    .await;
    ok(&o);
    let v = json(&o);
    assert_eq!(v["status"], "Succeeded");
    assert_eq!(v["stdout"], "hi\n");
    assert_eq!(v["result"], 2);
    assert_eq!(v["identifier"], "exec-fail");

    let o = run(
        ep,
        "exec-fail",
        &["--json", "exec", "raise ValueError('boom')"],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["status"], "Failed");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_session_is_announced_on_stderr() {
    let pool = pool(PoolType::Python).await;
    let o = run_with(
        dynsess(&["--endpoint", pool.endpoint(), "exec", "print(1)"]),
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "1\n");
    let err = stderr(&o);
    let id = err
        .strip_prefix("session: ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "a UUID on stderr: {err}");

    // The environment works as well as the flags.
    let mut cmd = dynsess(&["exec", "print(2)"]);
    cmd.env("POOL_MANAGEMENT_ENDPOINT", pool.endpoint())
        .env("DYNSESS_SESSION", "from-env");
    let o = run_with(cmd, None).await;
    ok(&o);
    assert_eq!(stdout(&o), "2\n");
    assert_eq!(stderr(&o), "");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_round_trip_through_upload_ls_download_and_rm() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&local, &data).unwrap();

    let o = run(
        ep,
        "files-1",
        &["upload", local.to_str().unwrap(), "--as", "data.bin"],
        None,
    )
    .await;
    ok(&o);
    assert!(
        stdout(&o).contains("uploaded data.bin (300000 bytes)"),
        "{}",
        stdout(&o)
    );
    let o = run(
        ep,
        "files-1",
        &["upload", local.to_str().unwrap(), "--path", "sub"],
        None,
    )
    .await;
    ok(&o);

    let o = run(ep, "files-1", &["ls"], None).await;
    ok(&o);
    assert!(stdout(&o).contains("300000  data.bin"), "{}", stdout(&o));
    let o = run(ep, "files-1", &["--json", "ls", "--recursive"], None).await;
    ok(&o);
    let names: Vec<String> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f["directory"].as_str() {
            Some(d) if !d.is_empty() => format!("{d}/{}", f["name"].as_str().unwrap()),
            _ => f["name"].as_str().unwrap().to_owned(),
        })
        .collect();
    assert!(
        names.contains(&"data.bin".to_owned()) && names.contains(&"sub/local.bin".to_owned()),
        "{names:?}"
    );
    let o = run(ep, "files-1", &["ls", "--path", "sub"], None).await;
    ok(&o);
    assert!(stdout(&o).contains("local.bin"), "{}", stdout(&o));

    let copy = dir.path().join("copy.bin");
    let o = run(
        ep,
        "files-1",
        &["download", "data.bin", "-o", copy.to_str().unwrap()],
        None,
    )
    .await;
    ok(&o);
    assert_eq!(std::fs::read(&copy).unwrap(), data);

    let o = run(ep, "files-1", &["download", "data.bin", "-o", "-"], None).await;
    ok(&o);
    assert_eq!(o.stdout, data, "-o - writes the bytes to stdout");

    let o = run(ep, "files-1", &["rm", "data.bin"], None).await;
    ok(&o);
    assert_eq!(stdout(&o), "deleted data.bin\n");
    let o = run(ep, "files-1", &["ls"], None).await;
    ok(&o);
    assert!(!stdout(&o).contains("data.bin"), "{}", stdout(&o));

    let o = run(
        ep,
        "files-1",
        &["download", "data.bin", "-o", copy.to_str().unwrap()],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: ") && stderr(&o).contains("404"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        data,
        "a failed download leaves the old file alone"
    );
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn session_show_delete_sessions_and_metadata() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();
    ok(&run(ep, "sess-a", &["exec", "1"], None).await);
    ok(&run(ep, "sess-b", &["exec", "1"], None).await);

    let o = run(ep, "sess-a", &["session", "show"], None).await;
    ok(&o);
    assert!(
        stdout(&o).starts_with("identifier     sess-a\n"),
        "{}",
        stdout(&o)
    );
    let o = run(ep, "sess-a", &["--json", "session", "show"], None).await;
    ok(&o);
    assert_eq!(json(&o)["identifier"], "sess-a");
    // `session` alone shows it too.
    let o = run(ep, "sess-a", &["session"], None).await;
    ok(&o);
    assert!(
        stdout(&o).starts_with("identifier     sess-a\n"),
        "{}",
        stdout(&o)
    );
    let o = run(ep, "sess-a", &["--json", "session"], None).await;
    ok(&o);
    assert_eq!(json(&o)["identifier"], "sess-a");

    let o = run(ep, "unused", &["--json", "sessions"], None).await;
    ok(&o);
    let ids: Vec<String> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["identifier"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.contains(&"sess-a".into()) && ids.contains(&"sess-b".into()),
        "{ids:?}"
    );
    let o = run(ep, "unused", &["sessions"], None).await;
    ok(&o);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("sess-b  created ")),
        "{}",
        stdout(&o)
    );

    let o = run(ep, "sess-a", &["session", "delete"], None).await;
    ok(&o);
    assert_eq!(stdout(&o), "deleted session sess-a\n");
    let o = run(ep, "unused", &["--json", "sessions"], None).await;
    let ids: Vec<String> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["identifier"].as_str().unwrap().to_owned())
        .collect();
    assert!(!ids.contains(&"sess-a".into()), "{ids:?}");

    let o = run(ep, "unused", &["metadata"], None).await;
    ok(&o);
    assert!(
        stdout(&o).lines().any(|l| l.starts_with("runtime  ")),
        "{}",
        stdout(&o)
    );
    let o = run(ep, "unused", &["--json", "metadata"], None).await;
    ok(&o);
    assert!(json(&o)["runtimes"].is_array());
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_runs_in_a_shell_pool() {
    let pool = pool(PoolType::Shell).await;
    let ep = pool.endpoint();
    let o = run(
        ep,
        "shell-1",
        &["shell", "echo hello; cat", "--stdin", "from stdin"],
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "hello\nfrom stdin");
    let o = run(ep, "shell-1", &["shell", "echo oops >&2; exit 3"], None).await;
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "oops\n");
    let o = run(ep, "shell-1", &["--json", "shell", "true"], None).await;
    ok(&o);
    assert_eq!(json(&o)["status"], "0");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_definition_for_every_format() {
    let def = |format: &str, extra: &[&str]| {
        let mut args = vec!["tool-definition", "--format", format];
        args.extend_from_slice(extra);
        let out = std::process::Command::new(BIN)
            .args(&args)
            .env_remove("POOL_MANAGEMENT_ENDPOINT")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let chat = def("chat", &[]);
    assert_eq!(chat["type"], "function");
    assert_eq!(chat["function"]["name"], "code_interpreter");
    assert_eq!(chat["function"]["parameters"]["required"][0], "python_code");
    let responses = def("responses", &["--name", "run_python"]);
    assert_eq!(responses["type"], "function");
    assert_eq!(responses["name"], "run_python");
    assert_eq!(responses["strict"], true);
    let anthropic = def("anthropic", &[]);
    assert_eq!(anthropic["input_schema"]["type"], "object");
    let gemini = def("gemini", &[]);
    assert_eq!(
        gemini["functionDeclarations"][0]["name"],
        "code_interpreter"
    );
    assert!(gemini["functionDeclarations"][0]["parametersJsonSchema"].is_object());
    let mcp = def("mcp", &[]);
    assert!(mcp["inputSchema"].is_object());

    // The format may be the argument instead of --format.
    let positional = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("tool-definition")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(
        positional(&["responses", "--name", "run_python"]),
        responses
    );
    assert_eq!(positional(&["gemini"]), gemini);

    let out = std::process::Command::new(BIN)
        .args(["tool-definition", "--format", "chat", "--name", "bad.name"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: invalid tool name"));
}

async fn handle(ep: &str, format: &str, fixture: &str) -> Value {
    let o = run(
        ep,
        &format!("handle-{format}"),
        &["handle", "--format", format],
        Some(fixture.as_bytes()),
    )
    .await;
    ok(&o);
    json(&o)
}

/// All the text in a JSON value, to find the program's output wherever the format puts it.
fn all_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(all_text).collect::<Vec<_>>().join(" "),
        Value::Object(o) => o.values().map(all_text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn handle_answers_a_recorded_turn_in_every_format() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    let chat = handle(ep, "chat", include_str!("fixtures/chat.json")).await;
    let messages = chat.as_array().expect("a list of messages");
    let tool = messages
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool message");
    assert_eq!(tool["tool_call_id"], "call_chat_1");
    assert!(all_text(tool).contains("42"), "{tool}");

    let responses = handle(ep, "responses", include_str!("fixtures/responses.json")).await;
    let items = responses.as_array().expect("a list of items");
    let output = items
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .expect("a function_call_output");
    assert_eq!(output["call_id"], "call_resp_1");
    assert!(all_text(output).contains("42"), "{output}");

    let anthropic = handle(ep, "anthropic", include_str!("fixtures/anthropic.json")).await;
    let user = match &anthropic {
        Value::Array(msgs) => msgs
            .iter()
            .find(|m| m["role"] == "user")
            .cloned()
            .expect("a user message"),
        other => other.clone(),
    };
    assert_eq!(user["role"], "user");
    assert_eq!(user["content"][0]["type"], "tool_result");
    assert_eq!(user["content"][0]["tool_use_id"], "toolu_fixture_1");
    assert!(all_text(&user).contains("42"), "{user}");

    let gemini = handle(ep, "gemini", include_str!("fixtures/gemini.json")).await;
    let content = match &gemini {
        Value::Array(items) => items
            .iter()
            .find(|m| m["role"] == "user")
            .cloned()
            .expect("a user content"),
        other => other.clone(),
    };
    assert_eq!(content["role"], "user");
    let response = &content["parts"][0]["functionResponse"];
    assert_eq!(response["name"], "code_interpreter");
    assert_eq!(response["id"], "gem_call_1");
    assert!(all_text(response).contains("42"), "{response}");

    let o = run(
        ep,
        "handle-bad",
        &["handle", "--format", "chat"],
        Some(b"not json"),
    )
    .await;
    // Not the named format: exit 5 (see tests/handle.rs for the other outcomes).
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_its_endpoint_first_then_answers() {
    let mut cmd = dynsess(&["serve", "--port", "0", "--prewarm", "1"]);
    cmd.env("SESSIONS_EMULATOR_PYTHON", python());
    let mut child = cmd.spawn().expect("spawn dynsess serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the endpoint within a minute")
        .unwrap()
        .expect("a first line");
    assert!(
        first.starts_with("http://127.0.0.1:") && first.ends_with('/'),
        "{first}"
    );

    let o = run(&first, "served", &["exec", "print(7 * 6)"], None).await;
    ok(&o);
    assert_eq!(self::stdout(&o), "42\n");

    // SIGTERM shuts it down gracefully.
    let pid = child.id().expect("a running child").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_line_with_exit_code_1_and_usage_errors_exit_2() {
    // Nothing listens on port 1.
    let o = run("http://127.0.0.1:1/", "err-1", &["exec", "1"], None).await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: ") && err.contains("connect"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let o = run("http://example.com/", "err-1", &["exec", "1"], None).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: ") && stderr(&o).contains("https"),
        "{}",
        stderr(&o)
    );

    let o = run_with(dynsess(&["exec", "1"]), None).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: no pool endpoint"),
        "{}",
        stderr(&o)
    );

    let o = run(
        "http://127.0.0.1:1/",
        "err-1",
        &["--api-version", "1999-01-01", "exec", "1"],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("api-version"), "{}", stderr(&o));

    let o = run(
        "http://127.0.0.1:1/",
        "bad id with spaces",
        &["exec", "1"],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));

    for usage in [
        &["exec", "--timeout", "soon"][..],
        &["frobnicate"],
        &["tool-definition", "--format", "xml"],
        &["tool-definition", "xml"],
        &["tool-definition"],
        &["tool-definition", "chat", "--format", "chat"],
    ] {
        let o = run_with(dynsess(usage), None).await;
        assert_eq!(o.status.code(), Some(2), "{usage:?}: {}", stderr(&o));
    }
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["exec"],
        &["shell"],
        &["upload"],
        &["download"],
        &["ls"],
        &["rm"],
        &["session"],
        &["session", "show"],
        &["session", "delete"],
        &["sessions"],
        &["metadata"],
        &["serve"],
        &["tool-definition"],
        &["handle"],
    ];
    for cmd in commands {
        let out = std::process::Command::new(BIN)
            .args(*cmd)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd:?} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: dynsess"),
            "{cmd:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_legacy_api_family_works_through_the_same_commands() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();
    fn legacy<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--api-version", "2024-02-02-preview"];
        all.extend_from_slice(args);
        all
    }
    let o = run(
        ep,
        "legacy-1",
        &legacy(&["exec", "print('old'); 40 + 2"]),
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "old\n42\n");

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("old.txt");
    std::fs::write(&local, "legacy bytes\n").unwrap();
    ok(&run(
        ep,
        "legacy-1",
        &legacy(&["upload", local.to_str().unwrap()]),
        None,
    )
    .await);
    let o = run(ep, "legacy-1", &legacy(&["ls"]), None).await;
    ok(&o);
    assert!(stdout(&o).contains("old.txt"), "{}", stdout(&o));
    let o = run(
        ep,
        "legacy-1",
        &legacy(&["download", "old.txt", "-o", "-"]),
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "legacy bytes\n");

    // Deleting a file has no legacy route: refused before anything is sent.
    let o = run(ep, "legacy-1", &legacy(&["rm", "old.txt"]), None).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: ") && stderr(&o).contains("api-version"),
        "{}",
        stderr(&o)
    );
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_a_public_host_before_saying_it_serves() {
    // Bound in time: a refused serve exits at once; a wrongly accepted one is killed when the
    // timed-out wait drops its child (`kill_on_drop`).
    let mut cmd = dynsess(&["serve", "--host", "0.0.0.0", "--port", "0"]);
    cmd.env("SESSIONS_EMULATOR_PYTHON", python());
    let child = cmd.spawn().expect("spawn dynsess serve");
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("dynsess serve --host 0.0.0.0 kept running")
        .expect("dynsess serve output");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("serving"), "{err}");
    assert!(err.contains("allow-non-loopback"), "{err}");
    assert!(out.stdout.is_empty());
}
