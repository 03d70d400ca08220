//! Validation, malformed input and routing errors (no code execution needed).

mod common;

use common::*;

#[tokio::test]
async fn api_version_and_identifier_validation() {
    let emu = start(builder()).await;

    let r = emu.get("files?identifier=abcd").await;
    r.assert_error(400, "SessionRequestValidationFailed");
    insta::assert_json_snapshot!("error_missing_api_version", r.json());

    emu.get("files?api-version=2023-01-01&identifier=abcd")
        .await
        .assert_error(400, "SessionRequestValidationFailed");

    let r = emu.get(&format!("files?api-version={V_CURRENT}")).await;
    r.assert_error(400, "SessionRequestValidationFailed");
    assert!(r.text().contains("identifier"));

    for bad in ["abc", "has%20space", "back%5Cslash", "%C3%BCn%C3%AFcode"] {
        emu.get(&format!("files?api-version={V_CURRENT}&identifier={bad}"))
            .await
            .assert_error(400, "SessionRequestValidationFailed");
    }
    let long = "a".repeat(129);
    emu.get(&format!("files?api-version={V_CURRENT}&identifier={long}"))
        .await
        .assert_error(400, "SessionRequestValidationFailed");

    let r = emu
        .post_json(
            &format!("executions?api-version={V_CURRENT}"),
            &serde_json::json!({"code": "1"}),
        )
        .await;
    r.assert_error(400, "SessionRequestValidationFailed");

    emu.stop().await;
}

#[tokio::test]
async fn routes_not_available_at_a_version() {
    let emu = start(builder()).await;
    // session management needs 2025-02-02-preview or later
    emu.get(&format!("session?api-version={V_2410}&identifier=abcd"))
        .await
        .assert_error(400, "SessionRequestNotSupported");
    // legacy route at a current version and vice versa
    emu.post_json(
        &format!("code/execute?api-version={V_CURRENT}&identifier=abcd"),
        &serde_json::json!({"properties": {"code": "1"}}),
    )
    .await
    .assert_error(400, "SessionRequestNotSupported");
    emu.post_json(
        &format!("executions?api-version={V_LEGACY}&identifier=abcd"),
        &serde_json::json!({"code": "1"}),
    )
    .await
    .assert_error(400, "SessionRequestNotSupported");
    emu.get(&format!(
        "files/x.txt/content?api-version={V_LEGACY}&identifier=abcd"
    ))
    .await
    .assert_error(400, "SessionRequestNotSupported");
    // unknown path and method
    emu.get("nope?api-version=2025-10-02-preview")
        .await
        .assert_error(400, "SessionRequestNotSupported");
    emu.delete(&format!(
        "executions?api-version={V_CURRENT}&identifier=abcd"
    ))
    .await
    .assert_error(400, "SessionRequestNotSupported");
    emu.stop().await;
}

#[tokio::test]
async fn malformed_json_bodies() {
    let emu = start(builder()).await;
    let url = format!("executions?api-version={V_CURRENT}&identifier=json-test");
    let r = emu
        .post_raw(&url, "application/json", b"{\"code\": ".to_vec())
        .await;
    r.assert_error(400, "SessionRequestValidationFailed");
    assert!(r.text().contains("not valid JSON"), "{}", r.text());
    insta::assert_json_snapshot!("error_malformed_json", r.json());

    emu.post_raw(&url, "application/json", b"[1,2]".to_vec())
        .await
        .assert_error(400, "SessionRequestValidationFailed");
    emu.post_raw(&url, "application/json", Vec::new())
        .await
        .assert_error(400, "SessionRequestValidationFailed");
    emu.post_json(
        &url,
        &serde_json::json!({"code": "1", "codeInputType": "Bogus"}),
    )
    .await
    .assert_error(400, "SessionRequestValidationFailed");
    emu.post_json(
        &url,
        &serde_json::json!({"code": "1", "timeoutInSeconds": "soon"}),
    )
    .await
    .assert_error(400, "SessionRequestValidationFailed");
    emu.post_json(&url, &serde_json::json!({"codeInputType": "Inline"}))
        .await
        .assert_error(400, "SessionPropertiesMissing");
    emu.post_json(&url, &serde_json::json!({"shellCommand": "ls"}))
        .await
        .assert_error(400, "SessionPropertiesMissing");
    let legacy = format!("code/execute?api-version={V_LEGACY}&identifier=json-test");
    emu.post_raw(&legacy, "application/json", b"not json".to_vec())
        .await
        .assert_error(400, "SessionRequestValidationFailed");
    emu.stop().await;
}

#[tokio::test]
async fn strict_mode_rejects_the_properties_envelope() {
    let emu = start(builder().strict(true)).await;
    let r = emu
        .post_json(
            &format!("executions?api-version={V_CURRENT}&identifier=strict-1"),
            &serde_json::json!({"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": "1"}}),
        )
        .await;
    r.assert_error(400, "SessionPropertiesMissing");
    insta::assert_json_snapshot!("error_properties_missing", r.json());
    emu.stop().await;
}

#[tokio::test]
async fn malformed_multipart() {
    let emu = start(builder()).await;
    let url = format!("files?api-version={V_CURRENT}&identifier=multipart-1");
    // not multipart at all
    let r = emu.post_raw(&url, "application/json", b"{}".to_vec()).await;
    r.assert_error(400, "SessionRequestValidationFailed");
    // truncated multipart
    let (ct, mut body) = multipart("a.txt", b"hello");
    body.truncate(body.len() - 20);
    emu.post_raw(&url, &ct, body)
        .await
        .assert_error(400, "SessionRequestValidationFailed");
    // no part named `file`
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"other\"; filename=\"a.txt\"\r\n\r\nhi\r\n--{boundary}--\r\n"
    );
    let r = emu
        .post_raw(
            &url,
            &format!("multipart/form-data; boundary={boundary}"),
            body.into_bytes(),
        )
        .await;
    r.assert_error(400, "SessionRequestValidationFailed");
    assert!(r.text().contains("'file'"), "{}", r.text());
    // legacy route too
    emu.post_raw(
        &format!("files/upload?api-version={V_LEGACY}&identifier=multipart-1"),
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .assert_error(400, "SessionRequestValidationFailed");
    emu.stop().await;
}

#[tokio::test]
async fn get_session_never_allocates() {
    let emu = start(builder()).await;
    let r = emu
        .post_empty(&format!(
            ".management/getSession?api-version={V_LEGACY}&identifier=ghost-1"
        ))
        .await;
    r.assert_error(400, "SessionWithIdentifierNotFound");
    insta::assert_json_snapshot!("error_session_not_found", r.json());
    let list = emu
        .post_empty(&format!(".management/listSessions?api-version={V_LEGACY}"))
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["count"], 0);
    assert_eq!(list.json()["value"], serde_json::json!([]));
    emu.stop().await;
}

#[tokio::test]
async fn non_loopback_is_refused_without_the_flag() {
    let err = builder()
        .host("0.0.0.0")
        .start()
        .await
        .expect_err("must refuse 0.0.0.0");
    assert!(err.to_string().contains("non-loopback"), "{err}");
}
