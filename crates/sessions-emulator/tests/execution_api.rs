//! Executions through both families (needs the runtime and a python3).

mod common;

use common::*;
use serde_json::json;

fn redact_exec(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if v.get("id").is_some() {
        v["id"] = json!("[id]");
    }
    if v["result"].get("executionTimeInMilliseconds").is_some() {
        v["result"]["executionTimeInMilliseconds"] = json!("[ms]");
    }
    if v["properties"].get("executionTimeInMilliseconds").is_some() {
        v["properties"]["executionTimeInMilliseconds"] = json!("[ms]");
    }
    v
}

#[tokio::test]
async fn current_execution_shape_headers_and_state() {
    let emu = start(builder()).await;
    let url = format!("executions?api-version={V_CURRENT}&identifier=exec-current");
    let r = emu
        .post_json(&url, &json!({"codeInputType":"Inline","executionType":"Synchronous","code":"print(7*9)\nx = 41\nx + 1","timeoutInSeconds":60}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("current_execute", redact_exec(&r.json()));
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("operation-id"), Some(id.as_str()));
    assert!(
        r.header("operation-location")
            .unwrap()
            .starts_with(&format!("{}executions/{id}?", emu.handle.endpoint()))
    );
    for h in [
        "x-ms-session-guid",
        "x-ms-execution-request-time",
        "x-ms-container-execution-duration",
        "x-ms-overall-execution-time",
        "x-ms-allocation-time",
    ] {
        assert!(r.header(h).is_some(), "missing {h}");
    }
    assert_eq!(r.header("x-ms-new-allocation"), Some("true"));

    // state persists; lowercase enums accepted; the caller's operation-id is honoured
    let r = emu
        .send(
            http::Method::POST,
            &url,
            &[
                ("content-type", "application/json"),
                ("operation-id", "my-op-1"),
            ],
            serde_json::to_vec(
                &json!({"codeInputType":"inline","executionType":"synchronous","code":"x"}),
            )
            .unwrap(),
        )
        .await;
    assert_eq!(r.json()["result"]["executionResult"], 41);
    assert_eq!(r.json()["id"], "my-op-1");
    assert_eq!(r.header("x-ms-new-allocation"), Some("false"));
    let r = emu
        .get(&format!(
            "executions/my-op-1?api-version={V_CURRENT}&identifier=exec-current"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "Succeeded");
    emu.get(&format!(
        "executions/unknown?api-version={V_CURRENT}&identifier=exec-current"
    ))
    .await
    .assert_error(404, "NotFound");

    // the properties envelope is accepted by default
    let r = emu
        .post_json(&url, &json!({"properties":{"code":"x * 2"}}))
        .await;
    assert_eq!(r.json()["result"]["executionResult"], 82);
    // files written by code are listed
    emu.exec("exec-current", "open('/mnt/data/out.txt','w').write('hi')")
        .await;
    let r = emu
        .get(&format!(
            "files/out.txt/content?api-version={V_CURRENT}&identifier=exec-current"
        ))
        .await;
    assert_eq!(r.text(), "hi");
    emu.stop().await;
}

#[tokio::test]
async fn code_errors_are_200_failed() {
    let emu = start(builder()).await;
    let j = emu.exec("exec-error", "{}['sales_amount']").await;
    assert_eq!(j["status"], "Failed");
    assert!(j["result"]["stderr"].as_str().unwrap().contains("KeyError"));
    let r = emu
        .post_json(
            &format!("code/execute?api-version={V_LEGACY}&identifier=exec-error"),
            &json!({"properties":{"codeInputType":"inline","executionType":"synchronous","code":"1/0"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["properties"]["status"], "Failure");
    insta::assert_json_snapshot!("legacy_execute_failure", {
        ".properties.stderr" => "[traceback]",
        ".properties.executionTimeInMilliseconds" => "[ms]",
    }, r.json());
    emu.stop().await;
}

#[tokio::test]
async fn legacy_execute_shape() {
    let emu = start(builder()).await;
    let r = emu
        .post_json(
            &format!("code/execute?api-version={V_LEGACY}&identifier=exec-legacy"),
            &json!({"properties":{"codeInputType":"inline","executionType":"synchronous","code":"print('hello world')\n1+1"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("legacy_execute", redact_exec(&r.json()));
    assert!(r.header("x-ms-session-guid").is_some());
    // LlamaIndex TS sends `pythonCode` and a doubled slash
    let r = emu
        .post_json(
            &format!("/code/execute?api-version={V_LEGACY}&identifier=exec-legacy"),
            &json!({"properties":{"identifier":"exec-legacy","pythonCode":"2+3"}}),
        )
        .await;
    assert_eq!(r.json()["properties"]["result"], 5);
    emu.stop().await;
}

#[tokio::test]
async fn timeout_kills_and_the_session_recovers() {
    let emu = start(builder()).await;
    let url = format!("executions?api-version={V_CURRENT}&identifier=exec-timeout");
    emu.exec("exec-timeout", "open('/mnt/data/kept.txt','w').write('k')")
        .await;
    let r = emu
        .post_json(
            &url,
            &json!({"code":"while True:\n    pass","timeoutInSeconds":1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "Failed");
    assert!(!r.json()["result"]["stderr"].as_str().unwrap().is_empty());
    // the session answers again and its files remain
    let j = emu
        .exec("exec-timeout", "open('/mnt/data/kept.txt').read()")
        .await;
    assert_eq!(j["status"], "Succeeded");
    assert_eq!(j["result"]["executionResult"], "k");
    emu.stop().await;
}

#[tokio::test]
async fn asynchronous_execution_is_202_then_polled() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_CURRENT}&identifier=exec-async");
    let r = emu
        .post_json(
            &format!("executions?{q}"),
            &json!({"executionType":"Asynchronous","code":"import time\ntime.sleep(0.2)\n6*7"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    insta::assert_json_snapshot!("current_execute_async_accepted", redact_exec(&r.json()));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        let r = emu.get(&format!("executions/{id}?{q}")).await;
        assert_eq!(r.status, 200);
        last = r.json();
        if last["status"] != "Running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last["status"], "Succeeded", "{last}");
    assert_eq!(last["result"]["executionResult"], 42);
    emu.stop().await;
}

#[tokio::test]
async fn output_streams_max_length_is_honoured() {
    let emu = start(builder()).await;
    let r = emu
        .post_json(
            &format!("executions?api-version={V_CURRENT}&identifier=exec-trunc"),
            &json!({"code":"print('x'*10000)","outputStreamsMaxLength":100}),
        )
        .await;
    assert!(r.json()["result"]["stdout"].as_str().unwrap().len() <= 101);
    emu.stop().await;
}

#[tokio::test]
async fn eight_sessions_in_parallel() {
    let emu = std::sync::Arc::new(start(builder().prewarm(2)).await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let emu = emu.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("par-{i}");
            emu.exec(&id, &format!("v = {i}")).await;
            let j = emu.exec(&id, "v * 10").await;
            assert_eq!(j["result"]["executionResult"], i * 10);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn shell_pool() {
    let emu = start(builder().pool_type(sessions_emulator::PoolType::Shell)).await;
    let url = format!("executions?api-version={V_2502}&identifier=shell-1");
    let r = emu
        .post_json(
            &url,
            &json!({"shellCommand":"read a; echo first_input:$a; exit 3","stdin":"testinput\n"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("shell_execute", redact_exec(&r.json()));
    assert_eq!(r.json()["status"], "3");
    emu.post_json(&url, &json!({"codeInputType":"Inline","code":"print(1)"}))
        .await
        .assert_error(400, "SessionPropertiesMissing");
    emu.post_json(
        &format!("code/execute?api-version={V_LEGACY}&identifier=shell-1"),
        &json!({"properties":{"code":"1"}}),
    )
    .await
    .assert_error(400, "SessionRequestNotSupported");
    // files written by the shell are visible
    emu.post_json(&url, &json!({"shellCommand":"echo hi > /mnt/data/s.txt"}))
        .await;
    let r = emu
        .get(&format!(
            "files/s.txt/content?api-version={V_2502}&identifier=shell-1"
        ))
        .await;
    assert_eq!(r.text(), "hi\n");
    emu.stop().await;
}
