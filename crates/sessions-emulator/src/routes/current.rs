//! Current family: `executions`, `executions/{id}`, `session`, `listSessions`, `metadata`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::links::{PoolUrl, operation_id};
use super::{Params, Shared};
use crate::api_version::{ApiVersion, Family};
use crate::error::ApiError;
use crate::execution;
use crate::runtime::PoolType;
use crate::sessions::{Allocation, Session};
use crate::shapes::{SessionInfo, SessionList};

fn header(map: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        map.insert(name, v);
    }
}

/// A Go-style duration string such as `1.234567ms` or `2.5s`.
fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{}µs", nanos as f64 / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{}ms", nanos as f64 / 1e6)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// The X-Ms-* timing headers of Python execution responses, plus `operation-id`.
pub fn timing_headers(
    map: &mut HeaderMap,
    alloc: &Allocation,
    started: Instant,
    run: Option<Duration>,
) {
    let overall = started.elapsed();
    let run = run.unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    header(map, "x-ms-session-guid", alloc.session.etag.clone());
    header(
        map,
        "x-ms-execution-request-time",
        format!("{:.6}", ms(overall)),
    );
    header(
        map,
        "x-ms-execution-read-response-time",
        format!("{:.6}", 0.0),
    );
    header(
        map,
        "x-ms-total-execution-service-time",
        format!("{:.6}", ms(overall)),
    );
    header(
        map,
        "x-ms-container-execution-duration",
        run.as_millis().to_string(),
    );
    header(
        map,
        "x-ms-preparation-time",
        format!("{:.6}", ms(alloc.took)),
    );
    header(map, "x-ms-overall-execution-time", go_duration(overall));
    header(
        map,
        "x-ms-allocation-time",
        format!("{:.6}", ms(alloc.took)),
    );
    header(map, "x-ms-allocation-retries", "0".to_string());
    header(map, "x-ms-new-allocation", alloc.new.to_string());
}

/// `POST executions`.
pub async fn execute(
    State(st): State<Shared>,
    params: Params,
    pool_url: PoolUrl,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = super::json_body(body, st.config.max_json_body_bytes)?;
    let version = params.version(Family::Current, "executions")?;
    let identifier = params.identifier()?;
    let mut req = execution::parse_request(
        &body,
        st.config.pool_type,
        st.config.strict,
        execution::Route::Executions(version),
    )?;
    if version >= ApiVersion::V2025_10_02 {
        req.kind
            .default_max_output(execution::DEFAULT_OUTPUT_STREAMS_MAX_LENGTH);
    }
    let id = operation_id(&headers)?;
    let alloc = st.session(&identifier).await?;
    let slot = alloc.session.slot()?;
    let shell = st.config.pool_type == PoolType::Shell;

    let mut out_headers = HeaderMap::new();
    header(&mut out_headers, "operation-id", id.clone());
    header(
        &mut out_headers,
        "operation-location",
        pool_url.operation_location(&id, version.as_str(), &identifier),
    );

    if req.asynchronous {
        alloc
            .session
            .store_execution(execution::running(&id, &identifier));
        let session = alloc.session.clone();
        let (task_id, kind) = (id.clone(), req.kind);
        tokio::spawn(async move {
            let Ok(slot) = session.slot() else { return };
            let done = match execution::run(slot, kind).await {
                Ok(o) => execution::to_execution(&task_id, &session.identifier, true, shell, &o),
                Err(e) => failed(&task_id, &session.identifier, &e),
            };
            session.touch();
            session.store_execution(done);
        });
        if !shell {
            timing_headers(&mut out_headers, &alloc, started, None);
        }
        let body = execution::running(&id, &identifier);
        return Ok((StatusCode::ACCEPTED, out_headers, Json(body)).into_response());
    }

    let outcome = execution::run(slot, req.kind).await?;
    alloc.session.touch();
    let exec = execution::to_execution(&id, &identifier, false, shell, &outcome);
    alloc.session.store_execution(exec.clone());
    if !shell {
        timing_headers(&mut out_headers, &alloc, started, Some(outcome.duration));
    }
    Ok((StatusCode::OK, out_headers, Json(exec)).into_response())
}

/// An execution that could not run because the runtime failed.
fn failed(id: &str, identifier: &str, e: &ApiError) -> crate::shapes::Execution {
    crate::shapes::Execution {
        id: id.to_string(),
        identifier: identifier.to_string(),
        execution_type: "Asynchronous",
        status: "Failed".to_string(),
        result: Some(crate::shapes::ExecutionResult {
            stdout: String::new(),
            stderr: e.message.clone(),
            execution_result: None,
            execution_time_in_milliseconds: 0,
        }),
    }
}

/// `GET executions/{id}`.
pub async fn get_execution(
    State(st): State<Shared>,
    params: Params,
    Path(id): Path<String>,
) -> Result<Json<crate::shapes::Execution>, ApiError> {
    params.version(Family::Current, "executions/{id}")?;
    let identifier = params.identifier()?;
    let alloc = st.session(&identifier).await?;
    alloc
        .session
        .execution(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("The execution '{id}' was not found.")))
}

/// `GET session` (allocates, like every session-scoped call).
pub async fn get_session(
    State(st): State<Shared>,
    params: Params,
) -> Result<Json<SessionInfo>, ApiError> {
    params.version(Family::SessionManagement, "session")?;
    let identifier = params.identifier()?;
    let alloc = st.session(&identifier).await?;
    Ok(Json(alloc.session.info(st.sessions.cooldown())))
}

