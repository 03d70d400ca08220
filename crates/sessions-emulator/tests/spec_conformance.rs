//! The pool held against the service's OpenAPI definitions (2025-10-02-preview): identifiers,
//! absolute links, the caller's `operation-id`, both Jupyter flag names, the shell body and
//! `jupyterKernel` on every pool type.

mod common;

use common::*;
use serde_json::{Value, json};

/// The identifier table the client's validation is tested against too.
const IDENTIFIERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sessions-core/tests/data/session_identifiers.json"
);

/// Percent-escape a query value (everything but the unreserved set).
fn q(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn identifiers_follow_the_shared_table() {
    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(IDENTIFIERS).unwrap()).unwrap();
    let emu = start(builder().prewarm(0)).await;
    // `.management/getSession` validates without allocating: a valid unknown identifier is
    // "not found", an invalid one a validation failure.
    for id in table["valid"].as_array().unwrap() {
        let id = id.as_str().unwrap();
        emu.post_empty(&format!(
            ".management/getSession?api-version={V_CURRENT}&identifier={}",
            q(id)
        ))
        .await
        .assert_error(400, "SessionWithIdentifierNotFound");
    }
    for case in table["invalid"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let r = emu
            .post_empty(&format!(
                ".management/getSession?api-version={V_CURRENT}&identifier={}",
                q(id)
            ))
            .await;
        assert_eq!(r.status, 400, "{} ({})", id, case["why"]);
        r.assert_error(400, "SessionRequestValidationFailed");
    }
    emu.stop().await;
}

#[tokio::test]
async fn identifiers_never_name_host_paths() {
    let data = tempfile::tempdir().unwrap();
    let emu = start(builder().data_dir(data.path())).await;
    let ids = [
        "../../escape",
        "user@contoso.com",
        "path/like/id",
        "quote\"s'",
    ];
    for (i, id) in ids.iter().enumerate() {
        let qs = format!("api-version={V_CURRENT}&identifier={}", q(id));
        let r = emu
            .upload(&format!("files?{qs}"), "own.txt", format!("{i}").as_bytes())
            .await;
        assert_eq!(r.status, 200, "{id}: {}", r.text());
        let j = emu
            .post_json(
                &format!("executions?{qs}"),
                &json!({"code": "open('/mnt/data/own.txt').read()", "timeoutInSeconds": 30}),
            )
            .await
            .json();
        assert_eq!(j["identifier"], *id);
        assert_eq!(j["result"]["executionResult"], i.to_string(), "{id}: {j}");
    }
    // Nothing was created outside the data directory or named after an identifier.
    assert!(!data.path().parent().unwrap().join("escape").exists());
    for bad in ["escape", "contoso", "like"] {
        assert!(
            find_file_or_dir(data.path(), bad).is_none(),
            "a host path is named after an identifier: {bad}"
        );
    }
    emu.stop().await;
}

/// A path below `root` whose name contains `part` (bounded depth).
fn find_file_or_dir(root: &std::path::Path, part: &str) -> Option<std::path::PathBuf> {
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().contains(part) {
                return Some(p);
            }
            if depth < 12 && e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((p, depth + 1));
            }
        }
    }
    None
}

