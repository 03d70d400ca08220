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
