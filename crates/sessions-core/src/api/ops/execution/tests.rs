//! Recorded execution bodies of both families (shapes from the protocol reference).

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::*;
use crate::error::Error;

#[test]
fn timing_headers_are_trimmed_first_value_and_empty_is_absent() {
    let mut h = HeaderMap::new();
    h.insert("x-ms-session-guid", HeaderValue::from_static("  pod-1  "));
    h.append("x-ms-allocation-time", HeaderValue::from_static("1.5"));
    h.append("x-ms-allocation-time", HeaderValue::from_static("9.9"));
    h.insert("x-ms-new-allocation", HeaderValue::from_static("   "));
    h.insert("x-ms-unrelated", HeaderValue::from_static("x"));
    let t = timings(&h);
    assert_eq!(t.session_guid.as_deref(), Some("pod-1"));
    assert_eq!(t.allocation_time.as_deref(), Some("1.5"));
    assert_eq!(t.new_allocation, None);
    assert_eq!(t.execution_request_time, None);
}

#[test]
fn huge_execution_time_does_not_panic() {
    let body = br#"{"status":"Succeeded","result":{"executionTimeInMilliseconds":1e300}}"#;
    let e = decode(
        ApiFamily::Current,
        StatusCode::OK,
        &HeaderMap::new(),
        body,
        "abcd",
    )
    .unwrap();
    assert_eq!(e.execution_time, None);
}

const SID: &str = "session-1";

fn exec(family: ApiFamily, body: &str) -> Execution {
    decode(
        family,
        StatusCode::OK,
        &HeaderMap::new(),
        body.as_bytes(),
        SID,
    )
    .expect("decodes")
}

#[test]
fn legacy_execution_with_dollar_ids() {
    let e = exec(
        ApiFamily::Legacy,
        r#"{ "$id": "1",
  "properties": { "$id": "2", "status": "Success", "stdout": "hello world\n", "stderr": "",
                  "result": 2, "executionTimeInMilliseconds": 33 } }"#,
    );
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert!(e.succeeded());
    assert_eq!(e.stdout, "hello world\n");
    assert_eq!(e.result, ExecutionResult::Value(json!(2)));
    assert!(
        e.result.as_value().unwrap().is_u64(),
        "numbers stay numbers"
    );
    assert_eq!(e.execution_time, Some(Duration::from_millis(33)));
    assert_eq!(e.identifier, SID);
    assert_eq!(e.id, "");
}

#[test]
fn legacy_failure_image_and_node_variants() {
    let e = exec(
        ApiFamily::Legacy,
        r#"{"$id":"1","properties":{"$id":"2","status":"Failure","stdout":"","stderr":"Traceback...\nKeyError: 'x'","result":"","executionTimeInMilliseconds":5}}"#,
    );
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert!(!e.succeeded());
    assert!(e.stderr.contains("KeyError"));
    assert_eq!(e.result, ExecutionResult::Value(json!("")));

    let e = exec(
        ApiFamily::Legacy,
        r#"{"$id":"1","properties":{"$id":"2","status":"Success","stdout":"","stderr":"","result":{"type":"image","format":"png","base64_data":"iVBORw0KGgo="},"executionTimeInMilliseconds":120}}"#,
    );
    let image = e.image().expect("an image result");
    assert_eq!(image.format, "png");
    assert_eq!(image.base64_data, "iVBORw0KGgo=");
    assert_eq!(image.media_type(), "image/png");

    assert_eq!(e.images, vec![image.clone()]);
    assert_eq!(&image.bytes().unwrap()[..4], b"\x89PNG");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("plot.{}", image.extension()));
    image.save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), image.bytes().unwrap());

    // Several figures of one run: all kept, the last is the result.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"i","status":"Succeeded","result":{"stdout":"","stderr":"","executionResult":[{"type":"image","format":"png","base64_data":"iVBORw0KGgo="},{"type":"image","format":"jpeg","base64_data":"/9j/4AAQ"}]}}"#,
    );
    assert_eq!(e.images.len(), 2);
    assert_eq!(e.images[0].format, "png");
    assert_eq!(e.image().unwrap().format, "jpeg");
    assert_eq!(e.images[1].extension(), "jpg");
    assert_eq!(e.images[1].bytes().unwrap()[..2], [0xFF, 0xD8]);
    // A list that is not all images is a plain value.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"i","status":"Succeeded","result":{"stdout":"","stderr":"","executionResult":[{"type":"image","format":"png","base64_data":"iVBO"},1]}}"#,
    );
    assert!(e.images.is_empty() && e.image().is_none());
    // Bad base64 is an error that says so, never a panic.
    let bad = Image {
        format: "png".into(),
        base64_data: "not base64!".into(),
    };
    assert!(
        bad.bytes()
            .unwrap_err()
            .to_string()
            .contains("not valid base64")
    );
    assert!(bad.save(dir.path().join("bad.png")).is_err());

    // Node tutorial: executionResult instead of result, no $id.
    let e = exec(
        ApiFamily::Legacy,
        r#"{"properties":{"status":"Success","stdout":"hi\n","stderr":"","executionResult":"3","executionTimeInMilliseconds":4}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(json!("3")));

    // The pre-versioned flat shape.
    let e = exec(
        ApiFamily::Legacy,
        r#"{"$id":"1","status":"Success","stdout":"x","stderr":"","result":null,"executionTimeInMilliseconds":1}"#,
    );
    assert_eq!(e.stdout, "x");
    assert_eq!(e.result, ExecutionResult::Value(serde_json::Value::Null));
}