#[tokio::test]
async fn operation_location_is_absolute_and_the_callers_id_is_kept() {
    let emu = start(builder()).await;
    let base = "subscriptions/s/resourceGroups/g/sessionPools/p/";
    let id = "op 1/ü?#%&=+";
    let r = emu
        .send(
            http::Method::POST,
            &format!("{base}executions?api-version={V_CURRENT}&identifier=user%40contoso.com"),
            &[("content-type", "application/json"), ("operation-id", id)],
            serde_json::to_vec(&json!({"code": "6 * 7", "timeoutInSeconds": 30})).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], id);
    assert_eq!(
        r.headers.get("operation-id").unwrap().as_bytes(),
        id.as_bytes()
    );
    let location = r.header("operation-location").unwrap().to_string();
    let expected = format!(
        "{}{base}executions/op%201%2F%C3%BC%3F%23%25%26%3D%2B?api-version={V_CURRENT}&identifier=user%40contoso.com",
        emu.handle.endpoint()
    );
    assert_eq!(location, expected);
    // Polling by the location (an absolute URL) finds the execution.
    let rel = location.strip_prefix(emu.handle.endpoint()).unwrap();
    let r = emu.get(rel).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], id);
    assert_eq!(r.json()["result"]["executionResult"], 42);

    // An asynchronous run is polled by the caller's id until it finishes.
    let r = emu
        .send(
            http::Method::POST,
            &format!("executions?api-version={V_CURRENT}&identifier=async-odd"),
            &[
                ("content-type", "application/json"),
                ("operation-id", "a:b/c d"),
            ],
            serde_json::to_vec(
                &json!({"code": "1 + 1", "executionType": "Asynchronous", "timeoutInSeconds": 30}),
            )
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("operation-location").unwrap().to_string();
    assert!(location.starts_with(&format!(
        "{}executions/a%3Ab%2Fc%20d?",
        emu.handle.endpoint()
    )));
    let rel = location.strip_prefix(emu.handle.endpoint()).unwrap();
    let mut last = Value::Null;
    for _ in 0..300 {
        last = emu.get(rel).await.json();
        if last["status"] != "Running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "Succeeded", "{last}");
    assert_eq!(last["id"], "a:b/c d");
    emu.stop().await;
}

#[tokio::test]
async fn both_jupyter_flag_names_are_honoured() {
    let emu = start(builder()).await;
    let url = format!("executions?api-version={V_CURRENT}&identifier=jupyter-flags");
    for (body, expected) in [
        (
            json!({"code": "'nan'", "timeoutInSeconds": 30}),
            json!("nan"),
        ),
        (
            json!({"code": "'nan'", "timeoutInSeconds": 30, "returnJupyterFormatExecutionResult": true}),
            json!("'nan'"),
        ),
        (
            json!({"code": "'nan'", "timeoutInSeconds": 30, "returnJupyterFormat": true}),
            json!("'nan'"),
        ),
        // The definitions' name wins over the examples'.
        (
            json!({"code": "'nan'", "timeoutInSeconds": 30, "returnJupyterFormatExecutionResult": false, "returnJupyterFormat": true}),
            json!("nan"),
        ),
    ] {
        let j = emu.post_json(&url, &body).await.json();
        assert_eq!(j["result"]["executionResult"], expected, "{body}: {j}");
    }
    emu.stop().await;
}

#[tokio::test]
async fn shell_pools_take_the_definitions_body_and_report_a_kernel() {
    let emu = start(builder().pool_type(sessions_emulator::PoolType::Shell)).await;
    // CodeExecution_Execute_ShellCommand.json
    let url = format!("executions?api-version={V_CURRENT}&identifier=shell-spec");
    let r = emu
        .post_json(
            &url,
            &json!({
                "codeInputType": "Inline",
                "executionType": "Synchronous",
                "shellCommand": "read first_input; echo \"first_input:$first_input\"",
                "stdin": "testinputlineline\n",
                "timeoutInSeconds": 60
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "0");
    assert_eq!(
        r.json()["result"]["stdout"],
        "first_input:testinputlineline\n"
    );
    // CodeExecution_Execute_ShellExecCommandAndArgs.json
    let r = emu
        .post_json(
            &url,
            &json!({"execCommandAndArgs": ["printf", "%s|", "a b", "it's"], "timeoutInSeconds": 60}),
        )
        .await;
    assert_eq!(r.json()["result"]["stdout"], "a b|it's|", "{}", r.text());
    // At 2025-02-02-preview the service refused `codeInputType` on shell pools.
    emu.post_json(
        &format!("executions?api-version={V_2502}&identifier=shell-spec"),
        &json!({"codeInputType": "Inline", "shellCommand": "true"}),
    )
    .await
    .assert_error(400, "SessionPropertiesMissing");
    // `code` is refused at every version.
    emu.post_json(
        &url,
        &json!({"codeInputType": "Inline", "code": "print(1)"}),
    )
    .await
    .assert_error(400, "SessionPropertiesMissing");

    let meta = emu
        .get(&format!("metadata?api-version={V_CURRENT}"))
        .await
        .json();
    let kernel = &meta["jupyterKernel"];
    for key in ["name", "version", "projectUrl", "description"] {
        assert!(kernel[key].is_string(), "jupyterKernel.{key} in {meta}");
    }
    assert_eq!(kernel["name"], "bash");
    assert!(!kernel["version"].as_str().unwrap().is_empty(), "{meta}");
    emu.stop().await;
}
