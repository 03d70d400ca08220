//! Flows against a tiny loopback hyper server: paging, async polling, downloads to files,
//! replayable uploads, errors, and the pass-through.

mod api_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use api_support::{json, parse_multipart, plain_client, serve};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use sessions_core::api::{ExecuteRequest, ListOptions, ShellRequest, Upload};
use sessions_core::{ApiVersion, Body, Client, Endpoint, Error, ExecutionStatus, TimeoutKind};

const SID: &str = "flow-session";

#[tokio::test]
async fn file_list_follows_absolute_next_links() {
    let server = serve(|seen, base| async move {
        let q = seen.uri.query().unwrap_or_default().to_owned();
        if q.contains("page=2") {
            json(200, json!({"value": [{"name": "c", "type": "file", "lastModifiedAt": "2025-01-01T00:00:00Z"}]}))
        } else {
            json(
                200,
                json!({
                    "value": [{"name": "a", "type": "file", "lastModifiedAt": "2025-01-01T00:00:00Z"},
                              {"name": "b", "type": "directory", "lastModifiedAt": "2025-01-01T00:00:00Z"}],
                    "nextLink": format!("{base}files?api-version=2025-10-02-preview&identifier={SID}&path=in&page=2"),
                }),
            )
        }
    })
    .await;
    let session = server
        .client(ApiVersion::V2025_10_02Preview)
        .session(SID)
        .unwrap();
    let files = session
        .files()
        .list_with(ListOptions::default().path("in"))
        .await
        .unwrap();
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].uri.path(), "/pools/p/files");
    assert_eq!(
        seen[0].uri.query(),
        Some("api-version=2025-10-02-preview&identifier=flow-session&path=in")
    );
    assert!(seen[1].uri.query().unwrap().ends_with("page=2"));
}

#[tokio::test]
async fn list_sessions_pages_by_skip_when_the_count_says_more() {
    // `.management`-style pages: a `count` of all sessions and no nextLink.
    let server = serve(|seen, _| async move {
        let q = seen.uri.query().unwrap_or_default().to_owned();
        if q.contains("skip=2") {
            json(200, json!({"value": [{"identifier": "s3s3"}], "count": 3}))
        } else {
            json(
                200,
                json!({"value": [{"identifier": "s1s1"}, {"identifier": "s2s2"}], "count": 3, "nextLink": null}),
            )
        }
    })
    .await;
    let sessions = server
        .client(ApiVersion::V2025_10_02Preview)
        .list_sessions()
        .await
        .unwrap();
    let ids: Vec<_> = sessions.iter().map(|s| s.identifier.as_str()).collect();
    assert_eq!(ids, ["s1s1", "s2s2", "s3s3"]);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "stops once the count is reached");
    assert_eq!(
        seen[1].uri.query(),
        Some("skip=2&api-version=2025-10-02-preview")
    );
}

#[tokio::test]
async fn list_sessions_pages_and_refuses_foreign_links() {
    let server = serve(|seen, base| async move {
        match seen.uri.query().unwrap_or_default() {
            q if q.contains("skip=2") => json(200, json!({"sessions": [{"identifier": "s3s3"}]})),
            q if q.contains("evil") => json(200, json!({"sessions": [], "nextLink": "http://evil.example/listSessions"})),
            _ => json(200, json!({"sessions": [{"identifier": "s1s1"}, {"identifier": "s2s2"}], "nextLink": format!("{base}listSessions?skip=2")})),
        }
    })
    .await;
    let client = server.client(ApiVersion::V2024_10_02Preview);
    let sessions = client.list_sessions().await.unwrap();
    assert_eq!(
        sessions
            .iter()
            .map(|s| s.identifier.as_str())
            .collect::<Vec<_>>(),
        ["s1s1", "s2s2", "s3s3"]
    );
    let seen = server.seen();
    // The management version is used for every page, added to links that lack one.
    assert_eq!(seen[0].uri.query(), Some("api-version=2025-10-02-preview"));
    assert_eq!(
        seen[1].uri.query(),
        Some("skip=2&api-version=2025-10-02-preview")
    );

    let evil = serve(|_, _| async {
        json(
            200,
            json!({"sessions": [], "nextLink": "http://evil.example/listSessions"}),
        )
    })
    .await;
    let err = evil
        .client(ApiVersion::V2025_10_02Preview)
        .list_sessions()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(evil.seen().len(), 1, "nothing is sent to another host");
}