#[test]
fn current_execution_spec_example() {
    let e = exec(
        ApiFamily::Current,
        r#"{
  "id": "testExecutionId",
  "identifier": "testSessionIdentifier",
  "executionType": "Synchronous",
  "status": "Succeeded",
  "result": { "stdout": "63\n", "stderr": "", "executionResult": "", "executionTimeInMilliseconds": 4 }
}"#,
    );
    assert_eq!(e.id, "testExecutionId");
    assert_eq!(e.identifier, "testSessionIdentifier");
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.stdout, "63\n");
    assert_eq!(e.execution_time, Some(Duration::from_millis(4)));
}

#[test]
fn current_execution_with_dollar_ids_raw_result_and_numbers() {
    // SK's 2024-10-02 fixture carries $id at both levels; the BYOC container adds rawResult/sessionId.
    let e = exec(
        ApiFamily::Current,
        r#"{"$id":"1","id":"e1","identifier":"s","sessionId":"x","executionType":"Synchronous","status":"Succeeded",
            "result":{"$id":"2","stdout":"","stderr":"","executionResult":42,"executionTimeInMilliseconds":7},
            "rawResult":{"hresult":0,"result":"42","error_name":"","diagnosticInfo":{"a":1}}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(json!(42)));
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"e2","status":"succeeded","result":{"stdout":"","stderr":"","executionResult":3.5,"executionTimeInMilliseconds":1.5}}"#,
    );
    assert_eq!(
        e.status,
        ExecutionStatus::Succeeded,
        "status is case-insensitive"
    );
    assert_eq!(e.result, ExecutionResult::Value(json!(3.5)));
    assert_eq!(e.execution_time, Some(Duration::from_micros(1500)));
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"e3","status":"Succeeded","result":{"stdout":"","stderr":"","executionResult":{"a":[1,null]},"executionTimeInMilliseconds":null}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(json!({"a": [1, null]})));
    assert_eq!(e.execution_time, None, "null until the run finishes");
}

#[test]
fn nan_results_become_null() {
    // 2025-10-02 spec example: float('nan') is returned as null.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"n","status":"Succeeded","result":{"stdout":"","stderr":"","executionResult":null,"executionTimeInMilliseconds":2}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(serde_json::Value::Null));
    // A bare NaN token (Python json.dumps) is read as null too, in either family.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"n","status":"Succeeded","result":{"stdout":"NaN","stderr":"","executionResult":NaN,"executionTimeInMilliseconds":2}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(serde_json::Value::Null));
    assert_eq!(e.stdout, "NaN", "strings are untouched");
    let e = exec(
        ApiFamily::Legacy,
        r#"{"properties":{"status":"Success","result":[Infinity,-Infinity]}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(json!([null, null])));
    // Jupyter format keeps the repr.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"n","status":"Succeeded","result":{"stdout":"","stderr":"","executionResult":"'nan'","executionTimeInMilliseconds":2}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(json!("'nan'")));
}

#[test]
fn any_legal_json_number_decodes_exactly_where_possible() {
    // 2**70 + 1 would round as an f64; 1e400 is beyond f64 and failed the whole call.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"n","status":"Succeeded","result":{"stdout":"","stderr":"","executionResult":[1180591620717411303425,1e400,-1e400,18446744073709551615,0.5],"executionTimeInMilliseconds":2}}"#,
    );
    assert_eq!(
        e.result,
        ExecutionResult::Value(json!([
            "1180591620717411303425",
            "1e400",
            "-1e400",
            18446744073709551615u64,
            0.5
        ]))
    );
    let e = exec(
        ApiFamily::Legacy,
        r#"{"properties":{"status":"Success","stdout":"","result":1e400,"executionTimeInMilliseconds":1e400}}"#,
    );
    assert_eq!(e.result, ExecutionResult::Value(json!("1e400")));
}

