//! Decoding recorded response bodies of both families (shapes from the protocol reference).

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use sessions_core::api::decode::{
    api_error, decode_execution, decode_file, decode_file_page, decode_metadata, decode_session,
    decode_session_page,
};
use sessions_core::{ApiFamily, Error, ExecutionResult, ExecutionStatus, FileKind};

const SID: &str = "session-1";

fn exec(family: ApiFamily, body: &str) -> sessions_core::Execution {
    decode_execution(
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
    let bad = sessions_core::Image {
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
    let e = decode_execution(
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
    let e = decode_execution(ApiFamily::Current, StatusCode::ACCEPTED, &h, b"", SID).unwrap();
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
        let err = decode_execution(
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

#[test]
fn current_file_list_and_single_file() {
    let body = br#"{"value":[
        {"$id":"x","name":"testfile.yaml","type":"file","contentType":"application/yaml","sizeInBytes":4,"lastModifiedAt":"2024-05-29T02:17:25.902Z"},
        {"name":"sub","type":"Directory","contentType":"application/octet-stream","sizeInBytes":4096,"lastModifiedAt":"2024-05-29T02:17:25Z","directory":""},
        {"name":"deep.csv","type":"FILE","sizeInBytes":"12","lastModifiedAt":"garbage","directory":"sub"}
    ],"nextLink":"https://x/files?skip=3"}"#;
    let (files, next) = decode_file_page(ApiFamily::Current, body).unwrap();
    assert_eq!(next.as_deref(), Some("https://x/files?skip=3"));
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].name, "testfile.yaml");
    assert_eq!(files[0].kind, FileKind::File);
    assert_eq!(files[0].size, Some(4));
    assert_eq!(files[0].content_type.as_deref(), Some("application/yaml"));
    assert_eq!(
        files[0].last_modified,
        Some(UNIX_EPOCH + Duration::from_millis(1_716_949_045_902))
    );
    assert_eq!(
        files[1].kind,
        FileKind::Directory,
        "type is case-insensitive"
    );
    assert_eq!(files[2].kind, FileKind::File);
    assert_eq!(files[2].size, Some(12));
    assert_eq!(
        files[2].last_modified, None,
        "an unreadable timestamp is not an error"
    );
    assert_eq!(files[2].relative_path(), "sub/deep.csv");

    let (files, next) =
        decode_file_page(ApiFamily::Current, br#"{"value": [], "nextLink": null}"#).unwrap();
    assert!(files.is_empty() && next.is_none());

    let one = decode_file(
        ApiFamily::Current,
        br#"{"name":"a.txt","type":"file","contentType":"text/plain; charset=utf-8","sizeInBytes":5,"lastModifiedAt":"2025-01-01T00:00:00+01:00"}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(one.name, "a.txt");
    assert_eq!(
        one.last_modified,
        Some(UNIX_EPOCH + Duration::from_secs(1_735_686_000))
    );
}

#[test]
fn legacy_file_list_and_upload() {
    let body = br#"{"$id":"1","value":[
        {"$id":"2","properties":{"$id":"3","filename":"test1.txt","size":16,"lastModifiedTime":"2024-05-02T07:21:07.9922617Z"}},
        {"$id":"4","properties":{"$id":"5","filename":"/mnt/data/input.py","size":3,"lastModifiedTime":"2024-05-02T07:21:07Z"}},
        {"$id":"6","properties":{"$id":"7","filename":"out/plot.png","size":900,"last_modified_time":"2024-05-02T07:21:07Z"}}
    ]}"#;
    let (files, next) = decode_file_page(ApiFamily::Legacy, body).unwrap();
    assert!(next.is_none());
    assert_eq!(files[0].name, "test1.txt");
    assert_eq!(files[0].size, Some(16));
    assert_eq!(
        files[0].last_modified,
        Some(UNIX_EPOCH + Duration::from_nanos(1_714_634_467_992_261_700))
    );
    assert_eq!(files[1].name, "input.py", "a /mnt/data/ prefix is stripped");
    assert_eq!(files[1].directory, None);
    assert_eq!(files[2].relative_path(), "out/plot.png");
    assert!(
        files[2].last_modified.is_some(),
        "snake_case timestamps are read too"
    );

    // Upload answers are a list wrapper: the first entry is the file.
    let up = decode_file(ApiFamily::Legacy, body).unwrap().unwrap();
    assert_eq!(up.name, "test1.txt");
    assert_eq!(
        decode_file(ApiFamily::Legacy, br#"{"$id":"1","value":[]}"#).unwrap(),
        None
    );
}

#[test]
fn sessions_and_metadata() {
    let s = decode_session(
        br#"{"identifier":"abcd","createdAt":"2025-01-01T00:00:00Z","lastAccessedAt":"2025-01-01T00:01:00Z","expireAt":"2025-01-01T00:06:00Z","etag":"c-1"}"#,
        "fallback",
    )
    .unwrap();
    assert_eq!(s.identifier, "abcd");
    assert_eq!(s.expires_at.as_deref(), Some("2025-01-01T00:06:00Z"));
    assert_eq!(s.etag.as_deref(), Some("c-1"));
    // .management/getSession says expiresAt.
    let s = decode_session(
        br#"{"etag":"e","expiresAt":"2025-01-01T00:06:00Z"}"#,
        "fallback",
    )
    .unwrap();
    assert_eq!(s.identifier, "fallback");
    assert_eq!(s.expires_at.as_deref(), Some("2025-01-01T00:06:00Z"));

    let (list, next) = decode_session_page(br#"{"sessions":[{"identifier":"a1b2"},{"identifier":"c3d4"}],"nextLink":"https://x/listSessions?skip=2"}"#).unwrap();
    assert_eq!(list.len(), 2);
    assert!(next.is_some());
    let (list, next) = decode_session_page(
        br#"{"value":[{"identifier":"a1b2","expiresAt":"t"}],"count":1,"nextLink":null}"#,
    )
    .unwrap();
    assert_eq!(list[0].expires_at.as_deref(), Some("t"));
    assert!(next.is_none());

    let m = decode_metadata(
        br#"{"runtimes":[{"name":"node","version":"20.17.0"}],"preInstalledPackages":[{"name":"lodash","version":"4.17.21"},{"version":"orphan"}],
             "createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-02T00:00:00Z",
             "jupyterKernel":{"name":"IJavascript","version":"5.2.1","projectUrl":"https://x","description":"d"}}"#,
    )
    .unwrap();
    assert_eq!(m.runtimes[0].name, "node");
    assert_eq!(
        m.pre_installed_packages.len(),
        1,
        "entries without a name are skipped"
    );
    assert_eq!(m.jupyter_kernel.as_ref().unwrap()["name"], "IJavascript");
    assert_eq!(m.raw["createdAt"], "2025-01-01T00:00:00Z");
}

#[test]
fn api_errors() {
    let mut h = HeaderMap::new();
    h.insert("x-ms-request-id", HeaderValue::from_static("req-1"));
    h.insert("x-ms-error-code", HeaderValue::from_static("HeaderCode"));
    let e = api_error(
        StatusCode::BAD_REQUEST,
        &h,
        br#"{"error":{"code":"SessionPropertiesMissing","message":"The properties are missing.","target":"body","traceId":"t"}}"#,
        Some("client-1"),
    );
    assert_eq!(
        e.code.as_deref(),
        Some("SessionPropertiesMissing"),
        "the body's code wins"
    );
    assert_eq!(e.message, "The properties are missing.");
    assert_eq!(e.request_id.as_deref(), Some("req-1"));
    assert!(e.hint().unwrap().contains("flat body"));

    let e = api_error(StatusCode::NOT_FOUND, &h, b"", Some("client-1"));
    assert_eq!(e.code.as_deref(), Some("HeaderCode"));
    assert_eq!(e.message, "Not Found");

    let e = api_error(
        StatusCode::FORBIDDEN,
        &HeaderMap::new(),
        b"<html>nope</html>",
        Some("client-1"),
    );
    assert_eq!(
        e.request_id.as_deref(),
        Some("client-1"),
        "falls back to the id we sent"
    );
    assert_eq!(e.message, "Forbidden");
    assert!(e.to_string().contains("Session Executor"));

    let e = api_error(
        StatusCode::BAD_GATEWAY,
        &HeaderMap::new(),
        b"upstream connect error\nmore",
        None,
    );
    assert_eq!(e.message, "upstream connect error");

    let big = vec![b'x'; 200 * 1024];
    let e = api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &HeaderMap::new(),
        &big,
        None,
    );
    assert_eq!(e.body.len(), 64 * 1024);
    assert_eq!(
        api_error(
            StatusCode::from_u16(599).unwrap(),
            &HeaderMap::new(),
            b"",
            None
        )
        .message,
        "HTTP 599"
    );
}
