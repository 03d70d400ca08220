//! Attack suite, the server: oversized request bodies, and session code trying to outlive
//! or outnumber what the pool allows.

mod common;

use common::*;

#[tokio::test]
async fn attack_json_bodies_are_capped() {
    let mut config = builder().config_ref().clone();
    config.max_json_body_bytes = 64 * 1024;
    let emu = start(builder().config(config)).await;
    let code = "x = '".to_string() + &"a".repeat(200 * 1024) + "'";
    for url in [
        format!("executions?api-version={V_CURRENT}&identifier=bigbody"),
        format!("code/execute?api-version={V_LEGACY}&identifier=bigbody"),
    ] {
        let body = serde_json::json!({"codeInputType":"Inline","executionType":"Synchronous","code":code,
            "properties":{"codeInputType":"Inline","executionType":"Synchronous","code":code}});
        let r = emu.post_json(&url, &body).await;
        assert_eq!(r.status, 413, "{url}: {}", r.text());
        assert!(r.text().contains("larger than the limit"), "{}", r.text());
    }
    // A normal body still runs.
    let ok = emu.exec("bigbody", "1 + 1").await;
    assert_eq!(ok["result"]["executionResult"], 2, "{ok}");
    emu.stop().await;
}

/// Host processes whose command line contains `marker`.
fn processes_with(marker: &str) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(marker)
        {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_deleted_session_stops_running_at_once() {
    let emu = std::sync::Arc::new(start(builder().max_sessions(1).prewarm(0)).await);
    let marker = format!("attack-marker-{}", std::process::id());
    let code = format!(
        "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'], \
         start_new_session=True)\ntime.sleep(200)"
    );
    let runner = {
        let emu = emu.clone();
        tokio::spawn(async move { emu.exec("long-runner", &code).await })
    };
    // Wait (bounded) until the detached child runs.
    for _ in 0..200 {
        if processes_with(&marker) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(processes_with(&marker) > 0, "the child never started");
    let r = emu
        .delete(&format!(
            "session?api-version={V_2502}&identifier=long-runner"
        ))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(processes_with(&marker), 0, "session code outlived DELETE");
    // The run answers at once, and the slot is free for another session.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), runner)
        .await
        .expect("the run answered")
        .unwrap();
    assert_eq!(answer["status"], "Failed", "{answer}");
    let r = emu.exec("next-one", "1").await;
    assert_eq!(r["status"], "Succeeded", "{r}");
    std::sync::Arc::try_unwrap(emu).ok().unwrap().stop().await;
}

#[tokio::test]
async fn attack_uploads_stop_at_the_disk_quota() {
    let mut config = builder().config_ref().clone();
    config.disk_quota_bytes = Some(1 << 20);
    let emu = start(builder().config(config)).await;
    let q = format!("api-version={V_CURRENT}&identifier=quota-up");
    let r = emu
        .upload(&format!("files?{q}"), "small.bin", &[1; 1000])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = emu
        .upload(&format!("files?{q}"), "big.bin", &vec![1; 2 << 20])
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("quota"), "{}", r.text());
    emu.stop().await;
}

#[tokio::test]
async fn output_streams_default_to_the_services_4096_characters() {
    let emu = start(builder()).await;
    let r = emu.exec("streams-cap", "print('x' * 10000)").await;
    let out = r["result"]["stdout"].as_str().unwrap();
    assert_eq!(out.chars().count(), 4096, "{}", out.len());
    let legacy = emu
        .post_json(
            &format!("executions?api-version={V_2502}&identifier=streams-cap"),
            &serde_json::json!({"codeInputType":"Inline","executionType":"Synchronous","code":"print('x' * 10000)"}),
        )
        .await;
    let long = legacy.json()["result"]["stdout"].as_str().unwrap().len();
    assert!(long > 4096, "earlier versions keep the long output: {long}");
    emu.stop().await;
}
