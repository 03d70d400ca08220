//! Test helpers: start an emulator on an ephemeral loopback port and talk to it over real HTTP.
#![allow(dead_code)]

use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sessions_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};

/// Current api-versions.
pub const V_CURRENT: &str = "2025-10-02-preview";
/// 2025-02-02-preview.
pub const V_2502: &str = "2025-02-02-preview";
/// 2024-10-02-preview.
pub const V_2410: &str = "2024-10-02-preview";
/// Legacy api-version.
pub const V_LEGACY: &str = "2024-02-02-preview";

/// The interpreter for tests: `$SESSIONS_EMULATOR_PYTHON`, else the workspace `.venv` (created
/// with numpy, pandas and matplotlib on a fresh machine).
pub fn python() -> PathBuf {
    sessions_emulator::python_env::resolve_python(
        sessions_emulator::python_env::Provision::CreateVenv,
    )
    .expect("a python3 for the local pool (see the error)")
}

/// A builder with test defaults (small pool, test python).
pub fn builder() -> EmulatorBuilder {
    Emulator::builder().python(python()).prewarm(1)
}

/// A running emulator and a client.
pub struct Emu {
    pub handle: EmulatorHandle,
    client: Client<HttpConnector, Full<Bytes>>,
    pub token: Option<String>,
}

/// A response with its body read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body text otherwise).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert an error response: status, code in the body and in `x-ms-error-code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        let j = self.json();
        assert_eq!(j["error"]["code"], code, "body: {j}");
        assert!(
            j["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(self.header("x-ms-error-code"), Some(code));
    }
}

/// Start an emulator from a builder.
pub async fn start(b: EmulatorBuilder) -> Emu {
    let handle = b.start().await.expect("emulator starts");
    assert!(handle.endpoint().ends_with('/'));
    Emu {
        handle,
        client: Client::builder(TokioExecutor::new()).build_http(),
        token: None,
    }
}

/// A multipart body with one `file` part.
pub fn multipart(filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----emulator-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Emu {
    /// Full URL of a relative path (with query).
    pub fn url(&self, rel: &str) -> String {
        format!("{}{}", self.handle.endpoint(), rel.trim_start_matches('/'))
    }

    /// Send a request.
    pub async fn send(
        &self,
        method: Method,
        rel: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(self.url(rel));
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(Bytes::from(body))).expect("request");
        let resp = self.client.request(req).await.expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// GET.
    pub async fn get(&self, rel: &str) -> Resp {
        self.send(Method::GET, rel, &[], Vec::new()).await
    }

    /// DELETE.
    pub async fn delete(&self, rel: &str) -> Resp {
        self.send(Method::DELETE, rel, &[], Vec::new()).await
    }

    /// POST with an empty body.
    pub async fn post_empty(&self, rel: &str) -> Resp {
        self.send(Method::POST, rel, &[], Vec::new()).await
    }

    /// POST JSON.
    pub async fn post_json(&self, rel: &str, body: &serde_json::Value) -> Resp {
        self.send(
            Method::POST,
            rel,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).expect("json"),
        )
        .await
    }

    /// POST a raw body.
    pub async fn post_raw(&self, rel: &str, content_type: &str, body: Vec<u8>) -> Resp {
        self.send(Method::POST, rel, &[("content-type", content_type)], body)
            .await
    }

    /// Upload one file as multipart.
    pub async fn upload(&self, rel: &str, filename: &str, content: &[u8]) -> Resp {
        let (ct, body) = multipart(filename, content);
        self.post_raw(rel, &ct, body).await
    }

    /// Run Python code through `POST executions` and return the JSON body (asserting 200).
    pub async fn exec(&self, identifier: &str, code: &str) -> serde_json::Value {
        let r = self
            .post_json(
                &format!("executions?api-version={V_CURRENT}&identifier={identifier}"),
                &serde_json::json!({"codeInputType":"Inline","executionType":"Synchronous","code":code}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Shut down.
    pub async fn stop(self) {
        self.handle.shutdown().await;
    }
}

/// Find a file by name anywhere under `root` (host side).
pub fn find_file(root: &std::path::Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(root).ok()?.flatten() {
        let p = e.path();
        let md = std::fs::symlink_metadata(&p).ok()?;
        if md.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if e.file_name() == name {
            return Some(p);
        }
    }
    None
}

/// A runtime that must use namespaces, with the test python and `config`'s other settings.
pub async fn sandboxed_runtime(
    config: sessions_emulator::runtime::RuntimeConfig,
) -> sessions_emulator::runtime::Runtime {
    sessions_emulator::runtime::Runtime::new(sessions_emulator::runtime::RuntimeConfig {
        python: python(),
        isolation: sessions_emulator::runtime::IsolationMode::Namespaces,
        ..config
    })
    .await
    .expect("namespaces")
}

/// Run Python code on a worker (60 s limit, no output cap).
pub async fn run_code(
    w: &mut sessions_emulator::runtime::Worker,
    code: &str,
) -> sessions_emulator::runtime::RunOutcome {
    let run = sessions_emulator::runtime::PythonRun {
        code: code.into(),
        timeout: std::time::Duration::from_secs(60),
        max_output: None,
        jupyter_format: false,
    };
    w.run_python(run).await.expect("run")
}

/// The result of code that must succeed.
pub async fn value_of(w: &mut sessions_emulator::runtime::Worker, code: &str) -> serde_json::Value {
    let out = run_code(w, code).await;
    assert_eq!(
        out.status,
        sessions_emulator::runtime::RunStatus::Succeeded,
        "{code}: {out:?}"
    );
    out.result
}

/// How a test's workers start: fresh interpreters sandboxed before `exec`, or forks of the
/// pool's template interpreter that sandbox themselves. Attacks run against both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Fresh,
    Forked,
}

/// Both ways a worker starts.
pub const STARTS: [Start; 2] = [Start::Fresh, Start::Forked];

/// A runtime that must use namespaces, and the directory its workers' workdirs live in.
pub struct Sandboxes {
    pub rt: sessions_emulator::runtime::Runtime,
    pub start: Start,
    slots: PathBuf,
    _root: tempfile::TempDir,
}

/// A sandboxed runtime whose workers start as `start` says (a forked one must really be
/// forked: the template must have started).
pub async fn sandboxes(
    start: Start,
    config: sessions_emulator::runtime::RuntimeConfig,
) -> Sandboxes {
    let root = tempfile::tempdir().unwrap();
    let slots = root.path().join("slots");
    std::fs::create_dir_all(&slots).unwrap();
    let rt = sandboxed_runtime(sessions_emulator::runtime::RuntimeConfig {
        slots: (start == Start::Forked).then(|| slots.clone()),
        ..config
    })
    .await;
    let report = rt.isolation();
    let forked = report
        .layers
        .iter()
        .any(|l| l.contains("forked from a template"));
    assert_eq!(forked, start == Start::Forked, "{start:?}: {report:?}");
    Sandboxes {
        rt,
        start,
        slots,
        _root: root,
    }
}

impl Sandboxes {
    /// A new worker with a workdir of its own.
    pub async fn worker(&self) -> sessions_emulator::runtime::Worker {
        self.worker_in().await.0
    }

    /// A new worker and its workdir on the host.
    pub async fn worker_in(&self) -> (sessions_emulator::runtime::Worker, PathBuf) {
        let dir = self.slots.join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        (self.rt.spawn(&dir).await.unwrap(), dir)
    }
}

/// Start `cmd` (the pool's binary, with its arguments) with stdout piped, and read the
/// endpoint it prints first.
pub fn serve_binary(cmd: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}