/// `DELETE session`: 204 whether or not the session existed; never allocates.
pub async fn delete_session(
    State(st): State<Shared>,
    params: Params,
) -> Result<StatusCode, ApiError> {
    params.version(Family::SessionManagement, "session")?;
    let identifier = params.identifier()?;
    st.sessions.remove(&identifier).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The page a list request asks for: `skip` (or `offset`) and `limit`, capped at `page_size`.
pub fn paging(params: &Params, page_size: usize) -> Result<(usize, usize), ApiError> {
    let skip = match params.uint("skip")? {
        Some(s) => s,
        None => params.uint("offset")?.unwrap_or(0),
    };
    let limit = params
        .uint("limit")?
        .unwrap_or(page_size)
        .clamp(1, page_size.max(1));
    Ok((skip, limit))
}

/// A page of the pool's sessions as `params` asks for it (see [`paging`]), each shown by
/// `view`, with the total count and the absolute link to the next page of `route` (under the
/// pool URL, at `version`) when there is one.
pub fn session_page<T>(
    st: &Shared,
    params: &Params,
    pool_url: &PoolUrl,
    route: &str,
    version: ApiVersion,
    view: impl Fn(&Session, Duration) -> T,
) -> Result<(Vec<T>, usize, Option<String>), ApiError> {
    let (skip, limit) = paging(params, st.config.session_page_size())?;
    let all = st.sessions.all();
    let cooldown = st.sessions.cooldown();
    let page: Vec<T> = all
        .iter()
        .skip(skip)
        .take(limit)
        .map(|s| view(s, cooldown))
        .collect();
    let next = skip + page.len();
    let next_link = (next < all.len()).then(|| {
        pool_url.link(
            route,
            &[
                ("api-version", version.as_str()),
                ("skip", &next.to_string()),
            ],
        )
    });
    Ok((page, all.len(), next_link))
}

/// `GET listSessions`.
pub async fn list_sessions(
    State(st): State<Shared>,
    params: Params,
    pool_url: PoolUrl,
) -> Result<Json<SessionList>, ApiError> {
    let version = params.version(Family::SessionManagement, "listSessions")?;
    let (sessions, _, next_link) = session_page(
        &st,
        &params,
        &pool_url,
        "listSessions",
        version,
        Session::info,
    )?;
    Ok(Json(SessionList {
        sessions,
        next_link,
    }))
}

/// `GET metadata`: the pool's runtime, packages and kernel, plus an `emulator` object.
pub async fn metadata(State(st): State<Shared>, params: Params) -> Result<Json<Value>, ApiError> {
    params.version(Family::SessionManagement, "metadata")?;
    let facts = st
        .metadata
        .get_or_init(|| probe(st.config.python.clone(), st.config.pool_type))
        .await
        .clone();
    let mut body = json!({
        "runtimes": facts["runtimes"],
        "preInstalledPackages": facts["packages"],
        "createdAt": crate::shapes::rfc3339(st.started_at, 3),
        "lastUpdatedAt": crate::shapes::rfc3339(st.started_at, 3),
        "emulator": {
            "name": "sessions-emulator",
            "version": env!("CARGO_PKG_VERSION"),
            "poolType": match st.config.pool_type { PoolType::Python => "PythonLTS", PoolType::Shell => "Shell" },
            "isolation": {
                "namespaces": st.isolation.namespaces,
                "detail": st.isolation.detail,
                "layers": st.isolation.layers,
                "warnings": st.isolation.warnings,
            },
            "maxConcurrentSessions": st.config.max_sessions,
            "cooldownPeriodInSeconds": st.config.cooldown.as_secs(),
            "activeSessions": st.sessions.len(),
        },
    });
    // Required by the definitions on every pool type.
    body["jupyterKernel"] = match st.config.pool_type {
        PoolType::Python => json!({
            "name": "python3",
            "version": facts["python"],
            "projectUrl": "https://github.com/ipython/ipykernel",
            "description": "Python 3 interpreter (emulated kernel)",
        }),
        PoolType::Shell => json!({
            "name": "bash",
            "version": facts["bash"],
            "projectUrl": "https://www.gnu.org/software/bash/",
            "description": "Bash shell (emulated kernel)",
        }),
    };
    Ok(Json(body))
}

/// Ask the interpreter for its version and installed packages (once; failures give empty lists).
async fn probe(python: std::path::PathBuf, pool: PoolType) -> Value {
    const SCRIPT: &str = "import json,sys,platform\n\
try:\n import importlib.metadata as m\n p=sorted({(d.metadata['Name'] or '').lower():d.version for d in m.distributions() if d.metadata['Name']}.items())\n\
except Exception:\n p=[]\n\
print(json.dumps({'python':platform.python_version(),'packages':[{'name':n,'version':v} for n,v in p]}))";
    let run = tokio::process::Command::new(&python)
        .args(["-I", "-c", SCRIPT])
        .kill_on_drop(true)
        .output();
    let parsed = match tokio::time::timeout(Duration::from_secs(20), run).await {
        Ok(Ok(out)) if out.status.success() => {
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    let py = parsed["python"].as_str().unwrap_or("unknown").to_string();
    let packages = parsed.get("packages").cloned().unwrap_or_else(|| json!([]));
    let (runtimes, bash) = match pool {
        PoolType::Python => (json!([{ "name": "python", "version": py }]), String::new()),
        PoolType::Shell => {
            let bash = bash_version().await;
            let runtimes =
                json!([{ "name": "bash", "version": bash }, { "name": "python", "version": py }]);
            (runtimes, bash)
        }
    };
    json!({ "python": py, "bash": bash, "packages": packages, "runtimes": runtimes })
}

/// `$BASH_VERSION` of the host's bash (empty when it cannot be asked).
async fn bash_version() -> String {
    let run = tokio::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", "printf %s \"$BASH_VERSION\""])
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(5), run).await {
        Ok(Ok(out)) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => String::new(),
    }
}