#[tokio::test]
async fn asynchronous_execution_is_polled_until_terminal() {
    let polls = Arc::new(AtomicUsize::new(0));
    let polls2 = polls.clone();
    let server = serve(move |seen, _| {
        let polls = polls2.clone();
        async move {
            if seen.method == http::Method::POST {
                let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
                assert_eq!(body["executionType"], "Asynchronous");
                let mut r = json(202, json!({"identifier": SID, "executionType": "Asynchronous", "status": "Running"}));
                r.headers_mut().insert("operation-id", "op-1".parse().unwrap());
                r.headers_mut().insert("x-ms-session-guid", "pod-1".parse().unwrap());
                return r;
            }
            assert_eq!(seen.uri.path(), "/pools/p/executions/op-1");
            if polls.fetch_add(1, Ordering::SeqCst) < 2 {
                json(200, json!({"id": "op-1", "status": "Running"}))
            } else {
                json(200, json!({"id": "op-1", "status": "Succeeded",
                    "result": {"stdout": "done\n", "stderr": "", "executionResult": 42, "executionTimeInMilliseconds": 9}}))
            }
        }
    })
    .await;
    let session = server
        .client(ApiVersion::V2025_10_02Preview)
        .session(SID)
        .unwrap();
    let started = session
        .start_execution(ExecuteRequest::new("work()"))
        .await
        .unwrap();
    assert_eq!(started.status, ExecutionStatus::Running);
    assert_eq!(started.id, "op-1");

    let run = session
        .execute_with(
            ExecuteRequest::new("work()")
                .asynchronous(true)
                .poll_interval(Duration::from_millis(5)),
        )
        .await
        .unwrap();
    assert_eq!(run.status, ExecutionStatus::Succeeded);
    assert_eq!(run.result.as_value(), Some(&json!(42)));
    assert_eq!(run.stdout, "done\n");
    assert_eq!(
        run.timings.session_guid.as_deref(),
        Some("pod-1"),
        "timings of the first answer are kept"
    );
    assert_eq!(polls.load(Ordering::SeqCst), 3);

    // A poll deadline turns an endless Running into a timeout.
    let stuck = serve(|seen, _| async move {
        let mut r = json(
            if seen.method == http::Method::POST {
                202
            } else {
                200
            },
            json!({"id": "op-2", "status": "Running"}),
        );
        r.headers_mut()
            .insert("operation-id", "op-2".parse().unwrap());
        r
    })
    .await;
    let session = stuck
        .client(ApiVersion::V2025_10_02Preview)
        .session(SID)
        .unwrap();
    let err = session
        .execute_with(
            ExecuteRequest::new("x")
                .asynchronous(true)
                .poll_interval(Duration::from_millis(5))
                .poll_deadline(Duration::from_millis(40)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Overall,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn download_to_streams_into_place() {
    let content: Bytes = (0..3 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    let served = content.clone();
    let server = serve(move |seen, _| {
        let served = served.clone();
        async move {
            if seen.uri.path().contains("missing") {
                let mut r = json(
                    404,
                    json!({"error": {"code": "FileNotFound", "message": "no such file"}}),
                );
                r.headers_mut()
                    .insert("x-ms-request-id", "rid-404".parse().unwrap());
                return r;
            }
            Response::builder()
                .header("content-type", "application/octet-stream")
                .body(Full::new(served))
                .unwrap()
        }
    })
    .await;
    let files = server
        .client(ApiVersion::V2025_10_02Preview)
        .session(SID)
        .unwrap()
        .files();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    let n = files.download_to("sub/data.bin", &target).await.unwrap();
    assert_eq!(n, content.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), content);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    let seen = server.seen();
    assert_eq!(seen[0].uri.path(), "/pools/p/files/data.bin/content");
    assert!(seen[0].uri.query().unwrap().ends_with("&path=sub"));

    let download = files.download("a.bin").await.unwrap();
    assert_eq!(download.content_type(), Some("application/octet-stream"));
    assert_eq!(download.content_length(), Some(content.len() as u64));
    assert_eq!(download.bytes().await.unwrap(), content);

    let err = files
        .download_to("missing.bin", dir.path().join("never.bin"))
        .await
        .unwrap_err();
    let api = err.as_api().expect("an API error");
    assert_eq!(api.status, 404);
    assert_eq!(api.code.as_deref(), Some("FileNotFound"));
    assert_eq!(api.message, "no such file");
    assert_eq!(api.request_id.as_deref(), Some("rid-404"));
    assert!(!dir.path().join("never.bin").exists());
}

/// A client whose stack retries once on 503 by re-sending a copy of the body, as the retry
/// layer does: proves that a file upload is rebuilt (reopened) rather than half-consumed.
fn retrying_client(base: &str) -> Client {
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let svc = tower::service_fn(move |req: Request<Body>| {
        let http = http.clone();
        async move {
            let (parts, body) = req.into_parts();
            let copy = body.try_clone().expect("upload bodies are replayable");
            let first = http
                .request(Request::from_parts(parts.clone(), body))
                .await?;
            if first.status() == 503 {
                http.request(Request::from_parts(parts, copy)).await
            } else {
                Ok(first)
            }
        }
    });
    Client::new(
        svc,
        Endpoint::parse(base).unwrap(),
        ApiVersion::V2025_10_02Preview,
    )
}

#[tokio::test]
async fn replayable_file_upload_survives_a_retry() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let attempts2 = attempts.clone();
    let server = serve(move |seen, _| {
        let attempts = attempts2.clone();
        async move {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                return json(
                    503,
                    json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
                );
            }
            let ct = seen.headers["content-type"].to_str().unwrap().to_owned();
            let (filename, _, content) = parse_multipart(&ct, &seen.body);
            json(
                200,
                json!({"name": filename, "type": "file", "sizeInBytes": content.len(),
                             "lastModifiedAt": "2025-01-01T00:00:00Z", "contentType": "text/csv"}),
            )
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big table.csv");
    let content: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| b"0123456789,\n"[(i % 12) as usize])
        .collect();
    std::fs::write(&path, &content).unwrap();

    let files = retrying_client(&server.base).session(SID).unwrap().files();
    let info = files
        .upload(Upload::file(&path).unwrap().in_dir("in"))
        .await
        .unwrap();
    assert_eq!(info.name, "big table.csv");
    assert_eq!(info.size, Some(content.len() as u64));

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body, "the retry sent the same bytes");
    let declared: usize = seen[1].headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(declared, seen[1].body.len());
    let (filename, ct, received) = parse_multipart(
        seen[1].headers["content-type"].to_str().unwrap(),
        &seen[1].body,
    );
    assert_eq!(filename, "big table.csv");
    assert_eq!(ct, "text/csv");
    assert_eq!(received, content);
    assert!(seen[1].uri.query().unwrap().ends_with("&path=in"));
}

#[tokio::test]
async fn legacy_flow_execute_upload_list() {
    let server = serve(|seen, _| async move {
        match (seen.method.as_str(), seen.uri.path()) {
            ("POST", "/pools/p/code/execute") => {
                let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
                assert_eq!(body["properties"]["code"], "1+1");
                json(200, json!({"$id": "1", "properties": {"$id": "2", "status": "Success", "stdout": "", "stderr": "", "result": 2, "executionTimeInMilliseconds": 3}}))
            }
            ("POST", "/pools/p/files/upload") => json(200, json!({"$id": "1", "value": []})),
            ("GET", "/pools/p/files") => json(200, json!({"$id": "1", "value": [{"$id": "2", "properties": {"$id": "3", "filename": "n.txt", "size": 2, "lastModifiedTime": "2024-05-02T07:21:07.9922617Z"}}]})),
            _ => json(404, json!({})),
        }
    })
    .await;
    let session = server
        .client(ApiVersion::V2024_02_02Preview)
        .session(SID)
        .unwrap();
    let run = session.execute("1+1").await.unwrap();
    assert!(run.succeeded());
    assert_eq!(run.result.as_value(), Some(&json!(2)));
    // An empty legacy upload answer is filled in from the upload itself.
    let info = session
        .files()
        .upload(Upload::text("n.txt", "hi"))
        .await
        .unwrap();
    assert_eq!((info.name.as_str(), info.size), ("n.txt", Some(2)));
    let list = session.files().list().await.unwrap();
    assert_eq!(list[0].name, "n.txt");
    // Current-only operations are refused locally.
    assert!(matches!(
        session.files().delete("n.txt").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        session.shell("ls").await,
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn session_management_shell_and_metadata() {
    let server = serve(|seen, _| async move {
        match (seen.method.as_str(), seen.uri.path()) {
            ("GET", "/pools/p/session") => json(200, json!({"identifier": SID, "createdAt": "c", "lastAccessedAt": "l", "expireAt": "e", "etag": "t"})),
            ("DELETE", "/pools/p/session") => Response::builder().status(204).body(Full::new(Bytes::new())).unwrap(),
            ("GET", "/pools/p/metadata") => json(200, json!({"runtimes": [{"name": "python", "version": "3.12.7"}], "preInstalledPackages": []})),
            ("POST", "/pools/p/executions") => {
                let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
                assert_eq!(body, json!({"shellCommand": "wc -l", "stdin": "a\nb\n"}));
                json(200, json!({"id": "x", "identifier": SID, "status": "0", "result": {"stdout": "2\n", "stderr": "", "executionTimeInMilliseconds": 2}}))
            }
            _ => json(404, json!({})),
        }
    })
    .await;
    let client = server.client(ApiVersion::V2025_02_02Preview);
    let session = client.session(SID).unwrap();
    assert_eq!(
        session.info().await.unwrap().expires_at.as_deref(),
        Some("e")
    );
    session.delete().await.unwrap();
    assert_eq!(
        client.metadata().await.unwrap().runtimes[0]
            .version
            .as_deref(),
        Some("3.12.7")
    );
    let run = session
        .shell_with(ShellRequest::new("wc -l").stdin("a\nb\n"))
        .await
        .unwrap();
    assert_eq!(run.exit_code(), Some(0));
    assert_eq!(run.stdout, "2\n");
}

#[tokio::test]
async fn shell_timeout_is_enforced_on_the_client() {
    let server = serve(|_, _| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        json(200, json!({"status": "0"}))
    })
    .await;
    let session = server
        .client(ApiVersion::V2025_10_02Preview)
        .session(SID)
        .unwrap();
    let err = session
        .shell_with(ShellRequest::new("sleep 100").timeout(Duration::from_millis(50)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Overall,
                after: Some(_)
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn stop_session_posts_to_management_and_returns_the_text() {
    let server = serve(|seen, _| async move {
        assert_eq!(seen.method, http::Method::POST);
        assert_eq!(seen.uri.path(), "/pools/p/.management/stopSession");
        assert_eq!(
            seen.uri.query(),
            Some("api-version=2025-10-02-preview&identifier=flow-session")
        );
        assert!(seen.body.is_empty());
        Response::builder()
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(
                b"Session flow-session in session pool p stopped.\n",
            )))
            .unwrap()
    })
    .await;
    // An old client version still reaches the management route at 2025-10-02-preview.
    let session = server
        .client(ApiVersion::V2024_02_02Preview)
        .session(SID)
        .unwrap();
    let text = session.stop().await.unwrap();
    assert_eq!(text, "Session flow-session in session pool p stopped.");
}

#[tokio::test]
async fn passthrough_returns_any_status_as_is() {
    let server = serve(|seen, _| async move {
        assert_eq!(seen.uri.path(), "/pools/p/api/run");
        assert_eq!(seen.uri.query(), Some("mode=fast&identifier=flow-session"));
        assert_eq!(&seen.body[..], b"payload");
        Response::builder()
            .status(418)
            .body(Full::new(Bytes::from_static(b"teapot")))
            .unwrap()
    })
    .await;
    let session = server
        .client(ApiVersion::V2025_10_02Preview)
        .session(SID)
        .unwrap();
    let res = session
        .request(
            http::Method::PUT,
            "/api/run?mode=fast",
            Body::from("payload"),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 418);
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "teapot"
    );
}

#[tokio::test]
async fn new_sessions_get_fresh_valid_identifiers() {
    let client = plain_client("http://127.0.0.1:9/", ApiVersion::default());
    let (a, b) = (client.new_session(), client.new_session());
    assert_ne!(a.identifier(), b.identifier());
    assert_eq!(a.identifier().len(), 36);
    assert!(sessions_core::validate::validate_identifier(a.identifier()).is_ok());
    assert!(matches!(client.session("no"), Err(Error::InvalidInput(_))));
    // Nothing listens on port 9: a connection failure is an error, never a panic.
    assert!(a.execute("1").await.is_err());
}

/// Through the team's default stack (`Client::builder`): a 429 on an upload is retried by the
/// retry layer, and the file is re-read from disk for the second attempt.
#[tokio::test]
async fn upload_is_replayed_by_the_default_stack_on_429() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let attempts2 = attempts.clone();
    let server = serve(move |seen, _| {
        let attempts = attempts2.clone();
        async move {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                let mut r = json(429, json!({"error": {"code": "TooManyRequests", "message": "slow down"}}));
                r.headers_mut().insert("retry-after", "0".parse().unwrap());
                return r;
            }
            let ct = seen.headers["content-type"].to_str().unwrap().to_owned();
            let (filename, _, content) = parse_multipart(&ct, &seen.body);
            json(200, json!({"name": filename, "type": "file", "sizeInBytes": content.len(), "lastModifiedAt": "2025-01-01T00:00:00Z"}))
        }
    })
    .await;
    let client = Client::builder(&server.base)
        .no_auth()
        .retry(sessions_core::RetryConfig::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.bin");
    std::fs::write(&path, vec![7u8; 300_000]).unwrap();
    let info = client
        .session(SID)
        .unwrap()
        .files()
        .upload(Upload::file(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(info.size, Some(300_000));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
    // The stack adds a client request id; an error quotes it when the service sends none.
    assert!(seen[0].headers.contains_key("x-ms-client-request-id"));
}

#[tokio::test]
async fn api_errors_through_the_default_stack_quote_our_request_id() {
    let server = serve(|_, _| async {
        json(
            400,
            json!({"error": {"code": "SessionRequestValidationFailed", "message": "bad"}}),
        )
    })
    .await;
    let client = Client::builder(&server.base).no_auth().build().unwrap();
    let err = client
        .session(SID)
        .unwrap()
        .files()
        .list()
        .await
        .unwrap_err();
    let api = err.as_api().expect("api error");
    assert_eq!(api.code.as_deref(), Some("SessionRequestValidationFailed"));
    let sent = server.seen()[0].headers["x-ms-client-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.request_id.as_deref(), Some(sent.as_str()));
}