#[test]
fn shell_status_is_the_exit_code() {
    let e = exec(
        ApiFamily::Current,
        r#"{ "id": "x", "identifier": "s", "status": "0",
  "result": { "stdout": "first_input:testinputlineline\n", "stderr": "", "executionTimeInMilliseconds": 2 } }"#,
    );
    assert_eq!(e.status, ExecutionStatus::Other("0".into()));
    assert_eq!(e.exit_code(), Some(0));
    assert!(e.succeeded());
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"x","status":"127","result":{"stdout":"","stderr":"sh: nope: not found"}}"#,
    );
    assert_eq!(e.exit_code(), Some(127));
    assert!(!e.succeeded());
    // A numeric status is read the same way.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"x","status":1,"result":{"stdout":"","stderr":""}}"#,
    );
    assert_eq!(e.exit_code(), Some(1));
}

#[test]
fn async_running_and_headers() {
    let mut h = HeaderMap::new();
    h.insert("operation-id", HeaderValue::from_static("op-9"));
    h.insert("x-ms-session-guid", HeaderValue::from_static("pod-guid"));
    h.insert(
        "x-ms-container-execution-duration",
        HeaderValue::from_static("5011"),
    );
    h.insert(
        "x-ms-execution-request-time",
        HeaderValue::from_static("5010.000000"),
    );
    h.insert(
        "x-ms-overall-execution-time",
        HeaderValue::from_static("42m56.970311818s"),
    );
    h.insert("x-ms-new-allocation", HeaderValue::from_static("true"));
    let e = decode(
        ApiFamily::Current,
        StatusCode::ACCEPTED,
        &h,
        br#"{"identifier":"s","executionType":"Asynchronous","status":"Running"}"#,
        SID,
    )
    .unwrap();
    assert_eq!(
        e.id, "op-9",
        "the operation-id header fills in a missing id"
    );
    assert_eq!(e.status, ExecutionStatus::Running);
    assert!(!e.status.is_terminal());
    assert_eq!(e.timings.session_guid.as_deref(), Some("pod-guid"));
    assert_eq!(
        e.timings.container_execution_duration.as_deref(),
        Some("5011")
    );
    assert_eq!(
        e.timings.execution_request_time.as_deref(),
        Some("5010.000000")
    );
    assert_eq!(
        e.timings.overall_execution_time.as_deref(),
        Some("42m56.970311818s")
    );
    assert_eq!(e.timings.new_allocation.as_deref(), Some("true"));
    // A bare 202 without a body.
    let e = decode(ApiFamily::Current, StatusCode::ACCEPTED, &h, b"", SID).unwrap();
    assert_eq!(e.status, ExecutionStatus::Running);
    assert_eq!(e.id, "op-9");
}

#[test]
fn failed_execution_error_object_fills_stderr() {
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"f","status":"Failed","error":{"code":"ExecutionFailed","message":"Execution aborted"}}"#,
    );
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.stderr, "Execution aborted");
    // The definitions' shape: an ErrorResponse, `{"error":{"code","message"}}`.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"f","status":"Failed","error":{"error":{"code":"ExecutionFailed","message":"Timed out after 220 s"}}}"#,
    );
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.stderr, "Timed out after 220 s");
    // A stderr of its own wins over the error's message.
    let e = exec(
        ApiFamily::Current,
        r#"{"id":"f","status":"Failed","result":{"stderr":"Traceback"},"error":{"error":{"message":"m"}}}"#,
    );
    assert_eq!(e.stderr, "Traceback");
}

#[test]
fn wrapped_body_on_a_current_route_is_still_read() {
    let e = exec(
        ApiFamily::Current,
        r#"{"properties":{"status":"Success","stdout":"1","result":1}}"#,
    );
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.stdout, "1");
}

#[test]
fn malformed_execution_bodies_are_decode_errors() {
    for body in [
        "not json",
        r#"{"status":{"nested":true},"result":5}"#,
        r#"{"result":{}}"#,
        "[1,2]",
    ] {
        let err = decode(
            ApiFamily::Current,
            StatusCode::OK,
            &HeaderMap::new(),
            body.as_bytes(),
            SID,
        )
        .unwrap_err();
        match err {
            Error::Decode { snippet, .. } => {
                assert!(body.starts_with(&snippet[..snippet.len().min(5)]))
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}
