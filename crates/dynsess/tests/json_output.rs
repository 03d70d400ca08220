//! `--json`: the documented schema and units, errors as JSON on stderr, and `--save-images`.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sessions_emulator::PoolType;
use support::*;

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The one JSON error object on stderr, with nothing on stdout.
#[track_caller]
fn json_error(o: &std::process::Output) -> Value {
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let v: Value = serde_json::from_str(&err).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert!(v["error"]["code"].is_string(), "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    v
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn outputs_have_the_documented_fields_and_units() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    let o = run(
        ep,
        "schema-1",
        &["--json", "exec", "import time; time.sleep(0.05); 6 * 7"],
        None,
    )
    .await;
    ok(&o);
    let run_json = json(&o);
    assert_eq!(
        keys(&run_json),
        [
            "execution_time",
            "id",
            "identifier",
            "result",
            "status",
            "stderr",
            "stdout",
            "timings"
        ]
    );
    assert_eq!(run_json["result"], 42);
    let ms = run_json["execution_time"]
        .as_u64()
        .expect("whole milliseconds");
    assert!((50..60_000).contains(&ms), "execution_time is in ms: {ms}");

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("sales.csv");
    std::fs::write(&local, "month,amount\n2026-01,120\n").unwrap();
    let before = now_ms();
    let o = run(
        ep,
        "schema-1",
        &["--json", "upload", local.to_str().unwrap()],
        None,
    )
    .await;
    ok(&o);
    let file = json(&o);
    let file_keys = [
        "content_type",
        "directory",
        "kind",
        "last_modified",
        "name",
        "size",
    ];
    assert_eq!(keys(&file), file_keys);
    let o = run(ep, "schema-1", &["--json", "ls"], None).await;
    ok(&o);
    let listed = json(&o);
    let entry = &listed.as_array().expect("an array")[0];
    assert_eq!(keys(entry), file_keys);
    assert_eq!(entry["kind"], "file");
    assert_eq!(entry["size"], 25);
    let modified = entry["last_modified"].as_u64().expect("an integer");
    // Milliseconds since the epoch: within a minute of the upload (seconds would be 1000x off).
    assert!(
        modified.abs_diff(before) < 60_000,
        "last_modified {modified} vs now {before}"
    );

    let o = run(ep, "schema-1", &["--json", "session"], None).await;
    ok(&o);
    assert_eq!(
        keys(&json(&o)),
        [
            "created_at",
            "etag",
            "expires_at",
            "identifier",
            "last_accessed_at"
        ]
    );
    let out = dir.path().join("copy.csv");
    let o = run(
        ep,
        "schema-1",
        &[
            "--json",
            "download",
            "sales.csv",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    )
    .await;
    ok(&o);
    assert_eq!(keys(&json(&o)), ["bytes", "name", "path"]);
    assert_eq!(json(&o)["bytes"], 25);
    let o = run(ep, "schema-1", &["--json", "rm", "sales.csv"], None).await;
    ok(&o);
    assert_eq!(json(&o), serde_json::json!({"deleted": "sales.csv"}));
    let o = run(ep, "schema-1", &["--json", "session", "delete"], None).await;
    ok(&o);
    assert_eq!(json(&o), serde_json::json!({"deleted": "schema-1"}));
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_json_object_on_stderr_under_json() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    // A service error keeps its status, code, request id and hint.
    let o = run(ep, "json-err", &["--json", "download", "nope.txt"], None).await;
    assert_eq!(o.status.code(), Some(1));
    let e = json_error(&o)["error"].clone();
    assert_eq!(e["code"], "api");
    assert_eq!(e["status"], 404);
    assert!(e["request_id"].is_string(), "{e}");
    assert!(e["hint"].as_str().unwrap().contains("file name"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("nope.txt"), "{e}");

    // The same failure in text mode: one line starting with `error: `, the same message.
    let o = run(ep, "json-err", &["download", "nope.txt"], None).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: the service answered 404"),
        "{}",
        stderr(&o)
    );

    let o = run(
        "http://127.0.0.1:1/",
        "json-err",
        &["--json", "exec", "1"],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_error(&o)["error"]["code"], "connect");

    let o = run_with(dynsess(&["--json", "ls"]), None).await;
    assert_eq!(o.status.code(), Some(1));
    let e = json_error(&o)["error"].clone();
    assert_eq!(e["code"], "invalid_input");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("no pool endpoint"),
        "{e}"
    );

    let o = run(
        ep,
        "json-err",
        &["--json", "upload", "/nonexistent/file.csv"],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_error(&o)["error"]["code"], "io");

    // Usage errors too, wherever --json is, with exit code 2; help still prints as text.
    for usage in [
        &["--json", "frobnicate"][..],
        &["exec", "--timeout", "soon", "--json"],
    ] {
        let o = run_with(dynsess(usage), None).await;
        assert_eq!(o.status.code(), Some(2), "{usage:?}");
        assert_eq!(json_error(&o)["error"]["code"], "usage", "{usage:?}");
    }
    let o = run_with(dynsess(&["--json", "--help"]), None).await;
    ok(&o);
    assert!(stdout(&o).contains("Usage: dynsess"));
    // `--json` as a value, not the flag, does not switch usage errors to JSON.
    let o = run_with(
        dynsess(&["exec", "--timeout", "soon", "--", "--json"]),
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error:"), "{}", stderr(&o));

    // A new session is announced on stderr as JSON too.
    let o = run_with(dynsess(&["--json", "--endpoint", ep, "exec", "1"]), None).await;
    ok(&o);
    let notice: Value = serde_json::from_str(&stderr(&o)).expect("one JSON line");
    assert_eq!(notice["session"]["new"], true);
    assert_eq!(notice["session"]["identifier"], json(&o)["identifier"]);

    // A failed run is not an error: the execution on stdout, exit 1, nothing on stderr.
    let o = run(ep, "json-err", &["--json", "exec", "1/0"], None).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["status"], "Failed");
    assert_eq!(stderr(&o), "");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_save_images_writes_each_image_without_overwriting() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("plots");
    let plot = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])";

    let o = run(
        ep,
        "images",
        &["exec", "--save-images", plots.to_str().unwrap(), plot],
        None,
    )
    .await;
    ok(&o);
    let first = plots.join("image-1.png");
    assert!(
        stderr(&o).contains(&format!("saved {}\n", first.display())),
        "{}",
        stderr(&o)
    );
    let png = std::fs::read(&first).expect("image-1.png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    let o = run(
        ep,
        "images",
        &[
            "--json",
            "exec",
            "--save-images",
            plots.to_str().unwrap(),
            plot,
        ],
        None,
    )
    .await;
    ok(&o);
    let v = json(&o);
    let second = plots.join("image-2.png").display().to_string();
    assert_eq!(v["saved_images"], serde_json::json!([second]));
    assert_eq!(v["result"]["format"], "png");
    assert_eq!(std::fs::read(&first).unwrap(), png, "image-1.png untouched");

    // A run without an image says so, and writes nothing.
    let empty = dir.path().join("none");
    let o = run(
        ep,
        "images",
        &[
            "exec",
            "--save-images",
            empty.to_str().unwrap(),
            "plt.close('all')\n1",
        ],
        None,
    )
    .await;
    ok(&o);
    assert_eq!(stdout(&o), "1\n");
    assert!(stderr(&o).contains("no image"), "{}", stderr(&o));
    assert!(!empty.exists());

    // A DIR that is a file is refused before the code runs.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = run(
        ep,
        "images",
        &[
            "exec",
            "--save-images",
            file.to_str().unwrap(),
            "ran = True",
        ],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
    let o = run(ep, "images", &["exec", "'ran' in globals()"], None).await;
    assert_eq!(stdout(&o), "false\n", "the code did not run");

    // Without --save-images, the text mode points at it.
    let o = run(ep, "images", &["exec", plot], None).await;
    ok(&o);
    assert!(stderr(&o).contains("--save-images DIR"), "{}", stderr(&o));
    pool.shutdown().await;
}
